"""The Cohere adaptor against wire fixtures (tests/fixtures/wire/cohere/<case>/: NDJSON streams in
upstream.ndjson), plus the rules no fixture shows. Pure functions only."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneapi.relay.adaptors import cohere, get_adaptor
from oneapi.relay.adaptors.cohere import CohereAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import iter_ndjson
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "cohere"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.ndjson").exists()]
CREATED = 1700000000
ADAPTOR = CohereAdaptor()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(cohere, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "command-r"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    if "mode" in extra:
        extra["mode"] = RelayMode(extra["mode"])
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 35, "channel_name": "cohere",
        "base_url": "https://api.cohere.ai", "key": "co-test-key", "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")), **extra, **overrides,
    }
    return RelayContext(**values)


def run_stream(case: str, size: int) -> tuple[list[dict], StreamState, Exception | None]:
    raw = (CASES_DIR / case / "upstream.ndjson").read_bytes()
    return wire.translate_stream(ADAPTOR, iter_ndjson(odd_chunks(raw, size)), context(case))


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_the_cohere_v1_body(case):
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


def test_history_keeps_every_turn_but_the_last_user_message_in_order():
    body = ADAPTOR.convert_request({"messages": [
        {"role": "user", "content": "one"}, {"role": "assistant", "content": "two"},
        {"role": "user", "content": "three"}, {"role": "assistant", "content": "four"},
        {"role": "user", "content": "five"}, {"role": "tool", "content": "six"}, {"role": "assistant", "content": ""},
    ]}, context())
    assert body["message"] == "five"
    assert body["chat_history"] == [
        {"role": "USER", "message": "one"}, {"role": "CHATBOT", "message": "two"},
        {"role": "USER", "message": "three"}, {"role": "CHATBOT", "message": "four"},
        {"role": "USER", "message": "six"}]


def test_an_empty_model_defaults_to_command_r_and_json_schema_is_sent_as_its_schema():
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "x"}], "response_format": {
        "type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}}}}, context(model=""))
    assert body["model"] == "command-r"
    assert body["response_format"] == {"type": "json_object", "schema": {"type": "object"}}


def test_usage_prefers_tokens_over_billed_units():
    assert cohere.usage_of({"billed_units": {"input_tokens": 3, "output_tokens": 4},
                            "tokens": {"input_tokens": 60.0, "output_tokens": 4.0}}).as_openai() == {
        "prompt_tokens": 60, "completion_tokens": 4, "total_tokens": 64}
    assert cohere.usage_of({"billed_units": {"input_tokens": 3, "output_tokens": 4}}).prompt_tokens == 3
    assert cohere.usage_of({"api_version": {"version": "1"}}) is None


@pytest.mark.parametrize(("reason", "finish"), [("COMPLETE", "stop"), ("STOP_SEQUENCE", "stop"),
                                                ("MAX_TOKENS", "length"), ("ERROR_LIMIT", "length"),
                                                ("ERROR_TOXIC", "content_filter"), ("USER_CANCEL", "stop")])
def test_finish_reasons_map_to_openais(reason, finish):
    answer, _ = ADAPTOR.convert_response({"text": "x", "generation_id": "g", "finish_reason": reason}, context())
    assert answer["choices"][0]["finish_reason"] == finish


# -- errors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "body", "message", "retryable"), [
    (401, b'{"message":"invalid api token"}', "invalid api token", False),
    (404, b'{"message":"model \'command-x\' not found, make sure the correct model ID was used and that you have '
          b'access to the model."}',
     "model 'command-x' not found, make sure the correct model ID was used and that you have access to the model.",
     False),
    (429, b'{"message":"You are using a Trial key, which is limited to 10 API calls / minute."}',
     "You are using a Trial key, which is limited to 10 API calls / minute.", True),
    (400, b'{"message":"invalid request: message must be at least 1 token long or tool results must be specified."}',
     "invalid request: message must be at least 1 token long or tool results must be specified.", False),
])
def test_cohere_errors_keep_their_status_and_message(status, body, message, retryable):
    error = ADAPTOR.convert_error(status, body, context())
    assert (error.status, error.message, error.type, error.param) == (status, message, "upstream_error", str(status))
    assert error.retryable is retryable


def test_an_error_finish_in_a_non_stream_answer_is_raised():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response({"text": "", "generation_id": "g", "finish_reason": "ERROR"}, context())
    assert caught.value.status == 500


# -- URL, headers, registry ------------------------------------------------------------------------

@pytest.mark.parametrize("base_url", ["https://api.cohere.ai", "http://127.0.0.1:9000/cohere"])
def test_url_is_the_base_url_plus_v1_chat(base_url):
    assert ADAPTOR.request_url(context(base_url=base_url)) == f"{base_url}/v1/chat"


def test_headers_carry_the_key_as_bearer():
    assert ADAPTOR.request_headers(context()) == {"Authorization": "Bearer co-test-key",
                                                  "Content-Type": "application/json"}


def test_channel_type_35_serves_chat_only_over_ndjson():
    adaptor = get_adaptor(35)
    assert isinstance(adaptor, CohereAdaptor)
    assert adaptor.stream_format == "ndjson"
    assert adaptor.supports(35, RelayMode.CHAT)
    assert not adaptor.supports(35, RelayMode.EMBEDDINGS)
    assert {"command-r", "command-r-internet", "command-r-plus"} <= set(cohere.SPEC.models)


def test_a_client_asking_for_usage_gets_cohere_tokens_under_the_streams_id():
    raw = (CASES_DIR / "stream_text" / "upstream.ndjson").read_bytes()
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_ndjson(odd_chunks(raw, 5)),
                                         context("stream_text", client_wants_usage=True), state))
    assert chunks[-1] == {"id": "chatcmpl-3c1a9f7e-2b4d-4e8a-9f6c-5d7e8f9a0b1c", "object": "chat.completion.chunk",
                          "created": CREATED, "model": "command-r", "choices": [],
                          "usage": {"prompt_tokens": 71, "completion_tokens": 6, "total_tokens": 77}}
    assert state.usage_forwarded
