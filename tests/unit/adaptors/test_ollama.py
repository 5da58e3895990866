"""The Ollama adaptor against wire fixtures (tests/fixtures/wire/ollama/<case>/: NDJSON streams in
upstream.ndjson), plus the rules no fixture shows. Pure functions only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import get_adaptor, ollama
from oneapi.relay.adaptors.ollama import OllamaAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import iter_ndjson
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "ollama"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.ndjson").exists()]
CREATED = 1700000000
HEX = "0123456789abcdef01234567"
ADAPTOR = OllamaAdaptor()


@pytest.fixture(autouse=True)
def fixed_ids(monkeypatch):
    monkeypatch.setattr(ollama, "now", lambda: CREATED)
    monkeypatch.setattr(ollama, "random_hex", lambda: HEX)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "llama3:latest"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    if "mode" in extra:
        extra["mode"] = RelayMode(extra["mode"])
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 30, "channel_name": "ollama",
        "base_url": "http://localhost:11434", "key": "ollama-key", "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")), **extra, **overrides,
    }
    return RelayContext(**values)


def run_stream(case: str, size: int) -> tuple[list[dict], StreamState, Exception | None]:
    raw = (CASES_DIR / case / "upstream.ndjson").read_bytes()
    return wire.translate_stream(ADAPTOR, iter_ndjson(odd_chunks(raw, size)), context(case))


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_the_ollama_body(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_translated_to_the_openai_answer(case):
    answer, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    wire.assert_answer(answer, usage, load(case, "expected.json"))


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_is_translated_to_chunks_whatever_the_chunk_boundaries(case, size):
    chunks, state, error = run_stream(case, size)
    expected = wire.expected_chunks(CASES_DIR, case)
    assert chunks == expected
    usage = load(case, "expected_usage.json")
    if usage is None:
        assert state.usage is None
    else:
        assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (usage["prompt_tokens"],
                                                                              usage["completion_tokens"])
    wire.assert_one_stream(chunks, state, error)
    wire.assert_error(CASES_DIR, case, error)


def test_a_streamed_tool_call_gets_an_id_and_the_tool_calls_finish():
    lines = [
        {"model": "llama3.2", "message": {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_current_weather", "arguments": {"location": "Paris"}}}]}, "done": False},
        {"model": "llama3.2", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
         "prompt_eval_count": 100, "eval_count": 20},
    ]
    raw = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_ndjson(odd_chunks(raw, 3)), context(stream=True), state))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "tool_calls": [
        {"index": 0, "id": f"call_{HEX}", "type": "function",
         "function": {"name": "get_current_weather", "arguments": "{\"location\":\"Paris\"}"}}]}
    assert chunks[1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "tool_calls"}
    assert state.finish_reason == "tool_calls"


def test_thinking_becomes_reasoning_content():
    answer, _ = ADAPTOR.convert_response({"model": "qwen3", "message": {
        "role": "assistant", "content": "42", "thinking": "6 times 7"}, "done": True, "done_reason": "stop",
        "prompt_eval_count": 5, "eval_count": 9}, context())
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "42", "reasoning_content": "6 times 7"}


# -- errors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "body", "message", "retryable"), [
    (404, b'{"error":"model \\"llama3\\" not found, try pulling it first"}',
     'model "llama3" not found, try pulling it first', False),
    (400, b'{"error":"json: cannot unmarshal string into Go struct field ChatRequest.messages"}',
     "json: cannot unmarshal string into Go struct field ChatRequest.messages", False),
    (500, b'{"error":"llama runner process has terminated: signal: killed"}',
     "llama runner process has terminated: signal: killed", True),
])
def test_ollama_errors_keep_their_status_with_type_ollama_error(status, body, message, retryable):
    error = ADAPTOR.convert_error(status, body, context())
    assert (error.status, error.type, error.code, error.message) == (status, "ollama_error", "ollama_error", message)
    assert error.retryable is retryable


def test_a_plain_text_error_keeps_its_text():
    error = ADAPTOR.convert_error(502, b"upstream connect error", context())
    assert (error.status, error.message) == (502, "upstream connect error")


def test_an_error_body_answered_with_200_is_raised():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response({"error": "unexpected server status"}, context())
    assert (caught.value.status, caught.value.type) == (500, "ollama_error")


def test_an_http_image_url_is_refused_since_the_adaptor_does_no_io():
    body = {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}
    with pytest.raises(LocalError) as caught:
        ADAPTOR.convert_request(body, context(model="llava:7b"))
    assert caught.value.status == 400


# -- URL, headers, registry ------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "path"), [(RelayMode.CHAT, "/api/chat"), (RelayMode.EMBEDDINGS, "/api/embed")])
@pytest.mark.parametrize("base_url", ["http://localhost:11434", "http://127.0.0.1:9000/ollama"])
def test_urls_are_built_from_the_base_url(base_url, mode, path):
    assert ADAPTOR.request_url(context(base_url=base_url, mode=mode)) == f"{base_url}{path}"


def test_the_bearer_header_is_sent_only_with_a_key():
    assert ADAPTOR.request_headers(context()) == {"Content-Type": "application/json",
                                                  "Authorization": "Bearer ollama-key"}
    assert ADAPTOR.request_headers(context(key="")) == {"Content-Type": "application/json"}


def test_the_stream_flag_is_always_explicit_since_ollama_streams_by_default():
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}]}, context(stream=False))
    assert body["stream"] is False
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}], "response_format":
                                    {"type": "json_object"}}, context(stream=True))
    assert body["stream"] is True and body["format"] == "json"


def test_embeddings_without_prompt_eval_count_leave_the_count_to_the_pipeline():
    answer, usage = ADAPTOR.convert_response({"model": "all-minilm", "embeddings": [[0.1, 0.2]]},
                                             context(mode=RelayMode.EMBEDDINGS, model="all-minilm"))
    assert usage is None
    assert answer["data"] == [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}]


def test_channel_type_30_serves_chat_and_embeddings_over_ndjson():
    adaptor = get_adaptor(30)
    assert isinstance(adaptor, OllamaAdaptor)
    assert adaptor.stream_format == "ndjson"
    assert adaptor.supports(30, RelayMode.CHAT) and adaptor.supports(30, RelayMode.EMBEDDINGS)
    assert not adaptor.supports(30, RelayMode.IMAGES)
    assert "llama3:latest" in ollama.SPEC.models


def test_a_client_asking_for_usage_gets_ollamas_counts_under_the_streams_id():
    raw = (CASES_DIR / "stream_text" / "upstream.ndjson").read_bytes()
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_ndjson(odd_chunks(raw, 5)),
                                         context("stream_text", client_wants_usage=True), state))
    assert chunks[-1] == {"id": f"chatcmpl-{HEX}", "object": "chat.completion.chunk", "created": CREATED,
                          "model": "qwen:7b", "choices": [],
                          "usage": {"prompt_tokens": 14, "completion_tokens": 5, "total_tokens": 19}}
    assert state.usage_forwarded


def test_no_usage_chunk_when_the_stream_broke_before_reporting_usage():
    raw = (CASES_DIR / "stream_error" / "upstream.ndjson").read_bytes()
    state = StreamState()
    with pytest.raises(UpstreamError):
        list(ADAPTOR.convert_stream(iter_ndjson([raw]), context("stream_error", client_wants_usage=True), state))
    assert not state.usage_forwarded
