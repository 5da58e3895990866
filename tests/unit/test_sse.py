"""SSE parsing of upstream byte streams (lines across any chunk boundary, events, comments, `[DONE]`),
newline-delimited JSON, and the encoding of our own `data:` events."""

from __future__ import annotations

import json

import pytest

from oneapi.relay.sse import DONE, SSEEvent, encode, iter_events, iter_lines, iter_ndjson


def every_split(raw: bytes):
    """The bytes cut at every pair of positions: 1, 2 or 3 chunks, empty chunks included."""
    for i in range(len(raw) + 1):
        for j in range(i, len(raw) + 1):
            yield [raw[:i], raw[i:j], raw[j:]]


def one_byte_chunks(raw: bytes) -> list[bytes]:
    return [raw[i:i + 1] for i in range(len(raw))]


# -- lines -------------------------------------------------------------------------------------------


def test_lines_are_split_on_lf_and_crlf():
    raw = b"one\ntwo\r\nthree\r\n\r\nfive"
    assert list(iter_lines([raw])) == [b"one", b"two", b"three", b"", b"five"]


def test_lines_are_the_same_for_every_chunking():
    raw = "data: héllo\r\n\r\nevent: x\ndata: 世界\n\ntail".encode()
    expected = [b"data: h\xc3\xa9llo", b"", b"event: x", "data: 世界".encode(), b"", b"tail"]
    for chunks in every_split(raw):
        assert list(iter_lines(chunks)) == expected, chunks
    assert list(iter_lines(one_byte_chunks(raw))) == expected


def test_crlf_split_between_chunks_is_one_line_end():
    assert list(iter_lines([b"abc\r", b"\ndef\r", b"\n"])) == [b"abc", b"def"]


def test_final_line_without_line_end_is_kept():
    assert list(iter_lines([b"a\nb"])) == [b"a", b"b"]
    assert list(iter_lines([b"a\nb\r"])) == [b"a", b"b"]


def test_empty_input_and_empty_chunks_give_no_lines():
    assert list(iter_lines([])) == []
    assert list(iter_lines([b"", b"", b""])) == []
    assert list(iter_lines([b"", b"x", b"", b"\n", b""])) == [b"x"]


def test_lines_are_yielded_before_the_stream_ends():
    def chunks():
        yield b"first\nsec"
        raise AssertionError("read past the first complete line")

    assert next(iter_lines(chunks())) == b"first"


# -- events ------------------------------------------------------------------------------------------

OPENAI_STREAM = (
    b'data: {"id":"1","choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b'data: {"id":"1","choices":[{"delta":{"content":"lo"}}]}\n\n'
    b"data: [DONE]\n\n"
)


def test_openai_stream_events_and_done_as_data():
    events = list(iter_events([OPENAI_STREAM]))
    assert [e.event for e in events] == ["message"] * 3
    assert events[0].json() == {"id": "1", "choices": [{"delta": {"content": "Hel"}}]}
    assert events[-1].data == "[DONE]"


def test_events_are_the_same_for_every_chunking():
    expected = list(iter_events([OPENAI_STREAM]))
    for chunks in every_split(OPENAI_STREAM):
        assert list(iter_events(chunks)) == expected
    assert list(iter_events(one_byte_chunks(OPENAI_STREAM))) == expected


def test_event_names():
    raw = (b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
           b"event: ping\r\ndata: {}\r\n\r\n"
           b"data: unnamed\n\n")
    events = list(iter_events([raw]))
    assert events == [SSEEvent("message_start", '{"type":"message_start"}'), SSEEvent("ping", "{}"),
                      SSEEvent("message", "unnamed")]


def test_event_name_does_not_leak_into_the_next_event():
    raw = b"event: error\ndata: a\n\ndata: b\n\n"
    assert [e.event for e in iter_events([raw])] == ["error", "message"]


def test_multi_line_data_is_joined_with_newlines():
    raw = b"data: first\ndata: second\ndata:third\n\n"
    assert list(iter_events([raw])) == [SSEEvent("message", "first\nsecond\nthird")]


def test_only_one_space_after_the_colon_is_removed():
    assert [e.data for e in iter_events([b"data:  two spaces\n\ndata:none\n\n"])] == [" two spaces", "none"]


def test_comments_are_ignored():
    raw = b": keep-alive\n\n:OPENROUTER PROCESSING\ndata: x\n: inside\ndata: y\n\n: trailing\n"
    assert list(iter_events([raw])) == [SSEEvent("message", "x\ny")]


def test_other_fields_are_ignored():
    raw = b"id: 7\nretry: 1000\nfoo: bar\ndata: payload\n\n"
    assert list(iter_events([raw])) == [SSEEvent("message", "payload")]


def test_blank_lines_without_data_dispatch_nothing():
    assert list(iter_events([b"\n\n\r\n\n"])) == []
    assert list(iter_events([b"event: lonely\n\n"])) == []


def test_last_event_without_blank_line_is_dispatched_at_the_end():
    raw = b"data: one\n\nevent: last\ndata: two"
    assert list(iter_events([raw])) == [SSEEvent("message", "one"), SSEEvent("last", "two")]
    assert list(iter_events([b"data: [DONE]\n"])) == [SSEEvent("message", "[DONE]")]


def test_utf8_split_inside_a_character_is_decoded_whole():
    raw = 'data: {"content":"你好🙂"}\n\n'.encode()
    for cut in range(len(raw)):
        (event,) = iter_events([raw[:cut], raw[cut:]])
        assert event.json() == {"content": "你好🙂"}


def test_invalid_utf8_is_replaced_not_raised():
    (event,) = iter_events([b"data: \xff\xfeok\n\n"])
    assert event.data.endswith("ok") and "\ufffd" in event.data


def test_sse_event_json_parses_the_data():
    assert SSEEvent("message", '{"a":[1,2]}').json() == {"a": [1, 2]}
    with pytest.raises(ValueError):
        SSEEvent("message", "[DONE]").json()


# -- newline-delimited JSON --------------------------------------------------------------------------

NDJSON = b'{"message":{"content":"Hi"},"done":false}\n\n  \n{"done":true,"eval_count":3}\r\n{"tail":1}'


def test_ndjson_lines_become_message_events():
    events = list(iter_ndjson([NDJSON]))
    assert [e.event for e in events] == ["message"] * 3
    assert [e.json() for e in events] == [{"message": {"content": "Hi"}, "done": False},
                                         {"done": True, "eval_count": 3}, {"tail": 1}]


def test_ndjson_is_the_same_for_every_chunking():
    expected = list(iter_ndjson([NDJSON]))
    for chunks in every_split(NDJSON):
        assert list(iter_ndjson(chunks)) == expected


# -- encoding ----------------------------------------------------------------------------------------


def test_encode_dict_is_compact_json_keeping_non_ascii():
    payload = {"id": "chatcmpl-1", "choices": [{"delta": {"content": "你好 é"}}], "usage": None}
    encoded = encode(payload)
    assert encoded == 'data: {"id":"chatcmpl-1","choices":[{"delta":{"content":"你好 é"}}],"usage":null}\n\n'.encode()
    assert json.loads(encoded[len(b"data: "):]) == payload


def test_encode_str_and_bytes_are_sent_as_they_are():
    assert encode('{"a": 1}') == b'data: {"a": 1}\n\n'
    assert encode("中文") == "data: 中文\n\n".encode()
    assert encode(b'{"b" : 2}') == b'data: {"b" : 2}\n\n'


def test_done_is_the_openai_terminator():
    assert DONE == b"data: [DONE]\n\n"
    assert encode("[DONE]") == DONE


def test_encoded_events_parse_back():
    payloads = [{"n": i, "text": "é\nline"} for i in range(3)]
    stream = b"".join(encode(p) for p in payloads) + DONE
    events = list(iter_events([stream]))
    assert [e.json() for e in events[:-1]] == payloads
    assert events[-1].data == "[DONE]"
