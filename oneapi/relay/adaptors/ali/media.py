"""DashScope embeddings and asynchronous image synthesis, in OpenAI's shapes.

Embeddings: `{model, input: {texts}, parameters}` → `{output: {embeddings: [{text_index, embedding}]},
usage: {total_tokens}}` (https://help.aliyun.com/zh/model-studio/text-embedding-synchronous-api).
Images: the submission (`X-DashScope-Async: enable`) answers `{output: {task_id, task_status}}`; the
task (`GET /api/v1/tasks/{id}`) goes PENDING → RUNNING → SUCCEEDED with `output.results[{url}]`, or
FAILED / CANCELED / UNKNOWN with `output.code` and `output.message`
(https://help.aliyun.com/zh/model-studio/text-to-image-api-reference).
"""

from __future__ import annotations

from typing import Any

from oneapi.relay.adaptors.ali import common
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.usage import Usage

TASK_DONE = "SUCCEEDED"
TASK_FAILED = ("FAILED", "CANCELED", "UNKNOWN")


def embedding_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    value = body.get("input")
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise LocalError(400, "DashScope embeddings take a string or an array of strings as input",
                         code="invalid_text_request")
    out: dict[str, Any] = {"model": model, "input": {"texts": texts}}
    if body.get("dimensions"):
        out["parameters"] = {"dimension": body["dimensions"]}
    return out


def embeddings(body: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    common.raise_for_error(body)
    items = sorted((body.get("output") or {}).get("embeddings") or [], key=lambda e: e.get("text_index", 0))
    data = [{"object": "embedding", "index": e.get("text_index", i), "embedding": e.get("embedding") or []}
            for i, e in enumerate(items)]
    tokens = int((body.get("usage") or {}).get("total_tokens") or 0)
    answer = {"object": "list", "data": data, "model": model,
              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    return answer, Usage(tokens, 0) if tokens else None


def image_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """One API's body: the `ali-` prefix of `ali-stable-diffusion-*` dropped, `1024x1024` as `1024*1024`."""
    size = str(body.get("size") or "1024x1024").replace("x", "*")
    return {"model": model.removeprefix("ali-"), "input": {"prompt": body.get("prompt") or ""},
            "parameters": {"size": size, "n": body.get("n") or 1}}


def task_of(body: Any) -> tuple[str, str]:
    """The task id and status of a submission or task answer; raises for a failed task."""
    if not isinstance(body, dict):
        raise UpstreamError(502, "DashScope answered no task", code="bad_response")
    common.raise_for_error(body)
    output = body.get("output") or {}
    status = str(output.get("task_status") or "")
    if status in TASK_FAILED:
        error = common.dashscope_error(0, {"request_id": body.get("request_id"), **output})
        raise error or UpstreamError(500, f"image task {status.lower()}", code="image_task_failed")
    task_id = str(output.get("task_id") or "")
    if not task_id and status != TASK_DONE:
        raise UpstreamError(502, "DashScope answered no task id", code="bad_response")
    return task_id, status


def images(body: dict[str, Any]) -> dict[str, Any]:
    """The finished task's image URLs; a task none of whose images succeeded is an error."""
    results = (body.get("output") or {}).get("results") or []
    urls = [{"url": r["url"]} for r in results if isinstance(r, dict) and r.get("url")]
    if not urls:
        failed = next((r for r in results if isinstance(r, dict) and r.get("code")), None)
        raise common.dashscope_error(0, {"request_id": body.get("request_id"), **(failed or {})}) or \
            UpstreamError(502, "DashScope answered no image", code="bad_response")
    return {"created": common.now(), "data": urls}
