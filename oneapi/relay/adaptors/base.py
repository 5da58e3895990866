"""The adaptor interface: a sans-I/O translator between OpenAI's wire format and one provider's.

Adaptors never import Flask, never open connections, never touch the database or `services`, and
never write to the client. The pipeline (`relay.upstream`) does every I/O step an adaptor asks for:

1. `credential`: a short-lived credential the calls need, computed here (Zhipu's JWT) or fetched by
   a `Call` the pipeline makes and `read_credential` reads (Baidu's access token, Vertex's OAuth
   token); the pipeline caches it per channel until it expires and puts it in `ctx.credential`.
2. `request_url` / `request_headers` / `convert_request`: the first call; `sign` adds a signature
   over the final bytes (Tencent's TC3, AWS SigV4).
3. `transport`: `http`, or `websocket` (the body goes as one text message; each message received is
   one stream event; Xunfei Spark).
4. `follow_up`: after a JSON answer, another call to make (an asynchronous task polled to completion:
   Ali's image synthesis, Replicate's predictions), bounded in time by the pipeline.
5. `convert_response`, or for streams `convert_stream` over the events `stream_format` splits.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from oneapi.relay.channeltypes import spec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

# OpenAI finish reasons; providers' own reasons are mapped onto these.
STOP, LENGTH, TOOL_CALLS, CONTENT_FILTER = "stop", "length", "tool_calls", "content_filter"


@dataclass(frozen=True)
class Call:
    """One upstream request an adaptor asks the pipeline to make."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    stream: bool = False
    """Its answer is the stream (read by `convert_stream`), not a JSON body."""
    delay: float = 0.0
    """Seconds to wait before making it: the interval of a poll."""


@dataclass(frozen=True)
class Credential:
    value: str
    expires_at: float
    """Unix time; the pipeline renews the credential a minute before."""


class Adaptor:
    key: ClassVar[str] = ""
    stream_format: ClassVar[str] = "sse"
    """How the pipeline splits the upstream stream into events: `sse`, `ndjson` (Ollama, Cohere),
    `eventstream` (AWS's binary framing; event = `:event-type`, data = payload), `json` (the whole
    answer as one event: a stream simulated from a provider that cannot stream), `messages` (one
    websocket message per event)."""
    transport: ClassVar[str] = "http"
    """`http`, or `websocket`: `request_url` is a ws(s):// URL, the converted body is sent as one
    text message, and the messages received are the stream."""
    always_streams: ClassVar[bool] = False
    """Non-stream requests too are read from the upstream's stream (and assembled into one answer)."""
    image_urls_only: ClassVar[bool] = False
    """The provider answers images as URLs whatever `response_format` asked: for `b64_json` the
    pipeline fetches them (only then: an OpenAI-style upstream's URLs are passed on, never fetched)."""

    def supports(self, channel_type: int, mode: RelayMode) -> bool:
        """Whether channels of this type can serve `mode`: the type's declared modes."""
        found = spec(channel_type)
        return found is not None and found.serves(mode)

    def credential(self, ctx: RelayContext, now: float) -> Credential | Call | None:
        """The channel's short-lived credential: computed (a `Credential`), to be fetched (a `Call`
        whose answer goes to `read_credential`), or None when the key is used as it is."""
        return None

    def read_credential(self, ctx: RelayContext, status: int, body: bytes, now: float) -> Credential:
        """The credential in the answer to the `Call` that `credential` asked for."""
        raise self.convert_error(status if status >= 400 else 502, body, ctx)

    def sign(self, ctx: RelayContext, call: Call, now: float) -> Call:
        """The call as sent: with a signature over its final bytes where the provider wants one."""
        return call

    def upstream_stream(self, ctx: RelayContext) -> bool:
        """Whether the first call's answer is a stream; an asynchronous task's first answer is not,
        nor the answer of a provider that cannot stream (`stream_format` json)."""
        return (ctx.stream or self.always_streams) and self.stream_format != "json"

    def follow_up(self, ctx: RelayContext, body: Any, step: int) -> Call | None:
        """After the JSON answer `body` of call number `step` (0 = the first), the next call to make,
        or None when `body` is the answer."""
        return None

    def refusal(self, channel_type: int, mode: RelayMode) -> LocalError:
        """The error for a request this adaptor cannot serve on such a channel."""
        # One API's code for it; the status is 400 since nothing was tried upstream.
        return LocalError(400, f"unsupported relay mode {mode.name.lower()} for this channel",
                          code="do_request_failed")

    def request_url(self, ctx: RelayContext) -> str:
        raise NotImplementedError(f"{type(self).__name__}.request_url is not implemented")

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        """The key as a Bearer token (most providers), JSON in, and events out for a stream."""
        headers = {"Authorization": f"Bearer {ctx.key}", "Content-Type": "application/json"}
        if ctx.stream:
            headers["Accept"] = "text/event-stream"
        return headers

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


def now() -> int:
    """The `created` timestamp. Adaptor modules import it by name, so that a test pins one module's
    clock with `monkeypatch.setattr(module, "now", ...)`."""
    return int(time.time())


def random_hex() -> str:
    """Ids for answers whose provider gives none (imported by name, like `now`)."""
    return uuid.uuid4().hex


def parse_json(body: bytes | str) -> Any:
    """The JSON value of an upstream body, or None when it is not JSON (an HTML error page …)."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def json_objects(events: Iterable[SSEEvent]) -> Iterator[tuple[SSEEvent, dict[str, Any]]]:
    """The events whose data is a JSON object, with that object; keep-alives and junk are skipped."""
    for event in events:
        data = parse_json(event.data)
        if isinstance(data, dict):
            yield event, data


class ChunkStream:
    """What a provider's stream translator shares: OpenAI `chat.completion.chunk` dicts under one id,
    `created` and model (attributes the translator sets, and may change once the provider names
    them), the role on the first chunk only, and the usage-only chunk OpenAI ends a stream with."""

    id: str = ""
    created: int = 0
    model: str = ""
    role_sent: bool = False
    state: StreamState

    def __init__(self, state: StreamState, id: str = "", model: str = "", created: int = 0) -> None:
        self.state, self.id, self.model, self.created = state, id, model, created

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if not self.role_sent:
            delta, self.role_sent = {"role": "assistant", **delta}, True
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def usage_chunk(self) -> dict[str, Any]:
        usage = self.state.usage.as_openai() if self.state.usage else {}
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [], "usage": usage}


def feed_objects(events: Iterable[SSEEvent], translator: Any, ctx: RelayContext,
                 state: StreamState) -> Iterator[dict[str, Any]]:
    """A stream whose events are JSON objects: each through `translator.feed`, then the usage chunk
    when the client asked for it and the provider reported usage."""
    for _event, data in json_objects(events):
        yield from translator.feed(data)
    if ctx.client_wants_usage and state.usage is not None:
        state.usage_forwarded = True
        yield translator.usage_chunk()


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


def last_user_text(messages: list[Any]) -> str:
    """The text of the last user message (else of the last message): what a provider that takes one
    query (Coze, AI Proxy's knowledge base) is asked."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of(message.get("content"))
    return text_of(messages[-1].get("content")) if messages and isinstance(messages[-1], dict) else ""


def text_of(content: Any) -> str:
    """The text of an OpenAI message content: a string, or the `text` parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
