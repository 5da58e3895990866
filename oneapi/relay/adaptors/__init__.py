"""The adaptor registry: one adaptor per channel type, from the provider modules listed here."""

from __future__ import annotations

from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.errors import LocalError

REGISTRY: dict[int, Adaptor] = {}


def register(cls: type[Adaptor]) -> type[Adaptor]:
    instance = cls()
    for channel_type in cls.channel_types:
        if channel_type in REGISTRY:
            raise RuntimeError(f"channel type {channel_type} registered twice ({cls.__name__})")
        REGISTRY[channel_type] = instance
    return cls


def get_adaptor(channel_type: int) -> Adaptor:
    adaptor = REGISTRY.get(channel_type)
    if adaptor is None:
        raise LocalError(500, f"channel type {channel_type} is not supported yet", code="invalid_api_type")
    return adaptor


def _load() -> None:
    # Explicit list: a provider module registers its adaptor classes when imported.
    # `unsupported` last: it claims every type no provider module registered.
    from oneapi.relay.adaptors import anthropic, gemini, openai, unsupported  # noqa: F401


_load()
