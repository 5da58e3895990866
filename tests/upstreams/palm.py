"""A mock PaLM 2 chat API (generativelanguage.googleapis.com v1beta2 `generateMessage`), checking each
request as Google does and answering in its wire format (ai.google.dev/api/rest/v1beta/models/
generateMessage; the v1beta2 discuss_service protos; Google's JSON error envelope).

    with serve(create_app(api_key="AIza-test")) as base_url: ...

`app.config["REQUESTS"]` lists every request received (method, path, lower-cased headers, JSON body).
The reply to the last message is deterministic (`PaLM says: <text>`); a last message containing
`[blocked]` is refused by the safety filter (no candidates), `[quota]` gets 429 RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, request

MODELS = frozenset({"chat-bison-001"})
REQUEST_FIELDS = frozenset({"prompt", "temperature", "candidateCount", "candidate_count", "topP", "top_p", "topK",
                            "top_k"})
PROMPT_FIELDS = frozenset({"context", "examples", "messages"})


def create_app(*, api_key: str = "AIza-mock-key") -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], API_KEY=api_key)

    @app.post("/v1beta2/models/<path:method>")
    def generate(method: str) -> Response:
        body = request.get_json(silent=True, force=True)
        app.config["REQUESTS"].append({"method": request.method, "path": request.path, "body": body,
                                       "headers": {k.lower(): v for k, v in request.headers.items()}})
        model, _, verb = method.partition(":")
        key = request.headers.get("x-goog-api-key") or request.args.get("key")
        if not key:
            return error(403, "PERMISSION_DENIED", "The request is missing a valid API key.")
        if key != app.config["API_KEY"]:
            return error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        if verb != "generateMessage" or model not in MODELS:
            return error(404, "NOT_FOUND", f"models/{model} is not found for API version v1beta2, or is not "
                                           f"supported for {verb or 'this method'}.")
        problem = body_problem(body)
        if problem:
            return error(400, "INVALID_ARGUMENT", problem)
        return answer(body)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return error(404, "NOT_FOUND", "Requested entity was not found.")

    return app


def error(code: int, status: str, message: str) -> Response:
    return Response(json.dumps({"error": {"code": code, "message": message, "status": status}}), status=code,
                    content_type="application/json; charset=UTF-8")


def body_problem(body: Any) -> str:
    if not isinstance(body, dict):
        return "Invalid JSON payload received."
    for name in body:
        if name not in REQUEST_FIELDS:
            return f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
    prompt = body.get("prompt")
    if not isinstance(prompt, dict):
        return "prompt: required field is missing"
    for name in prompt:
        if name not in PROMPT_FIELDS:
            return f'Invalid JSON payload received. Unknown name "{name}" at \'prompt\': Cannot find field.'
    messages = prompt.get("messages")
    if not isinstance(messages, list) or not messages:
        return "prompt.messages must not be empty"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str) or not message["content"]:
            return f"prompt.messages[{index}].content must not be empty"
        if index and message.get("author") == messages[index - 1].get("author"):
            return "prompt.messages: authors must alternate"
    temperature = body.get("temperature")
    if temperature is not None and not 0 <= temperature <= 1:
        return "temperature must be in [0.0, 1.0]"
    count = body.get("candidateCount", body.get("candidate_count"))
    if count is not None and not 1 <= count <= 8:
        return "candidate_count must be in [1, 8]"
    return ""


def answer(body: dict[str, Any]) -> Response:
    messages = body["prompt"]["messages"]
    last = messages[-1]["content"]
    history = [{"author": m.get("author") or str(i % 2), "content": m["content"]} for i, m in enumerate(messages)]
    if "[quota]" in last:
        return error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
    if "[blocked]" in last:
        return Response(json.dumps({"messages": history, "filters": [{"reason": "OTHER"}]}),
                        content_type="application/json; charset=UTF-8")
    count = body.get("candidateCount", body.get("candidate_count")) or 1
    author = "1" if messages[-1].get("author") != "1" else "0"
    candidates = [{"author": author, "content": f"PaLM says: {last}" + (f" (#{i + 1})" if i else "")}
                  for i in range(count)]
    return Response(json.dumps({"candidates": candidates, "messages": history}),
                    content_type="application/json; charset=UTF-8")
