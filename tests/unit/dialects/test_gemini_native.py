"""Gemini native dialect: recorded fixtures and the edge cases around them."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from oneapi.relay.dialects import gemini_native as g

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dialects" / "gemini_native"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
MODEL = "gemini-2.5-flash"


@pytest.fixture(autouse=True)
def ids(monkeypatch):
    counter = itertools.count(1)
    monkeypatch.setattr(g, "random_hex", lambda: f"gen{next(counter):03d}")


def load(case: str, name: str):
    return json.loads((FIXTURES / case / name).read_text())


def chunks_of(case: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / case / "openai_chunks.jsonl").read_text().splitlines() if line]


def parse_sse(text: str) -> list[dict]:
    assert text.endswith("\r\n\r\n")
    events = text.split("\r\n\r\n")[:-1]
    assert all(e.startswith("data: ") for e in events)
    return [json.loads(e[len("data: "):]) for e in events]


def test_fixture_cases_present():
    assert CASES == ["image_text_stream", "system_multiturn", "tool_call_stream", "tool_roundtrip"]


@pytest.mark.parametrize("case", CASES)
def test_request_fixture(case):
    stream = (FIXTURES / case / "openai_chunks.jsonl").exists()
    assert g.to_chat_request(load(case, "client_request.json"), MODEL, stream) == load(case, "openai_request.json")


@pytest.mark.parametrize("case", [c for c in CASES if (FIXTURES / c / "openai_response.json").exists()])
def test_response_fixture(case):
    assert g.from_chat_response(load(case, "openai_response.json"), MODEL) == load(case, "client_response.json")


@pytest.mark.parametrize("case", [c for c in CASES if (FIXTURES / c / "openai_chunks.jsonl").exists()])
def test_stream_fixture(case):
    expected = (FIXTURES / case / "client_events.sse").read_bytes().decode()
    events = g.translate_stream(chunks_of(case), MODEL)
    assert "".join(g.sse(e) for e in events) == expected
    assert parse_sse(expected) == events


# --- requests --------------------------------------------------------------------------------------


def test_system_prompt_multiturn_and_config_values():
    out = g.to_chat_request(load("system_multiturn", "client_request.json"), MODEL, False)
    assert out["messages"][0] == {"role": "system", "content": "You are a terse assistant.\nAnswer in JSON."}
    assert [m["role"] for m in out["messages"]] == ["system", "user", "assistant", "user"]
    assert out["messages"][2]["content"] == '{"prime": 7}'  # the thought part is dropped
    assert (out["temperature"], out["top_p"], out["top_k"], out["max_tokens"]) == (0.2, 0.9, 40, 256)
    assert out["stop"] == ["END"] and "n" not in out and "stream" not in out
    assert out["response_format"] == {"type": "json_object"}
    assert "safetySettings" not in out and "safety_settings" not in out


def test_tool_calls_get_ids_and_responses_match_by_name_in_order():
    out = g.to_chat_request(load("tool_roundtrip", "client_request.json"), MODEL, False)
    assistant, first, second = out["messages"][1:4]
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_gen001", "call_gen002"]
    assert assistant["tool_calls"][0]["extra_content"] == {"google": {"thought_signature": "c2lnLTE="}}
    assert json.loads(assistant["tool_calls"][1]["function"]["arguments"]) == {"city": "Rome"}
    assert (first["tool_call_id"], json.loads(first["content"])) == ("call_gen001", {"temp_c": 18})
    assert (second["tool_call_id"], json.loads(second["content"])) == ("call_gen002", {"temp_c": 24})
    assert out["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    units = out["tools"][0]["function"]["parameters"]["properties"]["units"]
    assert units == {"type": ["string", "null"], "enum": ["C", "F"]}


def test_function_call_ids_from_client_are_kept_and_matched():
    body = {"contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [{"functionCall": {"id": "a1", "name": "f", "args": {"x": 1}}},
                                    {"functionCall": {"id": "b2", "name": "f", "args": {"x": 2}}}]},
        {"role": "function", "parts": [{"functionResponse": {"id": "b2", "name": "f", "response": {"r": 2}}},
                                       {"functionResponse": {"id": "a1", "name": "f", "response": {"r": 1}}}]},
    ]}
    out = g.to_chat_request(body, MODEL, False)
    assert [c["id"] for c in out["messages"][1]["tool_calls"]] == ["a1", "b2"]
    assert [(m["tool_call_id"], m["content"]) for m in out["messages"][2:]] == [("b2", '{"r":2}'), ("a1", '{"r":1}')]


def test_tool_results_then_text_in_one_user_turn():
    body = {"contents": [
        {"role": "model", "parts": [{"text": "Let me look."}, {"functionCall": {"name": "f"}}]},
        {"role": "user", "parts": [{"text": "here:"}, {"functionResponse": {"name": "f", "response": {"ok": True}}}]},
    ]}
    messages = g.to_chat_request(body, MODEL, False)["messages"]
    assert messages[0]["content"] == "Let me look."
    assert messages[0]["tool_calls"][0]["function"] == {"name": "f", "arguments": "{}"}
    assert messages[1] == {"role": "tool", "tool_call_id": "call_gen001", "content": '{"ok":true}'}
    assert messages[2] == {"role": "user", "content": "here:"}


def test_unmatched_function_response_is_invalid_argument():
    body = {"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]}
    with pytest.raises(g.DialectError) as caught:
        g.to_chat_request(body, MODEL, False)
    assert (caught.value.status, caught.value.status_text) == (400, "INVALID_ARGUMENT")
    assert caught.value.body()["error"]["code"] == 400 and "'f'" in caught.value.body()["error"]["message"]


def test_images_audio_snake_case_and_stream_flags():
    out = g.to_chat_request(load("image_text_stream", "client_request.json"), MODEL, True)
    content = out["messages"][1]["content"]
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert content[2] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    assert out["max_tokens"] == 64
    audio = g.to_chat_request({"contents": [{"role": "user", "parts": [
        {"inlineData": {"mimeType": "audio/mpeg", "data": "AAAA"}}]}]}, MODEL, False)
    assert audio["messages"][0]["content"] == [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "mp3"}}]


def test_response_schema_candidates_and_string_system_instruction():
    body = {"systemInstruction": "Be brief.", "contents": [{"parts": [{"text": "hi"}]}],
            "generationConfig": {"candidateCount": 2, "responseMimeType": "application/json",
                                 "responseSchema": {"type": "ARRAY", "items": {"type": "INTEGER"}}}}
    out = g.to_chat_request(body, MODEL, False)
    assert out["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert out["n"] == 2
    assert out["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "response", "schema": {"type": "array", "items": {"type": "integer"}}}}


@pytest.mark.parametrize(("config", "choice", "names"), [
    ({"mode": "NONE"}, "none", ["a", "b", "c"]),
    ({"mode": "ANY"}, "required", ["a", "b", "c"]),
    ({"mode": "ANY", "allowedFunctionNames": ["a", "c"]}, "required", ["a", "c"]),
    ({"mode": "AUTO"}, "auto", ["a", "b", "c"]),
])
def test_function_calling_modes(config, choice, names):
    body = {"contents": [{"parts": [{"text": "x"}]}],
            "tools": [{"functionDeclarations": [{"name": n} for n in "abc"]}],
            "toolConfig": {"functionCallingConfig": config}}
    out = g.to_chat_request(body, MODEL, False)
    assert out["tool_choice"] == choice
    assert [t["function"]["name"] for t in out["tools"]] == names
    assert out["tools"][0]["function"]["parameters"] == {"type": "object", "properties": {}}


@pytest.mark.parametrize(("body", "fragment"), [
    ({}, "contents is not specified"),
    ({"contents": []}, "contents is not specified"),
    ({"contents": [{"role": "user", "parts": []}]}, "parts must not be empty"),
    ({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, "role must be"),
    ({"contents": [{"parts": [{"text": "x"}]}], "tools": [{"googleSearch": {}}]}, "googleSearch"),
    ({"contents": [{"parts": [{"text": "x"}]}], "cachedContent": "cachedContents/1"}, "cachedContent"),
    ({"contents": [{"parts": [{"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}}]}]}, "application/pdf"),
    ({"contents": [{"parts": [{"executableCode": {"code": "1"}}]}]}, "executableCode"),
])
def test_invalid_requests(body, fragment):
    with pytest.raises(g.DialectError) as caught:
        g.to_chat_request(body, MODEL, False)
    assert caught.value.status == 400
    assert fragment in caught.value.message
    assert caught.value.body() == {
        "error": {"code": 400, "message": caught.value.message, "status": "INVALID_ARGUMENT"}}


# --- answers ---------------------------------------------------------------------------------------


def test_response_usage_thoughts_and_cache():
    out = g.from_chat_response(load("system_multiturn", "openai_response.json"), MODEL)
    assert out["candidates"][0]["content"]["parts"] == [{"text": "Bigger than 7.", "thought": True},
                                                        {"text": '{"prime": 11}'}]
    assert out["usageMetadata"] == {"promptTokenCount": 40, "candidatesTokenCount": 7, "totalTokenCount": 65,
                                    "cachedContentTokenCount": 32, "thoughtsTokenCount": 18}
    assert out["modelVersion"] == MODEL


def test_response_tool_calls():
    out = g.from_chat_response(load("tool_roundtrip", "openai_response.json"), MODEL)
    candidate = out["candidates"][0]
    assert candidate["finishReason"] == "STOP"
    assert [p["functionCall"] for p in candidate["content"]["parts"]] == [
        {"name": "get_time", "args": {"city": "Paris"}}, {"name": "get_time", "args": {"city": "Rome"}}]
    assert candidate["content"]["parts"][0]["thoughtSignature"] == "c2lnLTI="


@pytest.mark.parametrize(("reason", "expected"), [
    ("stop", "STOP"), ("length", "MAX_TOKENS"), ("content_filter", "SAFETY"), ("tool_calls", "STOP"),
    ("weird", "OTHER"), (None, "STOP")])
def test_finish_reasons(reason, expected):
    completion = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "t"},
                                          "finish_reason": reason}]}
    assert g.from_chat_response(completion, MODEL)["candidates"][0]["finishReason"] == expected


def test_response_several_choices_and_bad_arguments():
    completion = {"choices": [
        {"index": 0, "message": {"content": "one"}, "finish_reason": "stop"},
        {"index": 1, "message": {"content": None, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "not json"}}]},
         "finish_reason": "tool_calls"}]}
    out = g.from_chat_response(completion, MODEL)
    assert [c["index"] for c in out["candidates"]] == [0, 1]
    assert out["candidates"][1]["content"]["parts"] == [
        {"functionCall": {"name": "f", "args": {"arguments": "not json"}}}]
    assert "usageMetadata" not in out and "responseId" not in out


# --- streams ---------------------------------------------------------------------------------------


def test_stream_text_split_over_chunks():
    events = g.translate_stream(chunks_of("image_text_stream"), MODEL)
    texts = ["".join(p["text"] for p in e["candidates"][0]["content"]["parts"]) for e in events]
    assert "".join(texts) == "A red pixel and a cat."
    assert len(events) == 4
    assert all("finishReason" not in e["candidates"][0] and "usageMetadata" not in e for e in events[:-1])
    assert events[-1]["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert events[-1]["usageMetadata"] == {"promptTokenCount": 300, "candidatesTokenCount": 64, "totalTokenCount": 364}


def test_stream_tool_calls_emitted_whole():
    translator = g.StreamTranslator(MODEL)
    chunks = chunks_of("tool_call_stream")
    per_chunk = [translator.feed(c) for c in chunks]
    # nothing while the first call's arguments stream; it comes out when the second call starts
    assert per_chunk[1] == per_chunk[2] == per_chunk[3] == []
    assert per_chunk[4][0]["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]
    assert per_chunk[6] == []  # the finish reason waits for the usage chunk
    last = per_chunk[7][0]
    assert last["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Bergen"}}}]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"]["totalTokenCount"] == 70 and "cachedContentTokenCount" not in last["usageMetadata"]
    assert translator.finish() == []


def test_stream_without_usage_chunk_finishes_on_finish():
    translator = g.StreamTranslator(MODEL)
    assert translator.feed({"id": "c1", "choices": [{"index": 0, "delta": {"reasoning_content": "hmm"}}]}) == [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "hmm", "thought": True}]}, "index": 0}],
         "modelVersion": MODEL, "responseId": "c1"}]
    finish = {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "content_filter"}]}
    assert translator.feed(finish) == []
    (last,) = translator.finish()
    assert last["candidates"] == [{"content": {"role": "model", "parts": [{"text": ""}]}, "index": 0,
                                   "finishReason": "SAFETY"}]
    assert "usageMetadata" not in last


def test_stream_usage_before_finish_and_model_prefix():
    translator = g.StreamTranslator(MODEL)
    assert translator.feed({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}) == []
    (last,) = translator.finish()
    assert last["usageMetadata"] == {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}
    assert last["candidates"][0]["finishReason"] == "STOP" and "responseId" not in last
    body = {"contents": [{"parts": [{"text": "x"}]}]}
    assert g.to_chat_request(body, "models/gemini-2.5-pro", False)["model"] == "gemini-2.5-pro"


def test_stream_error_becomes_google_error_event():
    translator = g.StreamTranslator(MODEL)
    (event,) = translator.feed({"error": {"message": "quota exceeded", "code": 429}})
    assert event == {"error": {"code": 429, "message": "quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
    assert translator.feed({"choices": [{"index": 0, "delta": {"content": "late"}}]}) == []
    assert translator.finish() == []


def test_sse_wire_form():
    assert g.sse({"a": "é"}) == 'data: {"a": "é"}\r\n\r\n'


# --- errors and models -----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "text"), [
    (400, "INVALID_ARGUMENT"), (401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED"), (404, "NOT_FOUND"),
    (429, "RESOURCE_EXHAUSTED"), (500, "INTERNAL"), (503, "UNAVAILABLE"), (502, "INTERNAL"), (422, "INVALID_ARGUMENT")])
def test_error_body(status, text):
    assert g.error_body(status, "boom") == {"error": {"code": status, "message": "boom", "status": text}}


def test_error_from_openai():
    body = {"error": {"message": "Invalid API key", "type": "invalid_request_error", "code": "invalid_api_key"}}
    assert g.error_from_openai(401, body) == {"error": {"code": 401, "message": "Invalid API key",
                                                        "status": "UNAUTHENTICATED"}}
    assert g.error_from_openai(503, b"<html>") == {"error": {"code": 503, "message": "upstream error (HTTP 503)",
                                                             "status": "UNAVAILABLE"}}


def test_models_list():
    out = g.models_list(["gemini-2.5-flash", "models/gemini-2.5-pro", "gemini-2.5-flash", "gpt-4o"])
    assert [m["name"] for m in out["models"]] == ["models/gemini-2.5-flash", "models/gemini-2.5-pro", "models/gpt-4o"]
    assert out["models"][1] == {"name": "models/gemini-2.5-pro", "displayName": "gemini-2.5-pro",
                                "supportedGenerationMethods": ["generateContent", "streamGenerateContent"]}
    assert g.models_list([]) == {"models": []}


def test_round_trip_through_gemini_adaptor_keeps_the_conversation():
    from oneapi.relay.adaptors.gemini.request import chat_request

    client = load("tool_roundtrip", "client_request.json")
    upstream = chat_request(g.to_chat_request(client, MODEL, False), MODEL, "BLOCK_NONE")
    assert upstream["contents"] == client["contents"]
    assert upstream["toolConfig"] == client["toolConfig"]
    assert [d["name"] for d in upstream["tools"][0]["functionDeclarations"]] == ["get_weather", "get_time"]
