"""Server-sent events: parsing an upstream byte stream into events, and encoding our output.

Parsing follows the WHATWG rules that matter for LLM APIs: `event:` and `data:` fields, multi-line
data joined with newlines, comments (`:`) ignored, an event dispatched at a blank line or at the end
of the stream, CRLF and LF line ends. Adaptors never scan lines themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True)
class SSEEvent:
    event: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


def iter_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split a byte stream into lines without their line ends, whatever the chunk boundaries."""
    pending = b""
    for chunk in chunks:
        if not chunk:
            continue
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield line[:-1] if line.endswith(b"\r") else line
    if pending:
        yield pending[:-1] if pending.endswith(b"\r") else pending


def iter_events(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """Events of an SSE byte stream."""
    event, data = "", []
    for raw in iter_lines(chunks):
        if not raw:
            if data:
                yield SSEEvent(event or "message", "\n".join(data))
            event, data = "", []
            continue
        if raw.startswith(b":"):
            continue
        name, _, value = raw.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        text = value.decode("utf-8", errors="replace")
        if name == b"data":
            data.append(text)
        elif name == b"event":
            event = text
    if data:
        yield SSEEvent(event or "message", "\n".join(data))


def iter_ndjson(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """Newline-delimited JSON streams (Ollama, Cohere) as events with the line as data."""
    for raw in iter_lines(chunks):
        if raw.strip():
            yield SSEEvent("message", raw.decode("utf-8", errors="replace"))


def iter_whole(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """A whole answer as one event: the stream of a provider that cannot stream."""
    body = b"".join(chunks)
    if body.strip():
        yield SSEEvent("message", body.decode("utf-8", errors="replace"))


def iter_messages(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """Websocket messages, one event each (the transport keeps message boundaries)."""
    for message in chunks:
        if message.strip():
            yield SSEEvent("message", message.decode("utf-8", errors="replace"))


def reader(stream_format: str):
    """The event splitter for an adaptor's `stream_format`."""
    if stream_format == "eventstream":
        from oneapi.relay.eventstream import iter_eventstream

        return iter_eventstream
    return READERS[stream_format]


def encode(payload: bytes | str | dict[str, Any]) -> bytes:
    """One `data:` event; dicts are JSON-encoded compactly, bytes and str are sent as they are."""
    if isinstance(payload, dict):
        payload = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    if isinstance(payload, str):
        payload = payload.encode()
    return b"data: " + payload + b"\n\n"


READERS = {"sse": iter_events, "ndjson": iter_ndjson, "json": iter_whole, "messages": iter_messages}
