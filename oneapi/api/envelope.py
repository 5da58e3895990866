"""The `{success, message, data}` envelope of every `/api` answer."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


def ok(data: Any = None, message: str = "", **extra: Any) -> Response:
    body = {"success": True, "message": message, "data": data}
    body.update(extra)
    return jsonify(body)
