"""A mock Tencent Hunyuan endpoint (hunyuan.tencentcloudapi.com, API 3.0, version 2023-09-01) as a WSGI
app: it checks every request as Tencent Cloud does, TC3-HMAC-SHA256 signature included (verified here
with code of its own, from the "Signature v3" document), and answers in Tencent's formats.

    with serve(create_app(secret_id="AKID...", secret_key="...")) as base_url: ...

- Every error is HTTP 200 with `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`, as Tencent
  answers: AuthFailure.* for the signature, InvalidParameter / MissingParameter for the body, …
- `ChatCompletions`: JSON `{"Response": {Id, Created, Note, Choices[{Message, FinishReason}], Usage,
  RequestId}}`, or with `Stream: true` SSE `data: {...}` events (no wrapper, cumulative Usage, no [DONE]).
- `GetEmbedding`: deterministic 8-dimension vectors per text (`vector`).

The reply echoes the last user text: `REPLY_PREFIX + text`. Tokens are counted one per whitespace
separated word (`count`). A model containing `rate-limit` answers LimitExceeded, `stream-error` a stream
that fails after its first piece with ErrorMsg 4001. `app.config["REQUESTS"]` records every request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request

VERSION = "2023-09-01"
ACTIONS = ("ChatCompletions", "GetEmbedding")
ROLES = ("system", "user", "assistant", "tool")
REPLY_PREFIX = "混元 mock reply to: "
NOTE = "以上内容为AI生成，不代表开发者立场，请勿删除或修改本标记"
AUTH = re.compile(r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)/"
                  r"tc3_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$")
CHAT_FIELDS = {"Model", "Messages", "Stream", "StreamModeration", "TopP", "Temperature", "EnableEnhancement",
               "Tools", "ToolChoice", "CustomTool", "SearchInfo", "Citation", "EnableSpeedSearch",
               "EnableMultimedia", "EnableDeepSearch", "Seed"}
MODELS = ("hunyuan-lite", "hunyuan-standard", "hunyuan-standard-256K", "hunyuan-pro", "hunyuan-vision",
          "hunyuan-turbo", "hunyuan-functioncall", "hunyuan-rate-limit", "hunyuan-stream-error")


class TencentError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def create_app(*, secret_id: str = "AKIDmockSecretId", secret_key: str = "mockSecretKey",
               pieces: int = 3, chunk_delay: float = 0.0, clock_skew: int = 300) -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], SECRETS={secret_id: secret_key}, PIECES=pieces, CHUNK_DELAY=chunk_delay,
                      SKEW=clock_skew)

    @app.post("/")
    def api() -> Response:
        raw = request.get_data()
        request_id = str(uuid.uuid4())
        app.config["REQUESTS"].append({"method": request.method, "path": request.path, "raw": raw,
                                       "headers": {k.lower(): v for k, v in request.headers.items()},
                                       "body": _loads(raw)})
        try:
            verify_signature(request.headers, raw, app.config["SECRETS"], app.config["SKEW"])
            action = request.headers["X-TC-Action"]
            body = _loads(raw)
            if not isinstance(body, dict):
                raise TencentError("InvalidParameter", "The request body is not a valid JSON object.")
            if action == "GetEmbedding":
                return json_answer(embedding_answer(body, request_id))
            return chat(app.config, body, request_id)
        except TencentError as exc:
            return json_answer({"Error": {"Code": exc.code, "Message": exc.message}, "RequestId": request_id})

    return app


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def json_answer(payload: dict[str, Any]) -> Response:
    # Tencent answers every API 3.0 call, failed or not, with 200 and a `Response` object.
    return Response(json.dumps({"Response": payload}, ensure_ascii=False), 200,
                    content_type="application/json")


# -- TC3-HMAC-SHA256, checked independently of the gateway's signer -------------------------------

def verify_signature(headers: Any, raw: bytes, secrets: dict[str, str], skew: int) -> None:
    action = headers.get("X-TC-Action", "")
    if not action:
        raise TencentError("MissingParameter", "The request is missing a required parameter `Action`.")
    if action not in ACTIONS:
        raise TencentError("InvalidAction", f"The requested action `{action}` does not exist.")
    if headers.get("X-TC-Version") != VERSION:
        raise TencentError("InvalidParameterValue", f"The version `{headers.get('X-TC-Version')}` is not supported.")
    if headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
        raise TencentError("InvalidParameter", "The Content-Type must be application/json.")
    stamp = headers.get("X-TC-Timestamp", "")
    if not stamp.isdigit():
        raise TencentError("MissingParameter", "The request is missing a required parameter `Timestamp`.")
    if abs(time.time() - int(stamp)) > skew:
        raise TencentError("AuthFailure.SignatureExpire", "The signature has expired.")
    match = AUTH.match(headers.get("Authorization", ""))
    if not match:
        raise TencentError("AuthFailure.InvalidAuthorization", "The Authorization header is malformed.")
    if match["id"] not in secrets:
        raise TencentError("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    utc_date = datetime.fromtimestamp(int(stamp), tz=UTC).date().isoformat()
    if match["date"] != utc_date or match["service"] != "hunyuan":
        raise TencentError("AuthFailure.InvalidAuthorization", "The credential scope does not match.")
    names = match["signed"].split(";")
    if names != sorted(names) or not {"content-type", "host"} <= set(names):
        raise TencentError("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host.")
    canonical = "POST\n/\n\n" + "".join(f"{n}:{headers.get(n, '').strip().lower()}\n" for n in names) + \
        "\n" + match["signed"] + "\n" + hashlib.sha256(raw).hexdigest()
    string_to_sign = "\n".join(["TC3-HMAC-SHA256", stamp, f"{utc_date}/hunyuan/tc3_request",
                                hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("TC3" + secrets[match["id"]]).encode()
    for part in (utc_date, "hunyuan", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["signature"]):
        raise TencentError("AuthFailure.SignatureFailure",
                           "The provided credentials could not be validated. Please check your signature is correct.")


# -- ChatCompletions -------------------------------------------------------------------------------

def check_chat(body: dict[str, Any]) -> None:
    unknown = sorted(set(body) - CHAT_FIELDS)
    if unknown:
        raise TencentError("UnknownParameter", f"The parameter `{unknown[0]}` is not recognized.")
    if not body.get("Model"):
        raise TencentError("MissingParameter", "The request is missing a required parameter `Model`.")
    if body["Model"] not in MODELS:
        raise TencentError("InvalidParameterValue.Model", f"模型不存在：{body['Model']}")
    messages = body.get("Messages")
    if not isinstance(messages, list) or not messages:
        raise TencentError("MissingParameter", "The request is missing a required parameter `Messages`.")
    roles = [m.get("Role") if isinstance(m, dict) else None for m in messages]
    if any(role not in ROLES for role in roles):
        raise TencentError("InvalidParameter", "Messages.Role 取值错误")
    if "system" in roles[1:]:
        raise TencentError("InvalidParameter", "system 角色必须位于列表的最开始")
    if roles[-1] not in ("user", "tool"):
        raise TencentError("InvalidParameter", "Messages 必须以 user 或 tool 结束")
    for message in messages:
        has_content, has_contents = "Content" in message, "Contents" in message
        if has_content and has_contents:
            raise TencentError("InvalidParameter", "Content 和 Contents 不能同时传入")
        if message["Role"] in ("user", "system") and not (message.get("Content") or message.get("Contents")):
            raise TencentError("InvalidParameter", "Content 不能为空")
        if has_content and not isinstance(message["Content"], str):
            raise TencentError("InvalidParameter", "Messages.Content 类型错误")
    for tool in body.get("Tools") or []:
        if not isinstance((tool.get("Function") or {}).get("Parameters", ""), str):
            raise TencentError("InvalidParameter", "Tools.Function.Parameters 必须是 JSON 字符串")
    if "Stream" in body and not isinstance(body["Stream"], bool):
        raise TencentError("InvalidParameter", "Stream 类型错误")


def count(text: str) -> int:
    return len(text.split())


def message_text(message: dict[str, Any]) -> str:
    if "Contents" in message:
        return " ".join(c.get("Text") or "" for c in message["Contents"] if c.get("Type") == "text")
    return message.get("Content") or ""


def chat(config: dict[str, Any], body: dict[str, Any], request_id: str) -> Response:
    check_chat(body)
    model = body["Model"]
    if "rate-limit" in model:
        raise TencentError("LimitExceeded", "超过配额限制")
    last_user = next((message_text(m) for m in reversed(body["Messages"]) if m["Role"] == "user"), "")
    reply = REPLY_PREFIX + last_user
    prompt = sum(count(message_text(m)) for m in body["Messages"])
    created = int(time.time())
    if not body.get("Stream"):
        return json_answer({"RequestId": request_id, "Note": NOTE, "Id": request_id, "Created": created,
                            "Choices": [{"Index": 0, "Message": {"Role": "assistant", "Content": reply},
                                         "FinishReason": "stop"}],
                            "Usage": {"PromptTokens": prompt, "CompletionTokens": count(reply),
                                      "TotalTokens": prompt + count(reply)}})
    events = stream_events(reply, prompt, request_id, created, config["PIECES"], "stream-error" in model)
    return Response(encode(events, config["CHUNK_DELAY"]), content_type="text/event-stream",
                    headers={"X-TC-RequestId": request_id, "Cache-Control": "no-cache"})


def split(text: str, parts: int) -> list[str]:
    words = text.split(" ")
    size = max(1, -(-len(words) // parts))
    return [" ".join(words[i:i + size]) + (" " if i + size < len(words) else "") for i in range(0, len(words), size)]


def stream_events(reply: str, prompt: int, request_id: str, created: int, pieces: int,
                  fail: bool) -> list[dict[str, Any]]:
    events, so_far = [], ""
    for piece in split(reply, pieces):
        so_far += piece
        completion = count(so_far)
        events.append({"Note": NOTE, "Id": request_id, "Created": created,
                       "Choices": [{"Delta": {"Role": "assistant", "Content": piece}, "FinishReason": ""}],
                       "Usage": {"PromptTokens": prompt, "CompletionTokens": completion,
                                 "TotalTokens": prompt + completion}})
        if fail:
            events.append({"Note": NOTE, "Id": request_id, "Created": created, "Choices": [],
                           "ErrorMsg": {"Code": 4001, "Msg": "请求模型超时"}})
            return events
    final = count(reply)
    events.append({"Note": NOTE, "Id": request_id, "Created": created,
                   "Choices": [{"Delta": {"Role": "assistant", "Content": ""}, "FinishReason": "stop"}],
                   "Usage": {"PromptTokens": prompt, "CompletionTokens": final, "TotalTokens": prompt + final}})
    return events


def encode(events: list[dict[str, Any]], delay: float) -> Iterator[bytes]:
    for number, event in enumerate(events):
        if number and delay:
            time.sleep(delay)
        yield b"data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


# -- GetEmbedding ----------------------------------------------------------------------------------

def vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((b - 128) / 128, 6) for b in digest[:8]]


def embedding_answer(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    unknown = sorted(set(body) - {"Input", "InputList"})
    if unknown:
        raise TencentError("UnknownParameter", f"The parameter `{unknown[0]}` is not recognized.")
    texts = body.get("InputList") if body.get("InputList") is not None else [body.get("Input")]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        raise TencentError("InvalidParameter", "Input 或 InputList 不能为空")
    if len(texts) > 50:
        raise TencentError("InvalidParameterValue", "InputList 长度不能超过 50")
    tokens = sum(count(t) for t in texts)
    return {"Data": [{"Embedding": vector(t), "Index": i, "Object": "embedding"} for i, t in enumerate(texts)],
            "Usage": {"PromptTokens": tokens, "TotalTokens": tokens}, "RequestId": request_id}
