"""A mock Baidu Qianfan v1 API (aip.baidubce.com): the OAuth token endpoint and the wenxinworkshop chat
and embeddings endpoints, checking each request as Baidu does and answering in its wire format
(cloud.baidu.com/doc/WENXINWORKSHOP: "Access Token获取", the models' "创建chat" pages, "Embedding-V1",
"错误码"). Like Baidu, API errors are answered with HTTP 200 and `{error_code, error_msg}`.

    with serve(create_app(api_key="ak", secret_key="sk")) as base_url: ...

`app.config["REQUESTS"]` lists every request received (method, path, query, lower-cased headers, JSON
body); `app.config["TOKENS"]` every access token issued. The chat reply echoes the last user message;
tokens are counted as one per character of CJK text and one per word otherwise. A user message
containing `[rate-limit]` gets error 336501, `[internal]` error 336000. OpenAI-only fields (`model`,
`max_tokens` ...) are refused, stricter than Baidu (which ignores them), so that a leak shows.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

CHAT_ENDPOINTS = frozenset({
    "completions_pro", "completions", "eb-instant", "ernie-3.5-8k-0205", "ernie-3.5-8k-1222", "ernie_bot_8k",
    "ernie-3.5-4k-0205", "ernie_speed", "ernie-speed-128k", "ernie-lite-8k", "ernie-tiny-8k", "bloomz_7b1",
    "ernie-4.0-turbo-8k", "ernie-3.5-128k",
})
EMBEDDING_DIMENSIONS = {"embedding-v1": 384, "bge_large_zh": 1024, "bge_large_en": 1024, "tao_8k": 1024}
TOKEN_LIFETIME = 2592000
MARKERS = {"[rate-limit]": (336501, "Rate limit reached for RPM"), "[internal]": (336000, "Internal error")}


def create_app(*, api_key: str = "mock-api-key", secret_key: str = "mock-secret-key", pieces: int = 3,
               chunk_delay: float = 0.0) -> Flask:
    """`pieces` is how many events carry a streamed reply's text (a last, empty `is_end` event follows)."""
    app = Flask(__name__)
    app.config.update(REQUESTS=[], TOKENS=set(), API_KEY=api_key, SECRET_KEY=secret_key, PIECES=max(1, pieces),
                      CHUNK_DELAY=chunk_delay)

    def record() -> None:
        app.config["REQUESTS"].append({
            "method": request.method, "path": request.path, "query": request.args.to_dict(),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": request.get_json(silent=True, force=True)})

    @app.post("/oauth/2.0/token")
    def token() -> Response:
        record()
        args = request.args
        if args.get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported")
        if args.get("client_id") != app.config["API_KEY"]:
            return oauth_error(401, "invalid_client", "unknown client id")
        if args.get("client_secret") != app.config["SECRET_KEY"]:
            return oauth_error(401, "invalid_client", "Client authentication failed")
        value = f"24.{secrets.token_hex(16)}.{TOKEN_LIFETIME}.{int(time.time()) + TOKEN_LIFETIME}.282335-8574074"
        app.config["TOKENS"].add(value)
        return Response(json.dumps({
            "refresh_token": f"25.{secrets.token_hex(16)}.315360000.1798284651.282335-8574074",
            "expires_in": TOKEN_LIFETIME, "session_key": secrets.token_urlsafe(24), "access_token": value,
            "scope": "public brain_all_scope wenxinworkshop_mgr", "session_secret": secrets.token_hex(16),
        }), content_type="application/json")

    @app.post("/rpc/2.0/ai_custom/v1/wenxinworkshop/<kind>/<endpoint>")
    def api(kind: str, endpoint: str) -> Response:
        record()
        access_token = request.args.get("access_token")
        if not access_token:
            return api_error(100, "Invalid parameter")
        if access_token not in app.config["TOKENS"]:
            return api_error(110, "Access token invalid or no longer valid")
        if kind == "chat" and endpoint in CHAT_ENDPOINTS:
            return chat(app.config, request.get_json(silent=True, force=True))
        if kind == "embeddings" and endpoint in EMBEDDING_DIMENSIONS:
            return embed(request.get_json(silent=True, force=True), EMBEDDING_DIMENSIONS[endpoint])
        return api_error(3, "Unsupported openapi method")

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return api_error(3, "Unsupported openapi method")

    return app


def oauth_error(status: int, error: str, description: str) -> Response:
    return Response(json.dumps({"error": error, "error_description": description}), status=status,
                    content_type="application/json")


def api_error(code: int, message: str) -> Response:
    # Baidu answers API errors with HTTP 200, also to stream requests.
    return Response(json.dumps({"error_code": code, "error_msg": message}), content_type="application/json")


def chat_problem(body: Any) -> str:
    if not isinstance(body, dict):
        return "the request body is not valid JSON"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "the messages must not be empty"
    if len(messages) % 2 == 0:
        return "the length of messages must be an odd number"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return f"messages[{index}].content must be a string"
        role = message.get("role")
        if index % 2 == 0 and role not in ("user", "function"):
            return "the role of message with even index in the messages must be user or function"
        if index % 2 == 1 and role != "assistant":
            return "the role of message with odd index in the messages must be assistant"
        if role == "function" and not message.get("name"):
            return f"messages[{index}].name is required for a function message"
    if "system" in body and not isinstance(body["system"], str):
        return "system must be a string"
    checks = (("temperature", lambda v: 0 < v <= 1), ("top_p", lambda v: 0 <= v <= 1),
              ("penalty_score", lambda v: 1 <= v <= 2), ("max_output_tokens", lambda v: 2 <= v <= 2048))
    for name, valid in checks:
        value = body.get(name)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool) or not valid(value)):
            return f"{name} is invalid"
    for name in ("model", "max_tokens", "frequency_penalty", "n", "user"):
        if name in body:
            return f"unknown parameter {name}"
    return ""


def tokens(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff\u3040-\u30ff]|[^\s\u4e00-\u9fff\u3040-\u30ff]+", text))


def chat(config: dict[str, Any], body: Any) -> Response:
    problem = chat_problem(body)
    if problem:
        return api_error(336003, problem)
    last = body["messages"][-1]["content"]
    for marker, (code, message) in MARKERS.items():
        if marker in last:
            return api_error(code, message)
    reply = f"文心一言收到：{last}"
    words = re.findall(r"\S+\s*|\s+", reply)
    limit = body.get("max_output_tokens")
    truncated = limit is not None and tokens(reply) > limit
    if truncated:
        reply = "".join(words[:limit])
    prompt = sum(tokens(m["content"]) for m in body["messages"]) + tokens(body.get("system") or "")
    answer_id = f"as-{secrets.token_hex(5)}"
    usage = {"prompt_tokens": prompt, "completion_tokens": tokens(reply),
             "total_tokens": prompt + tokens(reply)}
    finish = "length" if truncated else "normal"
    if not body.get("stream"):
        return Response(json.dumps({
            "id": answer_id, "object": "chat.completion", "created": int(time.time()), "result": reply,
            "is_truncated": truncated, "need_clear_history": False, "finish_reason": finish, "usage": usage,
        }, ensure_ascii=False), content_type="application/json")
    return Response(stream(answer_id, reply, usage, finish, config), content_type="text/event-stream")


def stream(answer_id: str, reply: str, usage: dict[str, int], finish: str, config: dict[str, Any]) -> Iterator[bytes]:
    size = max(1, -(-len(reply) // config["PIECES"]))
    pieces = [reply[i:i + size] for i in range(0, len(reply), size)] + [""]
    sent = ""
    for number, piece in enumerate(pieces):
        if number and config["CHUNK_DELAY"]:
            time.sleep(config["CHUNK_DELAY"])
        sent += piece
        end = number == len(pieces) - 1
        event = {"id": answer_id, "object": "chat.completion", "created": int(time.time()), "sentence_id": number,
                 "is_end": end, "is_truncated": False, "result": piece, "need_clear_history": False,
                 "finish_reason": finish if end else "normal",
                 "usage": {**usage, "completion_tokens": tokens(sent),
                           "total_tokens": usage["prompt_tokens"] + tokens(sent)}}
        yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


def embed(body: Any, dimensions: int) -> Response:
    texts = body.get("input") if isinstance(body, dict) else None
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        return api_error(336003, "input must be a non-empty list of non-empty strings")
    if len(texts) > 16:
        return api_error(336003, "the max number of texts is 16")
    data = [{"object": "embedding", "embedding": vector(text, dimensions), "index": index}
            for index, text in enumerate(texts)]
    prompt = sum(tokens(t) for t in texts)
    return Response(json.dumps({
        "id": f"as-{secrets.token_hex(5)}", "object": "embedding_list", "created": int(time.time()), "data": data,
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }), content_type="application/json")


def vector(text: str, dimensions: int) -> list[float]:
    """A deterministic vector for `text`."""
    seed = sum(map(ord, text))
    return [round(((seed * (i + 7)) % 1000) / 1000 - 0.5, 3) for i in range(dimensions)]
