"""A mock Replicate API: official-model predictions created, polled and streamed as api.replicate.com
does (https://replicate.com/docs/reference/http, /docs/topics/predictions/streaming).

    with serve(create_app(api_token="r8_mock")) as base_url: ...

- `POST /v1/models/{owner}/{name}/predictions` checks `Authorization: Bearer <token>` (or Replicate's
  older `Token <token>`), the model (404 for one it does not serve), the top-level fields (`input`
  required; only `input`, `stream`, `webhook`, `webhook_events_filter` allowed) and the model's input
  schema (422 problem+json), then answers 201 with the prediction in status `starting`, its `urls.get`,
  `urls.cancel`, `urls.web` and, for language models, `urls.stream`.
- `GET /v1/predictions/{id}` moves the prediction one status on per poll: starting → processing →
  succeeded (or `failed` when the prompt holds `[fail]`); a finished one has `output` and `metrics`.
- `GET /v1/stream/{id}` (the mock's stream host path) wants `Accept: text/event-stream` and the token;
  it sends the reply as `event: output` events of raw text (a piece holding a newline comes as two
  `data:` lines), then `event: done` with `{}`; a prompt holding `[stream-error]` gets an `error`
  event after the first piece and `done` with `{"reason": "error"}`.
- `POST /v1/predictions/{id}/cancel` cancels a prediction that is not over.

`app.config["REQUESTS"]` records every request (method, path, lower-cased headers, JSON body or None).
The reply of a language model is `Hello from mock Replicate!\\nYou said: <prompt>`, cut at `max_tokens`
words; image models answer PNG URLs on the mock host (flux-schnell/dev: a list of `num_outputs`, the
others one URL string, as the real models do).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

LANGUAGE_MODELS = {
    "meta/meta-llama-3-8b-instruct", "meta/meta-llama-3-70b-instruct", "meta/meta-llama-3.1-405b-instruct",
    "meta/llama-2-7b-chat", "mistralai/mixtral-8x7b-instruct-v0.1", "ibm-granite/granite-3.0-8b-instruct",
}
LIST_OUTPUT_IMAGE_MODELS = {"black-forest-labs/flux-schnell", "black-forest-labs/flux-dev"}
IMAGE_MODELS = LIST_OUTPUT_IMAGE_MODELS | {"black-forest-labs/flux-1.1-pro", "black-forest-labs/flux-pro"}
TOP_LEVEL = {"input", "stream", "webhook", "webhook_events_filter"}
ASPECT_RATIOS = {"1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"}
OUTPUT_FORMATS = {"webp", "jpg", "png"}
# A 1×1 transparent PNG, served at the output URLs.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6300010000050001a5f645400000000049454e44ae426082")


class Problem(Exception):
    """An error answered as Replicate does: problem+json with title, detail and status."""

    def __init__(self, status: int, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra

    def response(self) -> Response:
        body = {"title": self.title, "status": self.status, **self.extra}
        if self.detail:
            body["detail"] = self.detail
        return Response(json.dumps(body), self.status, content_type="application/problem+json")


def create_app(*, api_token: str = "r8_mock", chunk_delay: float = 0.0) -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], API_TOKEN=api_token, CHUNK_DELAY=chunk_delay, PREDICTIONS={})

    @app.before_request
    def record() -> None:
        app.config["REQUESTS"].append({
            "method": request.method, "path": request.path, "body": request.get_json(silent=True),
            "headers": {k.lower(): v for k, v in request.headers.items()}})

    @app.post("/v1/models/<owner>/<name>/predictions")
    def create(owner: str, name: str) -> Response:
        check_token(app)
        model = f"{owner}/{name}"
        if model not in LANGUAGE_MODELS | IMAGE_MODELS:
            raise Problem(404, "Not found", "The requested resource could not be found.")
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict):
            raise Problem(400, "Bad request", "The request body is not valid JSON.")
        check_top_level(body)
        check_input(model, body["input"])
        prediction = new_prediction(model, body)
        app.config["PREDICTIONS"][prediction["id"]] = prediction
        return Response(json.dumps(public(prediction)), 201, content_type="application/json")

    @app.get("/v1/predictions/<pid>")
    def get(pid: str) -> Response:
        check_token(app)
        prediction = find(app, pid)
        advance(prediction)
        return Response(json.dumps(public(prediction)), content_type="application/json")

    @app.post("/v1/predictions/<pid>/cancel")
    def cancel(pid: str) -> Response:
        check_token(app)
        prediction = find(app, pid)
        if prediction["status"] not in ("succeeded", "failed", "canceled"):
            prediction["status"] = "canceled"
            prediction["completed_at"] = timestamp()
        return Response(json.dumps(public(prediction)), content_type="application/json")

    @app.get("/v1/stream/<pid>")
    def stream(pid: str) -> Response:
        check_token(app)
        if "text/event-stream" not in request.headers.get("Accept", ""):
            raise Problem(406, "Not acceptable", "this endpoint serves text/event-stream")
        prediction = find(app, pid)
        if "stream" not in prediction["urls"]:
            raise Problem(404, "Not found", "The requested resource could not be found.")
        prediction["status"] = "processing"
        return Response(stream_events(prediction, app.config["CHUNK_DELAY"]), content_type="text/event-stream",
                        headers={"Cache-Control": "no-store"})

    @app.get("/files/<name>")
    def file(name: str) -> Response:
        return Response(PNG, content_type="image/png")

    app.register_error_handler(Problem, lambda e: e.response())
    app.register_error_handler(404, lambda e: Problem(404, "Not found", "The requested resource could not be found.")
                               .response())
    app.register_error_handler(405, lambda e: Problem(405, "Method not allowed").response())
    return app


def check_token(app: Flask) -> None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme not in ("Bearer", "Token") or token != app.config["API_TOKEN"]:
        raise Problem(401, "Unauthenticated", "You did not pass a valid authentication token")


def check_top_level(body: dict[str, Any]) -> None:
    problems = [{"type": "additional_property_not_allowed", "field": "",
                 "description": f"Additional property {key} is not allowed"} for key in body if key not in TOP_LEVEL]
    if not isinstance(body.get("input"), dict):
        problems.insert(0, {"type": "required", "field": "", "description": "input is required"})
    if "stream" in body and not isinstance(body["stream"], bool):
        problems.append({"type": "invalid_type", "field": "stream", "description": "Invalid type. Expected: boolean"})
    if problems:
        raise Problem(422, "Input validation failed", invalid_fields=problems)


def check_input(model: str, values: dict[str, Any]) -> None:
    problems = []
    if not isinstance(values.get("prompt"), str) or not values["prompt"]:
        problems.append("prompt is required")
    if model in LANGUAGE_MODELS:
        for name in ("max_tokens", "top_k", "seed"):
            if name in values and (not isinstance(values[name], int) or isinstance(values[name], bool)):
                problems.append(f"{name}: Invalid type. Expected: integer, given: {type(values[name]).__name__}")
        for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
            if name in values and not isinstance(values[name], int | float):
                problems.append(f"{name}: Invalid type. Expected: number")
        for name in ("system_prompt", "stop_sequences"):
            if name in values and not isinstance(values[name], str):
                problems.append(f"{name}: Invalid type. Expected: string")
    else:
        if values.get("aspect_ratio", "1:1") not in ASPECT_RATIOS:
            problems.append(f"aspect_ratio: aspect_ratio must be one of the following: {sorted(ASPECT_RATIOS)}")
        if values.get("output_format", "webp") not in OUTPUT_FORMATS:
            problems.append(f"output_format: output_format must be one of the following: {sorted(OUTPUT_FORMATS)}")
        outputs = values.get("num_outputs", 1)
        if model in LIST_OUTPUT_IMAGE_MODELS and (not isinstance(outputs, int) or not 1 <= outputs <= 4):
            problems.append("num_outputs: Must be less than or equal to 4")
    if problems:
        raise Problem(422, "Input validation failed", "\n".join(f"- input: {p}" for p in problems))


def new_prediction(model: str, body: dict[str, Any]) -> dict[str, Any]:
    pid = secrets.token_hex(13)[:26]
    base = request.host_url.rstrip("/")
    urls = {"cancel": f"{base}/v1/predictions/{pid}/cancel", "get": f"{base}/v1/predictions/{pid}",
            "web": f"https://replicate.com/p/{pid}"}
    if model in LANGUAGE_MODELS:
        urls["stream"] = f"{base}/v1/stream/{pid}"
    return {"id": pid, "model": model, "version": "official", "input": body["input"], "logs": "", "output": None,
            "data_removed": False, "error": None, "status": "starting", "created_at": timestamp(), "urls": urls,
            "_base": base}


def public(prediction: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in prediction.items() if not k.startswith("_")}


def find(app: Flask, pid: str) -> dict[str, Any]:
    prediction = app.config["PREDICTIONS"].get(pid)
    if prediction is None:
        raise Problem(404, "Not found", "The requested resource could not be found.")
    return prediction


def advance(prediction: dict[str, Any]) -> None:
    if prediction["status"] == "starting":
        prediction["status"] = "processing"
        prediction["started_at"] = timestamp()
    elif prediction["status"] == "processing":
        finish(prediction)


def finish(prediction: dict[str, Any]) -> None:
    prompt = prediction["input"]["prompt"]
    prediction["completed_at"] = timestamp()
    if "[fail]" in prompt:
        prediction.update(status="failed", error="NSFW content detected. Try running it again, or try a "
                                                 "different prompt.", metrics={"predict_time": 0.2})
        return
    prediction["status"] = "succeeded"
    if prediction["model"] in LANGUAGE_MODELS:
        pieces = reply_pieces(prediction["input"])
        prediction["output"] = pieces
        prediction["metrics"] = {"predict_time": 0.5, "input_token_count": len(prompt.split()),
                                 "output_token_count": len(pieces), "tokens_per_second": 40.0}
        return
    count = prediction["input"].get("num_outputs", 1)
    extension = prediction["input"].get("output_format", "webp")
    urls = [f"{prediction['_base']}/files/{prediction['id']}-{i}.{extension}" for i in range(count)]
    prediction["output"] = urls if prediction["model"] in LIST_OUTPUT_IMAGE_MODELS else urls[0]
    prediction["metrics"] = {"image_count": len(urls), "predict_time": 0.9, "total_time": 1.1}


def reply_pieces(values: dict[str, Any]) -> list[str]:
    """The reply as the model streams it: one piece per word, each after the first with its leading
    space (or newline), cut at `max_tokens` pieces."""
    text = f"Hello from mock Replicate!\nYou said: {values['prompt']}"
    pieces: list[str] = []
    word = ""
    for char in text:
        if char in " \n" and word:
            pieces.append(word)
            word = ""
        word += char
    pieces.append(word)
    return pieces[:values.get("max_tokens", 128)]


def stream_events(prediction: dict[str, Any], delay: float) -> Iterator[bytes]:
    pieces = reply_pieces(prediction["input"])
    fail = "[stream-error]" in prediction["input"]["prompt"]
    stamp = int(time.time())
    number = 0
    for number, piece in enumerate(pieces[:1] if fail else pieces):
        if number and delay:
            time.sleep(delay)
        data = "".join(f"data: {line}\n" for line in piece.split("\n"))
        yield f"event: output\nid: {stamp}:{number}\n{data}\n".encode()
    if fail:
        prediction.update(status="failed", error="CUDA error: out of memory", completed_at=timestamp())
        detail = json.dumps({"detail": "CUDA error: out of memory"})
        yield f"event: error\nid: {stamp}:{number + 1}\ndata: {detail}\n\n".encode()
        yield f"event: done\nid: {stamp}:{number + 2}\ndata: {json.dumps({'reason': 'error'})}\n\n".encode()
        return
    finish(prediction)
    yield f"event: done\nid: {stamp}:{number + 1}\ndata: {{}}\n\n".encode()


def timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
