"""A mock Cohere v1 Chat API (https://docs.cohere.com/v1/reference/chat) as a WSGI app: `POST /v1/chat`
checked as api.cohere.ai checks it and answered in its formats.

    with serve(create_app(api_key="co-...")) as base_url: ...

- Non-stream: `{response_id, text, generation_id, chat_history, finish_reason, meta{api_version,
  billed_units, tokens}}`.
- `"stream": true`: one JSON object per line (`application/stream+json`): `stream-start`,
  `text-generation` pieces, (with the `web-search` connector: `search-queries-generation` and
  `search-results` first, `citation-generation` after the text), then `stream-end` carrying the whole
  response.
- Errors are `{"message": "..."}` with the HTTP status: 401 `invalid api token`, 400 for a bad body
  (unknown fields included), 404 for an unknown model, 429 for a model containing `rate-limit`.

The reply echoes the message (`REPLY_PREFIX + message`); billed input tokens are its words, `tokens`
adds `PROMPT_OVERHEAD` (Cohere's prompt template) and every history word; output tokens are the
reply's words, cut by `max_tokens` (finish MAX_TOKENS). `app.config["REQUESTS"]` records every request.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

REPLY_PREFIX = "Hello from mock Cohere! You said: "
PROMPT_OVERHEAD = 60
ROLES = ("USER", "CHATBOT", "SYSTEM", "TOOL")
FIELDS = {"message", "model", "stream", "preamble", "chat_history", "conversation_id", "prompt_truncation",
          "connectors", "search_queries_only", "documents", "citation_quality", "temperature", "max_tokens",
          "max_input_tokens", "k", "p", "seed", "stop_sequences", "frequency_penalty", "presence_penalty",
          "tools", "tool_results", "force_single_step", "response_format", "safety_mode"}
MODELS = ("command", "command-nightly", "command-light", "command-light-nightly", "command-r", "command-r-plus",
          "command-r-08-2024", "command-r-plus-08-2024", "command-r7b-12-2024", "command-a-03-2025",
          "command-r-rate-limit")


class CohereError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self) -> Response:
        return Response(json.dumps({"message": self.message}), self.status, content_type="application/json")


def create_app(*, api_key: str = "co-mock-key", pieces: int = 3, chunk_delay: float = 0.0) -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], API_KEY=api_key, PIECES=pieces, CHUNK_DELAY=chunk_delay)

    @app.post("/v1/chat")
    def chat() -> Response:
        body = request.get_json(silent=True, force=True)
        app.config["REQUESTS"].append({"method": request.method, "path": request.path, "body": body,
                                       "headers": {k.lower(): v for k, v in request.headers.items()}})
        try:
            check_auth(request.headers.get("Authorization", ""), app.config["API_KEY"])
            check_body(body)
            return answer(app.config, body)
        except CohereError as exc:
            return exc.response()

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return CohereError(404, "not found").response()

    return app


def check_auth(header: str, api_key: str) -> None:
    if not header:
        raise CohereError(401, "no api key supplied")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or token != api_key:
        raise CohereError(401, "invalid api token")


def check_body(body: Any) -> None:
    if not isinstance(body, dict):
        raise CohereError(400, "invalid request: the request body must be a JSON object.")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise CohereError(400, f"invalid request: unknown field: parameter {unknown[0]} is not a valid field")
    if not isinstance(body.get("message"), str) or not body["message"].strip():
        raise CohereError(400, "invalid request: message must be at least 1 token long or tool results must be "
                               "specified.")
    model = body.get("model", "command-r-plus")
    if model not in MODELS:
        raise CohereError(404, f"model '{model}' not found, make sure the correct model ID was used and that you "
                               "have access to the model.")
    for turn in body.get("chat_history") or []:
        if not isinstance(turn, dict) or turn.get("role") not in ROLES:
            raise CohereError(400, "invalid request: chat_history.role must be one of USER, CHATBOT, SYSTEM, TOOL")
        if not isinstance(turn.get("message"), str):
            raise CohereError(400, "invalid request: chat_history.message must be a string")
    for connector in body.get("connectors") or []:
        if not isinstance(connector, dict) or not connector.get("id"):
            raise CohereError(400, "invalid request: connectors must have an id")
    for name in ("temperature", "p", "frequency_penalty", "presence_penalty"):
        if name in body and (not isinstance(body[name], int | float) or isinstance(body[name], bool)):
            raise CohereError(400, f"invalid request: {name} must be a number")
    for name in ("max_tokens", "k", "seed"):
        if name in body and (not isinstance(body[name], int) or isinstance(body[name], bool)):
            raise CohereError(400, f"invalid request: {name} must be an integer")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise CohereError(400, "invalid request: stream must be a boolean")


def count(text: str) -> int:
    return len(text.split())


def answer(config: dict[str, Any], body: dict[str, Any]) -> Response:
    model = body.get("model", "command-r-plus")
    if "rate-limit" in model:
        raise CohereError(429, "You are using a Trial key, which is limited to 10 API calls / minute. You can "
                               "continue to use the Trial key for free or upgrade to a Production key.")
    words = (REPLY_PREFIX + body["message"]).split(" ")
    reason = "COMPLETE"
    if isinstance(body.get("max_tokens"), int) and body["max_tokens"] < len(words):
        words, reason = words[:body["max_tokens"]], "MAX_TOKENS"
    text = " ".join(words)
    history = body.get("chat_history") or []
    generation_id = str(uuid.uuid4())
    billed_in = count(body["message"])
    meta = {"api_version": {"version": "1"},
            "billed_units": {"input_tokens": billed_in, "output_tokens": count(text)},
            "tokens": {"input_tokens": PROMPT_OVERHEAD + billed_in + sum(count(t["message"]) for t in history),
                       "output_tokens": count(text)}}
    response = {"response_id": str(uuid.uuid4()), "text": text, "generation_id": generation_id,
                "chat_history": [*history, {"role": "USER", "message": body["message"]},
                                 {"role": "CHATBOT", "message": text}],
                "finish_reason": reason, "meta": meta}
    if not body.get("stream"):
        return Response(json.dumps(response), content_type="application/json")
    web = any(c.get("id") == "web-search" for c in body.get("connectors") or [])
    return Response(encode(stream_events(response, config["PIECES"], web), config["CHUNK_DELAY"]),
                    content_type="application/stream+json")


def split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def stream_events(response: dict[str, Any], pieces: int, web: bool) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"is_finished": False, "event_type": "stream-start",
                                     "generation_id": response["generation_id"]}]
    if web:
        query = {"text": response["chat_history"][-2]["message"], "generation_id": str(uuid.uuid4())}
        events += [{"is_finished": False, "event_type": "search-queries-generation", "search_queries": [query]},
                   {"is_finished": False, "event_type": "search-results",
                    "search_results": [{"search_query": query, "document_ids": ["web-search_0"],
                                        "connector": {"id": "web-search"}}],
                    "documents": [{"id": "web-search_0", "snippet": "…", "title": "Result",
                                   "url": "https://example.com/"}]}]
    events += [{"is_finished": False, "event_type": "text-generation", "text": piece}
               for piece in split(response["text"], pieces)]
    if web:
        events.append({"is_finished": False, "event_type": "citation-generation",
                       "citations": [{"start": 0, "end": 5, "text": response["text"][:5],
                                      "document_ids": ["web-search_0"]}]})
    events.append({"is_finished": True, "event_type": "stream-end", "response": response,
                   "finish_reason": response["finish_reason"]})
    return events


def encode(events: list[dict[str, Any]], delay: float) -> Iterator[bytes]:
    for number, event in enumerate(events):
        if number and delay:
            time.sleep(delay)
        yield json.dumps(event, ensure_ascii=False).encode() + b"\n"
