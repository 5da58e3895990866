"""A mock OpenAI (and Azure OpenAI) server that checks requests as the real API does and answers in its
wire format: JSON, or SSE chunks ending in `data: [DONE]`, with a usage chunk when
`stream_options.include_usage` is set.

Behaviour by model name: `…-429` rate limited, `…-500` server error, `…-401` invalid key, `…-html` an
HTML 502 page, `…-leak` a 500 naming the key and host, `…-leak401` a 401 naming the key, `…-echokey` a
200 answer quoting the key, `…-broken` a stream that dies after two chunks, `…-leakstream` an error
event naming the key and host after two chunks, `…-earlyusage` the running usage on every chunk,
`…-long` an answer of LONG_WORDS words unless `max_tokens` cuts it, `…-quota` OpenAI's 429
insufficient_quota, `…-402` DeepSeek's 402 "Insufficient Balance", `…-echo400` / `…-echo500` a 400
invalid_request_error / a plain-text 500 quoting the last message's content back (as providers quote
invalid input); otherwise a reply of `words` words ("w0 w1 …"), with usage prompt_tokens=`prompt_tokens`
and completion_tokens=len(words). Like OpenAI, every reply stops at `max_completion_tokens` /
`max_tokens` words.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask, Response, jsonify, request

REPLY_WORDS = 5


def create_app(key: str = "sk-upstream", *, chunk_delay: float = 0.0, words: int = REPLY_WORDS,
               prompt_tokens: int = 10, azure_key: str = "azure-key") -> Flask:
    app = Flask("mock-openai")
    app.config.update(REQUESTS=[], KEY=key, AZURE_KEY=azure_key, DELAY=chunk_delay, WORDS=words,
                      LONG_WORDS=100_000,
                      PROMPT_TOKENS=prompt_tokens, CLOSED=[])

    @app.post("/v1/chat/completions")
    def chat():
        return _handle(app, "chat", _bearer_ok(app))

    @app.post("/v1/completions")
    def completions():
        return _handle(app, "completions", _bearer_ok(app))

    @app.post("/v1/embeddings")
    def embeddings():
        return _handle(app, "embeddings", _bearer_ok(app))

    @app.post("/v1/moderations")
    def moderations():
        return _handle(app, "moderations", _bearer_ok(app))

    @app.delete("/v1/files/<file_id>")
    def delete_file(file_id: str):
        app.config["REQUESTS"].append({"path": request.full_path, "headers": dict(request.headers), "body": None,
                                       "deployment": ""})
        if not _bearer_ok(app):
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        return jsonify(id=file_id, object="file", deleted=True)

    @app.after_request
    def cloudflare_cookie(response: Response) -> Response:
        # OpenAI's answers pass Cloudflare, which sets its bot-management cookie on each of them.
        response.headers["Set-Cookie"] = "__cf_bm=mock-cookie; path=/; HttpOnly"
        return response

    @app.post("/openai/deployments/<deployment>/chat/completions")
    def azure_chat(deployment: str):
        if not request.args.get("api-version"):
            return _error(404, "Resource not found", "invalid_request_error", "404")
        authorized = request.headers.get("api-key") == app.config["AZURE_KEY"]
        return _handle(app, "chat", authorized, deployment=deployment)

    return app


def _bearer_ok(app: Flask) -> bool:
    return request.headers.get("Authorization") == f"Bearer {app.config['KEY']}"


def _error(status: int, message: str, type_: str, code: Any = None):
    return jsonify(error={"message": message, "type": type_, "param": None, "code": code}), status


def _handle(app: Flask, kind: str, authorized: bool, deployment: str = ""):
    body = request.get_json(silent=True)
    app.config["REQUESTS"].append({"path": request.full_path, "headers": dict(request.headers), "body": body,
                                   "deployment": deployment})
    if not authorized:
        return _error(401, "Incorrect API key provided: sk-up***.", "invalid_request_error", "invalid_api_key")
    problem = _check(kind, body)
    if problem:
        return _error(400, problem, "invalid_request_error")
    model = body.get("model") or deployment
    failure = _failure(model) or _echo(model, body)
    if failure is not None:
        return failure
    if kind == "embeddings":
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        usage = {"prompt_tokens": 4 * len(inputs), "total_tokens": 4 * len(inputs)}
        data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(inputs))]
        return jsonify(object="list", model=model, usage=usage, data=data)
    if kind == "moderations":
        return jsonify(id="modr-1", model=model, results=[{"flagged": False, "categories": {}, "category_scores": {}}])
    if body.get("stream"):
        return _stream(app, kind, body, model)
    return jsonify(_completion(app, kind, model, body))


def _check(kind: str, body: Any) -> str:
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request."
    if not body.get("model"):
        return "you must provide a model parameter"
    if kind == "chat" and not (isinstance(body.get("messages"), list) and body["messages"]):
        return "'messages' is a required property"
    if kind == "completions" and "prompt" not in body:
        return "'prompt' is a required property"
    if kind in ("embeddings", "moderations") and not body.get("input"):
        return "'input' is a required property"
    if "stream_options" in body and not body.get("stream"):
        return "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    return ""


def _failure(model: str):
    if model.endswith("-429"):
        return _error(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded")
    if model.endswith("-500"):
        return _error(500, "The server had an error while processing your request.", "server_error")
    if model.endswith("-401"):
        return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
    if model.endswith("-leak401"):
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return _error(401, f"Incorrect API key provided: {key}.", "invalid_request_error", "invalid_api_key")
    if model.endswith("-leak"):
        # Some providers echo the key and their host in errors.
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return _error(500, f"backend {request.host_url} refused key {key}", "server_error")
    if model.endswith("-html"):
        return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status=502, mimetype="text/html")
    if model.endswith("-quota"):
        return _error(429, "You exceeded your current quota, please check your plan and billing details.",
                      "insufficient_quota", "insufficient_quota")
    if model.endswith("-402"):
        return _error(402, "Insufficient Balance", "unknown_error", "invalid_request_error")
    return None


def _echo(model: str, body: dict[str, Any]):
    messages = body.get("messages") or [{}]
    quoted = str(messages[-1].get("content") if isinstance(messages[-1], dict) else messages[-1])
    if model.endswith("-echo400"):
        return _error(400, f"Invalid value for 'messages[-1].content': {quoted}", "invalid_request_error")
    if model.endswith("-echo500"):
        return Response(f"internal error while handling: {quoted}", status=500, mimetype="text/plain")
    return None


def _words(app: Flask, body: dict[str, Any] | None = None, model: str = "") -> list[str]:
    """The reply: `words` words, or LONG_WORDS for a `…-long` model (an answer that runs on when no
    `max_tokens` stops it); as OpenAI does, `max_completion_tokens` / `max_tokens` cut it short."""
    count = app.config["LONG_WORDS"] if model.endswith("-long") else app.config["WORDS"]
    limit = (body or {}).get("max_completion_tokens") or (body or {}).get("max_tokens")
    if isinstance(limit, int) and limit > 0:
        count = min(count, limit)
    return [f"w{i} " for i in range(count)]


def _completion(app: Flask, kind: str, model: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    words = _words(app, body, model)
    text = "".join(words)
    if model.endswith("-echokey"):
        # A misconfigured proxy in front of a provider that answers with the request's headers.
        text += "debug: Authorization=" + request.headers.get("Authorization", "")
    usage = {"prompt_tokens": app.config["PROMPT_TOKENS"], "completion_tokens": len(words),
             "total_tokens": app.config["PROMPT_TOKENS"] + len(words)}
    if kind == "completions":
        return {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": model,
                "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}], "usage": usage}
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": usage}


def _stream(app: Flask, kind: str, body: dict[str, Any], model: str) -> Response:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    request_key, host = request.headers.get("Authorization", "").removeprefix("Bearer "), request.host_url

    sent: list[str] = []

    def chunk(delta: dict[str, Any], finish: str | None = None, text: str | None = None) -> bytes:
        choice = {"index": 0, "finish_reason": finish}
        if kind == "completions":
            choice["text"] = text or ""
        else:
            choice["delta"] = delta
        payload = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                   "choices": [choice]}
        if include_usage:
            payload["usage"] = None
        if model.endswith("-earlyusage"):
            # Some compatible vendors put the running usage on every chunk, from the first one on.
            sent.append(text or delta.get("content") or "")
            count = sum(1 for piece in sent if piece)
            payload["usage"] = {"prompt_tokens": app.config["PROMPT_TOKENS"], "completion_tokens": max(count, 1),
                                "total_tokens": app.config["PROMPT_TOKENS"] + max(count, 1)}
        return f"data: {json.dumps(payload)}\n\n".encode()

    def generate():
        try:
            yield chunk({"role": "assistant", "content": ""})
            words = _words(app, body, model)
            for i, word in enumerate(words):
                if app.config["DELAY"]:
                    time.sleep(app.config["DELAY"])
                if model.endswith("-broken") and i == 2:
                    raise ConnectionError("upstream died")
                if model.endswith("-leakstream") and i == 2:
                    key = request_key
                    error = {"message": f"backend {host} refused key {key}", "type": "server_error", "code": None}
                    yield f"data: {json.dumps({'error': error})}\n\n".encode()
                    return
                yield chunk({"content": word}, text=word)
            if model.endswith("-echokey"):
                echo = "debug: Authorization=Bearer " + request_key
                yield chunk({"content": echo}, text=echo)
            yield chunk({}, "stop")
            if include_usage:
                usage = {"prompt_tokens": app.config["PROMPT_TOKENS"], "completion_tokens": len(words),
                         "total_tokens": app.config["PROMPT_TOKENS"] + len(words)}
                payload = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                           "choices": [], "usage": usage}
                yield f"data: {json.dumps(payload)}\n\n".encode()
            yield b"data: [DONE]\n\n"
        finally:
            app.config["CLOSED"].append(time.monotonic())

    return Response(generate(), mimetype="text/event-stream")


def create_slow_app(delay: float, **kwargs: Any) -> Flask:
    """The mock above, answering every request only after `delay` seconds (a slow channel)."""
    app = create_app(**kwargs)

    @app.before_request
    def wait() -> None:
        time.sleep(delay)

    return app
