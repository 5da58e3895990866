"""Channel types whose adaptor is not built yet: they resolve, and answer a clear error."""

from __future__ import annotations

from typing import Any

from oneapi.relay.adaptors import REGISTRY
from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.channeltypes import INFO, ChannelType
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError
from oneapi.relay.modes import RelayMode


class UnsupportedAdaptor(Adaptor):
    key = "unsupported"
    modes = frozenset(RelayMode)

    def supports(self, channel_type: int, mode: RelayMode) -> bool:
        return False

    def refusal(self, channel_type: int, mode: RelayMode) -> LocalError:
        label = INFO[ChannelType(channel_type)].label
        return LocalError(501, f"channel type {channel_type} ({label}) is not supported yet",
                          code="channel_type_not_supported")

    def request_url(self, ctx: RelayContext) -> str:
        raise self.refusal(ctx.channel_type, ctx.mode)

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        raise self.refusal(ctx.channel_type, ctx.mode)


def _register_rest() -> None:
    adaptor = UnsupportedAdaptor()
    for channel_type in ChannelType:
        REGISTRY.setdefault(int(channel_type), adaptor)


_register_rest()
