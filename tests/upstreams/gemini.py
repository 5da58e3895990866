"""A mock Gemini API (generativelanguage.googleapis.com) as a WSGI app: run it with `tests.upstreams.server.serve`.

It checks each request as Google does (path, key, body) and answers in Google's formats: JSON for
generateContent, `data: {...}\\r\\n\\r\\n` events for streamGenerateContent?alt=sse (a JSON array without
alt=sse), deterministic vectors for batchEmbedContents. Every request is recorded in app.config["REQUESTS"].

Behaviour comes from the `behaviour` option or, when it is None, from the model name: `429`/`rate-limit`
→ 429 RESOURCE_EXHAUSTED, `503`/`overloaded` → 503 UNAVAILABLE, `blocked` → a refused prompt,
`function`/`tool` → a functionCall of the first declared function; anything else → a normal reply.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, request

VERSIONS = ("v1", "v1beta")
METHODS = ("generateContent", "streamGenerateContent", "batchEmbedContents")
# The request fields Google's JSON parser knows; it accepts the proto (snake_case) names as well.
REQUEST_FIELDS = {"contents", "systemInstruction", "tools", "toolConfig", "safetySettings", "generationConfig",
                  "cachedContent", "model", "labels"}
GENERATION_FIELDS = {"stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "candidateCount",
                     "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
                     "frequencyPenalty", "responseLogprobs", "logprobs", "thinkingConfig", "responseModalities",
                     "mediaResolution", "speechConfig", "enableEnhancedCivicAnswers"}
PART_DATA = {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
             "codeExecutionResult"}
PART_EXTRA = {"thought", "thoughtSignature", "videoMetadata"}
CATEGORIES = {"HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
              "HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_CIVIC_INTEGRITY"}
THRESHOLDS = {"HARM_BLOCK_THRESHOLD_UNSPECIFIED", "BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE",
              "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF"}
NO_KEY = ("Method doesn't allow unregistered callers (callers without established identity). "
          "Please use API Key or other form of API consumer identity to call this API.")
BAD_KEY = "API key not valid. Please pass a valid API key."


class GoogleError(Exception):
    def __init__(self, code: int, status: str, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.code, self.status, self.message, self.reason = code, status, message, reason

    def response(self) -> Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.reason:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason,
                                 "domain": "googleapis.com",
                                 "metadata": {"service": "generativelanguage.googleapis.com"}}]
        return Response(dumps({"error": error}, indent=2), self.code, content_type="application/json; charset=UTF-8")


def create_app(key: str = "test-gemini-key", reply: str = "Hello! This is the mock Gemini speaking.",
               chunks: int = 3, chunk_delay: float = 0.0, behaviour: str | None = None,
               dimensions: int = 8) -> Flask:
    """The mock server; `chunks` is how many events a streamed reply is split into."""
    app = Flask(__name__)
    configure(app, key=key, reply=reply, chunks=chunks, chunk_delay=chunk_delay, behaviour=behaviour,
              dimensions=dimensions)
    app.config["REQUESTS"] = []
    app.add_url_rule("/<version>/models/<path:target>", "call", _call, methods=["POST"])
    app.register_error_handler(GoogleError, lambda e: e.response())
    app.register_error_handler(404, lambda e: GoogleError(404, "NOT_FOUND", "Requested entity was not found.")
                               .response())
    app.register_error_handler(405, lambda e: GoogleError(404, "NOT_FOUND", "Requested entity was not found.")
                               .response())
    return app


def configure(app: Flask, **options: Any) -> None:
    """Change `create_app` options of a running mock (tests share one server and reset it)."""
    for name, value in options.items():
        app.config[name.upper()] = max(1, value) if name == "chunks" else value


def dumps(value: Any, indent: int | None = None) -> str:
    # Google's own spacing: `{"a": 1,"b": 2}` in streams, pretty-printed JSON otherwise.
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=(",", ": "))


def _call(version: str, target: str) -> Response:
    config = current_app.config
    body = request.get_json(silent=True)
    config["REQUESTS"].append({"path": request.path, "query": request.args.to_dict(), "body": body,
                               "headers": {k.lower(): v for k, v in request.headers.items()}})
    model, _, method = target.rpartition(":")
    if version not in VERSIONS or method not in METHODS or not model or "/" in model:
        raise GoogleError(404, "NOT_FOUND", f"models/{model} is not found for API version {version}, or is "
                                            f"not supported for {method}.")
    _check_key(config["KEY"])
    if not isinstance(body, dict):
        raise GoogleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.")
    if method == "batchEmbedContents":
        return _json(_embeddings(model, body, config["DIMENSIONS"]))
    _check_generate(body)
    answers = _answers(model, body, config)
    if method == "generateContent":
        return _json(answers[0])
    if request.args.get("alt") != "sse":
        return _json(answers)
    return Response(_events(answers, config["CHUNK_DELAY"]), content_type="text/event-stream")


def _json(value: Any) -> Response:
    return Response(dumps(value, indent=2), content_type="application/json; charset=UTF-8")


def _events(answers: list[dict[str, Any]], delay: float) -> Iterator[bytes]:
    for position, answer in enumerate(answers):
        if position and delay:
            time.sleep(delay)
        yield f"data: {dumps(answer)}\r\n\r\n".encode()


def _check_key(expected: str) -> None:
    given = request.headers.get("x-goog-api-key") or request.args.get("key")
    if not given:
        raise GoogleError(403, "PERMISSION_DENIED", NO_KEY, "API_KEY_SERVICE_BLOCKED")
    if given != expected:
        raise GoogleError(400, "INVALID_ARGUMENT", BAD_KEY, "API_KEY_INVALID")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _unknown(fields: dict[str, Any], known: set[str], where: str) -> None:
    for name in fields:
        if _camel(name) not in known:
            at = f" at '{where}'" if where else ""
            raise GoogleError(400, "INVALID_ARGUMENT",
                              f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.')


def _field(body: dict[str, Any], name: str) -> Any:
    return body.get(name, body.get("".join("_" + c.lower() if c.isupper() else c for c in name)))


def _check_generate(body: dict[str, Any]) -> None:
    _unknown(body, REQUEST_FIELDS, "")
    contents = _field(body, "contents")
    if not isinstance(contents, list) or not contents:
        raise GoogleError(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified\n")
    for index, content in enumerate(contents):
        if not isinstance(content, dict) or content.get("role", "user") not in ("user", "model"):
            raise GoogleError(400, "INVALID_ARGUMENT", "Please use a valid role: user, model.")
        _check_parts(content.get("parts"), f"contents[{index}]")
    system = _field(body, "systemInstruction")
    if system is not None:
        _check_parts(system.get("parts") if isinstance(system, dict) else None, "system_instruction")
    for tool in _field(body, "tools") or []:
        for index, declaration in enumerate(_field(tool, "functionDeclarations") or []):
            _check_declaration(declaration, index)
    generation = _field(body, "generationConfig") or {}
    _unknown(generation, GENERATION_FIELDS, "generation_config")
    for setting in _field(body, "safetySettings") or []:
        if setting.get("category") not in CATEGORIES or setting.get("threshold") not in THRESHOLDS:
            raise GoogleError(400, "INVALID_ARGUMENT", f"Invalid value at 'safety_settings': {setting}")


def _check_declaration(declaration: dict[str, Any], index: int) -> None:
    where = f"tools[0].function_declarations[{index}]"
    if not declaration.get("name"):
        raise GoogleError(400, "INVALID_ARGUMENT", f"* GenerateContentRequest.{where}.name: Invalid function name.")
    parameters = declaration.get("parameters")
    if isinstance(parameters, dict) and str(parameters.get("type", "")).upper() == "OBJECT" \
            and not parameters.get("properties"):
        raise GoogleError(400, "INVALID_ARGUMENT", f"* GenerateContentRequest.{where}.parameters.properties: "
                                                   "should be non-empty for OBJECT type\n")


def _check_parts(parts: Any, where: str) -> None:
    if not isinstance(parts, list) or not parts:
        raise GoogleError(400, "INVALID_ARGUMENT",
                          f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.\n")
    for part in parts:
        data = [name for name in part if _camel(name) in PART_DATA] if isinstance(part, dict) else []
        _unknown(part if isinstance(part, dict) else {}, PART_DATA | PART_EXTRA, f"{where}.parts")
        if len(data) != 1:
            raise GoogleError(400, "INVALID_ARGUMENT", f"* GenerateContentRequest.{where}.parts: a part must "
                                                       "hold exactly one of text, inline_data, file_data ...\n")


def _behaviour(model: str, option: str | None) -> str:
    if option:
        return option
    for words, behaviour in ((("429", "rate-limit"), "rate_limit"), (("503", "overloaded"), "unavailable"),
                             (("blocked",), "blocked"), (("function", "tool"), "function_call")):
        if any(word in model for word in words):
            return behaviour
    return "normal"


def _answers(model: str, body: dict[str, Any], config: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers to send: one for generateContent (the whole reply), `CHUNKS` stream events otherwise
    (text pieces, cumulative usageMetadata on each, finishReason STOP on the last)."""
    behaviour = _behaviour(model, config["BEHAVIOUR"])
    if behaviour == "rate_limit":
        raise GoogleError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan "
                                                     "and billing details.")
    if behaviour == "unavailable":
        raise GoogleError(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
    prompt = _words(json.dumps([_field(body, "contents"), _field(body, "systemInstruction")]))
    base = {"modelVersion": model, "responseId": hashlib.sha1(request.get_data()).hexdigest()[:22]}
    if behaviour == "blocked":
        return [{"promptFeedback": {"blockReason": "SAFETY"},
                 "usageMetadata": {"promptTokenCount": prompt, "totalTokenCount": prompt}, **base}]
    declarations = [d for tool in _field(body, "tools") or [] for d in _field(tool, "functionDeclarations") or []]
    if behaviour == "function_call" and declarations:
        part = {"functionCall": {"name": declarations[0]["name"], "args": _arguments(declarations[0])}}
        return [_answer([[part]], prompt, 5, base, True)]
    count = (_field(body, "generationConfig") or {}).get("candidateCount") or 1
    texts = [config["REPLY"] if n == 0 else f"({n + 1}) {config['REPLY']}" for n in range(count)]
    if request.path.endswith(":generateContent"):
        return [_answer([[{"text": t}] for t in texts], prompt, sum(map(_words, texts)), base, True)]
    pieces = [_split(t, config["CHUNKS"]) for t in texts]
    return [_answer([[{"text": p[i]}] for p in pieces], prompt, sum(_words("".join(p[:i + 1])) for p in pieces),
                    base, i == config["CHUNKS"] - 1) for i in range(config["CHUNKS"])]


def _answer(candidates: list[list[dict[str, Any]]], prompt: int, output: int, base: dict[str, Any],
            done: bool) -> dict[str, Any]:
    out = [{"content": {"parts": parts, "role": "model"}, **({"finishReason": "STOP"} if done else {}), "index": n}
           for n, parts in enumerate(candidates)]
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": output, "totalTokenCount": prompt + output}
    return {"candidates": out, "usageMetadata": usage, **base}


def _arguments(declaration: dict[str, Any]) -> dict[str, Any]:
    samples = {"string": "mock", "number": 1, "integer": 1, "boolean": True}
    properties = (declaration.get("parameters") or {}).get("properties") or {}
    return {name: samples.get(str(schema.get("type", "")).lower()) for name, schema in properties.items()
            if name in (declaration.get("parameters") or {}).get("required", [])}


def _split(text: str, count: int) -> list[str]:
    """Exactly `count` consecutive pieces of `text` (the last ones empty when it is shorter)."""
    bounds = [len(text) * i // count for i in range(count + 1)]
    return [text[bounds[i]:bounds[i + 1]] for i in range(count)]


def _words(text: str) -> int:
    return len(text.split())


def _embeddings(model: str, body: dict[str, Any], dimensions: int) -> dict[str, Any]:
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise GoogleError(400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: requests is required\n")
    vectors = []
    for index, item in enumerate(requests):
        if not isinstance(item, dict) or item.get("model") != f"models/{model}":
            raise GoogleError(400, "INVALID_ARGUMENT", f"Model names in requests[{index}] should match the model "
                                                       f"in the URL: models/{model}.")
        _check_parts((item.get("content") or {}).get("parts"), f"requests[{index}].content")
        text = "".join(p.get("text", "") for p in item["content"]["parts"])
        vectors.append({"values": vector(text, item.get("outputDimensionality") or dimensions)})
    return {"embeddings": vectors}


def vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit-free vector in [-1, 1] for a text, so tests can predict the answer."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round(digest[i % len(digest)] / 127.5 - 1, 6) for i in range(dimensions)]
