"""Relay errors and OpenAI's error format.

    RelayError                 any failure answered as {"error": {message, type, param, code}}
    ├── LocalError             our own refusal (auth, quota, validation): type "one_api_error"
    └── UpstreamError          the provider answered an error, or could not be reached
"""

from __future__ import annotations

from typing import Any


class RelayError(Exception):
    def __init__(self, status: int, message: str, type_: str = "one_api_error", code: Any = "",
                 param: Any = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param

    def body(self, request_id: str = "") -> dict[str, Any]:
        message = f"{self.message} (request id: {request_id})" if request_id else self.message
        return {"error": {"message": message, "type": self.type, "param": self.param, "code": self.code}}


class LocalError(RelayError):
    """A refusal of ours; never retried on another channel."""


class UpstreamError(RelayError):
    """An error from (or on the way to) the provider."""

    def __init__(self, status: int, message: str, type_: str = "upstream_error",
                 code: Any = "bad_response_status_code", param: Any = "", *, connection: bool = False) -> None:
        super().__init__(status, message, type_, code, param)
        self.connection = connection

    @property
    def retryable(self) -> bool:
        """Another channel may succeed: rate limits, server errors, timeouts, connection failures."""
        return self.connection or self.status == 429 or self.status >= 500


def quota_refusal(exc: Any) -> LocalError:
    """One API's refusal for a hold the user's balance (`exc.payer == "user"`) or the key's cannot cover."""
    if getattr(exc, "payer", "user") == "token":
        return LocalError(403, "令牌额度不足", code="pre_consume_token_quota_failed")
    return LocalError(403, "user quota is not enough", code="insufficient_user_quota")
