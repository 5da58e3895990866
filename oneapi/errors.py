"""Application errors and their translation into each caller's format.

`/api` callers get One API's envelope (`{"success": false, "message": …}`, HTTP 200 as One API
answers, 401 when not authenticated); everything else gets a plain JSON error for now.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from oneapi.extensions import db
from oneapi.i18n import t

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
            return console_error(exc.text(), 422 if isinstance(exc, Invalid | Conflict) else _console_status(exc))
        return envelope_error(exc.text(), exc.status)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if request.path.startswith(("/api", "/v1")) and exc.code == 404:
            # One API's answer for unknown API paths.
            body = {"message": f"Invalid URL ({request.method} {request.path})",
                    "type": "invalid_request_error", "param": "", "code": ""}
            return jsonify(error=body), 404
        if request.path.startswith("/api"):
            return envelope_error(exc.description or exc.name, exc.code or 500)
        if is_console_request():
            return console_error(None, exc.code or 500, exc)
        return exc

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_console_request():
            return console_error(t("内部错误，请查看服务器日志"), 500)
        return envelope_error(t("内部错误，请查看服务器日志"), 500)


def _console_status(exc: OneAPIError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    return exc.status if exc.status >= 400 else 400
