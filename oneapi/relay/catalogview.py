"""`/v1/models`: the models the caller's key and group may reach, in OpenAI's list format."""

from __future__ import annotations

from flask import jsonify, request

from oneapi.relay.auth import authenticate
from oneapi.relay.errors import LocalError
from oneapi.services import catalog, users


def _reachable(caller) -> list[str]:
    group_models = users.available_models(caller.group)
    if caller.models:
        reachable = set(group_models)
        return [m for m in caller.models if m in reachable]
    return group_models


def _model_object(name: str, known: dict[str, dict]) -> dict:
    return known.get(name) or {"id": name, "object": "model", "created": 1626777600, "owned_by": "custom",
                               "root": name, "parent": None}


def list_models():
    caller = authenticate(request.headers.get("Authorization", ""))
    known = {m["id"]: m for m in catalog.openai_models()}
    return jsonify(object="list", data=[_model_object(name, known) for name in _reachable(caller)])


def retrieve_model(model: str):
    caller = authenticate(request.headers.get("Authorization", ""))
    if model not in _reachable(caller):
        raise LocalError(404, f"The model '{model}' does not exist", "invalid_request_error",
                         code="model_not_found", param="model")
    return jsonify(_model_object(model, {m["id"]: m for m in catalog.openai_models()}))
