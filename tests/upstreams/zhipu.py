"""A mock Zhipu BigModel API as a WSGI app: run it with `tests.upstreams.server.serve`.

It checks each request as open.bigmodel.cn does and answers in its wire formats
(https://docs.bigmodel.cn/cn/api/introduction, the error-code table, the v3 model API):

- authentication: `Authorization` holds a JWT (optionally after `Bearer `) whose header is HS256 with
  `sign_type: SIGN` and whose claims `api_key`, `exp` and `timestamp` are in milliseconds; it is
  verified here with this module's own HMAC code against the `id.secret` key. Missing → 401 code
  1001, bad signature or id → 401 1002, expired → 401 1003; errors are
  `{"error": {"code": "<digits>", "message"}}`.
- v4 chat `/api/paas/v4/chat/completions`: `model` must be known (else 400 1211), `messages` non-empty,
  temperature within [0, 1] and top_p within [0.01, 1] (else 400 1214), `user_id` 6-128 characters;
  answers OpenAI's shape without `object`; streams `data:` chunks repeating `delta.role`, the last with
  `finish_reason` and `usage`, then `data: [DONE]`.
- v3 `/api/paas/v3/model-api/<model>/invoke|sse-invoke`: `{code, msg, success, data}` (errors with HTTP
  200 and `success: false`), the content JSON-quoted; the stream is `event:add` / `event:finish` events
  with `id:` and `data:` lines and a `meta:` line with the usage.
- embeddings `/api/paas/v4/embeddings`: a string or at most 64 strings, deterministic vectors of
  `dimensions` (default 8 here), `usage.prompt_tokens`.
- images `/api/paas/v4/images/generations`: `{created, data: [{url}]}`.

Every request is recorded in `app.config["REQUESTS"]` (method, path, lower-cased headers, JSON body,
the verified JWT claims). Replies echo the last user text and count one token per word; a model name
containing `rate-limit` answers 429 code 1302.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

CHAT_PATH = "/api/paas/v4/chat/completions"
EMBEDDINGS_PATH = "/api/paas/v4/embeddings"
IMAGES_PATH = "/api/paas/v4/images/generations"
CHAT_MODELS = {"glm-4", "glm-4-flash", "glm-4-plus", "glm-4-air", "glm-4.5", "glm-4-rate-limit", "charglm-4"}
V3_MODELS = {"chatglm_turbo", "chatglm_std", "chatglm_pro", "chatglm_lite"}
EMBEDDING_MODELS = {"embedding-2", "embedding-3"}
IMAGE_MODELS = {"cogview-3", "cogview-3-plus", "cogview-4"}
DEFAULT_DIMENSIONS = 8


class ZhipuError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def create_app(*, api_key: str = "mockid.mocksecret", deltas: int = 3) -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], API_KEY=api_key, DELTAS=max(1, deltas))

    def record() -> tuple[dict[str, Any], dict[str, Any]]:
        body = request.get_json(silent=True, force=True)
        entry = {"method": request.method, "path": request.path, "body": body,
                 "headers": {k.lower(): v for k, v in request.headers.items()}}
        app.config["REQUESTS"].append(entry)
        entry["claims"] = verify_jwt(request.headers.get("Authorization", ""), app.config["API_KEY"])
        if not isinstance(body, dict):
            raise ZhipuError(400, "1214", "请求体不是合法的 JSON")
        return entry, body

    @app.post(CHAT_PATH)
    def chat() -> Response:
        _, body = record()
        check_chat(body)
        if "rate-limit" in body["model"]:
            raise ZhipuError(429, "1302", "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。")
        reply = f"你好！You said: {last_user_text(body['messages'])}"
        usage = usage_for(body["messages"], reply)
        if body.get("stream"):
            return Response(v4_stream(body["model"], reply, usage, app.config["DELTAS"]),
                            content_type="text/event-stream;charset=UTF-8")
        return json_response({
            "created": int(time.time()), "id": "8239375684858666781", "model": body["model"],
            "request_id": "8239375684858666781",
            "choices": [{"finish_reason": "stop", "index": 0, "message": {"content": reply, "role": "assistant"}}],
            "usage": usage})

    @app.post("/api/paas/v3/model-api/<model>/<method>")
    def v3(model: str, method: str) -> Response:
        _, body = record()
        if method not in ("invoke", "sse-invoke"):
            raise ZhipuError(404, "1201", "接口不存在")
        if model not in V3_MODELS:
            return json_response({"code": 1211, "msg": "模型不存在，请检查模型代码。", "success": False})
        prompt = body.get("prompt")
        if not isinstance(prompt, list) or not prompt or any(
                not isinstance(m, dict) or m.get("role") not in ("user", "assistant") or not isinstance(
                    m.get("content"), str) for m in prompt):
            return json_response({"code": 1214, "msg": "prompt 参数非法", "success": False})
        check_sampling(body)
        reply = f"你好！You said: {last_user_text(prompt)}"
        usage = usage_for(prompt, reply)
        if method == "sse-invoke":
            if body.get("incremental") is not True:
                raise ZhipuError(400, "1214", "this mock only streams increments")
            return Response(v3_stream(reply, usage, app.config["DELTAS"]), content_type="text/event-stream")
        return json_response({"code": 200, "msg": "操作成功", "success": True, "data": {
            "request_id": "7990000000000000001", "task_id": "75931252186628", "task_status": "SUCCESS",
            "choices": [{"role": "assistant", "content": json.dumps(reply, ensure_ascii=False)}], "usage": usage}})

    @app.post(EMBEDDINGS_PATH)
    def embeddings() -> Response:
        _, body = record()
        if body.get("model") not in EMBEDDING_MODELS:
            raise ZhipuError(400, "1211", "模型不存在，请检查模型代码。")
        given = body.get("input")
        texts = [given] if isinstance(given, str) else given
        if not isinstance(texts, list) or not texts or len(texts) > 64 or not all(
                isinstance(t, str) and t for t in texts):
            raise ZhipuError(400, "1214", "input 参数非法")
        dimensions = body.get("dimensions", DEFAULT_DIMENSIONS)
        if not isinstance(dimensions, int) or not 1 <= dimensions <= 2048:
            raise ZhipuError(400, "1214", "dimensions 参数非法")
        tokens = sum(len(t.split()) for t in texts)
        data = [{"embedding": vector(t, dimensions), "index": i, "object": "embedding"} for i, t in enumerate(texts)]
        return json_response({
            "model": body["model"], "object": "list", "data": data,
            "usage": {"completion_tokens": 0, "prompt_tokens": tokens, "total_tokens": tokens}})

    @app.post(IMAGES_PATH)
    def images() -> Response:
        _, body = record()
        if body.get("model") not in IMAGE_MODELS:
            raise ZhipuError(400, "1211", "模型不存在，请检查模型代码。")
        if not isinstance(body.get("prompt"), str) or not body["prompt"]:
            raise ZhipuError(400, "1214", "prompt 不能为空")
        check_user_id(body)
        digest = hashlib.sha256(body["prompt"].encode()).hexdigest()[:16]
        return json_response({"created": int(time.time()),
                              "data": [{"url": f"{request.host_url}files/{digest}.png"}],
                              "content_filter": [{"role": "assistant", "level": 3}]})

    @app.errorhandler(ZhipuError)
    def zhipu_error(exc: ZhipuError) -> Response:
        return json_response({"error": {"code": exc.code, "message": exc.message}}, exc.status)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return json_response({"timestamp": "2024-01-01T00:00:00.000+00:00", "status": 404, "error": "Not Found",
                              "path": request.path}, 404)

    return app


# -- authentication ---------------------------------------------------------------------------------

def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_jwt(header: str, api_key: str) -> dict[str, Any]:
    """The claims of a valid token for `api_key`; raises ZhipuError as Zhipu answers otherwise."""
    token = header.removeprefix("Bearer ").strip()
    if not token:
        raise ZhipuError(401, "1001", "Header中未收到Authorization参数，无法进行身份验证。")
    key_id, _, secret = api_key.partition(".")
    invalid = ZhipuError(401, "1002", "Authorization Token非法，请确认Authorization Token正确传递。")
    parts = token.split(".")
    if len(parts) != 3:
        raise invalid
    try:
        head, claims = json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (ValueError, binascii.Error):
        raise invalid from None
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if head.get("alg") != "HS256" or head.get("sign_type") != "SIGN" or not hmac.compare_digest(signature, expected):
        raise invalid
    if claims.get("api_key") != key_id:
        raise invalid
    millis = int(time.time() * 1000)
    if not isinstance(claims.get("exp"), int) or not isinstance(claims.get("timestamp"), int):
        raise invalid
    # Milliseconds, not seconds: a token in seconds would look expired in 1970.
    if claims["exp"] <= millis:
        raise ZhipuError(401, "1003", "Authorization Token已过期，请重新生成/获取。")
    if claims["timestamp"] > millis + 60_000:
        raise invalid
    return claims


# -- request checks ----------------------------------------------------------------------------------

def check_chat(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise ZhipuError(400, "1214", "model 不能为空")
    if body["model"] not in CHAT_MODELS:
        raise ZhipuError(400, "1211", "模型不存在，请检查模型代码。")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ZhipuError(400, "1214", "messages 不能为空")
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant", "tool"):
            raise ZhipuError(400, "1214", "messages 参数非法")
    if "user" in body or "stream_options" in body:
        raise ZhipuError(400, "1214", "不支持的参数")
    if "stop" in body and not isinstance(body["stop"], list):
        raise ZhipuError(400, "1214", "stop 参数非法")
    check_sampling(body)
    check_user_id(body)


def check_sampling(body: dict[str, Any]) -> None:
    for name, low, high in (("temperature", 0.0, 1.0), ("top_p", 0.01, 1.0)):
        value = body.get(name)
        if value is not None and not (isinstance(value, int | float) and low <= value <= high):
            raise ZhipuError(400, "1214", f"{name} 参数非法，取值范围为 [{low}, {high}]")


def check_user_id(body: dict[str, Any]) -> None:
    if "user_id" in body and not (isinstance(body["user_id"], str) and 6 <= len(body["user_id"]) <= 128):
        raise ZhipuError(400, "1214", "user_id 长度须为 6-128 个字符")


# -- answers --------------------------------------------------------------------------------------------

def json_response(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False), status=status, content_type="application/json")


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text")


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def usage_for(messages: list[dict[str, Any]], reply: str) -> dict[str, int]:
    prompt = max(1, sum(len(text_of(m.get("content")).split()) for m in messages))
    completion = len(reply.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def pieces(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i:i + size] for i in range(0, len(text), size)]


def v4_stream(model: str, reply: str, usage: dict[str, int], deltas: int) -> Iterator[bytes]:
    head = {"id": "8313807536837492492", "created": int(time.time()), "model": model}
    for piece in pieces(reply, deltas):
        chunk = {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}}]}
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
    last = {**head, "choices": [{"index": 0, "finish_reason": "stop", "delta": {"role": "assistant", "content": ""}}],
            "usage": usage}
    yield f"data: {json.dumps(last, ensure_ascii=False)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def v3_stream(reply: str, usage: dict[str, int], deltas: int) -> Iterator[bytes]:
    for piece in pieces(reply, deltas):
        data = "\n".join(f"data: {line}" for line in piece.split("\n"))
        yield f"event:add\nid:7990000000000000002\n{data}\n\n".encode()
    meta = {"task_status": "SUCCESS", "usage": usage, "task_id": "75931252186629", "request_id": "7990000000000000002"}
    yield f"event:finish\nid:7990000000000000002\ndata:\nmeta:{json.dumps(meta)}\n\n".encode()


def vector(text: str, dimensions: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(digest[i % len(digest)] / 255 - 0.5, 6) for i in range(dimensions)]
