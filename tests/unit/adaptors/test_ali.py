"""The Ali DashScope adaptor against wire fixtures (tests/fixtures/wire/ali/<case>/), plus the URL,
header, error and image-task rules. Pure functions only: no network, no Flask app, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import get_adaptor
from oneapi.relay.adaptors.ali import AliAdaptor, common
from oneapi.relay.adaptors.base import Call
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import iter_events
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "ali"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
REQUEST_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_request.json").exists()]
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.sse").exists()]
CREATED = 1700000000
BASE = "https://dashscope.aliyuncs.com"
ADAPTOR = AliAdaptor()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(common, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "qwen-turbo"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 17, "channel_name": "qwen", "base_url": BASE,
        "key": "sk-dashscope-test", "model": request["model"], "original_model": request["model"],
        "stream": bool(request.get("stream")), **extra, **overrides,
    }
    values["mode"] = RelayMode(values["mode"])
    return RelayContext(**values)


@pytest.mark.parametrize("case", REQUEST_CASES)
def test_request_is_translated_to_the_dashscope_body(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_translated_to_the_openai_answer(case):
    answer, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    expected = load(case, "expected.json")
    assert answer == expected
    assert (usage.prompt_tokens, usage.completion_tokens) == (expected["usage"]["prompt_tokens"],
                                                              expected["usage"]["total_tokens"]
                                                              - expected["usage"]["prompt_tokens"])
    assert usage.source == "upstream"


def run_stream(case: str, size: int) -> tuple[list[dict], StreamState, UpstreamError | None]:
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    return wire.translate_stream(ADAPTOR, iter_events(odd_chunks(raw, size)), context(case))


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_is_translated_to_chunks_whatever_the_chunk_boundaries(case, size):
    chunks, state, error = run_stream(case, size)
    expected = wire.expected_chunks(CASES_DIR, case)
    assert chunks == expected
    usage = load(case, "expected_usage.json")
    assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (usage["prompt_tokens"],
                                                                          usage["completion_tokens"])
    choices = [c for c in chunks if c["choices"]]
    finishes = [c["choices"][0]["finish_reason"] for c in choices]
    assert all(f is None for f in finishes[:-1])
    assert [("role" in c["choices"][0]["delta"]) for c in choices] == [True] + [False] * (len(choices) - 1)
    assert {(c["id"], c["created"]) for c in chunks} == {(expected[0]["id"], CREATED)}
    assert state.text == "".join(streamed_text(c) for c in choices)
    if (CASES_DIR / case / "expected_error.json").exists():
        want = load(case, "expected_error.json")
        assert (error.status, error.type, error.code, error.param, error.message) == (
            want["status"], want["type"], want["code"], want["param"], want["message"])
        assert state.finish_reason is None
    else:
        assert error is None
        assert state.finish_reason == finishes[-1]


def streamed_text(chunk: dict) -> str:
    delta = chunk["choices"][0]["delta"]
    calls = "".join(c.get("function", {}).get("arguments", "") for c in delta.get("tool_calls", []))
    return delta.get("content", "") + delta.get("reasoning_content", "") + calls


def test_a_usage_chunk_is_sent_only_when_the_client_asked_for_it():
    chunks, state, _ = run_stream("stream_text", 64)
    assert all(c["choices"] for c in chunks)
    assert state.usage_forwarded is False
    _, state, _ = run_stream("stream_reasoning_usage", 64)
    assert state.usage_forwarded is True


# URLs and headers.


@pytest.mark.parametrize(("mode", "model", "path"), [
    (RelayMode.CHAT, "qwen-turbo", "/api/v1/services/aigc/text-generation/generation"),
    (RelayMode.CHAT, "qwen-plus-internet", "/api/v1/services/aigc/text-generation/generation"),
    (RelayMode.CHAT, "qwen-vl-max-latest", "/api/v1/services/aigc/multimodal-generation/generation"),
    (RelayMode.CHAT, "qvq-72b-preview", "/api/v1/services/aigc/multimodal-generation/generation"),
    (RelayMode.EMBEDDINGS, "text-embedding-v3", "/api/v1/services/embeddings/text-embedding/text-embedding"),
    (RelayMode.IMAGES, "wanx-v1", "/api/v1/services/aigc/text2image/image-synthesis"),
])
@pytest.mark.parametrize("base", [BASE, "http://127.0.0.1:9000/dashscope-mirror"])
def test_urls_are_built_from_the_channels_base_url(mode, model, path, base):
    assert ADAPTOR.request_url(context(mode=mode, model=model, base_url=base)) == base + path


def test_chat_headers_carry_the_bearer_key_and_no_stream_headers():
    assert ADAPTOR.request_headers(context()) == {"Authorization": "Bearer sk-dashscope-test",
                                                  "Content-Type": "application/json"}


def test_stream_headers_enable_dashscope_sse_and_the_plugin_header_is_sent_when_set():
    headers = ADAPTOR.request_headers(context(stream=True, config={"plugin": "{\"pdf_extracter\":{}}"}))
    assert headers["X-DashScope-SSE"] == "enable"
    assert headers["Accept"] == "text/event-stream"
    assert headers["X-DashScope-Plugin"] == "{\"pdf_extracter\":{}}"
    assert "X-DashScope-Async" not in headers


def test_image_requests_are_asynchronous_and_never_streamed():
    ctx = context(mode=RelayMode.IMAGES, model="wanx-v1", stream=True)
    headers = ADAPTOR.request_headers(ctx)
    assert headers["X-DashScope-Async"] == "enable"
    assert "X-DashScope-SSE" not in headers
    assert ADAPTOR.upstream_stream(ctx) is False


# Image tasks: submitted, polled at the channel's base URL, answered with URLs.


def test_an_image_task_is_polled_until_it_succeeds_and_answered_with_its_urls():
    ctx = context("image_task", base_url="http://127.0.0.1:9000/ds")
    assert ADAPTOR.convert_request(load("image_task", "openai_request.json"), ctx) == load("image_task",
                                                                                          "upstream_request.json")
    poll = Call("GET", "http://127.0.0.1:9000/ds/api/v1/tasks/13b1848b-5493-4c0e-8c44-ca4b0d1e4a6e",
                {"Authorization": "Bearer sk-dashscope-test"}, delay=2.0)
    assert ADAPTOR.follow_up(ctx, load("image_task", "task_submitted.json"), 0) == poll
    assert ADAPTOR.follow_up(ctx, load("image_task", "task_running.json"), 1) == poll
    assert ADAPTOR.follow_up(ctx, load("image_task", "task_succeeded.json"), 2) is None
    answer, usage = ADAPTOR.convert_response(load("image_task", "task_succeeded.json"), ctx)
    assert answer == load("image_task", "expected.json")
    assert usage is None


def test_a_failed_image_task_raises_its_code_and_message():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.follow_up(context("image_task"), load("image_task", "task_failed.json"), 3)
    error = caught.value
    assert (error.status, error.type, error.code, error.param, error.message) == (
        400, "DataInspectionFailed", "DataInspectionFailed", "2f3d9ae2-3c32-9fc8-a36f-1e5d0b2a7c11",
        "Input data may contain inappropriate content.")


def test_an_unknown_task_is_an_error():
    body = {"request_id": "x", "output": {"task_id": "gone", "task_status": "UNKNOWN"}}
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.follow_up(context(mode=RelayMode.IMAGES), body, 1)
    assert caught.value.status == 500 and "unknown" in caught.value.message


def test_chat_and_embeddings_have_no_follow_up_call():
    assert ADAPTOR.follow_up(context(), load("simple_chat", "upstream_response.json"), 0) is None
    assert ADAPTOR.follow_up(context("embeddings"), load("embeddings", "upstream_response.json"), 0) is None


def test_image_size_defaults_to_1024_square_and_n_to_one():
    body = ADAPTOR.convert_request({"model": "wanx-v1", "prompt": "a cat"}, context(mode=RelayMode.IMAGES,
                                                                                   model="wanx-v1"))
    assert body == {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"size": "1024*1024", "n": 1}}


# Errors.


@pytest.mark.parametrize(("status", "body", "code", "retryable"), [
    (401, b'{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"fb53c4ec-1c12-4fc4-a580"}',
     "InvalidApiKey", False),
    (429, b'{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded, please try again later.",'
          b'"request_id":"77d6b1d4-0000"}', "Throttling.RateQuota", True),
    (400, b'{"code":"InvalidParameter","message":"Range of input length should be [1, 6000]",'
          b'"request_id":"9d1a"}', "InvalidParameter", False),
])
def test_dashscope_errors_keep_the_status_code_as_type_and_request_id_as_param(status, body, code, retryable):
    error = ADAPTOR.convert_error(status, body, context())
    parsed = json.loads(body)
    assert (error.status, error.type, error.code, error.param, error.message) == (
        status, code, code, parsed["request_id"], parsed["message"])
    assert error.retryable is retryable


def test_a_non_dashscope_error_body_falls_back_to_one_apis_reading():
    error = ADAPTOR.convert_error(502, b"<html><body>502 Bad Gateway</body></html>", context())
    assert (error.status, error.message) == (502, "bad response status code 502")
    assert error.code == "bad_response_status_code"


def test_an_error_envelope_answered_with_200_is_raised():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response({"code": "InternalError", "message": "boom", "request_id": "r"}, context())
    assert (caught.value.status, caught.value.code, caught.value.param) == (500, "InternalError", "r")


# Request rules not shown by a fixture.


def test_embeddings_accept_a_single_string_and_refuse_token_arrays():
    ctx = context(mode=RelayMode.EMBEDDINGS, model="text-embedding-v1")
    assert ADAPTOR.convert_request({"input": "hello"}, ctx) == {"model": "text-embedding-v1",
                                                               "input": {"texts": ["hello"]}}
    with pytest.raises(LocalError) as caught:
        ADAPTOR.convert_request({"input": [[1, 2, 3]]}, ctx)
    assert caught.value.status == 400


def test_a_stream_request_asks_for_incremental_output():
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}], "stream": True},
                                   context(stream=True))
    assert body["parameters"] == {"result_format": "message", "incremental_output": True}


def test_top_p_below_one_is_kept():
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}], "top_p": 0.8}, context())
    assert body["parameters"]["top_p"] == 0.8


def test_channel_type_17_resolves_to_the_ali_adaptor_for_chat_embeddings_and_images():
    adaptor = get_adaptor(17)
    assert isinstance(adaptor, AliAdaptor)
    assert [adaptor.supports(17, m) for m in (RelayMode.CHAT, RelayMode.EMBEDDINGS, RelayMode.IMAGES,
                                              RelayMode.COMPLETIONS)] == [True, True, True, False]
