"""Stream chunks folded back into a non-stream answer (the relay's metered answers)."""

from __future__ import annotations

from oneapi.relay.assemble import assemble, parse_chunk
from oneapi.relay.modes import RelayMode

USAGE = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def chunk(delta=None, finish=None, **extra):
    return {"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 7, "model": "gpt-4o-2024",
            "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}], **extra}


def test_text_reasoning_and_finish_reason_are_joined():
    chunks = [chunk({"role": "assistant", "content": ""}, system_fingerprint="fp_1"),
              chunk({"reasoning_content": "think "}), chunk({"content": "Hel"}), chunk({"content": "lo"}),
              chunk({}, "stop")]
    answer = assemble(chunks, RelayMode.CHAT, USAGE, "gpt-4o")
    assert answer == {
        "id": "chatcmpl-9", "object": "chat.completion", "created": 7, "model": "gpt-4o-2024",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello",
                                              "reasoning_content": "think "},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": USAGE, "system_fingerprint": "fp_1"}


def test_tool_calls_are_merged_by_index():
    chunks = [chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                     "function": {"name": "get_weather", "arguments": ""}}]}),
              chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
              chunk({"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "now", "arguments": "{}"}}]}),
              chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}), chunk({}, "tool_calls")]
    message = assemble(chunks, RelayMode.CHAT, USAGE, "gpt-4o")["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": "{}"}}]


def test_completions_join_their_text():
    chunks = [{"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "davinci-002",
               "choices": [{"index": 0, "text": piece, "finish_reason": finish}]}
              for piece, finish in (("Once", None), (" upon", None), ("", "length"))]
    answer = assemble(chunks, RelayMode.COMPLETIONS, USAGE, "davinci-002")
    assert answer["object"] == "text_completion"
    assert answer["choices"] == [{"index": 0, "text": "Once upon", "logprobs": None, "finish_reason": "length"}]


def test_raw_json_items_are_parsed_and_junk_is_skipped():
    assert parse_chunk(b'{"choices": []}') == {"choices": []}
    assert parse_chunk(b"[1, 2]") is None and parse_chunk(b"not json") is None
    assert assemble([], RelayMode.CHAT, USAGE, "gpt-4o")["choices"] == []
