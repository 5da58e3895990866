"""The PaLM 2 adaptor against recorded wire fixtures (tests/fixtures/wire/palm/<case>/): PaLM cannot
stream, so a stream case is one JSON answer (`upstream.json`) read whole (`stream_format = "json"`) and
turned into chunks. Pure functions only: no network, no app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import get_adaptor, palm
from oneapi.relay.adaptors.palm import PaLMAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "palm"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.json").exists()]
CREATED = 1700000000
ANSWER_ID = "00000000000000000000000000000abc"
ADAPTOR = PaLMAdaptor()


@pytest.fixture(autouse=True)
def pinned(monkeypatch):
    monkeypatch.setattr(palm, "now", lambda: CREATED)
    monkeypatch.setattr(palm, "random_hex", lambda: ANSWER_ID)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "PaLM-2"}
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 11, "channel_name": "palm",
        "base_url": "https://generativelanguage.googleapis.com", "key": "AIzaSyTestKey", "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")), "prompt_tokens": 17,
        **overrides,
    }
    return RelayContext(**values)


def json_events(chunks: list[bytes]) -> list[SSEEvent]:
    """What the pipeline's `json` stream format hands the adaptor: the whole body as one event."""
    return [SSEEvent("message", b"".join(chunks).decode())]


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_a_generate_message_body(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_translated_and_billed_by_the_local_count(case):
    completion, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    expected = load(case, "expected.json")
    assert completion == expected
    # The prompt as the pipeline counted it (ctx.prompt_tokens), the answer by the same tokenizer.
    assert usage.as_openai() == expected["usage"] and usage.prompt_tokens == 17
    assert usage.source == "counted"


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_a_stream_request_is_answered_from_the_one_json_answer(case, size):
    raw = (CASES_DIR / case / "upstream.json").read_bytes()
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(json_events(odd_chunks(raw, size)), context(case), state))
    expected = wire.expected_chunks(CASES_DIR, case)
    assert chunks == expected
    assert state.usage is None
    assert state.text == json.loads(raw).get("candidates", [{}])[0].get("content", "")
    assert state.finish_reason == chunks[-1]["choices"][0]["finish_reason"]
    assert {(c["id"], c["created"]) for c in chunks} == {(f"chatcmpl-{ANSWER_ID}", CREATED)}


def test_the_adaptor_never_asks_palm_for_a_stream():
    assert ADAPTOR.stream_format == "json"
    assert ADAPTOR.upstream_stream(context(stream=True)) is False
    assert ADAPTOR.upstream_stream(context(stream=False)) is False


@pytest.mark.parametrize(("model", "name"), [
    ("PaLM-2", "chat-bison-001"), ("chat-bison-001", "chat-bison-001"), ("models/chat-bison-002", "chat-bison-002"),
    ("gpt-3.5-turbo", "chat-bison-001"),
])
def test_url_is_the_v1beta2_generate_message_of_chat_bison(model, name):
    url = ADAPTOR.request_url(context(model=model, base_url="http://127.0.0.1:7000/google"))
    assert url == f"http://127.0.0.1:7000/google/v1beta2/models/{name}:generateMessage"


def test_the_key_goes_in_x_goog_api_key():
    assert ADAPTOR.request_headers(context()) == {"x-goog-api-key": "AIzaSyTestKey", "Content-Type": "application/json"}


def test_channel_type_11_is_palm_for_chat_only():
    adaptor = get_adaptor(11)
    assert isinstance(adaptor, PaLMAdaptor)
    assert adaptor.supports(11, RelayMode.CHAT)
    assert not adaptor.supports(11, RelayMode.EMBEDDINGS)


BAD_KEY = (b'{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", '
           b'"status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", '
           b'"reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}')
RETIRED = (b'{"error": {"code": 404, "message": "models/chat-bison-001 is not found for API version v1beta2, or is not '
           b'supported for generateMessage.", "status": "NOT_FOUND"}}')
QUOTA = (b'{"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", '
         b'"status": "RESOURCE_EXHAUSTED"}}')


@pytest.mark.parametrize(("status", "body", "kind", "message"), [
    (400, BAD_KEY, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
    (404, RETIRED, "NOT_FOUND", json.loads(RETIRED)["error"]["message"]),
    (429, QUOTA, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
])
def test_google_errors_keep_status_and_name_the_google_status_as_type(status, body, kind, message):
    error = ADAPTOR.convert_error(status, body, context())
    assert (error.status, error.type, error.code, error.message) == (status, kind, status, message)


def test_an_error_object_in_the_answer_is_raised_in_both_paths():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response(json.loads(QUOTA), context())
    assert caught.value.status == 429
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream([SSEEvent("message", QUOTA.decode())], context(stream=True), StreamState()))
    assert caught.value.status == 429


def test_a_non_json_answer_to_a_stream_is_a_502():
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream([SSEEvent("message", "<html>oops</html>")], context(stream=True), StreamState()))
    assert caught.value.status == 502


def test_tool_results_count_as_the_users_turn_and_empty_values_are_not_sent():
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "a"},
                                                 {"role": "assistant", "content": "b"},
                                                 {"role": "tool", "content": "c"}], "n": 1, "temperature": -1},
                                   context())
    assert body == {"prompt": {"messages": [{"author": "0", "content": "a"}, {"author": "1", "content": "b"},
                                            {"author": "0", "content": "c"}]}, "temperature": 0.0}
