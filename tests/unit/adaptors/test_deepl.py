"""The DeepL adaptor against recorded wire fixtures (tests/fixtures/wire/deepl/<case>/): a chat request
becomes a /v2/translate call, the translation becomes the answer and the source text's UTF-8 byte length
the prompt tokens (One API's billing). Pure functions only: no network, no app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import deepl, get_adaptor
from oneapi.relay.adaptors.deepl import DeepLAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "deepl"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.json").exists()]
CREATED = 1700000000
ANSWER_ID = "0000000000000000000000000000def0"
ADAPTOR = DeepLAdaptor()


@pytest.fixture(autouse=True)
def pinned(monkeypatch):
    monkeypatch.setattr(deepl, "now", lambda: CREATED)
    monkeypatch.setattr(deepl, "random_hex", lambda: ANSWER_ID)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "deepl-zh"}
    values = {
        "request_body": request if case else {},
        "mode": RelayMode.CHAT, "channel_id": 3, "channel_type": 38, "channel_name": "deepl",
        "base_url": "https://api-free.deepl.com", "key": "279a2e9d-83b3-c416-7e2d-f721593e42a0:fx",
        "model": request["model"], "original_model": request["model"], "stream": bool(request.get("stream")),
        "request_id": f"req-{case or 'none'}", **overrides,
    }
    return RelayContext(**values)


@pytest.mark.parametrize("case", CASES)
def test_request_is_the_last_message_to_the_models_target_language(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_a_chat_completion_billed_by_the_source_texts_bytes(case):
    ctx = context(case)
    completion, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), ctx)
    expected = load(case, "expected.json")
    assert completion == expected
    assert (usage.prompt_tokens, usage.completion_tokens) == (expected["usage"]["prompt_tokens"], 0)
    assert usage.source == "upstream"


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_a_stream_request_is_one_chunk_from_the_json_answer(case, size):
    ctx = context(case)
    raw = (CASES_DIR / case / "upstream.json").read_bytes()
    state = StreamState()
    events = [SSEEvent("message", b"".join(odd_chunks(raw, size)).decode())]  # the pipeline's `json` format
    chunks = list(ADAPTOR.convert_stream(events, ctx, state))
    expected = wire.expected_chunks(CASES_DIR, case)
    assert chunks == expected
    usage = load(case, "expected_usage.json")
    assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (usage["prompt_tokens"],
                                                                          usage["completion_tokens"])
    assert state.text == json.loads(raw)["translations"][0]["text"]
    assert state.finish_reason == "stop"


def test_without_the_request_deepls_billed_characters_stand_in():
    # A channel test's context carries no client body.
    body = load("stream_japanese", "upstream.json")
    _, usage = ADAPTOR.convert_response(body, context())
    assert (usage.prompt_tokens, usage.completion_tokens) == (25, 0)
    _, usage = ADAPTOR.convert_response({"translations": [{"text": "x"}]}, context())
    assert usage is None


def test_the_prompt_is_the_source_texts_utf8_bytes():
    answer = {"translations": [{"text": "t", "billed_characters": 99}]}
    for text, size in (("abc", 3), ("汉字", 6)):
        ctx = context(request_body={"messages": [{"role": "user", "content": text}]})
        assert ADAPTOR.convert_response(answer, ctx)[1].prompt_tokens == size


@pytest.mark.parametrize(("model", "target"), [
    ("deepl-zh", "ZH"), ("deepl-ja", "JA"), ("deepl-en", "EN-US"), ("deepl-en-gb", "EN-GB"), ("deepl-pt", "PT-PT"),
    ("deepl-pt-br", "PT-BR"), ("deepl-zh-hant", "ZH-HANT"), ("DeepL-DE", "DE"), ("fr", "FR"),
])
def test_the_target_language_comes_from_the_model_name(model, target):
    assert deepl.target_language(model) == target


def test_url_and_auth_header():
    ctx = context(base_url="http://127.0.0.1:5050/deepl")
    assert ADAPTOR.request_url(ctx) == "http://127.0.0.1:5050/deepl/v2/translate"
    assert ADAPTOR.request_headers(ctx) == {"Authorization": "DeepL-Auth-Key 279a2e9d-83b3-c416-7e2d-f721593e42a0:fx",
                                            "Content-Type": "application/json"}


def test_deepl_never_streams_upstream():
    assert ADAPTOR.stream_format == "json"
    assert ADAPTOR.upstream_stream(context(stream=True)) is False


def test_channel_type_38_is_deepl_for_chat_only():
    adaptor = get_adaptor(38)
    assert isinstance(adaptor, DeepLAdaptor)
    assert adaptor.supports(38, RelayMode.CHAT) and not adaptor.supports(38, RelayMode.EMBEDDINGS)


@pytest.mark.parametrize(("status", "body", "message"), [
    (456, b'{"message":"Quota Exceeded"}', "Quota Exceeded"),
    (403, b'{"message":"Wrong endpoint. Use https://api.deepl.com"}', "Wrong endpoint. Use https://api.deepl.com"),
    (400, b'{"message":"Value for \'target_lang\' not supported."}', "Value for 'target_lang' not supported."),
    (400, b'{"message":"Bad request","detail":"Parameter \'text\' not specified."}',
     "Bad request: Parameter 'text' not specified."),
    (403, b"", "bad response status code 403"),
    (429, b"Too many requests", "Too many requests"),
    (502, b"<html><body>Bad Gateway</body></html>", "bad response status code 502"),
])
def test_deepl_errors_keep_their_status(status, body, message):
    error = ADAPTOR.convert_error(status, body, context())
    assert (error.status, error.type, error.code, error.message) == (status, "deepl_error", "deepl_error", message)


def test_an_answer_without_translations_is_an_error():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response({"message": "Internal error"}, context())
    assert (caught.value.status, caught.value.message) == (500, "Internal error")
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream([SSEEvent("message", "{}")], context(stream=True), StreamState()))
    assert caught.value.status == 502
