"""The adaptor interface: a sans-I/O translator between OpenAI's wire format and one provider's.

Adaptors never import Flask, never open connections and never write to the client: the pipeline
calls `request_url`/`request_headers`/`convert_request`, sends the request through the shared HTTP
session, and feeds the answer to `convert_response` or, for streams, `convert_stream`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

# OpenAI finish reasons; providers' own reasons are mapped onto these.
STOP, LENGTH, TOOL_CALLS, CONTENT_FILTER = "stop", "length", "tool_calls", "content_filter"


class Adaptor:
    key: ClassVar[str] = ""
    channel_types: ClassVar[tuple[int, ...]] = ()
    modes: ClassVar[frozenset[RelayMode]] = frozenset({RelayMode.CHAT})
    stream_format: ClassVar[str] = "sse"
    """`sse` or `ndjson`: how the pipeline splits the upstream stream into events."""

    def supports(self, channel_type: int, mode: RelayMode) -> bool:
        """Whether channels of this type can serve `mode` (a vendor may serve fewer modes than its adaptor)."""
        return mode in self.modes

    def refusal(self, channel_type: int, mode: RelayMode) -> LocalError:
        """The error for a request this adaptor cannot serve on such a channel."""
        # One API's code for it; the status is 400 since nothing was tried upstream.
        return LocalError(400, f"unsupported relay mode {mode.name.lower()} for this channel",
                          code="do_request_failed")

    def request_url(self, ctx: RelayContext) -> str:
        raise NotImplementedError(f"{type(self).__name__}.request_url is not implemented")

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.key}", "Content-Type": "application/json"}

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        """The upstream JSON body for the client's OpenAI request body."""
        raise NotImplementedError(f"{type(self).__name__}.convert_request is not implemented")

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        """The OpenAI response and the usage the upstream reported (None: the pipeline counts it)."""
        raise NotImplementedError(f"{type(self).__name__}.convert_response is not implemented")

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        """OpenAI chunks (dicts, or ready JSON bytes) for the upstream's events; records the text and
        usage in `state` as it goes. `[DONE]` is the pipeline's to send."""
        raise NotImplementedError(f"{type(self).__name__}.convert_stream is not implemented")

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        return openai_style_error(status, body)

    def models(self) -> list[str]:
        return []


def openai_style_error(status: int, body: bytes) -> UpstreamError:
    """One API's reading of an upstream error body: OpenAI's `error` object when present, else the
    first message-like field, else the status; an HTML page becomes one line with the status."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and error.get("message"):
            return UpstreamError(status, str(error["message"]), str(error.get("type") or "upstream_error"),
                                 error.get("code") or "", error.get("param") or "")
        message = _first_message(parsed)
        if message:
            return UpstreamError(status, message, param=str(status))
    if text.lower().startswith(("<!doctype", "<html")) or not text:
        return UpstreamError(status, f"bad response status code {status}", param=str(status))
    return UpstreamError(status, text[:500], param=str(status))


def _first_message(parsed: dict[str, Any]) -> str:
    for key in ("message", "msg", "err", "error_msg", "error"):
        value = parsed.get(key)
        if isinstance(value, str) and value:
            return value
    for outer, inner in (("header", "message"), ("response", "error")):
        value = parsed.get(outer)
        if isinstance(value, dict):
            nested = value.get(inner)
            if isinstance(nested, str) and nested:
                return nested
            if isinstance(nested, dict) and isinstance(nested.get("message"), str):
                return nested["message"]
    return ""


def text_of(content: Any) -> str:
    """The text of an OpenAI message content: a string, or the `text` parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
