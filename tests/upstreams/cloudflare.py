"""A mock Cloudflare Workers AI REST API as a WSGI app: run it with `tests.upstreams.server.serve`.

It checks each request as api.cloudflare.com does (the account in the path, `Authorization: Bearer
<API token>`, the model and input fields) and answers in Workers AI's formats
(https://developers.cloudflare.com/workers-ai/configuration/open-ai-compatibility/,
https://developers.cloudflare.com/api/resources/ai/methods/run/):

- `/client/v4/accounts/{account}/ai/v1/chat/completions`: OpenAI chat completions; a stream's chunks
  carry no role, the finishing chunk carries the usage, then `data: [DONE]`;
- `/client/v4/accounts/{account}/ai/v1/embeddings`: OpenAI embeddings with deterministic vectors;
- `/client/v4/accounts/{account}/ai/run/{model}`: `{"result": {"response", "usage"}, "success": true,
  "errors": [], "messages": []}`, or with `stream` events `data: {"response": "..."}`, the last with usage;
- failures in the v4 envelope `{"success": false, "errors": [{"code", "message"}], ...}`.

Every request is recorded in `app.config["REQUESTS"]` (method, path, lower-cased headers, JSON body).
Behaviour by marker in the model name: `rate-limit` → 429 (code 3040), `missing` → 400 no such model
(code 5007); a reply echoes the last user text (or the prompt) and counts one token per word.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

PREFIX = "/client/v4/accounts/<account>/ai"
MODEL_PREFIXES = ("@cf/", "@hf/")


class CloudflareError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def create_app(*, api_token: str = "cf-mock-token", account: str = "0123456789abcdef0123456789abcdef",
               deltas: int = 3, chunk_delay: float = 0.0, reply: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], API_TOKEN=api_token, ACCOUNT=account, DELTAS=max(1, deltas),
                      CHUNK_DELAY=chunk_delay, REPLY=reply, COUNTER=[0])

    @app.before_request
    def record_and_authenticate() -> None:
        app.config["REQUESTS"].append({"method": request.method, "path": request.path,
                                       "body": request.get_json(silent=True, force=True),
                                       "headers": {k.lower(): v for k, v in request.headers.items()}})
        if not request.headers.get("Authorization"):
            raise CloudflareError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
        if request.headers["Authorization"] != f"Bearer {app.config['API_TOKEN']}":
            raise CloudflareError(401, 10000, "Authentication error")
        if request.url_rule is not None and (request.view_args or {}).get("account") != app.config["ACCOUNT"]:
            raise CloudflareError(403, 10000, "Authentication error")

    @app.post(f"{PREFIX}/v1/chat/completions")
    def chat(account: str) -> Response:
        body = json_body()
        model = check_model(body.get("model"))
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and m.get("role") and "content" in m for m in messages):
            raise bad_input("messages must be a non-empty array of {role, content}")
        prompt = sum(len(str(text).split()) for m in messages for text in texts(m["content"]))
        last = next((" ".join(texts(m["content"])) for m in reversed(messages) if m["role"] == "user"), "")
        words = reply_words(app.config, last, body.get("max_tokens"))
        if body.get("stream"):
            return sse(chat_stream(app.config, model, words, max(1, prompt)), app.config["CHUNK_DELAY"])
        answer = {"id": next_id(app.config), "object": "chat.completion", "created": int(time.time()), "model": model,
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(words),
                                                       "tool_calls": []},
                               "logprobs": None, "finish_reason": "stop"}],
                  "usage": usage(max(1, prompt), len(words))}
        return Response(json.dumps(answer), content_type="application/json")

    @app.post(f"{PREFIX}/v1/embeddings")
    def embeddings(account: str) -> Response:
        body = json_body()
        model = check_model(body.get("model"))
        values = [body.get("input")] if isinstance(body.get("input"), str) else body.get("input")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise bad_input("input must be a string or an array of strings")
        tokens = sum(len(v.split()) for v in values)
        answer = {"object": "list", "model": model,
                  "data": [{"object": "embedding", "embedding": vector(v), "index": i} for i, v in enumerate(values)],
                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return Response(json.dumps(answer), content_type="application/json")

    @app.post(f"{PREFIX}/run/<path:model>")
    def run(account: str, model: str) -> Response:
        body = json_body()
        check_model(model)
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise bad_input("Error: oneOf at '/' not met, 0 matches; required properties at '/' are 'prompt'")
        if "model" in body:
            raise bad_input("Error: additional properties at '/' not allowed: 'model'")
        words = reply_words(app.config, prompt, body.get("max_tokens"))
        if body.get("stream"):
            return sse(run_stream(app.config, words, len(prompt.split())), app.config["CHUNK_DELAY"])
        result = {"response": " ".join(words), "usage": usage(len(prompt.split()), len(words))}
        return Response(json.dumps({"result": result, "success": True, "errors": [], "messages": []}),
                        content_type="application/json")

    @app.errorhandler(CloudflareError)
    def cloudflare_error(exc: CloudflareError) -> Response:
        return failure(exc)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return failure(CloudflareError(404, 7000, "No route for that URI"))

    @app.errorhandler(405)
    def method_not_allowed(_: Exception) -> Response:
        return failure(CloudflareError(405, 10405, "Method not allowed"))

    return app


def failure(exc: CloudflareError) -> Response:
    body = {"success": False, "errors": [{"code": exc.code, "message": exc.message}], "messages": [], "result": None}
    return Response(json.dumps(body), exc.status, content_type="application/json")


def bad_input(detail: str) -> CloudflareError:
    return CloudflareError(400, 5006, f"AiError: Bad input: {detail}")


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise bad_input("the body must be a JSON object")
    return body


def check_model(model: Any) -> str:
    if not isinstance(model, str) or not model.startswith(MODEL_PREFIXES) or "missing" in model:
        raise CloudflareError(400, 5007, f"No such model {model} or task")
    if "rate-limit" in model:
        raise CloudflareError(429, 3040, "Capacity temporarily exceeded, please try again.")
    return model


def texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [str(p.get("text") or "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text"]


def reply_words(config: dict[str, Any], said: str, max_tokens: Any) -> list[str]:
    words = (config["REPLY"] or f"Hello from mock Workers AI! You said: {said}").split(" ")
    return words[:max_tokens] if isinstance(max_tokens, int) and max_tokens > 0 else words


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def next_id(config: dict[str, Any]) -> str:
    config["COUNTER"][0] += 1
    return f"id-{int(time.time() * 1000)}{config['COUNTER'][0]:03d}"


def pieces(words: list[str], parts: int) -> list[str]:
    size = max(1, -(-len(words) // parts))
    return [" ".join(words[i:i + size]) + (" " if i + size < len(words) else "") for i in range(0, len(words), size)]


def chat_stream(config: dict[str, Any], model: str, words: list[str], prompt: int) -> Iterator[dict[str, Any]]:
    # Workers AI gives each chunk an id of its own and sends no role.
    for piece in pieces(words, config["DELTAS"]):
        yield {"id": next_id(config), "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
               "choices": [{"index": 0, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}]}
    yield {"id": next_id(config), "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
           "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}],
           "usage": usage(prompt, len(words))}


def run_stream(config: dict[str, Any], words: list[str], prompt: int) -> Iterator[dict[str, Any]]:
    for piece in pieces(words, config["DELTAS"]):
        yield {"response": piece, "p": "abcdefghijklmnopqrstuvwxyz"[:len(piece)]}
    yield {"response": "", "usage": usage(prompt, len(words))}


def sse(events: Iterator[dict[str, Any]], delay: float) -> Response:
    def body() -> Iterator[bytes]:
        for number, event in enumerate(events):
            if number and delay:
                time.sleep(delay)
            yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode()
        yield b"data: [DONE]\n\n"
    return Response(body(), content_type="text/event-stream")


def vector(text: str, dimension: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(digest[i] / 255 - 0.5, 6) for i in range(dimension)]
