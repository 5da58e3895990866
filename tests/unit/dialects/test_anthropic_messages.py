"""The Anthropic Messages dialect against recorded fixtures (tests/fixtures/dialects/anthropic_messages/
<case>/), plus the rules no single fixture shows. Pure functions only: no network, Flask or database."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from oneapi.relay.dialects import anthropic_messages as am
from oneapi.relay.dialects.anthropic_messages import DialectError, StreamTranslator

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "dialects" / "anthropic_messages"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "openai_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "openai_chunks.jsonl").exists()]


@pytest.fixture(autouse=True)
def fixed_ids(monkeypatch):
    counter = itertools.count(1)
    monkeypatch.setattr(am, "message_id", lambda: "msg_test")
    monkeypatch.setattr(am, "tool_use_id", lambda: f"toolu_gen{next(counter)}")


def load(case: str, name: str):
    return json.loads((CASES_DIR / case / name).read_text())


def chunks(case: str) -> list[dict]:
    return [json.loads(line) for line in (CASES_DIR / case / "openai_chunks.jsonl").read_text().splitlines() if line]


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for record in text.split("\n\n"):
        if not record.strip():
            continue
        lines = dict(line.split(": ", 1) for line in record.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def translate(chunk_list: list[dict], model: str = "claude-sonnet-4-5", **kwargs) -> list[tuple[str, dict]]:
    translator = StreamTranslator(model, **kwargs)
    events = []
    for chunk in chunk_list:
        events += translator.feed(chunk)
    return events + translator.finish()


def chunk(delta=None, finish=None, usage=None, choices=True) -> dict:
    out = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}] if choices else []}
    if usage is not None:
        out["usage"] = usage
    return out


def request(**overrides) -> dict:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    body.update(overrides)
    return body


# --- fixtures ---------------------------------------------------------------------------------------

def test_fixture_cases_present():
    assert set(CASES) == {"images", "stream_text", "stream_tools", "text_multiturn", "tool_use"}


@pytest.mark.parametrize("case", CASES)
def test_request_fixture(case):
    assert am.to_chat_request(load(case, "client_request.json")) == load(case, "openai_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_fixture(case):
    model = load(case, "client_request.json")["model"]
    assert am.from_chat_response(load(case, "openai_response.json"), model) == load(case, "client_response.json")


@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_fixture(case):
    model = load(case, "client_request.json")["model"]
    expected = (CASES_DIR / case / "client_events.sse").read_text()
    events = translate(chunks(case), model)
    assert "".join(am.format_sse(e) for e in events) == expected
    assert events == parse_sse(expected)
    assert all(name == data["type"] for name, data in events)


@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_fixture_one_chunk_at_a_time_equals_whole(case):
    """Feeding chunk by chunk, in any grouping, yields the same events: the translator keeps state."""
    translator = StreamTranslator("claude-sonnet-4-5")
    events = [e for c in chunks(case) for e in translator.feed(c)] + translator.finish()
    assert events == translate(chunks(case))
    assert translator.finish() == [] and translator.feed(chunks(case)[0]) == []


# --- requests ---------------------------------------------------------------------------------------

def test_system_and_multiturn_values():
    out = am.to_chat_request(load("text_multiturn", "client_request.json"))
    assert [m["role"] for m in out["messages"]] == ["system", "user", "assistant", "user"]
    assert out["messages"][0]["content"] == "You are terse.\n\nAnswer in French."
    assert out["messages"][3]["content"] == "How are you?"
    assert out["stop"] == ["\n\nHuman:"] and out["user"] == "user-42" and out["top_k"] == 40
    assert "stream" not in out


def test_string_system_prompt():
    out = am.to_chat_request(request(system="Be kind."))
    assert out["messages"][0] == {"role": "system", "content": "Be kind."}


def test_tool_history_becomes_tool_calls_and_tool_messages():
    out = am.to_chat_request(load("tool_use", "client_request.json"))
    assistant = out["messages"][2]
    assert assistant["content"] == "Checking."
    assert assistant["reasoning_content"] == "Need both tools."
    assert [c["id"] for c in assistant["tool_calls"]] == ["toolu_01", "toolu_02"]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert out["messages"][3] == {"role": "tool", "tool_call_id": "toolu_01", "content": "18°C, cloudy"}
    assert out["messages"][4]["content"] == "clock\nunavailable"
    assert out["messages"][5] == {"role": "user", "content": "And tomorrow?"}
    assert out["tool_choice"] == "required" and out["parallel_tool_calls"] is False
    assert out["tools"][0]["function"]["parameters"]["required"] == ["city"]


def test_assistant_with_only_tool_use_has_null_content():
    body = request(messages=[{"role": "user", "content": "x"},
                             {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f",
                                                                "input": {"a": 1}}]},
                             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]}])
    out = am.to_chat_request(body)
    assert out["messages"][1]["content"] is None
    assert out["messages"][2] == {"role": "tool", "tool_call_id": "t1", "content": ""}
    assert len(out["messages"]) == 3


def test_tool_result_image_follows_as_user_message():
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}}
    body = request(messages=[{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "shot"}, image]}]}])
    out = am.to_chat_request(body)
    assert out["messages"] == [
        {"role": "tool", "tool_call_id": "t1", "content": "shot"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}}]}]


def test_images_become_image_url_parts():
    content = am.to_chat_request(load("images", "client_request.json"))["messages"][0]["content"]
    assert content[0]["image_url"]["url"] == "data:image/png;base64,iVBORw0KGgo="
    assert content[1]["image_url"]["url"] == "https://example.com/cat.jpg"
    assert content[2] == {"type": "text", "text": "Compare these."}


@pytest.mark.parametrize(("choice", "expected"), [
    ({"type": "auto"}, "auto"), ({"type": "any"}, "required"), ({"type": "none"}, "none"),
    ({"type": "tool", "name": "f"}, {"type": "function", "function": {"name": "f"}})])
def test_tool_choice(choice, expected):
    tools = [{"name": "f", "input_schema": {"type": "object"}}]
    out = am.to_chat_request(request(tools=tools, tool_choice=choice))
    assert out["tool_choice"] == expected
    assert "parallel_tool_calls" not in out


def test_redacted_thinking_is_dropped_and_thinking_config_kept():
    body = request(thinking={"type": "enabled", "budget_tokens": 2000},
                   messages=[{"role": "user", "content": "q"},
                             {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "xx"},
                                                               {"type": "text", "text": "a"}]}])
    out = am.to_chat_request(body)
    assert out["messages"][1] == {"role": "assistant", "content": "a"}
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 2000}


def test_stream_asks_for_usage():
    out = am.to_chat_request(request(stream=True))
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(("body", "message"), [
    ([], "request body must be a JSON object"),
    ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "model: Field required"),
    (request(max_tokens=None), "max_tokens: Field required"),
    (request(max_tokens=0), "max_tokens: must be greater than or equal to 1"),
    (request(messages=[]), "messages: at least one message is required"),
    (request(messages=[{"role": "system", "content": "x"}]), "messages.0.role: must be 'user' or 'assistant'"),
    (request(messages=[{"role": "user", "content": [{"type": "document", "source": {}}]}]),
     "messages.0: content block type 'document' is not supported"),
    (request(messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}]),
     "messages.0: image source must be base64 (media_type, data) or url"),
    (request(tools=[{"type": "web_search_20250305", "name": "web_search"}]),
     "tools.0: only client tools with an input_schema are supported"),
    (request(tool_choice={"type": "tool"}), "tool_choice: type must be auto, any, tool (with a name) or none"),
    (request(stop_sequences="END"), "stop_sequences: must be a list of strings"),
    (request(system=[{"type": "image"}]), "system: blocks must be text blocks"),
])
def test_invalid_requests(body, message):
    with pytest.raises(DialectError) as caught:
        am.to_chat_request(body)
    assert (caught.value.status, caught.value.type, caught.value.message) == (400, "invalid_request_error", message)
    assert caught.value.body() == {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


# --- answers ----------------------------------------------------------------------------------------

def test_response_usage_excludes_cache_reads():
    out = am.from_chat_response(load("text_multiturn", "openai_response.json"), "claude-sonnet-4-5")
    assert out["usage"] == {"input_tokens": 20, "output_tokens": 7, "cache_creation_input_tokens": 0,
                            "cache_read_input_tokens": 100}
    assert out["id"] == "msg_test" and out["content"] == [{"type": "text", "text": "Très bien, merci."}]


def test_response_tool_use_parsed_input():
    out = am.from_chat_response(load("tool_use", "openai_response.json"), "claude-sonnet-4-5")
    assert out["content"] == [{"type": "tool_use", "id": "call_A1", "name": "get_weather",
                               "input": {"city": "Paris", "day": "tomorrow"}}]
    assert out["stop_reason"] == "tool_use"


@pytest.mark.parametrize(("finish", "reason"), [
    ("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"),
    ("content_filter", "refusal"), (None, "end_turn"), ("weird", "end_turn")])
def test_stop_reasons(finish, reason):
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "x"},
                               "finish_reason": finish}]}
    assert am.from_chat_response(completion, "m")["stop_reason"] == reason


def test_tool_calls_with_stop_finish_are_tool_use_and_get_ids():
    completion = {"choices": [{"message": {"content": "ok", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": "not json"}}]}, "finish_reason": "stop"}]}
    out = am.from_chat_response(completion, "m")
    assert out["stop_reason"] == "tool_use"
    assert out["content"] == [{"type": "text", "text": "ok"},
                              {"type": "tool_use", "id": "toolu_gen1", "name": "f", "input": {}}]
    assert out["usage"]["input_tokens"] == 0


# --- streams ----------------------------------------------------------------------------------------

def test_stream_text_values():
    events = translate(chunks("stream_text"))
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta"
                   and d["delta"]["type"] == "text_delta")
    assert text == "Hi there!"
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == 9 and delta["usage"]["input_tokens"] == 8
    assert delta["usage"]["cache_read_input_tokens"] == 4


def test_stream_tool_arguments_reassemble():
    events = translate(chunks("stream_tools"))
    starts = [d for n, d in events if n == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [(0, "text"), (1, "tool_use"), (2, "tool_use")]
    for index, city in ((1, "Paris"), (2, "Rome")):
        partial = "".join(d["delta"]["partial_json"] for n, d in events
                          if n == "content_block_delta" and d["index"] == index)
        assert json.loads(partial) == {"city": city}
    stops = [d["index"] for n, d in events if n == "content_block_stop"]
    assert stops == [0, 1, 2]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_stream_whole_tool_call_in_one_chunk_without_id():
    events = translate([chunk({"tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}),
                        chunk({}, "stop")])
    assert events[1][1]["content_block"] == {"type": "tool_use", "id": "toolu_gen1", "name": "f", "input": {}}
    assert events[2][1]["delta"] == {"type": "input_json_delta", "partial_json": '{"a": 1}'}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_stream_input_tokens_in_message_start_and_fallback_usage():
    events = translate([chunk({"content": "a"}), chunk({}, "length")], input_tokens=33)
    assert events[0][1]["message"]["usage"]["input_tokens"] == 33
    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens"
    assert events[-2][1]["usage"]["input_tokens"] == 33 and events[-2][1]["usage"]["output_tokens"] == 0


def test_stream_finish_with_relay_counted_usage():
    translator = StreamTranslator("m")
    translator.feed(chunk({"content": "a"}))
    events = translator.finish({"prompt_tokens": 5, "completion_tokens": 2})
    assert events[0] == ("content_block_stop", {"type": "content_block_stop", "index": 0})
    assert events[1][1]["usage"] == {"input_tokens": 5, "output_tokens": 2, "cache_creation_input_tokens": 0,
                                     "cache_read_input_tokens": 0}


def test_empty_stream_still_well_formed():
    events = translate([])
    assert [n for n, _ in events] == ["message_start", "message_delta", "message_stop"]
    assert events[0][1]["message"]["id"] == "msg_test"


# --- errors and token counting ----------------------------------------------------------------------

@pytest.mark.parametrize(("status", "kind"), [
    (400, "invalid_request_error"), (401, "authentication_error"), (402, "billing_error"),
    (403, "permission_error"), (404, "not_found_error"), (413, "request_too_large"),
    (429, "rate_limit_error"), (500, "api_error"), (529, "overloaded_error"), (503, "api_error"),
    (422, "invalid_request_error")])
def test_error_body(status, kind):
    assert am.error_body(status, "boom") == {"type": "error", "error": {"type": kind, "message": "boom"}}


def test_error_event_and_openai_error_mapping():
    assert am.error_event(529, "Overloaded") == (
        "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    upstream = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    assert am.from_chat_error(429, upstream) == {
        "type": "error", "error": {"type": "rate_limit_error", "message": "Rate limit reached"}}
    assert am.from_chat_error(502, b"<html>")["error"] == {"type": "api_error", "message": "upstream error (HTTP 502)"}
    assert am.format_sse(am.error_event(500, "x")) == (
        'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"x"}}\n\n')


def test_count_tokens_text():
    text = am.count_tokens_text(load("tool_use", "client_request.json"))
    lines = text.split("\n")
    assert lines[0] == "Use tools when useful."
    for piece in ("Weather and time in Paris?", "Need both tools.", "get_weather", '{"city": "Paris"}',
                  "18°C, cloudy", "unavailable", "And tomorrow?", "Weather for a city"):
        assert piece in lines
    assert json.dumps({"properties": {"city": {"type": "string"}}, "required": ["city"], "type": "object"}) in lines
    assert am.count_tokens_text(request(system="S")) == "S\nhi"
