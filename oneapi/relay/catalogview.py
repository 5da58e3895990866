"""`/v1/models`: the models the caller's key and group may reach, in OpenAI's list format, or in
Anthropic's when the request carries `anthropic-version` (Claude Code and the anthropic SDKs list
models with `x-api-key` and that header)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import jsonify, request

from oneapi.relay.auth import authenticate
from oneapi.relay.errors import LocalError
from oneapi.services import catalog, users

CREATED = 1626777600
ANTHROPIC_PAGE, ANTHROPIC_MAX_PAGE = 20, 1000


def _caller():
    """The key from `Authorization`, or from `x-api-key` as Anthropic's clients send it."""
    header = request.headers.get("Authorization", "")
    if not header and request.headers.get("x-api-key"):
        header = f"Bearer {request.headers['x-api-key']}"
    return authenticate(header)


def _anthropic() -> bool:
    return "anthropic-version" in request.headers


def _reachable(caller) -> list[str]:
    group_models = users.available_models(caller.group)
    if caller.models:
        reachable = set(group_models)
        return [m for m in caller.models if m in reachable]
    return group_models


def _model_object(name: str, known: dict[str, dict]) -> dict:
    return known.get(name) or {"id": name, "object": "model", "created": CREATED, "owned_by": "custom",
                               "root": name, "parent": None}


def _anthropic_model(name: str) -> dict:
    """Anthropic's model object (https://docs.anthropic.com/en/api/models-list)."""
    created = datetime.fromtimestamp(CREATED, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": "model", "id": name, "display_name": name, "created_at": created}


def list_models():
    caller = _caller()
    names = _reachable(caller)
    if _anthropic():
        return jsonify(_anthropic_page(names))
    known = {m["id"]: m for m in catalog.openai_models()}
    return jsonify(object="list", data=[_model_object(name, known) for name in names])


def _anthropic_page(names: list[str]) -> dict:
    """One page by Anthropic's cursor rules: `limit` (1–1000, default 20), after `after_id` or before
    `before_id`; an unknown cursor id is an empty page."""
    try:
        limit = int(request.args.get("limit", ANTHROPIC_PAGE))
    except ValueError:
        limit = 0
    if not 1 <= limit <= ANTHROPIC_MAX_PAGE:
        raise LocalError(400, f"limit must be between 1 and {ANTHROPIC_MAX_PAGE}", "invalid_request_error")
    after, before = request.args.get("after_id"), request.args.get("before_id")
    if after is not None:
        start = names.index(after) + 1 if after in names else len(names)
        page = names[start:start + limit]
        more = start + limit < len(names)
    elif before is not None:
        end = names.index(before) if before in names else 0
        page = names[max(end - limit, 0):end]
        more = end - limit > 0
    else:
        page, more = names[:limit], limit < len(names)
    return {"data": [_anthropic_model(name) for name in page], "has_more": more,
            "first_id": page[0] if page else None, "last_id": page[-1] if page else None}


def retrieve_model(model: str):
    caller = _caller()
    if model not in _reachable(caller):
        raise LocalError(404, f"The model '{model}' does not exist", "invalid_request_error",
                         code="model_not_found", param="model")
    if _anthropic():
        return jsonify(_anthropic_model(model))
    return jsonify(_model_object(model, {m["id"]: m for m in catalog.openai_models()}))
