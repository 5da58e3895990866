"""The Gemini adaptor against recorded wire fixtures (tests/fixtures/wire/gemini/<case>/): no network, no app."""

from __future__ import annotations

import itertools
import json
import pathlib

import pytest

from oneapi.relay.adaptors import gemini as gemini_adaptor
from oneapi.relay.adaptors import get_adaptor
from oneapi.relay.adaptors.gemini import GeminiAdaptor, request, response
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent, iter_events
from oneapi.relay.usage import StreamState, Usage

FIXTURES = pathlib.Path(__file__).parents[2] / "fixtures" / "wire" / "gemini"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (FIXTURES / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (FIXTURES / c / "upstream.sse").exists()]
ADAPTOR = GeminiAdaptor()


def load(case: str, name: str):
    return json.loads((FIXTURES / case / name).read_text())


def context(openai_request: dict, **overrides) -> RelayContext:
    values = dict(mode=RelayMode.EMBEDDINGS if "input" in openai_request else RelayMode.CHAT, channel_id=1,
                  channel_type=24, channel_name="gemini", base_url="https://generativelanguage.googleapis.com",
                  key="AIza-test-key", model=openai_request["model"], original_model=openai_request["model"],
                  stream=bool(openai_request.get("stream")), prompt_tokens=4,
                  client_wants_usage=bool((openai_request.get("stream_options") or {}).get("include_usage")))
    values.update(overrides)
    return RelayContext(**values)


@pytest.fixture(autouse=True)
def deterministic(monkeypatch):
    """Fixed clock and ids `000…001`, `000…002` … as written in the expected files."""
    counter = itertools.count(1)
    monkeypatch.setattr(response, "now", lambda: 1700000000)
    monkeypatch.setattr(response, "random_hex", lambda: f"{next(counter):024x}")


def odd_chunks(raw: bytes, sizes: tuple[int, ...]) -> list[bytes]:
    out, position = [], 0
    for size in itertools.cycle(sizes):
        if position >= len(raw):
            return out
        out.append(raw[position:position + size])
        position += size
    return out


def test_the_registry_resolves_channel_type_24_to_gemini():
    adaptor = get_adaptor(24)
    assert isinstance(adaptor, GeminiAdaptor)
    assert adaptor.key == "gemini"
    assert gemini_adaptor.SPEC.modes == {RelayMode.CHAT, RelayMode.EMBEDDINGS}


def test_models_keep_one_apis_list_and_add_current_ones():
    models = list(gemini_adaptor.SPEC.models)
    assert models[:13] == ["gemini-pro", "gemini-1.0-pro", "gemini-1.5-flash", "gemini-1.5-flash-8b",
                           "gemini-1.5-pro", "gemini-1.5-pro-experimental", "text-embedding-004", "aqa",
                           "gemini-2.0-flash", "gemini-2.0-flash-exp", "gemini-2.0-flash-lite-preview-02-05",
                           "gemini-2.0-flash-thinking-exp-01-21", "gemini-2.0-pro-exp-02-05"]
    assert {"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"} <= set(models)
    assert len(models) == len(set(models))


@pytest.mark.parametrize("case", CASES)
def test_request_translation(case):
    """The OpenAI request becomes exactly the body Gemini must receive."""
    openai_request = load(case, "openai_request.json")
    body = ADAPTOR.convert_request(openai_request, context(openai_request))
    assert body == load(case, "upstream_request.json")
    json.dumps(body)  # plain JSON, nothing left over from the translation


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_translation(case):
    openai_request = load(case, "openai_request.json")
    expected = load(case, "expected.json")
    out, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(openai_request))
    assert out == expected
    if "input" in openai_request:
        assert usage is None  # batchEmbedContents reports no tokens: the pipeline counts
    else:
        assert usage == Usage(expected["usage"]["prompt_tokens"], expected["usage"]["completion_tokens"])


@pytest.mark.parametrize("sizes", [(1,), (3, 7, 2), (13, 1, 29), (4096,)], ids=["1", "3-7-2", "13-1-29", "whole"])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_translation(case, sizes):
    """Chunk boundaries anywhere (inside a UTF-8 character, between \\r and \\n) give the same chunks."""
    openai_request = load(case, "openai_request.json")
    raw = (FIXTURES / case / "upstream.sse").read_bytes()
    state = StreamState()
    events = iter_events(odd_chunks(raw, sizes))
    chunks = list(ADAPTOR.convert_stream(events, context(openai_request), state))
    expected = [json.loads(line) for line in (FIXTURES / case / "expected.jsonl").read_text().splitlines()]
    assert chunks == expected
    usage = load(case, "expected_usage.json")
    assert state.usage == Usage(usage["prompt_tokens"], usage["completion_tokens"])
    assert state.text == usage["text"]
    assert state.finish_reason == usage["finish_reason"]
    assert state.usage_forwarded is bool(chunks[-1].get("usage"))


def test_gemini_streams_separate_events_with_crlf():
    raw = (FIXTURES / "stream_text" / "upstream.sse").read_bytes()
    assert raw.startswith(b"data: {") and raw.endswith(b"}\r\n\r\n")
    assert raw.count(b"\r\n\r\n") == 3


def test_a_stream_keeps_one_id_even_without_response_ids():
    events = [SSEEvent("message", json.dumps({"candidates": [{"content": {"parts": [{"text": t}]}}]}))
              for t in ("a", "b", "c")]
    chunks = list(ADAPTOR.convert_stream(events, context({"model": "gemini-2.0-flash", "stream": True}),
                                         StreamState()))
    assert {c["id"] for c in chunks} == {f"chatcmpl-{1:024x}"}
    assert [c["choices"][0]["delta"].get("role") for c in chunks] == ["assistant", None, None]


def test_an_error_event_inside_a_stream_raises_the_upstream_error():
    events = [SSEEvent("message", '{"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]}'),
              SSEEvent("message", '{"error": {"code": 503, "message": "The model is overloaded.", '
                                  '"status": "UNAVAILABLE"}}')]
    state = StreamState()
    stream = ADAPTOR.convert_stream(events, context({"model": "gemini-2.0-flash", "stream": True}), state)
    assert next(stream)["choices"][0]["delta"]["content"] == "Hi"
    with pytest.raises(UpstreamError) as caught:
        next(stream)
    assert (caught.value.status, caught.value.type, caught.value.message) == (503, "UNAVAILABLE",
                                                                              "The model is overloaded.")
    assert caught.value.retryable
    assert state.text == "Hi"


@pytest.mark.parametrize(("reason", "expected"), [
    ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
    ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"),
    ("OTHER", "stop"), ("MALFORMED_FUNCTION_CALL", "stop"),
])
def test_finish_reasons_map_to_openais(reason, expected):
    body = {"candidates": [{"finishReason": reason, "index": 0}]}
    out, usage = ADAPTOR.convert_response(body, context({"model": "gemini-2.5-flash"}))
    assert out["choices"] == [{"index": 0, "message": {"role": "assistant", "content": ""},
                               "finish_reason": expected}]
    assert usage is None and "usage" not in out  # no usageMetadata: the pipeline counts


ERRORS = [
    (400, {"error": {"code": 400, "message": "* GenerateContentRequest.contents: contents is not specified\n",
                     "status": "INVALID_ARGUMENT"}}, "INVALID_ARGUMENT", 400, False),
    (403, {"error": {"code": 403, "message": "API key not valid. Please pass a valid API key.",
                     "status": "PERMISSION_DENIED",
                     "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                                  "domain": "googleapis.com"}]}}, "PERMISSION_DENIED", 403, False),
    (429, [{"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                      "status": "RESOURCE_EXHAUSTED"}}], "RESOURCE_EXHAUSTED", 429, True),
    (503, {"error": {"code": 503, "message": "The model is overloaded. Please try again later.",
                     "status": "UNAVAILABLE"}}, "UNAVAILABLE", 503, True),
]


@pytest.mark.parametrize(("status", "body", "type_", "code", "retryable"), ERRORS,
                         ids=["400-invalid-argument", "403-bad-key", "429-array", "503-unavailable"])
def test_google_error_bodies_keep_status_as_type_and_code(status, body, type_, code, retryable):
    error = ADAPTOR.convert_error(status, json.dumps(body).encode(), context({"model": "gemini-2.5-flash"}))
    message = (body[0] if isinstance(body, list) else body)["error"]["message"]
    assert (error.status, error.message, error.type, error.code) == (status, message, type_, code)
    assert error.retryable is retryable
    assert error.body()["error"]["type"] == type_


def test_an_html_error_page_falls_back_to_one_apis_reading():
    page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>Bad gateway</body></html>"
    error = ADAPTOR.convert_error(502, page, context({"model": "gemini-2.5-flash"}))
    assert (error.status, error.message, error.type) == (502, "bad response status code 502", "upstream_error")
    assert error.retryable


def test_a_non_google_json_error_falls_back_to_one_apis_reading():
    error = ADAPTOR.convert_error(500, b'{"message": "proxy exploded"}', context({"model": "gemini-2.5-flash"}))
    assert (error.status, error.message) == (500, "proxy exploded")


@pytest.mark.parametrize(("overrides", "url"), [
    ({}, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"),
    ({"stream": True},
     "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
    ({"base_url": "https://gemini-mirror.example.com/proxy/", "config": {"api_version": "v1"}},
     "https://gemini-mirror.example.com/proxy/v1/models/gemini-2.5-flash:generateContent"),
    ({"base_url": ""}, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"),
    ({"config": {"gemini_version": "v1"}},
     "https://generativelanguage.googleapis.com/v1/models/gemini-2.5-flash:generateContent"),
    ({"mode": RelayMode.EMBEDDINGS, "model": "models/text-embedding-004"},
     "https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:batchEmbedContents"),
], ids=["chat", "stream", "mirror-and-version", "default-base", "gemini-version-when-set", "embeddings"])
def test_request_url(overrides, url):
    assert ADAPTOR.request_url(context({"model": "gemini-2.5-flash"}, **overrides)) == url


def test_the_key_goes_in_x_goog_api_key_not_authorization():
    headers = ADAPTOR.request_headers(context({"model": "gemini-2.5-flash"}))
    assert headers == {"x-goog-api-key": "AIza-test-key", "Content-Type": "application/json"}


def test_the_safety_threshold_comes_from_config():
    openai_request = load("simple_chat", "openai_request.json")
    ctx = context(openai_request, config={"gemini_safety_setting": "BLOCK_ONLY_HIGH"})
    settings = ADAPTOR.convert_request(openai_request, ctx)["safetySettings"]
    assert [s["category"] for s in settings] == list(request.SAFETY_CATEGORIES)
    assert {s["threshold"] for s in settings} == {"BLOCK_ONLY_HIGH"}


def test_json_object_asks_for_json_and_text_asks_for_nothing():
    def config(response_format):
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": response_format}
        return ADAPTOR.convert_request(body, context(body)).get("generationConfig")
    assert config({"type": "json_object"}) == {"responseMimeType": "application/json"}
    assert config({"type": "text"}) is None


def test_schema_cleaning_reaches_every_nesting_level():
    schema = {"type": "object", "additionalProperties": False, "properties": {
        "items": {"type": "array", "items": {"anyOf": [
            {"type": "object", "additionalProperties": True, "properties": {"x": {"type": "integer", "$comment": "c"}}},
            {"type": "null"}]}},
        "link": {"type": "string", "format": "uri", "examples": ["https://a"]}}}
    assert request.clean_schema(schema) == {"type": "object", "properties": {
        "items": {"type": "array", "items": {"anyOf": [
            {"type": "object", "properties": {"x": {"type": "integer"}}}, {"type": "null"}]}},
        "link": {"type": "string"}}}


def test_legacy_functions_and_function_call_translate_like_tools():
    body = {"model": "gemini-2.0-flash", "messages": [
        {"role": "user", "content": "Add 2 and 3."},
        {"role": "assistant", "content": None, "function_call": {"name": "add", "arguments": "{\"a\": 2, \"b\": 3}"}},
        {"role": "function", "name": "add", "content": "5"},
    ], "functions": [{"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "number"}}}}],
        "function_call": {"name": "add"}}
    out = ADAPTOR.convert_request(body, context(body))
    assert out["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "add", "args": {"a": 2, "b": 3}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "add", "response": {"output": 5}}}]},
    ]
    assert out["tools"] == [{"functionDeclarations": [
        {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "number"}}}}]}]
    assert out["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["add"]}}


def test_a_thought_signature_from_the_client_goes_back_to_gemini():
    body = {"model": "gemini-3-pro-preview", "messages": [
        {"role": "user", "content": "Time?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                              "function": {"name": "get_time", "arguments": "{}"},
                                              "extra_content": {"google": {"thought_signature": "Sig=="}}}]},
    ]}
    parts = ADAPTOR.convert_request(body, context(body))["contents"][1]["parts"]
    assert parts == [{"functionCall": {"name": "get_time", "args": {}}, "thoughtSignature": "Sig=="}]


def test_empty_messages_are_dropped_and_developer_messages_are_system():
    body = {"model": "gemini-2.5-flash", "messages": [
        {"role": "developer", "content": "Be brief."}, {"role": "user", "content": ""},
        {"role": "user", "content": "Hi"}]}
    out = ADAPTOR.convert_request(body, context(body))
    assert out["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert out["contents"] == [{"role": "user", "parts": [{"text": "Hi"}]}]


@pytest.mark.parametrize("value", [[1, 2, 3], [], None, ["ok", 5]])
def test_embeddings_refuse_inputs_that_are_not_text(value):
    body = {"model": "text-embedding-004", "input": value}
    with pytest.raises(LocalError) as caught:
        ADAPTOR.convert_request(body, context(body))
    assert caught.value.status == 400
