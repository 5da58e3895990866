"""A mock iFlytek Spark websocket chat API: it authenticates each handshake as spark-api.xf-yun.com does
and answers in its frames (https://www.xfyun.cn/doc/spark/Web.html, the general websocket
authentication document, https://www.xfyun.cn/doc/spark/X1ws.html).

    with serve(create_app(app_id="4CC5779A", api_key="...", api_secret="...")) as base_url:
        channel base URL = base_url with ws:// for http://

The handshake query (`host`, `date`, `authorization`) is verified with this module's own HMAC code:
a missing authorization is 401 "Unauthorized", an unreadable one 401 "HMAC signature cannot be
verified", a date more than 300 s off 403, a wrong signature 401 "HMAC signature does not match", all
as JSON bodies on the HTTP answer, as Spark's gateway refuses them. Then the client's one text frame is
checked (`header.app_id`, `parameter.chat.domain` against the path, `payload.message.text`) and the
answer goes out as frames: `status` 0, 1 …, 2 on the last, which carries `payload.usage.text`; then the
socket is closed. A refused frame is one error frame (`header.code` != 0).

`app.config["REQUESTS"]` lists every handshake: path, query, lower-cased headers, and `frame` (the
parsed frame the client sent, None when refused before it). The behaviour of an answer is the
`behaviour` option, else a marker in the last user message: `[tool]` (a `function_call` answer when
the frame has functions), `[refuse]` (10013, input refused), `[busy]` (11202, the per-second limit),
`[cut]` (10014, the output refused after the first frame).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import re
import time
import uuid
from email.utils import parsedate_to_datetime
from typing import Any

import simple_websocket
from flask import Flask, Response, request

# Path → the domain a frame sent there must name.
DOMAINS = {
    "/v1.1/chat": "lite", "/v2.1/chat": "generalv2", "/v3.1/chat": "generalv3", "/chat/pro-128k": "pro-128k",
    "/v3.5/chat": "generalv3.5", "/chat/max-32k": "max-32k", "/v4.0/chat": "4.0Ultra", "/v1/x1": "spark-x",
}
MAX_SKEW = 300
BEHAVIOURS = ("reply", "tool", "refuse", "busy", "cut")
ERRORS = {
    "refuse": (10013, "输入内容审核不通过，涉嫌违规，请重新调整输入内容"),
    "busy": (11202, "AppIdQpsOverFlowError:(11202)appid qps over flow"),
    "cut": (10014, "输出内容涉及敏感信息，审核不通过，后续结果无法展示给用户"),
}
STALE_DATE = "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"
AUTH_FIELD = re.compile(r'\s*(\w+)="([^"]*)"\s*')


class SocketDone(Response):
    """What a view returns after it served a websocket itself: Werkzeug must write nothing more on the
    connection, and a dropped connection is how it is told so."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        raise ConnectionError("websocket closed")


def create_app(*, app_id: str = "4CC5779A", api_key: str = "mock-api-key", api_secret: str = "mock-api-secret",
               behaviour: str | None = None, frames: int = 3, reply: str | None = None) -> Flask:
    """The mock as a WSGI app. `frames` is how many frames carry the text of an answer; `reply`
    replaces the echoed text."""
    if behaviour is not None and behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}; one of {BEHAVIOURS}")
    app = Flask(__name__)
    app.config.update(REQUESTS=[], APP_ID=app_id, API_KEY=api_key, API_SECRET=api_secret, BEHAVIOUR=behaviour,
                      FRAMES=max(1, frames), REPLY=reply)

    def chat(path: str) -> Response:
        record = {"path": path, "query": request.args.to_dict(),
                  "headers": {k.lower(): v for k, v in request.headers.items()}, "frame": None}
        app.config["REQUESTS"].append(record)
        refusal = check_handshake(request, path, app.config["API_KEY"], app.config["API_SECRET"])
        if refusal:
            return json_response(*refusal)
        ws = simple_websocket.Server.accept(request.environ)
        try:
            converse(ws, app.config, record, DOMAINS[path])
        finally:
            close(ws)
        return SocketDone()

    for path in DOMAINS:
        # Werkzeug routes websocket handshakes only to rules marked as websocket ones (a plain GET gets 400).
        app.add_url_rule(path, f"chat{path}", lambda path=path: chat(path), methods=["GET"], websocket=True)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return json_response(404, "no Route matched with those values")

    return app


def close(ws: Any) -> None:
    """Close as Spark does after the last frame, and let the socket's reader see the client's closing
    reply, so that no byte of the websocket is left for Werkzeug to read as a next request."""
    with contextlib.suppress(simple_websocket.ConnectionClosed):
        ws.close()
    ws.thread.join(5)


def json_response(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, content_type="application/json")


def check_handshake(req: Any, path: str, api_key: str, api_secret: str) -> tuple[int, str] | None:
    """The gateway's HMAC check of the query: None when it passes, else (status, message)."""
    authorization, host, date = (req.args.get(name) for name in ("authorization", "host", "date"))
    if not authorization:
        return 401, "Unauthorized"
    fields = parse_authorization(authorization)
    if fields is None or not host or not date:
        return 401, "HMAC signature cannot be verified"
    try:
        sent_at = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return 403, STALE_DATE
    if abs(time.time() - sent_at) > MAX_SKEW:
        return 403, STALE_DATE
    if fields.get("algorithm") != "hmac-sha256" or fields.get("headers") != "host date request-line":
        return 401, "HMAC signature cannot be verified"
    if (fields.get("username") or fields.get("api_key")) != api_key or host != req.host:
        return 401, "HMAC signature cannot be verified"
    line = f"host: {host}\ndate: {date}\nGET {path} HTTP/1.1"
    expected = base64.b64encode(hmac.new(api_secret.encode(), line.encode(), hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, fields.get("signature", "")):
        return 401, "HMAC signature does not match"
    return None


def parse_authorization(value: str) -> dict[str, str] | None:
    """`hmac username="…", algorithm="…", headers="…", signature="…"` (or `api_key="…"`), base64-encoded."""
    try:
        text = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    text = text.removeprefix("hmac ")
    fields: dict[str, str] = {}
    for item in text.split(","):
        match = AUTH_FIELD.fullmatch(item)
        if not match:
            return None
        fields[match.group(1)] = match.group(2)
    return fields if "signature" in fields else None


def converse(ws: Any, config: dict[str, Any], record: dict[str, Any], domain: str) -> None:
    sid = f"cht{uuid.uuid4().hex[:8]}@mock{len(config['REQUESTS']):04d}"
    message = ws.receive(timeout=10)
    try:
        frame = json.loads(message) if isinstance(message, str) else None
    except ValueError:
        frame = None
    record["frame"] = frame
    problem = frame_problem(frame, config["APP_ID"], domain)
    if problem:
        ws.send(json.dumps(error_frame(*problem, sid), ensure_ascii=False))
        return
    text = frame["payload"]["message"]["text"]
    behaviour = config["BEHAVIOUR"] or behaviour_for(last_user_text(text))
    if behaviour in ("refuse", "busy"):
        ws.send(json.dumps(error_frame(*ERRORS[behaviour], sid), ensure_ascii=False))
        return
    functions = (frame["payload"].get("functions") or {}).get("text") or []
    if behaviour == "tool" and functions:
        for out in tool_frames(text, functions, sid):
            ws.send(json.dumps(out, ensure_ascii=False))
        return
    words = (config["REPLY"] or f"Hello from mock Spark! You said: {last_user_text(text)}").split(" ")
    max_tokens = frame["parameter"]["chat"].get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        words = words[:max_tokens]
    pieces = split(" ".join(words), config["FRAMES"])
    for seq, piece in enumerate(pieces):
        if behaviour == "cut" and seq == 1:
            ws.send(json.dumps(error_frame(*ERRORS["cut"], sid), ensure_ascii=False))
            return
        last = seq == len(pieces) - 1
        out = answer_frame(sid, seq, 2 if last else (0 if seq == 0 else 1), [{"content": piece, "role": "assistant",
                                                                            "index": 0}])
        if last:
            out["payload"]["usage"] = usage(text, len(words))
        ws.send(json.dumps(out, ensure_ascii=False))


def frame_problem(frame: Any, app_id: str, domain: str) -> tuple[int, str] | None:
    if not isinstance(frame, dict):
        return 10003, "InvalidParamError:the message is not valid json"
    header, parameter, payload = (frame.get(name) for name in ("header", "parameter", "payload"))
    if not isinstance(header, dict) or not header.get("app_id"):
        return 10163, "InvalidParamError:header.app_id is required"
    if header["app_id"] != app_id:
        return 11200, "AppIdNoAuthError:(11200)auth no license"
    chat = parameter.get("chat") if isinstance(parameter, dict) else None
    if not isinstance(chat, dict) or not chat.get("domain"):
        return 10163, "InvalidParamError:parameter.chat.domain is required"
    if chat["domain"] != domain:
        return 10404, f"InvalidDomainError:domain {chat['domain']} is not served here"
    message = payload.get("message") if isinstance(payload, dict) else None
    text = message.get("text") if isinstance(message, dict) else None
    if not isinstance(text, list) or not text:
        return 10163, "InvalidParamError:payload.message.text is required"
    for item in text:
        if not isinstance(item, dict) or item.get("role") not in ("system", "user", "assistant") \
                or not isinstance(item.get("content"), str) or not item["content"]:
            return 10163, "InvalidParamError:payload.message.text items need a role and a content"
    if "max_tokens" in chat and (not isinstance(chat["max_tokens"], int) or not 1 <= chat["max_tokens"] <= 8192):
        return 10163, "InvalidParamError:parameter.chat.max_tokens must be in [1, 8192]"
    return None


def error_frame(code: int, message: str, sid: str) -> dict[str, Any]:
    return {"header": {"code": code, "message": message, "sid": sid, "status": 2}}


def answer_frame(sid: str, seq: int, status: int, text: list[dict[str, Any]]) -> dict[str, Any]:
    return {"header": {"code": 0, "message": "Success", "sid": sid, "status": status},
            "payload": {"choices": {"status": status, "seq": seq, "text": text}}}


def tool_frames(text: list[dict[str, Any]], functions: list[dict[str, Any]], sid: str) -> list[dict[str, Any]]:
    call = {"name": functions[0]["name"], "arguments": json.dumps({"query": last_user_text(text)},
                                                                  ensure_ascii=False)}
    out = answer_frame(sid, 0, 2, [{"content": "", "role": "assistant", "content_type": "text",
                                    "function_call": call, "index": 0}])
    out["payload"]["usage"] = usage(text, 5)
    return [out]


def usage(text: list[dict[str, Any]], completion: int) -> dict[str, Any]:
    """One token per word: prompt counts the whole history, question only the last message."""
    prompt = sum(len(item["content"].split()) for item in text)
    question = len(text[-1]["content"].split())
    return {"text": {"question_tokens": question, "prompt_tokens": prompt, "completion_tokens": completion,
                     "total_tokens": prompt + completion}}


def last_user_text(text: list[dict[str, Any]]) -> str:
    return next((item["content"] for item in reversed(text) if item.get("role") == "user"), "")


def behaviour_for(text: str) -> str:
    for behaviour in BEHAVIOURS:
        if f"[{behaviour}]" in text:
            return behaviour
    return "reply"


def split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]
