"""The AI Proxy knowledge-base adaptor against wire fixtures (tests/fixtures/wire/aiproxy_library/<case>/),
plus its URL, headers, errors and refusals. Pure functions only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import aiproxy_library, get_adaptor
from oneapi.relay.adaptors.aiproxy_library import SPEC, AIProxyLibraryAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import reader
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "aiproxy_library"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.sse").exists()]
CREATED = 1700000000
ADAPTOR = AIProxyLibraryAdaptor()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(aiproxy_library, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "gpt-3.5-turbo"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {
        "config": {"library_id": "123456"}}
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 21, "channel_name": "library",
        "base_url": "https://api.aiproxy.io", "key": "ak-test", "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")),
        "request_id": "20240101000000abc", **extra, **overrides,
    }
    return RelayContext(**values)


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_an_ask_body(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_the_answer_and_its_references_become_the_completion_and_usage_is_counted_locally(case):
    completion, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    assert completion == load(case, "expected.json")
    assert usage is None


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_is_translated_whatever_the_chunk_boundaries(case, size):
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    state = StreamState()
    events = reader(ADAPTOR.stream_format)(odd_chunks(raw, size))
    chunks = list(ADAPTOR.convert_stream(events, context(case), state))
    assert chunks == [json.loads(line) for line in (CASES_DIR / case / "expected.jsonl").read_text().splitlines()]
    assert state.usage is None
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert finishes == [None] * (len(chunks) - 1) + ["stop"] and state.finish_reason == "stop"
    assert [("role" in c["choices"][0]["delta"]) for c in chunks] == [True] + [False] * (len(chunks) - 1)
    assert len({(c["id"], c["created"]) for c in chunks}) == 1
    # What the pipeline bills is what the client saw, references included.
    assert state.text == "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)


def test_the_reference_list_is_one_apis_markdown():
    completion = load("simple_chat", "expected.json")
    assert completion["choices"][0]["message"]["content"].endswith(
        "\n\n参考文档：\n1. [Account help](https://docs.example.com/account)\n"
        "2. [密码重置](https://docs.example.com/reset)\n")


@pytest.mark.parametrize("base_url", ["https://api.aiproxy.io", "http://127.0.0.1:7000/aip"])
def test_url_is_the_base_url_plus_api_library_ask(base_url):
    assert ADAPTOR.request_url(context(base_url=base_url)) == f"{base_url}/api/library/ask"


def test_the_key_goes_as_a_bearer_token_and_as_api_key():
    assert ADAPTOR.request_headers(context()) == {"Authorization": "Bearer ak-test", "Api-Key": "ak-test",
                                                  "Content-Type": "application/json"}


def test_a_channel_without_a_library_id_is_refused_before_the_call():
    with pytest.raises(LocalError) as caught:
        ADAPTOR.convert_request({"messages": [{"role": "user", "content": "q"}]}, context(config={}))
    assert "knowledge base id" in caught.value.message


def test_the_mapped_model_and_the_last_user_message_are_sent():
    body = ADAPTOR.convert_request({"model": "alias", "messages": [{"role": "user", "content": "first"},
                                                                   {"role": "assistant", "content": "x"}]},
                                   context(model="gpt-4o"))
    assert (body["model"], body["query"]) == ("gpt-4o", "first")


def test_a_failure_answered_with_200_is_raised():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response({"success": False, "errCode": 10003, "message": "知识库不存在"}, context())
    assert (caught.value.status, caught.value.type, caught.value.code, caught.value.message) == (
        500, "aiproxy_library_error", 10003, "知识库不存在")


def test_a_failure_inside_a_stream_is_raised():
    raw = 'data:{"success":false,"errCode":401,"message":"无效的 Api Key"}\n\n'.encode()
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream(reader("sse")([raw]), context(stream=True), StreamState()))
    assert caught.value.message == "无效的 Api Key"


def test_an_error_status_keeps_its_status_and_message():
    error = ADAPTOR.convert_error(401, '{"success":false,"errCode":401,"message":"无效的 Api Key"}'.encode(),
                                  context())
    assert (error.status, error.type, error.code, error.message) == (401, "aiproxy_library_error", 401,
                                                                     "无效的 Api Key")
    assert ADAPTOR.convert_error(502, b"<html>bad gateway</html>", context()).message == "bad response status code 502"


def test_channel_type_21_resolves_to_the_library_adaptor():
    assert isinstance(get_adaptor(21), AIProxyLibraryAdaptor)
    assert SPEC.modes == frozenset({RelayMode.CHAT})
    assert "gpt-3.5-turbo" in SPEC.models
