"""The built-in model catalogue, read from the channel-type registry: default model lists per channel
type (`/api/models`, "fill models") and the static model objects of `/v1/models` and
`/api/channel/models`."""

from __future__ import annotations

from typing import Any

from oneapi.relay import channeltypes

PERMISSION_ID = "modelperm-LwHkVFn8AcMItP432fKKDIKJ"
CREATED = 1626777600


def models_by_channel_type() -> dict[int, list[str]]:
    """Default model names per channel type (a copy; callers may change it). Types without a list
    (Unknown, Proxy) are absent, as in One API."""
    return {int(spec.id): list(spec.models) for spec in channeltypes.specs()
            if spec.models or spec.models_required and spec.id != channeltypes.ChannelType.UNKNOWN}


def _permission() -> dict[str, Any]:
    return {"id": PERMISSION_ID, "object": "model_permission", "created": CREATED, "allow_create_engine": True,
            "allow_sampling": True, "allow_logprobs": True, "allow_search_indices": False, "allow_view": True,
            "allow_fine_tuning": False, "organization": "*", "group": None, "is_blocking": False}


def model_object(name: str, owner: str) -> dict[str, Any]:
    """One model in OpenAI's list format, as One API builds it."""
    return {"id": name, "object": "model", "created": CREATED, "owned_by": owner, "permission": [_permission()],
            "root": name, "parent": None}


def openai_models() -> list[dict[str, Any]]:
    """The static catalogue: the lists of the types that name an owner, providers before compatible
    vendors and each by type id, de-duplicated by id keeping the first owner."""
    seen: dict[str, dict[str, Any]] = {}
    for spec in sorted(channeltypes.specs(), key=lambda s: (s.vendor, s.id)):
        if not spec.owner:
            continue
        for name in spec.models:
            if name not in seen:
                seen[name] = model_object(name, spec.owner)
    return list(seen.values())
