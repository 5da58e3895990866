"""The Coze adaptor against wire fixtures (tests/fixtures/wire/coze/<case>/), plus the URL, header,
error and request rules no single fixture shows. Pure functions only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import coze, get_adaptor
from oneapi.relay.adaptors.coze import SPEC, CozeAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import reader
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "coze"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.sse").exists()]
CREATED = 1700000000
ADAPTOR = CozeAdaptor()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(coze, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "bot-123"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 34, "channel_name": "coze",
        "base_url": "https://api.coze.com", "key": "pat_test", "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")),
        "request_id": "20240101000000abc", **extra, **overrides,
    }
    return RelayContext(**values)


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_a_v2_chat_body(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_answer_messages_become_the_completion_and_usage_is_left_to_the_pipeline(case):
    completion, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    assert completion == load(case, "expected.json")
    assert usage is None


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_is_translated_whatever_the_chunk_boundaries(case, size):
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    state, chunks, error = StreamState(), [], None
    try:
        for chunk in ADAPTOR.convert_stream(reader(ADAPTOR.stream_format)(odd_chunks(raw, size)), context(case), state):
            chunks.append(chunk)
    except UpstreamError as exc:
        error = exc
    assert chunks == [json.loads(line) for line in (CASES_DIR / case / "expected.jsonl").read_text().splitlines()]
    assert state.usage is None  # counted by the pipeline
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert all(f is None for f in finishes[:-1])
    assert [("role" in c["choices"][0]["delta"]) for c in chunks] == [True] + [False] * (len(chunks) - 1)
    assert len({(c["id"], c["created"]) for c in chunks}) == 1
    assert state.text == "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    if (CASES_DIR / case / "expected_error.json").exists():
        want = load(case, "expected_error.json")
        assert (error.status, error.type, error.code, error.message) == (
            want["status"], want["type"], want["code"], want["message"])
        assert state.finish_reason is None
    else:
        assert error is None
        assert state.finish_reason == finishes[-1] == "stop"


def test_follow_up_and_verbose_messages_are_not_part_of_the_reply():
    chunks = [json.loads(line) for line in (CASES_DIR / "stream_text" / "expected.jsonl").read_text().splitlines()]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "Hello there! 你好"


def test_a_stream_cut_before_done_has_no_finish_reason():
    raw = (b'data:{"event":"message","message":{"role":"assistant","type":"answer","content":"Hi",'
           b'"content_type":"text"},"is_finish":false,"index":0,"conversation_id":"1"}\n\n')
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(reader("sse")([raw]), context(stream=True), state))
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None]
    assert state.finish_reason is None and state.text == "Hi"


# -- URL, headers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("base_url", ["https://api.coze.com", "https://api.coze.cn", "http://127.0.0.1:8000/coze"])
def test_url_is_the_base_url_plus_open_api_v2_chat(base_url):
    assert ADAPTOR.request_url(context(base_url=base_url)) == f"{base_url}/open_api/v2/chat"


def test_the_access_token_is_a_bearer_token():
    assert ADAPTOR.request_headers(context()) == {"Authorization": "Bearer pat_test",
                                                  "Content-Type": "application/json"}
    assert ADAPTOR.request_headers(context(stream=True))["Accept"] == "text/event-stream"


# -- errors --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "status"), [(4100, 401), (4101, 401), (4015, 400), (700012006, 401), (5000, 500)])
def test_a_failure_answered_with_200_is_raised_with_the_status_of_its_code(code, status):
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response({"code": code, "msg": "nope"}, context())
    assert (caught.value.status, caught.value.type, caught.value.code, caught.value.message) == (
        status, "coze_error", code, "nope")


def test_an_error_status_keeps_its_status():
    error = ADAPTOR.convert_error(429, b'{"code":4013,"msg":"Request frequency too high"}', context())
    assert (error.status, error.type, error.code, error.message) == (429, "coze_error", 4013,
                                                                     "Request frequency too high")
    assert error.retryable


def test_a_json_failure_in_place_of_a_stream_is_raised():
    raw = b'data:{"code":4100,"msg":"authentication is invalid"}\n\n'
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream(reader("sse")([raw]), context(stream=True), StreamState()))
    assert caught.value.status == 401


def test_an_html_page_becomes_a_one_line_error():
    error = ADAPTOR.convert_error(503, b"<!DOCTYPE html><html>down</html>", context())
    assert (error.status, error.message) == (503, "bad response status code 503")


# -- request rules ---------------------------------------------------------------------------------------

def test_without_a_user_id_the_request_names_the_gateway_user():
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "q"}]}, context(user_id=42))
    assert body["user"] == "one-api-user-42"


def test_the_last_user_message_is_the_query_even_before_an_assistant_prefill():
    messages = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]
    body = ADAPTOR.convert_request({"messages": messages}, context(config={"user_id": "u"}))
    assert body["query"] == "c"
    assert [m["content"] for m in body["chat_history"]] == ["a", "b"]


def test_the_mapped_model_names_the_bot():
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "q"}]}, context(model="bot-999"))
    assert body["bot_id"] == "999"


def test_channel_type_34_resolves_to_the_coze_adaptor():
    assert isinstance(get_adaptor(34), CozeAdaptor)
    assert SPEC.modes == frozenset({RelayMode.CHAT})
    assert SPEC.models == ()
    assert [f.key for f in SPEC.config] == ["user_id"]
