"""Application errors and their translation into each caller's format.

`/api` callers get One API's envelope (`{"success": false, "message": …}`, HTTP 200 as One API
answers, 401 when not authenticated); `/v1` and the billing routes get OpenAI's
`{"error": {message, type, param, code}}` with the HTTP status, framework errors (405, 413, …) and
unexpected ones included (type `invalid_request_error` for a 4xx, `one_api_error` otherwise); the
console gets its error page or flash message.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from oneapi.extensions import db
from oneapi.i18n import t
from oneapi.ingress import body_limit, describe_limit, is_relay_path
from oneapi.relay.errors import RelayError

log = logging.getLogger("oneapi")


class OneAPIError(Exception):
    """An expected failure with a message for the user; `status` is the HTTP status to answer."""

    status = 200

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.values = values

    def text(self) -> str:
        return t(self.message, **self.values)


class Invalid(OneAPIError):
    pass


class NotFound(OneAPIError):
    pass


class Forbidden(OneAPIError):
    pass


class Conflict(OneAPIError):
    pass


class Unauthorized(OneAPIError):
    status = 401


class TooManyRequests(OneAPIError):
    status = 429


def envelope_error(message: str, status: int = 200):
    return jsonify(success=False, message=message), status


def openai_error(status: int, message: str, type_: str = "one_api_error", code: str = ""):
    """OpenAI's error body, with the request id appended to the message as the relay does."""
    return jsonify(RelayError(status, message, type_, code).body(g.get("request_id", ""))), status


def is_console_request() -> bool:
    """Pages of the admin console, as opposed to `/api`, `/v1` and the billing routes."""
    return not request.path.startswith(("/api/", "/v1/", "/dashboard/billing/", "/static/")) and request.path not in (
        "/api", "/v1")


def register_error_handlers(app: Flask) -> None:
    from oneapi.web.errors import console_error

    @app.errorhandler(OneAPIError)
    def handle_oneapi_error(exc: OneAPIError):
        db.session.rollback()
        if is_console_request():
            return console_error(exc.text(), 422 if isinstance(exc, Invalid | Conflict) else _http_status(exc))
        if is_relay_path(request.path):
            return openai_error(_http_status(exc), exc.text(), code=_snake(type(exc).__name__))
        return envelope_error(exc.text(), exc.status)

    @app.errorhandler(RelayError)
    def handle_relay_error(exc: RelayError):
        # Raised before a relay view was chosen (an unknown /v1 path, the ingress hooks).
        return jsonify(exc.body(g.get("request_id", ""))), exc.status

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        status = exc.code or 500
        if request.path.startswith(("/api", "/v1")) and status == 404:
            # One API's answer for unknown API paths.
            body = {"message": f"Invalid URL ({request.method} {request.path})",
                    "type": "invalid_request_error", "param": "", "code": ""}
            return jsonify(error=body), 404
        if is_relay_path(request.path):
            message = _too_large(exc, english=True) or exc.description or exc.name
            return openai_error(status, message, "invalid_request_error" if status < 500 else "one_api_error",
                                _http_code(exc))
        if request.path.startswith("/api"):
            return envelope_error(_too_large(exc) or exc.description or exc.name, status)
        if is_console_request():
            return console_error(_too_large(exc), status, exc)
        return exc

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_console_request():
            return console_error(t("内部错误，请查看服务器日志"), 500)
        if is_relay_path(request.path):
            return openai_error(500, t("内部错误，请查看服务器日志"), code="internal_error")
        return envelope_error(t("内部错误，请查看服务器日志"), 500)


def _too_large(exc: HTTPException, english: bool = False) -> str | None:
    """The readable refusal of a body over its route's limit (werkzeug's own 413s included)."""
    if not isinstance(exc, RequestEntityTooLarge):
        return None
    limit = describe_limit(getattr(exc, "limit", None) or body_limit(request.path))
    if english:
        return f"the request body is larger than this route's limit of {limit}"
    return t("请求体过大，不能超过 {limit}", limit=limit)


def _http_code(exc: HTTPException) -> str:
    if isinstance(exc, RequestEntityTooLarge):
        return "request_too_large"
    return _snake(exc.name)


def _snake(name: str) -> str:
    """`Method Not Allowed` → `method_not_allowed`, `TooManyRequests` → `too_many_requests`."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|[^A-Za-z0-9]+", "_", name).strip("_").lower()


def _http_status(exc: OneAPIError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, Conflict):
        return 409
    return exc.status if exc.status >= 400 else 400
