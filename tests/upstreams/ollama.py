"""A mock Ollama server (docs/api.md of github.com/ollama/ollama) as a WSGI app: `POST /api/chat` and
`POST /api/embed`, checked as Ollama checks them and answered in its formats.

    with serve(create_app(models=("llama3:latest",), api_key="secret")) as base_url: ...

- `/api/chat` streams by default (NDJSON, `application/x-ndjson`): `{model, created_at, message, done:
  false}` per piece, then `{done: true, done_reason, durations, prompt_eval_count, eval_count}`; with
  `"stream": false` one JSON object. `options.num_predict` cuts the reply (done_reason `length`).
- `/api/embed` answers `{model, embeddings, total_duration, load_duration, prompt_eval_count}`.
- Errors are `{"error": "..."}`: 404 for a model that was not pulled, 400 for a bad body, 401 when the
  mock stands for a proxy that wants `Authorization: Bearer <api_key>`.

The reply echoes the last user text (`REPLY_PREFIX + text`); tokens are counted one per word. A model
containing `runner-crash` fails its stream after the first piece with an `{"error"}` line.
`app.config["REQUESTS"]` records every request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

REPLY_PREFIX = "Hello from mock Ollama! You said: "
ROLES = ("system", "user", "assistant", "tool")
CHAT_FIELDS = {"model", "messages", "tools", "format", "options", "stream", "keep_alive", "think"}
MESSAGE_FIELDS = {"role", "content", "images", "tool_calls", "tool_name", "thinking"}
EMBED_FIELDS = {"model", "input", "truncate", "options", "keep_alive", "dimensions"}
OPTION_TYPES = {"num_keep": int, "seed": int, "num_predict": int, "top_k": int, "top_p": (int, float),
                "min_p": (int, float), "typical_p": (int, float), "repeat_last_n": int,
                "temperature": (int, float), "repeat_penalty": (int, float), "presence_penalty": (int, float),
                "frequency_penalty": (int, float), "stop": list, "num_ctx": int, "num_batch": int,
                "num_gpu": int, "main_gpu": int, "num_thread": int}
CREATED_AT = "2024-07-22T20:33:28.123648Z"


class OllamaError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self) -> Response:
        return Response(json.dumps({"error": self.message}), self.status,
                        content_type="application/json; charset=utf-8")


def create_app(*, models: tuple[str, ...] = ("llama3:latest",), api_key: str | None = None, pieces: int = 3,
               chunk_delay: float = 0.0, dimensions: int = 6) -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], MODELS=set(models), API_KEY=api_key, PIECES=pieces, CHUNK_DELAY=chunk_delay,
                      DIMENSIONS=dimensions)

    def record() -> Any:
        body = request.get_json(silent=True, force=True)
        app.config["REQUESTS"].append({"method": request.method, "path": request.path, "body": body,
                                       "headers": {k.lower(): v for k, v in request.headers.items()}})
        key = app.config["API_KEY"]
        if key is not None and request.headers.get("Authorization") != f"Bearer {key}":
            raise OllamaError(401, "unauthorized")
        if not isinstance(body, dict):
            raise OllamaError(400, "invalid JSON body")
        return body

    @app.post("/api/chat")
    def chat() -> Response:
        try:
            body = record()
            check_chat(body, app.config["MODELS"])
            return chat_answer(app.config, body)
        except OllamaError as exc:
            return exc.response()

    @app.post("/api/embed")
    def embed() -> Response:
        try:
            body = record()
            return Response(json.dumps(embed_answer(app.config, body)), content_type="application/json; charset=utf-8")
        except OllamaError as exc:
            return exc.response()

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return Response("404 page not found", 404, content_type="text/plain")

    return app


def require_model(body: dict[str, Any], models: set[str]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise OllamaError(400, "model is required")
    name = model if ":" in model else f"{model}:latest"
    if model not in models and name not in models:
        raise OllamaError(404, f'model "{model}" not found, try pulling it first')
    return model


def check_chat(body: dict[str, Any], models: set[str]) -> None:
    unknown = sorted(set(body) - CHAT_FIELDS)
    if unknown:
        raise OllamaError(400, f'json: unknown field "{unknown[0]}"')
    require_model(body, models)
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise OllamaError(400, "json: cannot unmarshal messages")
    for message in messages:
        if not isinstance(message, dict) or set(message) - MESSAGE_FIELDS:
            raise OllamaError(400, "json: cannot unmarshal message")
        if message.get("role") not in ROLES:
            raise OllamaError(400, f"invalid role: {message.get('role')}")
        if not isinstance(message.get("content", ""), str):
            raise OllamaError(400, "json: cannot unmarshal array into Go struct field "
                                   "Message.messages.content of type string")
        for image in message.get("images") or []:
            try:
                base64.b64decode(image, validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise OllamaError(400, "illegal base64 data at input byte 0") from None
        for call in message.get("tool_calls") or []:
            if not isinstance((call.get("function") or {}).get("arguments"), dict):
                raise OllamaError(400, "json: cannot unmarshal string into Go struct field .arguments of type map")
    options = body.get("options") or {}
    for name, value in options.items():
        expected = OPTION_TYPES.get(name)
        if expected is not None and (not isinstance(value, expected) or isinstance(value, bool)):
            raise OllamaError(400, f"option {name!r} must be of type {getattr(expected, '__name__', 'number')}")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise OllamaError(400, "json: cannot unmarshal stream")


def count(text: str) -> int:
    return len(text.split())


def chat_answer(config: dict[str, Any], body: dict[str, Any]) -> Response:
    model = body["model"]
    messages = body["messages"]
    last_user = next((m.get("content") or "" for m in reversed(messages) if m["role"] == "user"), "")
    words = (REPLY_PREFIX + last_user).split(" ")
    limit = (body.get("options") or {}).get("num_predict")
    reason = "stop"
    if isinstance(limit, int) and 0 < limit < len(words):
        words, reason = words[:limit], "length"
    reply = " ".join(words)
    images = sum(len(m.get("images") or []) for m in messages)
    prompt = sum(count(m.get("content") or "") for m in messages) + 10 * images
    final = {"model": model, "created_at": CREATED_AT, "done_reason": reason, "done": True,
             "total_duration": 4883583458, "load_duration": 1334875, "prompt_eval_count": prompt,
             "prompt_eval_duration": 342546000, "eval_count": count(reply), "eval_duration": 4535599000}
    if body.get("stream", True) is False:
        answer = {"model": model, "created_at": CREATED_AT, "message": {"role": "assistant", "content": reply},
                  **{k: v for k, v in final.items() if k not in ("model", "created_at")}}
        return Response(json.dumps(answer), content_type="application/json; charset=utf-8")
    lines = [{"model": model, "created_at": CREATED_AT, "message": {"role": "assistant", "content": piece},
              "done": False} for piece in split(reply, config["PIECES"])]
    if "runner-crash" in model:
        lines = lines[:1] + [{"error": "an error was encountered while running the model: unexpected EOF"}]
    else:
        lines.append({**final, "message": {"role": "assistant", "content": ""}})
    return Response(encode(lines, config["CHUNK_DELAY"]), content_type="application/x-ndjson")


def split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def encode(lines: list[dict[str, Any]], delay: float) -> Iterator[bytes]:
    for number, line in enumerate(lines):
        if number and delay:
            time.sleep(delay)
        yield json.dumps(line, ensure_ascii=False).encode() + b"\n"


def vector(text: str, dimensions: int = 6) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((b - 128) / 256, 6) for b in digest[:dimensions]]


def embed_answer(config: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - EMBED_FIELDS)
    if unknown:
        raise OllamaError(400, f'json: unknown field "{unknown[0]}"')
    model = require_model(body, config["MODELS"])
    value = body.get("input")
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise OllamaError(400, "invalid input type")
    dimensions = body.get("dimensions") or config["DIMENSIONS"]
    return {"model": model, "embeddings": [vector(t, dimensions) for t in texts], "total_duration": 14143917,
            "load_duration": 1019500, "prompt_eval_count": sum(count(t) for t in texts)}
