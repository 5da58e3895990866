"""AWS's binary event-stream framing (`application/vnd.amazon.eventstream`), decoded into events.

Bedrock's InvokeModelWithResponseStream (and every other AWS streaming API) answers with a sequence of
messages, each one:

    total length (uint32) | headers length (uint32) | prelude CRC32 (over the 8 bytes before it)
    headers | payload | message CRC32 (over every byte of the message before it)

all integers big-endian, CRC32 the IEEE/zlib one. A header is a name (uint8 length + UTF-8), a value type
(uint8) and a value: 0 true, 1 false (no value bytes), 2 byte, 3 int16, 4 int32, 5 int64, 6 bytes and
7 string (uint16 length + data), 8 timestamp (int64 ms since the epoch), 9 UUID (16 bytes).
https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html,
https://smithy.io/2.0/aws/amazon-eventstream.html

`:message-type` says what a message is: `event` (`:event-type` names it, e.g. Bedrock's `chunk`),
`exception` (a modelled error: `:exception-type`, e.g. `throttlingException`, the payload holds
`{"message": ...}`) or `error` (an unmodelled one: `:error-code` and `:error-message` headers, no payload).

`iter_eventstream` is what the pipeline reads with `stream_format = "eventstream"`: one `SSEEvent` per
message, `event` = the `:event-type`, or `exception:<:exception-type>` for exceptions, and for `error`
messages `exception:<:error-code>` with data `{"message": <:error-message>}` so that adaptors handle
both kinds of failure alike; `data` = the payload as text. Both CRCs are checked whatever the chunk
boundaries; a bad CRC, an impossible length or a stream cut inside a message raises `EventStreamError`.
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from oneapi.relay.errors import UpstreamError
from oneapi.relay.sse import SSEEvent

PRELUDE = 12  # total length, headers length, prelude CRC
MINIMUM = PRELUDE + 4  # an empty message: prelude and message CRC
MAXIMUM = 16 * 1024 * 1024  # AWS's limit on one message (payloads are at most 16 MiB with the headers)
MAX_HEADERS = 128 * 1024


class EventStreamError(UpstreamError):
    """The upstream's event stream is corrupt or was cut short: a failure on the way, retryable."""

    def __init__(self, message: str) -> None:
        super().__init__(502, f"malformed AWS event stream: {message}", code="bad_event_stream", connection=True)


@dataclass(frozen=True)
class Message:
    headers: dict[str, Any] = field(default_factory=dict)
    payload: bytes = b""


def iter_eventstream(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """The messages of an event-stream byte stream as events (see the module docstring)."""
    for message in iter_messages(chunks):
        yield as_event(message)


def as_event(message: Message) -> SSEEvent:
    headers, text = message.headers, message.payload.decode("utf-8", errors="replace")
    kind = headers.get(":message-type", "event")
    if kind == "exception":
        return SSEEvent(f"exception:{headers.get(':exception-type', '')}", text)
    if kind == "error":
        detail = {"message": str(headers.get(":error-message", "")) or text}
        return SSEEvent(f"exception:{headers.get(':error-code', '')}", json.dumps(detail, ensure_ascii=False))
    return SSEEvent(str(headers.get(":event-type", "message")), text)


def iter_messages(chunks: Iterable[bytes]) -> Iterator[Message]:
    """Decoded messages, whatever the chunk boundaries (a message may span many chunks, a chunk hold many
    messages)."""
    buffer = bytearray()
    checked = False  # the prelude of the message at the head of the buffer passed its CRC
    for chunk in chunks:
        if not chunk:
            continue
        buffer += chunk
        while len(buffer) >= PRELUDE:
            total, headers_length = struct.unpack_from(">II", buffer)
            if not checked:
                check_prelude(buffer, total, headers_length)
                checked = True
            if len(buffer) < total:
                break
            yield decode(bytes(buffer[:total]), headers_length)
            del buffer[:total]
            checked = False
    if buffer:
        raise EventStreamError(f"the stream ended inside a message ({len(buffer)} bytes left over)")


def check_prelude(buffer: bytearray, total: int, headers_length: int) -> None:
    (crc,) = struct.unpack_from(">I", buffer, 8)
    if zlib.crc32(bytes(buffer[:8])) != crc:
        raise EventStreamError("prelude checksum mismatch")
    if not MINIMUM <= total <= MAXIMUM or headers_length > min(MAX_HEADERS, total - MINIMUM):
        raise EventStreamError(f"impossible lengths (message {total}, headers {headers_length})")


def decode(raw: bytes, headers_length: int) -> Message:
    """One whole message whose prelude was checked."""
    (crc,) = struct.unpack_from(">I", raw, len(raw) - 4)
    if zlib.crc32(raw[:-4]) != crc:
        raise EventStreamError("message checksum mismatch")
    headers = decode_headers(raw[PRELUDE:PRELUDE + headers_length])
    return Message(headers, raw[PRELUDE + headers_length:-4])


FIXED = {2: ">b", 3: ">h", 4: ">i", 5: ">q", 8: ">q"}


def decode_headers(raw: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    at = 0
    try:
        while at < len(raw):
            size = raw[at]
            name = raw[at + 1:at + 1 + size].decode("utf-8")
            at += 1 + size
            kind = raw[at]
            at += 1
            if kind in (0, 1):
                value: Any = kind == 0
            elif kind in FIXED:
                (value,) = struct.unpack_from(FIXED[kind], raw, at)
                at += struct.calcsize(FIXED[kind])
            elif kind in (6, 7):
                (size,) = struct.unpack_from(">H", raw, at)
                value = raw[at + 2:at + 2 + size]
                if len(value) != size:
                    raise EventStreamError("a header value runs past the headers")
                value = value.decode("utf-8") if kind == 7 else bytes(value)
                at += 2 + size
            elif kind == 9:
                if at + 16 > len(raw):
                    raise EventStreamError("a header value runs past the headers")
                value = uuid.UUID(bytes=raw[at:at + 16])
                at += 16
            else:
                raise EventStreamError(f"unknown header value type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise EventStreamError(f"unreadable headers ({exc})") from exc
    return headers
