"""The Cloudflare Workers AI adaptor against wire fixtures (tests/fixtures/wire/cloudflare/<case>/), plus
the URL, header and error rules. Pure functions only: no network, no Flask app, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import cloudflare, get_adaptor
from oneapi.relay.adaptors.cloudflare import CloudflareAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import iter_events
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "cloudflare"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.sse").exists()]
CREATED = 1700000000
ACCOUNT = "d8d7c61dbc334c32d3ced580e4bf42b4"
ADAPTOR = CloudflareAdaptor()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(cloudflare, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "@cf/meta/llama-3.1-8b-instruct"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 37, "channel_name": "workers-ai",
        "base_url": "https://api.cloudflare.com", "key": "cf-token", "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")), "config": {"user_id": ACCOUNT},
        **extra, **overrides,
    }
    values["mode"] = RelayMode(values["mode"])
    return RelayContext(**values)


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_translated_with_workers_ai_usage(case):
    answer, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    expected = load(case, "expected.json")
    assert answer == expected
    want = expected["usage"]
    assert (usage.prompt_tokens, usage.completion_tokens) == (want["prompt_tokens"],
                                                              want["total_tokens"] - want["prompt_tokens"])


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_is_translated_whatever_the_chunk_boundaries(case, size):
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_events(odd_chunks(raw, size)), context(case), state))
    expected = wire.expected_chunks(CASES_DIR, case)
    assert chunks == expected
    choices = [c for c in chunks if c["choices"]]
    assert [c["choices"][0]["finish_reason"] for c in choices] == [None] * (len(choices) - 1) + ["stop"]
    assert state.finish_reason == "stop"
    assert {(c["id"], c["created"]) for c in chunks} == {(expected[0]["id"], CREATED)}
    assert state.text == "".join(c["choices"][0].get("text") or c["choices"][0].get("delta", {}).get("content", "")
                                 for c in choices)
    if (CASES_DIR / case / "expected_usage.json").exists():
        want = load(case, "expected_usage.json")
        assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (want["prompt_tokens"],
                                                                              want["completion_tokens"])
    else:
        assert state.usage is None
    assert state.usage_forwarded is any(not c["choices"] for c in chunks)


def test_chat_chunks_carry_the_role_only_on_the_first_chunk():
    raw = (CASES_DIR / "stream_chat_usage" / "upstream.sse").read_bytes()
    chunks = list(ADAPTOR.convert_stream(iter_events([raw]), context("stream_chat_usage"), StreamState()))
    roles = [("role" in c["choices"][0]["delta"]) for c in chunks if c["choices"]]
    assert roles == [True, False, False]


def test_an_answer_without_usage_leaves_the_count_to_the_pipeline():
    body = load("chat_simple", "upstream_response.json")
    del body["usage"]
    _, usage = ADAPTOR.convert_response(body, context("chat_simple"))
    assert usage is None
    run = {"result": {"response": "hi"}, "success": True, "errors": [], "messages": []}
    answer, usage = ADAPTOR.convert_response(run, context(mode=RelayMode.COMPLETIONS))
    assert usage is None and "usage" not in answer and answer["choices"][0]["text"] == "hi"


# URLs and headers.


@pytest.mark.parametrize(("mode", "suffix"), [
    (RelayMode.CHAT, "/v1/chat/completions"), (RelayMode.EMBEDDINGS, "/v1/embeddings"),
    (RelayMode.COMPLETIONS, "/run/@cf/meta/llama-3.1-8b-instruct"),
])
@pytest.mark.parametrize("base", ["https://api.cloudflare.com", "http://127.0.0.1:8787/mirror"])
def test_urls_use_the_account_prefix_under_the_channels_base_url(mode, suffix, base):
    url = ADAPTOR.request_url(context(mode=mode, base_url=base))
    assert url == f"{base}/client/v4/accounts/{ACCOUNT}/ai{suffix}"


@pytest.mark.parametrize(("mode", "suffix"), [
    (RelayMode.CHAT, "/v1/chat/completions"), (RelayMode.EMBEDDINGS, "/v1/embeddings"),
    (RelayMode.COMPLETIONS, "/@cf/meta/llama-3.1-8b-instruct"),
])
def test_an_ai_gateway_base_url_is_the_prefix_itself(mode, suffix):
    gateway = f"https://gateway.ai.cloudflare.com/v1/{ACCOUNT}/my-gateway/workers-ai"
    assert ADAPTOR.request_url(context(mode=mode, base_url=gateway, config={})) == gateway + suffix


def test_a_channel_without_an_account_id_is_refused_before_any_call():
    with pytest.raises(LocalError) as caught:
        ADAPTOR.request_url(context(config={}))
    assert caught.value.status == 500 and "account ID" in caught.value.message


def test_headers_carry_the_api_token_as_bearer():
    headers = ADAPTOR.request_headers(context())
    assert headers == {"Authorization": "Bearer cf-token", "Content-Type": "application/json"}
    assert ADAPTOR.request_headers(context(stream=True))["Accept"] == "text/event-stream"


def test_a_multi_prompt_completion_is_refused():
    with pytest.raises(LocalError) as caught:
        ADAPTOR.convert_request({"prompt": ["a", "b"]}, context(mode=RelayMode.COMPLETIONS))
    assert caught.value.status == 400


# Errors.

AUTH_ERROR = b'{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}'
BAD_INPUT = (b'{"errors":[{"message":"AiError: Bad input: Error: oneOf at \'/\' not met, 0 matches","code":5006}],'
             b'"success":false,"result":{},"messages":[]}')
RATE = b'{"errors":[{"message":"Capacity temporarily exceeded, please try again.","code":3040}],"success":false}'


@pytest.mark.parametrize(("status", "body", "code", "message", "retryable"), [
    (401, AUTH_ERROR, 10000, "Authentication error", False),
    (400, BAD_INPUT, 5006, "AiError: Bad input: Error: oneOf at '/' not met, 0 matches", False),
    (429, RATE, 3040, "Capacity temporarily exceeded, please try again.", True),
])
def test_cloudflare_errors_keep_the_status_and_the_first_code(status, body, code, message, retryable):
    error = ADAPTOR.convert_error(status, body, context())
    assert (error.status, error.type, error.code, error.message) == (status, "cloudflare_error", code, message)
    assert error.retryable is retryable


def test_an_openai_shaped_error_is_read_as_openai_s():
    body = b'{"error":{"message":"model not found","type":"invalid_request_error","code":"model_not_found"}}'
    error = ADAPTOR.convert_error(404, body, context())
    assert (error.status, error.type, error.code, error.message) == (404, "invalid_request_error",
                                                                    "model_not_found", "model not found")


def test_a_failure_answered_with_200_is_raised_also_inside_a_stream():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response(json.loads(BAD_INPUT), context(mode=RelayMode.COMPLETIONS))
    assert caught.value.code == 5006
    events = iter_events([b'data: {"response":"a"}\n\n', b"data: " + RATE + b"\n\n"])
    state = StreamState()
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream(events, context(mode=RelayMode.COMPLETIONS, stream=True), state))
    assert caught.value.code == 3040 and state.text == "a"


def test_channel_type_37_serves_chat_completions_and_embeddings():
    adaptor = get_adaptor(37)
    assert isinstance(adaptor, CloudflareAdaptor)
    assert [adaptor.supports(37, m) for m in (RelayMode.CHAT, RelayMode.COMPLETIONS, RelayMode.EMBEDDINGS,
                                              RelayMode.IMAGES)] == [True, True, True, False]
