"""The adaptor registry: each provider module declares its channel types (`TypeSpec`, see
`channeltypes`) with the adaptor that serves them, through `register`."""

from __future__ import annotations

from collections.abc import Callable

from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.channeltypes import TypeSpec, declare
from oneapi.relay.errors import LocalError

REGISTRY: dict[int, Adaptor] = {}


def register(*specs: TypeSpec) -> Callable[[type[Adaptor]], type[Adaptor]]:
    """Class decorator: the adaptor serves the channel types `specs` declares."""
    def apply(cls: type[Adaptor]) -> type[Adaptor]:
        instance = cls()
        for spec in specs:
            declare(spec)
            REGISTRY[int(spec.id)] = instance
        return cls
    return apply


def get_adaptor(channel_type: int) -> Adaptor:
    adaptor = REGISTRY.get(channel_type)
    if adaptor is None:
        raise LocalError(500, f"invalid channel type {channel_type}", code="invalid_api_type")
    return adaptor


def _load() -> None:
    # Explicit list: a provider module registers its adaptor and types when imported.
    from oneapi.relay.adaptors import (  # noqa: F401
        aiproxy_library,
        ali,
        anthropic,
        aws,
        baidu,
        cloudflare,
        cohere,
        compatible,
        coze,
        deepl,
        gemini,
        ollama,
        openai,
        palm,
        proxy,
        replicate,
        tencent,
        vertexai,
        xunfei,
        zhipu,
    )


_load()
