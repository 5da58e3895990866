"""A mock Coze v2 chat API as a WSGI app: run it with `tests.upstreams.server.serve`.

It checks each request as api.coze.com does for `POST /open_api/v2/chat`
(https://www.coze.com/docs/developer_guides/coze_api_overview, the v2 chat reference) and answers in
its format:

- `Authorization: Bearer <personal access token>`: missing or wrong → HTTP 401
  `{"code": 4100, "msg": "authentication is invalid"}`.
- The body needs `bot_id` (a published bot), `user` and `query` (else HTTP 200 `{"code": 4000, ...}`;
  an unpublished bot is HTTP 200 `{"code": 4015, ...}`); `chat_history` entries need a role of user or
  assistant, a string content and `content_type: text`.
- Non-stream: `{conversation_id, messages, code: 0, msg: "success"}` with a `function_call`, a
  `tool_response`, the `answer`, a `follow_up` and a `verbose` message.
- Stream: SSE `data:` events `{"event": "message", "message": {...}, "is_finish", "index",
  "conversation_id", "seq_id"}` (the answer in increments, then an empty finishing answer, then
  follow_up and verbose messages), closed by `{"event": "done"}`. A query containing `stream-error`
  gets an `{"event": "error", "error_information": {code, msg}}` after the first increment.

Every request is recorded in `app.config["REQUESTS"]` (method, path, lower-cased headers, JSON body).
The answer is `Bot <id> heard: <query>`; Coze reports no token counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

CHAT_PATH = "/open_api/v2/chat"
CONVERSATION_ID = "7342999000111222333"


def create_app(*, token: str = "pat_mock", bots: tuple[str, ...] = ("7342",), deltas: int = 3) -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], TOKEN=token, BOTS=set(bots), DELTAS=max(1, deltas))

    @app.post(CHAT_PATH)
    def chat() -> Response:
        body = request.get_json(silent=True, force=True)
        app.config["REQUESTS"].append({"method": request.method, "path": request.path, "body": body,
                                       "headers": {k.lower(): v for k, v in request.headers.items()}})
        if request.headers.get("Authorization") != f"Bearer {app.config['TOKEN']}":
            return coze_failure(4100, "authentication is invalid", 401)
        problem = body_problem(body)
        if problem:
            return coze_failure(4000, problem)
        if body["bot_id"] not in app.config["BOTS"]:
            return coze_failure(4015, f"The bot_id {body['bot_id']} has not been published to the channel "
                                      "Agent As API.")
        answer = f"Bot {body['bot_id']} heard: {body['query']}"
        if body.get("stream"):
            fail = "stream-error" in body["query"]
            return Response(stream_events(answer, app.config["DELTAS"], fail), content_type="text/event-stream")
        return json_response({"messages": [
            message("function_call", '{"name":"lookup","arguments":{}}'),
            message("tool_response", "lookup result"),
            message("answer", answer),
            message("follow_up", "What else can you do?"),
            message("verbose", '{"msg_type":"generate_answer_finish","data":""}'),
        ], "conversation_id": CONVERSATION_ID, "code": 0, "msg": "success"})

    return app


def body_problem(body: Any) -> str:
    if not isinstance(body, dict):
        return "The request body is not valid JSON."
    for name in ("bot_id", "user", "query"):
        if not isinstance(body.get(name), str) or not body[name]:
            return f"Request parameter error: {name} is required"
    for entry in body.get("chat_history") or []:
        if not isinstance(entry, dict) or entry.get("role") not in ("user", "assistant") \
                or not isinstance(entry.get("content"), str) or entry.get("content_type") != "text":
            return "Request parameter error: chat_history is invalid"
    if not isinstance(body.get("stream", False), bool):
        return "Request parameter error: stream must be a boolean"
    return ""


def coze_failure(code: int, msg: str, status: int = 200) -> Response:
    return json_response({"code": code, "msg": msg}, status)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False), status=status, content_type="application/json")


def message(kind: str, content: str) -> dict[str, Any]:
    return {"role": "assistant", "type": kind, "content": content, "content_type": "text"}


def pieces(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i:i + size] for i in range(0, len(text), size)]


def stream_events(answer: str, deltas: int, fail: bool) -> Iterator[bytes]:
    seq = 0

    def event(data: dict[str, Any]) -> bytes:
        return f"data:{json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()

    def message_event(kind: str, content: str, finish: bool, index: int) -> bytes:
        nonlocal seq
        seq += 1
        return event({"event": "message", "message": {**message(kind, content), "extra_info": None},
                      "is_finish": finish, "index": index, "conversation_id": CONVERSATION_ID, "seq_id": seq - 1})

    for number, piece in enumerate(pieces(answer, deltas)):
        yield message_event("answer", piece, False, 0)
        if fail and number == 0:
            yield event({"event": "error", "error_information": {"code": 5000, "msg": "The bot failed to answer"}})
            return
    yield message_event("answer", "", True, 0)
    yield message_event("follow_up", "What else can you do?", True, 1)
    yield message_event("verbose", '{"msg_type":"generate_answer_finish","data":""}', True, 2)
    yield event({"event": "done"})
