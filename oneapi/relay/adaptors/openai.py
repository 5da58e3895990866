"""OpenAI, Azure OpenAI, and every OpenAI-compatible vendor (a table, not a module each).

The client's body is forwarded as it came, only `model` rewritten (One API re-encoded it through a
fixed struct and lost unknown fields). Streams are forwarded chunk by chunk as the upstream's own
JSON; each chunk is parsed only to note its text and usage.
Docs: https://platform.openai.com/docs/api-reference/chat,
https://learn.microsoft.com/azure/ai-services/openai/reference
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.adaptors.compatible import ALL_MODES, OPENAI_MODELS, SPECS, VENDORS, Vendor
from oneapi.relay.channeltypes import ChannelType as T
from oneapi.relay.channeltypes import OtherField, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

AZURE_DEFAULT_API_VERSION = "2024-10-21"
"""Azure's current GA version: used when neither the channel nor the client names one, and saved by
the console's form when its input is left empty."""
AZURE = TypeSpec(
    T.AZURE, Text("Azure", "Azure"), ALL_MODES, models=OPENAI_MODELS, base_url_input="azure",
    key_hint=Text("Azure OpenAI 密钥", "Azure OpenAI key"),
    other=OtherField("api_version", Text("默认 API 版本", "API version"), placeholder=AZURE_DEFAULT_API_VERSION,
                     default=AZURE_DEFAULT_API_VERSION,
                     hint=Text(f"留空则保存 {AZURE_DEFAULT_API_VERSION}。",
                               f"Empty: {AZURE_DEFAULT_API_VERSION} is saved.")),
    notice=Text("Azure：部署名称必须与模型名称一致。", "Azure: the deployment names must equal the model names."))
# Types whose upstream accepts `stream_options` for certain: usage is always requested from them.
ASKS_FOR_USAGE = (T.OPENAI, T.AZURE)


@register(*SPECS)
class OpenAIAdaptor(Adaptor):
    key = "openai"

    def vendor(self, ctx: RelayContext) -> Vendor:
        return VENDORS.get(ctx.channel_type, Vendor())

    def request_url(self, ctx: RelayContext) -> str:
        vendor = self.vendor(ctx)
        if not self.supports(ctx.channel_type, ctx.mode):
            raise self.refusal(ctx.channel_type, ctx.mode)
        if ctx.mode in vendor.paths:
            return ctx.base_url + vendor.paths[ctx.mode]
        path = ctx.path
        if vendor.strip_v1 or _is_cloudflare_gateway(ctx.base_url):
            path = path.removeprefix("/v1")
        return ctx.base_url + path

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {ctx.key}", "Content-Type": "application/json"}
        if ctx.stream:
            headers["Accept"] = "text/event-stream"
        headers.update(self.vendor(ctx).headers)
        return headers

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        if ctx.stream and ctx.mode in (M.CHAT, M.COMPLETIONS) and self._ask_usage(ctx):
            given = body.get("stream_options")
            # inbound refuses a non-object; the proxy route and channel tests build bodies of their own.
            stream_options = dict(given) if isinstance(given, dict) else {}
            stream_options["include_usage"] = True
            body["stream_options"] = stream_options
        return body

    def _ask_usage(self, ctx: RelayContext) -> bool:
        return ctx.client_wants_usage or ctx.channel_type in ASKS_FOR_USAGE or bool(
            ctx.config.get("enforce_include_usage"))

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        usage = body.get("usage")
        if isinstance(usage, dict) and (usage.get("prompt_tokens") or usage.get("completion_tokens")):
            return body, Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        return body, None

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        for event in events:
            data = event.data.strip()
            if data == "[DONE]":
                return
            try:
                chunk = json.loads(data)
            except ValueError:
                continue
            if not isinstance(chunk, dict):
                continue
            if isinstance(chunk.get("error"), dict):
                yield data.encode()
                return
            forward = note_chunk(chunk, state, ctx)
            if forward:
                yield data.encode()


def note_chunk(chunk: dict[str, Any], state: StreamState, ctx: RelayContext) -> bool:
    """Record the chunk's text and usage; says whether the client should get it."""
    choices = chunk.get("choices") or []
    for choice in choices:
        delta = choice.get("delta") or {}
        state.add_text(delta.get("content") if isinstance(delta.get("content"), str) else None)
        state.add_text(delta.get("reasoning_content") if isinstance(delta.get("reasoning_content"), str) else None)
        for call in delta.get("tool_calls") or []:
            state.add_text(((call or {}).get("function") or {}).get("arguments"))
        state.add_text(choice.get("text") if isinstance(choice.get("text"), str) else None)
        if choice.get("finish_reason"):
            state.finish_reason = choice["finish_reason"]
    usage = chunk.get("usage")
    if isinstance(usage, dict) and (usage.get("prompt_tokens") or usage.get("completion_tokens")):
        state.usage = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        if not choices:
            # The usage-only chunk goes to clients that asked for it (One API sent it to everyone).
            state.usage_forwarded = ctx.client_wants_usage
            return ctx.client_wants_usage
        state.usage_forwarded = ctx.client_wants_usage
    # Azure's content-filter chunks carry neither choices nor usage.
    return bool(choices)


def _is_cloudflare_gateway(base_url: str) -> bool:
    return urlsplit(base_url).hostname == "gateway.ai.cloudflare.com"


@register(AZURE)
class AzureAdaptor(OpenAIAdaptor):
    """Azure OpenAI: deployments named after the model (dots removed), `api-key` header, and the
    `api-version` from the channel (config or the legacy `other` field), else the client's query."""

    key = "azure"

    def request_url(self, ctx: RelayContext) -> str:
        path, _, query = ctx.path.partition("?")
        task = path.removeprefix("/v1/")
        version = ctx.config.get("api_version") or _query_value(query, "api-version") or AZURE_DEFAULT_API_VERSION
        deployment = ctx.model if ctx.mode == M.IMAGES else ctx.model.replace(".", "")
        base = ctx.base_url
        if _is_cloudflare_gateway(base):
            return f"{base}/{deployment}/{task}?api-version={version}"
        return f"{base}/openai/deployments/{deployment}/{task}?api-version={version}"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        headers = {"api-key": ctx.key, "Content-Type": "application/json"}
        if ctx.stream:
            headers["Accept"] = "text/event-stream"
        return headers


def _query_value(query: str, name: str) -> str:
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return value
    return ""
