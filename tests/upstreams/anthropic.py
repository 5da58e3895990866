"""A mock Anthropic Messages API: it checks each request as api.anthropic.com does and answers in its
wire format (https://docs.anthropic.com/en/api/messages, /en/api/messages-streaming, /en/api/errors).

    with serve(create_app(api_key="sk-ant-test", chunk_delay=0.05)) as base_url: ...

`app.config["REQUESTS"]` lists every request received (method, path, lower-cased headers, JSON body).
The behaviour of a request is the `behaviour` option when given, else a marker in its model name:
`rate-limit` (429), `overloaded` (529), `api-error` (500), `stream-error` (an `error` event after the
first text delta), `tool-use` (a `tool_use` reply); any other model gets the normal reply, which echoes
the last user text deterministically and counts one token per word.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

BEHAVIOURS = ("reply", "tool_use", "rate_limit", "overloaded", "api_error", "stream_error")
ERRORS = {
    "rate_limit": (429, "rate_limit_error", "This request would exceed the rate limit for your organization "
                   "of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits."),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "api_error": (500, "api_error", "Internal server error"),
}
STREAM_ERROR = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
Event = tuple[str, dict[str, Any]]


def create_app(*, api_key: str = "sk-ant-mock", behaviour: str | None = None, chunk_delay: float = 0.0,
               deltas: int = 3, reply: str | None = None) -> Flask:
    """The mock as a WSGI app. `deltas` is how many `text_delta` events carry a streamed reply; `reply`
    replaces the echoed text."""
    if behaviour is not None and behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}; one of {BEHAVIOURS}")
    app = Flask(__name__)
    app.config.update(REQUESTS=[], API_KEY=api_key, BEHAVIOUR=behaviour, CHUNK_DELAY=chunk_delay,
                      DELTAS=max(1, deltas), REPLY=reply)

    @app.post("/v1/messages")
    def messages() -> Response:
        body = request.get_json(silent=True, force=True)
        number = len(app.config["REQUESTS"]) + 1
        app.config["REQUESTS"].append({"method": request.method, "path": request.path, "body": body,
                                       "headers": {k.lower(): v for k, v in request.headers.items()}})
        refusal = check_headers(request.headers, app.config["API_KEY"]) or check_body(body)
        if refusal:
            return error_response(*refusal, number=number)
        return answer(app.config, body, number)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return error_response(404, "not_found_error", "Not Found")

    @app.errorhandler(405)
    def method_not_allowed(_: Exception) -> Response:
        return error_response(405, "invalid_request_error", "Method Not Allowed")

    return app


def check_headers(headers: Any, api_key: str) -> tuple[int, str, str] | None:
    if not headers.get("x-api-key"):
        return 401, "authentication_error", "x-api-key header is required"
    if headers["x-api-key"] != api_key:
        return 401, "authentication_error", "invalid x-api-key"
    if not headers.get("anthropic-version"):
        return 400, "invalid_request_error", "anthropic-version: header is required"
    return None


def check_body(body: Any) -> tuple[int, str, str] | None:
    problem = body_problem(body)
    return (400, "invalid_request_error", problem) if problem else None


def body_problem(body: Any) -> str:
    if not isinstance(body, dict):
        return "The request body is not valid JSON."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        return "max_tokens: Field required"
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return "max_tokens: Input should be a valid integer"
    if max_tokens < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    return messages_problem(body.get("messages"))


def messages_problem(messages: Any) -> str:
    if messages is None:
        return "messages: Field required"
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    if not messages:
        return "messages: at least one message is required"
    for index, message in enumerate(messages):
        problem = message_problem(index, message, last=index == len(messages) - 1)
        if problem:
            return problem
    if messages[0]["role"] != "user":
        return 'messages: first message must use the "user" role'
    return ""


def message_problem(index: int, message: Any, *, last: bool) -> str:
    if not isinstance(message, dict):
        return f"messages.{index}: Input should be a valid dictionary"
    role, content = message.get("role"), message.get("content")
    if role == "system":
        return ('messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, '
                'not "system" as an input message role.')
    if role not in ("user", "assistant"):
        return f"messages.{index}.role: Input should be 'user' or 'assistant'"
    if not isinstance(content, str | list):
        return f"messages.{index}.content: Field required"
    if not content and not (last and role == "assistant"):
        return (f"messages.{index}: all messages must have non-empty content except for the optional final "
                "assistant message")
    if any(isinstance(b, dict) and b.get("type") == "text" and not b.get("text") for b in content or []):
        return "messages: text content blocks must be non-empty"
    return ""


def error_response(status: int, kind: str, message: str, number: int = 0) -> Response:
    request_id = f"req_mock{number:04d}"
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
    response = Response(json.dumps(body), status=status, content_type="application/json")
    response.headers["request-id"] = request_id
    if status == 429:
        response.headers["retry-after"] = "1"
    return response


def answer(config: dict[str, Any], body: dict[str, Any], number: int) -> Response:
    behaviour = config["BEHAVIOUR"] or behaviour_for(body["model"])
    if behaviour in ERRORS:
        return error_response(*ERRORS[behaviour], number=number)
    message = tool_message(body, number) if behaviour == "tool_use" else text_message(config, body, number)
    if not body.get("stream"):
        response = Response(json.dumps(message), content_type="application/json")
    else:
        events = stream_events(message, config["DELTAS"], fail=behaviour == "stream_error")
        response = Response(encode_events(events, config["CHUNK_DELAY"]),
                            content_type="text/event-stream; charset=utf-8", headers={"cache-control": "no-cache"})
    response.headers["request-id"] = f"req_mock{number:04d}"
    return response


def behaviour_for(model: str) -> str:
    for behaviour in BEHAVIOURS:
        if behaviour.replace("_", "-") in model:
            return behaviour
    return "reply"


def text_message(config: dict[str, Any], body: dict[str, Any], number: int) -> dict[str, Any]:
    """The echo reply, cut at `max_tokens` words as a real model stops at its token budget."""
    words = (config["REPLY"] or f"Hello from mock Claude! You said: {last_user_text(body)}").split(" ")
    stop = "max_tokens" if len(words) > body["max_tokens"] else "end_turn"
    words = words[:body["max_tokens"]]
    return message_envelope(body, number, [{"type": "text", "text": " ".join(words)}], stop, len(words))


def tool_message(body: dict[str, Any], number: int) -> dict[str, Any]:
    tools = body.get("tools") or [{"name": "get_weather"}]
    content = [{"type": "text", "text": f"I'll call {tools[0]['name']}."},
               {"type": "tool_use", "id": f"toolu_mock{number:04d}", "name": tools[0]["name"],
                "input": {"query": last_user_text(body)}}]
    return message_envelope(body, number, content, "tool_use", 3 + len(last_user_text(body).split()))


def message_envelope(body: dict[str, Any], number: int, content: list[dict[str, Any]], stop: str,
                     output_tokens: int) -> dict[str, Any]:
    return {"id": f"msg_mock{number:04d}", "type": "message", "role": "assistant", "model": body["model"],
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens(body), "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": output_tokens}}


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body["messages"]):
        if message["role"] == "user":
            return " ".join(texts(message["content"]))
    return ""


def texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]


def input_tokens(body: dict[str, Any]) -> int:
    words = sum(len(text.split()) for m in body["messages"] for text in texts(m["content"]))
    return max(1, words + sum(len(text.split()) for text in texts(body.get("system") or [])))


def stream_events(message: dict[str, Any], deltas: int, *, fail: bool = False) -> list[Event]:
    """The event sequence Anthropic sends for `message`; `fail` ends it with an `error` event after the
    first text delta."""
    start = {**message, "content": [], "stop_reason": None, "usage": {**message["usage"], "output_tokens": 1}}
    events: list[Event] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        events += block_events(index, block, deltas)
    if fail:
        first_delta = next(i for i, (name, _) in enumerate(events) if name == "content_block_delta")
        return events[:first_delta + 1] + [("error", STREAM_ERROR)]
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(("message_delta", {"type": "message_delta", "delta": delta,
                                     "usage": {"output_tokens": message["usage"]["output_tokens"]}}))
    return events + [("message_stop", {"type": "message_stop"})]


def block_events(index: int, block: dict[str, Any], deltas: int) -> list[Event]:
    is_text = block["type"] == "text"
    empty = {"type": "text", "text": ""} if is_text else {**block, "input": {}}
    kind, field = ("text_delta", "text") if is_text else ("input_json_delta", "partial_json")
    text = block["text"] if is_text else json.dumps(block["input"])
    start = {"type": "content_block_start", "index": index, "content_block": empty}
    events: list[Event] = [("content_block_start", start)]
    if index == 0:
        events.append(("ping", {"type": "ping"}))
    events += [("content_block_delta", {"type": "content_block_delta", "index": index,
                                        "delta": {"type": kind, field: piece}}) for piece in split(text, deltas)]
    return events + [("content_block_stop", {"type": "content_block_stop", "index": index})]


def split(text: str, parts: int) -> list[str]:
    """`text` in `parts` consecutive pieces (fewer when it is shorter)."""
    size = max(1, -(-len(text) // parts))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def encode_events(events: list[Event], delay: float) -> Iterator[bytes]:
    for number, (name, data) in enumerate(events):
        if number and delay:
            time.sleep(delay)
        yield f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
