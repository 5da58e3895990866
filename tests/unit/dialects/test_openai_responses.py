"""The OpenAI Responses dialect (Codex CLI's wire format) ⇄ chat completions: recorded fixtures plus
targeted cases for every translation rule and refusal."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from oneapi.relay.dialects import openai_responses as dialect
from oneapi.relay.dialects.openai_responses import (
    DialectError,
    StreamTranslator,
    encode_event,
    error_body,
    from_chat_response,
    to_chat_request,
)
from oneapi.relay.errors import LocalError, UpstreamError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "dialects" / "openai_responses"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
CREATED = 1733000100


@pytest.fixture(autouse=True)
def pinned(monkeypatch):
    counter = itertools.count(1)
    monkeypatch.setattr(dialect, "new_id", lambda prefix: f"{prefix}_{next(counter):03d}")
    monkeypatch.setattr(dialect, "now", lambda: CREATED)


def load(case: str, name: str):
    return json.loads((FIXTURES / case / name).read_text())


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def run_stream(chunks, model="m", request=None):
    translator = StreamTranslator(model, request)
    events = []
    for chunk in chunks:
        events += translator.feed(chunk)
    return events + translator.finish()


def chunk(delta=None, finish=None, **extra):
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "up",
            "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}], **extra}


def usage_chunk(**usage):
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": [],
            "usage": usage}


# ---------------------------------------------------------------- recorded fixtures

@pytest.mark.parametrize("case", CASES)
def test_fixture_request(case):
    assert to_chat_request(load(case, "client_request.json")) == load(case, "openai_request.json")


@pytest.mark.parametrize("case", [c for c in CASES if (FIXTURES / c / "openai_response.json").exists()])
def test_fixture_response(case):
    request = load(case, "client_request.json")
    assert from_chat_response(load(case, "openai_response.json"), request["model"], request) == \
        load(case, "client_response.json")


@pytest.mark.parametrize("case", [c for c in CASES if (FIXTURES / c / "openai_chunks.jsonl").exists()])
def test_fixture_stream(case):
    request = load(case, "client_request.json")
    chunks = [json.loads(line) for line in (FIXTURES / case / "openai_chunks.jsonl").read_text().splitlines()]
    events = run_stream(chunks, request["model"], request)
    wire = (FIXTURES / case / "client_events.sse").read_text()
    assert "".join(encode_event(kind, data) for kind, data in events) == wire
    assert parse_sse(wire) == events


def test_fixture_cases_present():
    assert {"codex_tool_turn", "image_json_schema", "tool_call_answer", "text_stream"} <= set(CASES)


# ---------------------------------------------------------------- request

def test_codex_turn_request_rules():
    chat = to_chat_request(load("codex_tool_turn", "client_request.json"))
    roles = [m["role"] for m in chat["messages"]]
    assert roles == ["system", "system", "user", "user", "assistant", "tool", "tool", "user"]
    assert chat["messages"][0]["content"] == "You are Codex, a coding agent running in a terminal."
    assert chat["messages"][1]["content"] == "<permissions>workspace-write</permissions>"  # developer → system
    assistant = chat["messages"][4]
    assert assistant["content"] == "Looking at the repository."
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_ls", "call_cat"]
    assert assistant["tool_calls"][1]["function"] == {"name": "shell", "arguments": '{"command":["cat","README.md"]}'}
    assert chat["messages"][5] == {"role": "tool", "tool_call_id": "call_ls", "content": "README.md\nsrc\n"}
    assert chat["messages"][7] == {"role": "user", "content": "Now summarise it."}  # bare {role, content}
    assert not any("reasoning" in json.dumps(m) for m in chat["messages"])
    assert chat["max_tokens"] == 2048 and chat["reasoning_effort"] == "medium"
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}
    assert chat["tools"][0]["function"]["name"] == "shell" and chat["tools"][0]["function"]["strict"] is False
    for dropped in ("store", "include", "prompt_cache_key", "instructions", "input", "max_output_tokens"):
        assert dropped not in chat


def test_string_input_and_consecutive_calls_without_text():
    chat = to_chat_request({"model": "m", "input": [
        {"type": "message", "role": "user", "content": "go"},
        {"type": "function_call", "call_id": "c1", "name": "a", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "b", "arguments": {"x": 1}},
        {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "one"},
                                                                     {"type": "input_text", "text": "two"}]},
        {"type": "function_call_output", "call_id": "c2", "output": "ok"},
    ]})
    assert chat["messages"][1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
        {"id": "c2", "type": "function", "function": {"name": "b", "arguments": '{"x": 1}'}}]}
    assert chat["messages"][2]["content"] == "onetwo"
    assert to_chat_request({"model": "m", "input": "hello"})["messages"] == [{"role": "user", "content": "hello"}]


def test_image_parts_and_multi_text():
    chat = to_chat_request(load("image_json_schema", "client_request.json"))
    parts = chat["messages"][1]["content"]
    assert parts[1] == {"type": "image_url",
                        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
    assert chat["response_format"]["json_schema"]["name"] == "caption"
    assert chat["response_format"]["json_schema"]["strict"] is True
    two = to_chat_request({"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]}]})
    assert two["messages"][0]["content"] == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]


def test_text_formats():
    assert to_chat_request({"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}})[
        "response_format"] == {"type": "json_object"}
    assert "response_format" not in to_chat_request({"model": "m", "input": "x", "text": {"format": {"type": "text"}}})


def test_tool_choice_forms():
    base = {"model": "m", "input": "x"}
    for choice in ("auto", "none", "required"):
        assert to_chat_request({**base, "tool_choice": choice})["tool_choice"] == choice
    assert to_chat_request({**base, "tool_choice": {"type": "function", "name": "f"}})["tool_choice"] == \
        {"type": "function", "function": {"name": "f"}}


@pytest.mark.parametrize("body,code,param,needle", [
    ({"model": "m", "input": "x", "previous_response_id": "resp_9"}, "unsupported_parameter",
     "previous_response_id", "previous_response_id"),
    ({"input": "x"}, "missing_required_parameter", "model", "model"),
    ({"model": "m"}, "missing_required_parameter", "input", "input"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}, "unsupported_value", "tools[0].type",
     "web_search"),
    ({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}, "unsupported_parameter", "input[0]",
     "item_reference"),
    ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]},
     "unsupported_value", "input[0].content[0]", "file_id"),
    ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]},
     "unsupported_value", "input[0].content[0]", "input_file"),
    ({"model": "m", "input": [{"role": "critic", "content": "x"}]}, "invalid_value", "input[0].role", "critic"),
    ({"model": "m", "input": [{"type": "function_call_output", "output": "x"}]}, "missing_required_parameter",
     "input[0].call_id", "call_id"),
    ({"model": "m", "input": "x", "tool_choice": {"type": "web_search_preview"}}, "unsupported_value",
     "tool_choice", "tool_choice"),
    ({"model": "m", "input": "x", "text": {"format": {"type": "json_schema"}}}, "missing_required_parameter",
     "text.format", "schema"),
    ({"model": "m", "input": [{"role": "assistant", "content": [
        {"type": "input_image", "image_url": "https://x/y.png"}]}]}, "unsupported_value", "input[0].content",
     "only user messages"),
    ({"model": "m", "input": "x", "instructions": ["a"]}, "invalid_type", "instructions", "instructions"),
    ({"model": "m", "input": "x", "background": True}, "unsupported_parameter", "background", "background"),
    ({"model": "m", "input": [{"type": "local_shell_call", "call_id": "c"}]}, "unsupported_value",
     "input[0].type", "local_shell_call"),
])
def test_refusals_in_openai_error_shape(body, code, param, needle):
    with pytest.raises(DialectError) as caught:
        to_chat_request(body)
    err = caught.value
    assert err.status == 400
    shaped = err.body()["error"]
    assert shaped["type"] == "invalid_request_error" and shaped["code"] == code and shaped["param"] == param
    assert needle in shaped["message"]
    assert error_body(err) == err.body()
    assert isinstance(err, LocalError)  # our refusal: never retried on another channel


# ---------------------------------------------------------------- answer

def test_tool_call_answer():
    out = from_chat_response(load("tool_call_answer", "openai_response.json"), "claude-3-5-haiku",
                             load("tool_call_answer", "client_request.json"))
    assert out["id"] == "resp_001" and out["object"] == "response" and out["created_at"] == CREATED
    assert out["status"] == "completed" and out["incomplete_details"] is None
    assert [i["type"] for i in out["output"]] == ["message", "function_call", "function_call"]
    assert out["output"][2] == {"id": "fc_004", "type": "function_call", "status": "completed",
                                "call_id": "toolu_02", "name": "get_weather", "arguments": '{"city":"Rome"}'}
    assert out["usage"]["total_tokens"] == 160 and out["store"] is False
    assert out["tool_choice"] == {"type": "function", "name": "get_weather"}


@pytest.mark.parametrize("finish,status,reason", [
    ("stop", "completed", None), ("tool_calls", "completed", None),
    ("length", "incomplete", "max_output_tokens"), ("content_filter", "incomplete", "content_filter")])
def test_stop_reasons(finish, status, reason):
    out = from_chat_response({"choices": [{"message": {"content": "x"}, "finish_reason": finish}]}, "m")
    assert out["status"] == status
    assert out["incomplete_details"] == (None if reason is None else {"reason": reason})


def test_usage_details_and_refusal_and_defaults():
    out = from_chat_response({"model": "up", "choices": [{"message": {"content": None, "refusal": "I can't."},
                                                          "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                                        "prompt_tokens_details": {"cached_tokens": 4},
                                        "completion_tokens_details": {"reasoning_tokens": 2}}}, "")
    assert out["model"] == "up"
    assert out["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't."}]
    assert out["usage"] == {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 5,
                            "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 15}
    assert out["tools"] == [] and out["parallel_tool_calls"] is True and out["text"] == {"format": {"type": "text"}}


def test_error_body_shapes():
    upstream = UpstreamError(429, "rate limited", code="rate_limit_exceeded")
    assert error_body(upstream)["error"]["code"] == "rate_limit_exceeded"
    assert error_body({"error": {"message": "bad", "type": "invalid_request_error", "code": "x"}}) == \
        {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": "x"}}
    assert error_body("boom")["error"]["message"] == "boom"


# ---------------------------------------------------------------- stream

def test_stream_sequence_and_order():
    events = run_stream([chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop"),
                         usage_chunk(prompt_tokens=3, completion_tokens=1, total_tokens=4)])
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert all(d["type"] == kind for kind, d in events)
    assert [k for k, _ in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed"]
    final = events[-1][1]["response"]
    assert final["status"] == "completed" and final["usage"]["input_tokens"] == 3
    assert final["output"][0]["content"][0]["text"] == "Hi"


def test_stream_text_split_per_character():
    text = "Bonjour, ça va ?"
    events = run_stream([chunk({"content": c}) for c in text] + [chunk({}, "stop")])
    deltas = [d["delta"] for k, d in events if k == "response.output_text.delta"]
    assert deltas == list(text)
    done = next(d for k, d in events if k == "response.output_text.done")
    assert done["text"] == text and done["item_id"] == "msg_002"


def test_stream_tool_call_args_before_name_and_id_generated():
    events = run_stream([chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a"'}}]}),
                         chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ":1}"}}]}),
                         chunk({}, "tool_calls")])
    added = next(d for k, d in events if k == "response.output_item.added")
    assert added["item"]["name"] == "f" and added["item"]["call_id"] == "call_003"
    deltas = [d["delta"] for k, d in events if k == "response.function_call_arguments.delta"]
    assert "".join(deltas) == '{"a":1}'
    done = next(d for k, d in events if k == "response.function_call_arguments.done")
    assert done["arguments"] == '{"a":1}' and done["name"] == "f"
    assert events[-1][1]["response"]["output"][0]["arguments"] == '{"a":1}'


def test_codex_stream_two_calls():
    events = parse_sse((FIXTURES / "codex_tool_turn" / "client_events.sse").read_text())
    final = events[-1][1]["response"]
    assert events[-1][0] == "response.completed"
    assert [(i["type"], i.get("name")) for i in final["output"]] == [
        ("message", None), ("function_call", "update_plan"), ("function_call", "shell")]
    assert final["output"][2]["call_id"] == "call_sh" and final["output"][2]["arguments"] == '{"command":["wc","-l"]}'
    assert final["usage"] == {"input_tokens": 812, "input_tokens_details": {"cached_tokens": 512},
                              "output_tokens": 64, "output_tokens_details": {"reasoning_tokens": 20},
                              "total_tokens": 876}
    items_done = [d["item"]["id"] for k, d in events if k == "response.output_item.done"]
    assert items_done == ["msg_002", "fc_003", "fc_004"]


def test_stream_length_is_incomplete():
    events = run_stream([chunk({"content": "abc"}), chunk({}, "length")])
    kind, data = events[-1]
    assert kind == "response.incomplete"
    assert data["response"]["status"] == "incomplete"
    assert data["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_stream_failed_after_partial_text():
    translator = StreamTranslator("m")
    events = translator.feed(chunk({"content": "part"}))
    events += translator.failed(UpstreamError(502, "upstream hung up", code="bad_response_status_code"))
    kind, data = events[-1]
    assert kind == "response.failed" and data["sequence_number"] == len(events) - 1
    assert data["response"]["status"] == "failed"
    assert data["response"]["error"] == {"code": "bad_response_status_code", "message": "upstream hung up"}
    assert translator.finish() == [] and translator.feed(chunk({"content": "late"})) == []


def test_stream_failed_before_anything():
    events = StreamTranslator("m").failed({"error": {"message": "no channel", "type": "one_api_error"}})
    assert [k for k, _ in events] == ["response.created", "response.in_progress", "response.failed"]
    assert events[-1][1]["response"]["error"] == {"code": "one_api_error", "message": "no channel"}


def test_start_is_idempotent_and_empty_stream_completes():
    translator = StreamTranslator("m")
    assert len(translator.start()) == 2 and translator.start() == []
    events = translator.finish()
    assert [k for k, _ in events] == ["response.completed"]
    assert events[0][1]["response"]["output"] == [] and events[0][1]["sequence_number"] == 2


def test_encode_event_wire_form():
    assert encode_event("response.in_progress", {"type": "response.in_progress", "x": "é"}) == \
        'event: response.in_progress\ndata: {"type":"response.in_progress","x":"é"}\n\n'


def test_module_is_pure():
    source = Path(dialect.__file__).read_text()
    for banned in ("flask", "requests", "socket", "oneapi.services", "oneapi.db", "sqlalchemy"):
        assert f"import {banned}" not in source and f"from {banned}" not in source
