"""What every DashScope answer shares: the error envelope `{"code", "message", "request_id"}` (at the
top level of a failed call, inside a stream's `event:error`, inside a failed task's `output`), and
the clock the translated answers are stamped with.

Error codes and their HTTP statuses: https://help.aliyun.com/zh/model-studio/error-code
"""

from __future__ import annotations

from typing import Any

from oneapi.relay.adaptors.base import now as now  # the ali modules read the clock here (tests pin it)
from oneapi.relay.adaptors.base import openai_style_error, parse_json
from oneapi.relay.errors import UpstreamError

# A stream's error event and a failed task carry no HTTP status of their own (a stream's is only in
# an SSE comment): the status DashScope answers each code family with outside a stream.
CODE_STATUS = (
    ("InvalidApiKey", 401), ("AccessDenied", 403), ("Throttling", 429), ("InvalidParameter", 400),
    ("DataInspectionFailed", 400), ("BadRequest", 400), ("Arrearage", 400), ("ModelNotFound", 404),
    ("InternalError", 500), ("SystemError", 500), ("ServiceUnavailable", 503), ("RequestTimeOut", 504),
)


def status_for(code: str) -> int:
    for prefix, status in CODE_STATUS:
        if code.startswith(prefix):
            return status
    return 500


def dashscope_error(status: int, payload: Any) -> UpstreamError | None:
    """DashScope's envelope as One API maps it (type and code = DashScope's code, param = its request
    id); `status` 0 takes the code's usual status. None when `payload` is no DashScope error."""
    if not isinstance(payload, dict) or not payload.get("code"):
        return None
    code = str(payload["code"])
    return UpstreamError(status or status_for(code), str(payload.get("message") or code), code, code,
                         str(payload.get("request_id") or ""))


def convert_error(status: int, body: bytes) -> UpstreamError:
    parsed = parse_json(body)
    return dashscope_error(status, parsed) or openai_style_error(status, body)


def raise_for_error(body: dict[str, Any]) -> None:
    """A 200 answer whose body is an error envelope (One API's `code != ""` check)."""
    error = dashscope_error(0, body)
    if error is not None:
        raise error
