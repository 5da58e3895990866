"""The mock Anthropic server (tests/upstreams/anthropic.py) accepts what Anthropic accepts, refuses what it
refuses with Anthropic's error bodies, and streams in Anthropic's event sequence. Only 127.0.0.1 traffic."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from oneapi.relay.adaptors.anthropic import AnthropicAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import iter_events
from oneapi.relay.usage import StreamState
from tests.upstreams.anthropic import create_app
from tests.upstreams.server import serve

KEY = "sk-ant-test"
HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
VALID = {"model": "claude-3-5-haiku-20241022", "max_tokens": 64,
         "messages": [{"role": "user", "content": [{"type": "text", "text": "ping me back"}]}]}
FIXTURES = Path(__file__).parents[1] / "fixtures" / "wire" / "anthropic"
TEXT_EVENTS = ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
               "content_block_delta", "content_block_stop", "message_delta", "message_stop"]


@pytest.fixture(scope="module")
def mock():
    app = create_app(api_key=KEY, deltas=3)
    with serve(app) as base_url:
        yield base_url, app


def post(base_url: str, body, headers=None, **kwargs) -> requests.Response:
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.post(f"{base_url}/v1/messages", data=data, headers=headers or HEADERS, timeout=10, **kwargs)


def events_of(response: requests.Response) -> list[tuple[str, dict]]:
    return [(e.event, e.json()) for e in iter_events(response.iter_content(chunk_size=None))]


def test_a_valid_request_gets_a_message_and_is_recorded(mock):
    base_url, app = mock
    response = post(base_url, VALID)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert (body["type"], body["role"], body["model"], body["stop_reason"]) == (
        "message", "assistant", VALID["model"], "end_turn")
    assert body["content"] == [{"type": "text", "text": "Hello from mock Claude! You said: ping me back"}]
    assert body["usage"]["input_tokens"] == 3
    assert body["usage"]["output_tokens"] == 9
    assert body["id"].startswith("msg_")
    recorded = app.config["REQUESTS"][-1]
    assert (recorded["method"], recorded["path"], recorded["body"]) == ("POST", "/v1/messages", VALID)
    assert recorded["headers"]["x-api-key"] == KEY


def test_a_stream_has_anthropics_event_sequence_and_content_type(mock):
    base_url, _ = mock
    response = post(base_url, {**VALID, "stream": True}, stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(response)
    assert [name for name, _ in events] == TEXT_EVENTS
    assert all(data["type"] == name for name, data in events)
    text = "".join(data["delta"]["text"] for name, data in events if name == "content_block_delta")
    assert text == "Hello from mock Claude! You said: ping me back"
    assert events[0][1]["message"]["usage"]["input_tokens"] == 3
    assert events[-2][1] == {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                             "usage": {"output_tokens": 9}}


def test_a_reply_longer_than_max_tokens_stops_with_max_tokens(mock):
    body = post(mock[0], {**VALID, "max_tokens": 2}).json()
    assert body["stop_reason"] == "max_tokens"
    assert (body["content"][0]["text"], body["usage"]["output_tokens"]) == ("Hello from", 2)


def without(mapping: dict, key: str) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


def with_messages(*messages) -> dict:
    return {**VALID, "messages": list(messages)}


USER = {"role": "user", "content": "hi"}
AUTH, INVALID = (401, "authentication_error"), (400, "invalid_request_error")
REFUSALS = {
    "no api key": (without(HEADERS, "x-api-key"), VALID, *AUTH, "x-api-key header is required"),
    "wrong api key": ({**HEADERS, "x-api-key": "sk-ant-wrong"}, VALID, *AUTH, "invalid x-api-key"),
    "bearer instead of x-api-key": ({**without(HEADERS, "x-api-key"), "authorization": f"Bearer {KEY}"}, VALID,
                                    *AUTH, "x-api-key header is required"),
    "no version": (without(HEADERS, "anthropic-version"), VALID, *INVALID, "anthropic-version: header is required"),
    "not json": (HEADERS, "{not json", *INVALID, "not valid JSON"),
    "no model": (HEADERS, without(VALID, "model"), *INVALID, "model: Field required"),
    "no max_tokens": (HEADERS, without(VALID, "max_tokens"), *INVALID, "max_tokens: Field required"),
    "zero max_tokens": (HEADERS, {**VALID, "max_tokens": 0}, *INVALID, "greater than or equal to 1"),
    "string max_tokens": (HEADERS, {**VALID, "max_tokens": "64"}, *INVALID, "valid integer"),
    "no messages": (HEADERS, without(VALID, "messages"), *INVALID, "messages: Field required"),
    "empty messages": (HEADERS, with_messages(), *INVALID, "at least one message"),
    "system role": (HEADERS, with_messages({"role": "system", "content": "x"}, USER), *INVALID,
                    'Unexpected role "system"'),
    "unknown role": (HEADERS, with_messages(USER, {"role": "tool", "content": "x"}), *INVALID,
                     "messages.1.role: Input should be 'user' or 'assistant'"),
    "assistant first": (HEADERS, with_messages({"role": "assistant", "content": "x"}, USER), *INVALID,
                        'first message must use the "user" role'),
    "empty content": (HEADERS, with_messages({"role": "user", "content": ""}), *INVALID, "non-empty content"),
    "empty text block": (HEADERS, with_messages({"role": "user", "content": [{"type": "text", "text": ""}]}),
                         *INVALID, "text content blocks must be non-empty"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_an_invalid_request_is_refused_as_anthropic_refuses_it(mock, case):
    headers, body, status, kind, message = REFUSALS[case]
    response = post(mock[0], body, headers)
    assert response.status_code == status
    error = response.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == kind
    assert message in error["error"]["message"]
    assert response.headers["request-id"] == error["request_id"]


def test_only_post_v1_messages_exists(mock):
    base_url, _ = mock
    wrong_method = requests.get(f"{base_url}/v1/messages", headers=HEADERS, timeout=10)
    wrong_path = requests.post(f"{base_url}/v1/complete", headers=HEADERS, data=json.dumps(VALID), timeout=10)
    assert wrong_method.status_code == 405
    assert (wrong_path.status_code, wrong_path.json()["error"]["type"]) == (404, "not_found_error")


@pytest.mark.parametrize(("model", "status", "kind"), [
    ("claude-rate-limit", 429, "rate_limit_error"),
    ("claude-overloaded", 529, "overloaded_error"),
    ("claude-api-error", 500, "api_error"),
])
def test_the_model_name_selects_an_error(mock, model, status, kind):
    response = post(mock[0], {**VALID, "model": model})
    assert (response.status_code, response.json()["error"]["type"]) == (status, kind)
    assert ("retry-after" in response.headers) is (status == 429)


def test_the_behaviour_option_applies_to_every_request():
    with serve(create_app(api_key=KEY, behaviour="overloaded")) as base_url:
        response = post(base_url, VALID)
    assert (response.status_code, response.json()["error"]["message"]) == (529, "Overloaded")


def test_an_unknown_behaviour_option_is_a_mistake():
    with pytest.raises(ValueError, match="unknown behaviour"):
        create_app(behaviour="teapot")


def test_a_stream_error_event_follows_the_first_delta(mock):
    response = post(mock[0], {**VALID, "model": "claude-stream-error", "stream": True}, stream=True)
    events = events_of(response)
    assert response.status_code == 200
    assert [name for name, _ in events] == TEXT_EVENTS[:4] + ["error"]
    assert events[-1][1]["error"] == {"type": "overloaded_error", "message": "Overloaded"}


def test_a_tool_use_reply_names_the_first_tool(mock):
    tools = [{"name": "lookup", "input_schema": {"type": "object", "properties": {}}}]
    body = post(mock[0], {**VALID, "model": "claude-tool-use", "tools": tools}).json()
    assert body["stop_reason"] == "tool_use"
    assert body["content"][1] == {"type": "tool_use", "id": body["content"][1]["id"], "name": "lookup",
                                  "input": {"query": "ping me back"}}


def test_a_streamed_tool_use_sends_its_input_as_json_deltas(mock):
    response = post(mock[0], {**VALID, "model": "claude-tool-use", "stream": True}, stream=True)
    events = events_of(response)
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert [block["type"] for block in starts] == ["text", "tool_use"]
    assert starts[1]["input"] == {}
    partial = "".join(data["delta"]["partial_json"] for name, data in events
                      if name == "content_block_delta" and data["delta"]["type"] == "input_json_delta")
    assert json.loads(partial) == {"query": "ping me back"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_chunk_delay_delivers_events_live():
    with serve(create_app(api_key=KEY, chunk_delay=0.1)) as base_url:
        started = time.monotonic()
        response = post(base_url, {**VALID, "stream": True}, stream=True)
        arrivals = [time.monotonic() - started for _ in iter_events(response.iter_content(chunk_size=None))]
    assert len(arrivals) == len(TEXT_EVENTS)
    assert arrivals[-1] >= 0.1 * (len(TEXT_EVENTS) - 1)
    assert arrivals[0] < arrivals[-1] - 0.5


def adaptor_context(request: dict, base_url: str) -> RelayContext:
    return RelayContext(mode=RelayMode.CHAT, channel_id=1, channel_type=14, channel_name="mock", base_url=base_url,
                        key=KEY, model=request["model"], original_model=request["model"],
                        stream=bool(request.get("stream")))


@pytest.mark.parametrize("case", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_the_mock_accepts_what_the_adaptor_sends_for_every_fixture(mock, case):
    """The adaptor's requests pass Anthropic's checks, and its translators read the mock's answers."""
    base_url, _ = mock
    adaptor, request = AnthropicAdaptor(), json.loads((FIXTURES / case / "openai_request.json").read_text())
    ctx = adaptor_context(request, base_url)
    response = requests.post(adaptor.request_url(ctx), headers=adaptor.request_headers(ctx), timeout=10,
                             data=json.dumps(adaptor.convert_request(request, ctx)), stream=ctx.stream)
    assert response.status_code == 200
    if ctx.stream:
        state = StreamState()
        chunks = list(adaptor.convert_stream(iter_events(response.iter_content(chunk_size=None)), ctx, state))
        assert state.text.startswith("Hello from mock Claude!")
        cut = request.get("max_tokens", 4096) < 9  # the mock's echo is 9 words
        assert chunks[-1]["choices"][0]["finish_reason"] == ("length" if cut else "stop")
        assert state.usage.prompt_tokens >= 1
    else:
        completion, usage = adaptor.convert_response(response.json(), ctx)
        assert completion["choices"][0]["message"]["content"].startswith("Hello from mock Claude!")
        assert usage.completion_tokens >= 1
