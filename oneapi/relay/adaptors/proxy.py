"""Proxy (channel type 43): any method and path, passed through to the channel's base URL with the
channel's raw key as the `Authorization` header (One API's proxy adaptor).

It serves only `/v1/oneapi/proxy/{channel id}/{path}` (relay mode proxy): the request goes to
`{base URL}/{path}` with the client's query string; `relay.proxy` authenticates, filters headers and
bills it like every relayed request (One API neither billed nor logged it). A Proxy channel lists no
models, so model routing never picks it for `/v1/chat/completions`.
"""

from __future__ import annotations

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.channeltypes import ChannelType, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.modes import RelayMode as M

SPEC = TypeSpec(
    ChannelType.PROXY, Text("Proxy", "Proxy"), frozenset({M.PROXY}),
    base_url_input="target", models_required=False,
    key_hint=Text("原样作为 Authorization 请求头发送，例如 Bearer sk-xxx", "Sent as the Authorization header as it is, "
                  "e.g. Bearer sk-xxx"),
)


@register(SPEC)
class ProxyAdaptor(Adaptor):
    key = "proxy"

    def request_url(self, ctx: RelayContext) -> str:
        """`ctx.path` is the part after `/v1/oneapi/proxy/{id}/`, query included."""
        return f"{ctx.base_url}/{ctx.path.lstrip('/')}"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        return {"Authorization": ctx.key}
