"""The AWS event-stream decoder (`relay.eventstream`): AWS's published test vectors (aws-c-event-stream,
also shipped with the AWS SDK for JavaScript), every chunk boundary, each header type, each message type,
and the corruptions it must refuse."""

from __future__ import annotations

import base64
import json
import struct
import uuid
import zlib
from pathlib import Path

import pytest

from oneapi.relay.eventstream import EventStreamError, Message, iter_eventstream, iter_messages
from oneapi.relay.sse import SSEEvent
from tests.unit.adaptors.chunking import odd_chunks
from tests.upstreams.aws import chunk_frame, encode_frame, exception_frame

FOO_BAR = b"{'foo':'bar'}"
# AWS's vectors: (encoded message, headers, payload).
VECTORS = {
    "empty_message": (bytes([0, 0, 0, 16, 0, 0, 0, 0, 5, 194, 72, 235, 125, 152, 200, 255]), {}, b""),
    "int32_header": (bytes([0, 0, 0, 43, 0, 0, 0, 14, 52, 139, 236, 123, 8, 101, 118, 101, 110, 116, 45, 105, 100,
                            4, 0, 0, 160, 12, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 211, 137,
                            2, 133]), {"event-id": 0xA00C}, FOO_BAR),
    "payload_no_headers": (bytes([0, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 123, 39, 102, 111, 111, 39, 58, 39, 98,
                                  97, 114, 39, 125, 195, 101, 57, 54]), {}, FOO_BAR),
    "payload_one_str_header": (bytes([0, 0, 0, 61, 0, 0, 0, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110,
                                      116, 45, 116, 121, 112, 101, 7, 0, 16, 97, 112, 112, 108, 105, 99, 97, 116, 105,
                                      111, 110, 47, 106, 115, 111, 110, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97,
                                      114, 39, 125, 141, 156, 8, 177]), {"content-type": "application/json"}, FOO_BAR),
}
ONE_STR = VECTORS["payload_one_str_header"][0]
NO_HEADERS = VECTORS["payload_no_headers"][0]
STR_TAIL = [12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121, 112, 101, 7, 0, 16, 97, 112, 112, 108, 105, 99, 97,
            116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 141,
            156, 8, 177]
CORRUPTED = {
    # A header name byte changed ("content+type"): the message CRC no longer matches.
    "corrupted_headers": bytes([0, 0, 0, 61, 0, 0, 0, 32, 7, 253, 131, 150, *STR_TAIL[:8], 43, *STR_TAIL[9:]]),
    # The headers length changed: the prelude CRC no longer matches.
    "corrupted_header_len": bytes([0, 0, 0, 61, 0, 0, 1, 32, 7, 253, 131, 150, *STR_TAIL]),
    # The total length changed (to 16 MiB + 29): the prelude CRC no longer matches.
    "corrupted_length": bytes([1, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97,
                               114, 39, 125, 195, 101, 57, 54]),
    # A payload byte changed: the message CRC no longer matches.
    "corrupted_payload": bytes([0, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97,
                                114, 39, 141, 195, 101, 57, 54]),
}
FIXTURES = Path(__file__).parents[1] / "fixtures" / "wire" / "aws"


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_aws_vectors_decode(name):
    encoded, headers, payload = VECTORS[name]
    assert list(iter_messages([encoded])) == [Message(headers, payload)]


def test_the_corrupted_vectors_differ_from_the_good_ones_in_one_byte():
    assert sum(a != b for a, b in zip(CORRUPTED["corrupted_headers"], ONE_STR, strict=True)) == 1
    assert sum(a != b for a, b in zip(CORRUPTED["corrupted_payload"], NO_HEADERS, strict=True)) == 1


@pytest.mark.parametrize("name", sorted(CORRUPTED))
@pytest.mark.parametrize("size", [1, 5, 64])
def test_aws_corrupted_vectors_are_refused(name, size):
    with pytest.raises(EventStreamError) as caught:
        list(iter_messages(odd_chunks(CORRUPTED[name], size)))
    assert caught.value.status == 502
    assert caught.value.code == "bad_event_stream"
    assert caught.value.retryable


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 4096])
def test_messages_are_found_whatever_the_chunk_boundaries(size):
    stream = b"".join(VECTORS[name][0] for name in sorted(VECTORS)) * 3
    decoded = list(iter_messages(odd_chunks(stream, size)))
    assert decoded == [Message(VECTORS[name][1], VECTORS[name][2]) for name in sorted(VECTORS)] * 3


def test_empty_chunks_are_ignored():
    assert list(iter_messages([b"", NO_HEADERS[:10], b"", NO_HEADERS[10:], b""])) == [Message({}, FOO_BAR)]


@pytest.mark.parametrize("cut", [1, 11, 12, 20, len(NO_HEADERS) - 1])
def test_a_stream_cut_inside_a_message_is_an_error(cut):
    with pytest.raises(EventStreamError, match="ended inside a message"):
        list(iter_messages([NO_HEADERS, NO_HEADERS[:cut]]))


def test_the_messages_before_a_corruption_are_delivered():
    seen = []
    with pytest.raises(EventStreamError):
        for message in iter_messages([NO_HEADERS + CORRUPTED["corrupted_payload"]]):
            seen.append(message)
    assert seen == [Message({}, FOO_BAR)]


def header(name: str, kind: int, value: bytes) -> bytes:
    return struct.pack("B", len(name)) + name.encode() + struct.pack("B", kind) + value


def frame(headers: bytes, payload: bytes) -> bytes:
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def test_every_header_value_type_is_read():
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    headers = b"".join([
        header("t", 0, b""), header("f", 1, b""), header("byte", 2, struct.pack(">b", -3)),
        header("short", 3, struct.pack(">h", -300)), header("int", 4, struct.pack(">i", 70000)),
        header("long", 5, struct.pack(">q", 2**40)), header("bytes", 6, struct.pack(">H", 3) + b"\x00\x01\x02"),
        header("str", 7, struct.pack(">H", 5) + "héé".encode()[:5]),
        header("time", 8, struct.pack(">q", 1700000000123)), header("uuid", 9, ident.bytes),
    ])
    [message] = iter_messages([frame(headers, b"x")])
    assert message.headers == {"t": True, "f": False, "byte": -3, "short": -300, "int": 70000, "long": 2**40,
                               "bytes": b"\x00\x01\x02", "str": "héé", "time": 1700000000123, "uuid": ident}
    assert message.payload == b"x"


@pytest.mark.parametrize("headers", [
    header("x", 10, b""),  # an unknown value type
    header("s", 7, struct.pack(">H", 9) + b"abc"),  # a string longer than the headers
    header("u", 9, b"\x00" * 4),  # a short UUID
    b"\x05ab",  # a name running past the headers
])
def test_unreadable_headers_are_refused(headers):
    with pytest.raises(EventStreamError):
        list(iter_messages([frame(headers, b"")]))


def test_events_name_the_event_type_and_carry_the_payload():
    [event] = iter_eventstream([chunk_frame({"type": "ping"})])
    assert event.event == "chunk"
    assert base64.b64decode(json.loads(event.data)["bytes"]) == b'{"type":"ping"}'


def test_exceptions_are_prefixed_with_exception():
    [event] = iter_eventstream([exception_frame("throttlingException", "Too many tokens")])
    assert event == SSEEvent("exception:throttlingException", '{"message": "Too many tokens"}')


def test_error_messages_carry_their_code_and_message_as_an_exception():
    raw = encode_frame([(":message-type", "error"), (":error-code", "InternalFailure"),
                        (":error-message", "The stream broke")], b"")
    [event] = iter_eventstream([raw])
    assert event.event == "exception:InternalFailure"
    assert json.loads(event.data) == {"message": "The stream broke"}


def test_a_message_without_a_message_type_is_an_event():
    [event] = iter_eventstream([encode_frame([(":event-type", "initial-response")], b"{}")])
    assert event == SSEEvent("initial-response", "{}")


def test_a_recorded_bedrock_stream_decodes_with_both_crcs_checked():
    raw = (FIXTURES / "claude_stream" / "upstream.eventstream").read_bytes()
    events = list(iter_eventstream(odd_chunks(raw, 5)))
    assert [event.event for event in events] == ["chunk"] * 8
    assert all(set(json.loads(event.data)) == {"bytes", "p"} for event in events)
