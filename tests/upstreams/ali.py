"""A mock Alibaba DashScope native API as a WSGI app: run it with `tests.upstreams.server.serve`.

It checks each request as dashscope.aliyuncs.com does (path, `Authorization: Bearer`, body fields,
the SSE and async headers) and answers in DashScope's formats
(https://help.aliyun.com/zh/model-studio/use-qwen-by-calling-api, …/text-embedding-synchronous-api,
…/text-to-image-api-reference, …/error-code):

- text / multimodal generation: `{output: {choices}, usage: {input_tokens, output_tokens,
  total_tokens}, request_id}`; with `X-DashScope-SSE: enable` an SSE stream of `id:` / `event:result` /
  `:HTTP_STATUS/200` / `data:` events (each the new text when `incremental_output`, else the text so far;
  `finish_reason` "null" until the last);
- embeddings: deterministic vectors, `usage.total_tokens`;
- image synthesis (only with `X-DashScope-Async: enable`): a task that is RUNNING on its first poll
  and SUCCEEDED (or FAILED, for a prompt containing `forbidden`) on the next.

Every request is recorded in `app.config["REQUESTS"]` (method, path, lower-cased headers, JSON body).
Behaviour by marker in the model name: `rate-limit` → 429 Throttling.RateQuota, `server-error` → 500
InternalError, `stream-error` → an `event:error` after the first delta; a reply echoes the last user
text and counts one token per word.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

TEXT_PATH = "/api/v1/services/aigc/text-generation/generation"
MULTIMODAL_PATH = "/api/v1/services/aigc/multimodal-generation/generation"
EMBEDDING_PATH = "/api/v1/services/embeddings/text-embedding/text-embedding"
IMAGE_PATH = "/api/v1/services/aigc/text2image/image-synthesis"
ROLES = {"system", "user", "assistant", "tool"}
IMAGE_MODELS = {"wanx-v1", "wanx2.1-t2i-turbo", "wanx2.1-t2i-plus", "stable-diffusion-xl", "stable-diffusion-v1.5"}
# The smallest valid PNG (1×1, transparent), served at the result URLs.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


class DashScopeError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def create_app(*, api_key: str = "sk-dashscope-mock", deltas: int = 3, chunk_delay: float = 0.0,
               reply: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], TASKS={}, API_KEY=api_key, DELTAS=max(1, deltas), CHUNK_DELAY=chunk_delay,
                      REPLY=reply)

    @app.before_request
    def record_and_authenticate() -> None:
        body = request.get_json(silent=True, force=True) if request.method == "POST" else None
        app.config["REQUESTS"].append({"method": request.method, "path": request.path, "body": body,
                                       "headers": {k.lower(): v for k, v in request.headers.items()}})
        if request.path.startswith("/images/"):
            return
        header = request.headers.get("Authorization", "")
        if header != f"Bearer {app.config['API_KEY']}":
            raise DashScopeError(401, "InvalidApiKey", "Invalid API-key provided.")

    @app.post(TEXT_PATH)
    def text_generation() -> Response:
        return generation(app.config, multimodal=False)

    @app.post(MULTIMODAL_PATH)
    def multimodal_generation() -> Response:
        return generation(app.config, multimodal=True)

    @app.post(EMBEDDING_PATH)
    def embeddings() -> Response:
        return embedding_answer(json_body())

    @app.post(IMAGE_PATH)
    def image_synthesis() -> Response:
        return submit_task(app.config, json_body())

    @app.get("/api/v1/tasks/<task_id>")
    def task(task_id: str) -> Response:
        return poll_task(app.config, task_id)

    @app.get("/images/<name>.png")
    def image(name: str) -> Response:
        return Response(PNG, content_type="image/png")

    @app.errorhandler(DashScopeError)
    def dashscope_error(exc: DashScopeError) -> Response:
        return error_response(exc)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return error_response(DashScopeError(404, "NotFound", "Not Found"))

    return app


def request_id() -> str:
    return str(uuid.uuid4())


def error_response(exc: DashScopeError) -> Response:
    body = {"code": exc.code, "message": exc.message, "request_id": request_id()}
    return Response(json.dumps(body), exc.status, content_type="application/json")


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise DashScopeError(400, "InvalidParameter", "Request body is not valid JSON.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise DashScopeError(400, "InvalidParameter", "Model not specified.")
    if not isinstance(body.get("input"), dict):
        raise DashScopeError(400, "InvalidParameter", "Input can't be empty.")
    return body


# -- generation -------------------------------------------------------------------------------------


def generation(config: dict[str, Any], *, multimodal: bool) -> Response:
    body = json_body()
    model = body["model"]
    if ("-vl" in model or model.startswith("qvq")) != multimodal:
        raise DashScopeError(400, "InvalidParameter", "url error, please check url！")
    parameters = body.get("parameters") or {}
    check_messages(body["input"].get("messages"), multimodal)
    check_parameters(parameters)
    if "rate-limit" in model:
        raise DashScopeError(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.")
    if "server-error" in model:
        raise DashScopeError(500, "InternalError", "An internal error has occured, please try again later.")
    words = reply_words(config, body, parameters)
    prompt = sum(len(text.split()) for m in body["input"]["messages"] for text in texts(m.get("content")))
    if request.headers.get("X-DashScope-SSE") == "enable":
        events = stream_events(words, max(1, prompt), parameters, config["DELTAS"], multimodal,
                               fail="stream-error" in model)
        return Response(encode_events(events, config["CHUNK_DELAY"]), content_type="text/event-stream;charset=UTF-8")
    finish = "length" if parameters.get("max_tokens") and len(words) >= parameters["max_tokens"] else "stop"
    answer = {"output": {"choices": [{"finish_reason": finish, "message": message(" ".join(words), multimodal)}]},
              "usage": usage(max(1, prompt), len(words)), "request_id": request_id()}
    return Response(json.dumps(answer, ensure_ascii=False), content_type="application/json")


def check_messages(messages: Any, multimodal: bool) -> None:
    if not isinstance(messages, list) or not messages:
        raise DashScopeError(400, "InvalidParameter", "Input messages can't be empty.")
    for index, item in enumerate(messages):
        if not isinstance(item, dict) or item.get("role") not in ROLES:
            raise DashScopeError(400, "InvalidParameter", f"messages[{index}].role must be one of {sorted(ROLES)}")
        content = item.get("content")
        if multimodal:
            if not isinstance(content, list) or not all(isinstance(c, dict) and ({"text", "image"} & c.keys())
                                                        for c in content):
                raise DashScopeError(400, "InvalidParameter", f"messages[{index}].content must be a list of items")
        elif not isinstance(content, str):
            raise DashScopeError(400, "InvalidParameter", f"messages[{index}].content must be a string")


def check_parameters(parameters: Any) -> None:
    if not isinstance(parameters, dict):
        raise DashScopeError(400, "InvalidParameter", "parameters must be an object")
    top_p = parameters.get("top_p")
    if top_p is not None and not 0 < top_p < 1:
        raise DashScopeError(400, "InvalidParameter", "Range of top_p should be (0.0, 1.0)")
    limit = parameters.get("max_tokens")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise DashScopeError(400, "InvalidParameter", "Range of max_tokens should be [1, 8192]")


def texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [str(c.get("text") or "") for c in content or [] if isinstance(c, dict) and "text" in c]


def reply_words(config: dict[str, Any], body: dict[str, Any], parameters: dict[str, Any]) -> list[str]:
    last = next((" ".join(texts(m.get("content"))) for m in reversed(body["input"]["messages"])
                 if m.get("role") == "user"), "")
    words = (config["REPLY"] or f"Hello from mock Qwen! You said: {last}").split(" ")
    return words[:parameters["max_tokens"]] if parameters.get("max_tokens") else words


def message(text: str, multimodal: bool) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"text": text}] if multimodal else text}


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion}


def stream_events(words: list[str], prompt: int, parameters: dict[str, Any], deltas: int, multimodal: bool,
                  *, fail: bool) -> list[tuple[str, dict[str, Any]]]:
    rid, size = request_id(), max(1, -(-len(words) // deltas))
    pieces = [" ".join(words[i:i + size]) + (" " if i + size < len(words) else "") for i in range(0, len(words), size)]
    events, sent = [], ""
    for number, piece in enumerate(pieces):
        sent += piece
        text = piece if parameters.get("incremental_output") else sent
        count = min(len(words), (number + 1) * size)
        events.append(("result", {"output": {"choices": [{"message": message(text, multimodal),
                                                           "finish_reason": "null"}]},
                                  "usage": usage(prompt, count), "request_id": rid}))
        if fail:
            return events + [("error", {"code": "DataInspectionFailed", "request_id": rid,
                                        "message": "Output data may contain inappropriate content."})]
    final = "" if parameters.get("incremental_output") else sent
    events.append(("result", {"output": {"choices": [{"message": message(final, multimodal), "finish_reason": "stop"}]},
                              "usage": usage(prompt, len(words)), "request_id": rid}))
    return events


def encode_events(events: list[tuple[str, dict[str, Any]]], delay: float) -> Iterator[bytes]:
    for number, (name, data) in enumerate(events, 1):
        if number > 1 and delay:
            time.sleep(delay)
        status = 400 if name == "error" else 200
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        yield f"id:{number}\nevent:{name}\n:HTTP_STATUS/{status}\ndata:{payload}\n\n".encode()


# -- embeddings -------------------------------------------------------------------------------------


def embedding_answer(body: dict[str, Any]) -> Response:
    if not body["model"].startswith("text-embedding"):
        raise DashScopeError(400, "InvalidParameter", "Model not exist.")
    values = body["input"].get("texts")
    if not isinstance(values, list) or not values or not all(isinstance(t, str) and t for t in values):
        raise DashScopeError(400, "InvalidParameter", "input.texts should be a non-empty array of strings")
    if len(values) > 25:
        raise DashScopeError(400, "InvalidParameter", "batch size is invalid, it should not be larger than 25.")
    dimension = (body.get("parameters") or {}).get("dimension") or 4
    items = [{"text_index": i, "embedding": vector(t, dimension)} for i, t in enumerate(values)]
    answer = {"output": {"embeddings": items}, "usage": {"total_tokens": sum(len(t.split()) for t in values)},
              "request_id": request_id()}
    return Response(json.dumps(answer), content_type="application/json")


def vector(text: str, dimension: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(digest[i % len(digest)] / 255 - 0.5, 6) for i in range(dimension)]


# -- image tasks ------------------------------------------------------------------------------------


def submit_task(config: dict[str, Any], body: dict[str, Any]) -> Response:
    if request.headers.get("X-DashScope-Async") != "enable":
        raise DashScopeError(403, "AccessDenied", "current user api does not support synchronous calls")
    if body["model"] not in IMAGE_MODELS:
        raise DashScopeError(400, "InvalidParameter", "Model not exist.")
    prompt = body["input"].get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise DashScopeError(400, "InvalidParameter", "input.prompt can't be empty.")
    parameters = body.get("parameters") or {}
    size, n = parameters.get("size", "1024*1024"), parameters.get("n", 1)
    if not re.fullmatch(r"\d+\*\d+", str(size)):
        raise DashScopeError(400, "InvalidParameter", "size should be in the form of 'width*height'")
    if not isinstance(n, int) or not 1 <= n <= 4:
        raise DashScopeError(400, "InvalidParameter", "n should be in [1, 4]")
    task_id = str(uuid.uuid4())
    config["TASKS"][task_id] = {"polls": 0, "n": n, "fail": "forbidden" in prompt, "host": request.host_url}
    answer = {"output": {"task_status": "PENDING", "task_id": task_id}, "request_id": request_id()}
    return Response(json.dumps(answer), content_type="application/json")


def poll_task(config: dict[str, Any], task_id: str) -> Response:
    task = config["TASKS"].get(task_id)
    output: dict[str, Any] = {"task_id": task_id, "task_status": "UNKNOWN"}
    if task is not None:
        task["polls"] += 1
        output["submit_time"] = "2024-05-16 13:50:01.590"
        if task["polls"] < 2:
            output["task_status"] = "RUNNING"
        elif task["fail"]:
            output.update(task_status="FAILED", code="DataInspectionFailed",
                          message="Input data may contain inappropriate content.")
        else:
            output.update(task_status="SUCCEEDED", end_time="2024-05-16 13:50:11.287",
                          results=[{"url": f"{task['host']}images/{task_id}-{i}.png"} for i in range(task["n"])],
                          task_metrics={"TOTAL": task["n"], "SUCCEEDED": task["n"], "FAILED": 0})
    answer: dict[str, Any] = {"request_id": request_id(), "output": output}
    if output["task_status"] == "SUCCEEDED":
        answer["usage"] = {"image_count": task["n"]}
    return Response(json.dumps(answer), content_type="application/json")
