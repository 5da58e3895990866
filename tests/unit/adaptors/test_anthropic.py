"""The Anthropic adaptor against recorded wire fixtures (tests/fixtures/wire/anthropic/<case>/), plus
the rules no single fixture shows. Pure functions only: no network, no Flask app, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import anthropic, get_adaptor
from oneapi.relay.adaptors.anthropic import AnthropicAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import iter_events
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "anthropic"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.sse").exists()]
CREATED = 1700000000
ADAPTOR = AnthropicAdaptor()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(anthropic, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "claude-3-5-haiku-20241022"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 14, "channel_name": "claude",
        "base_url": "https://api.anthropic.com", "key": "sk-ant-test", "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")), **extra, **overrides,
    }
    return RelayContext(**values)



def run_stream(case: str, size: int) -> tuple[list[dict], StreamState, Exception | None]:
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    return wire.translate_stream(ADAPTOR, iter_events(odd_chunks(raw, size)), context(case))


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_the_messages_api_body(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_translated_to_a_chat_completion(case):
    completion, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    expected = load(case, "expected.json")
    assert completion == expected
    assert usage.as_openai() == expected["usage"]
    assert usage.source == "upstream"


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_is_translated_to_chunks_whatever_the_chunk_boundaries(case, size):
    chunks, state, error = run_stream(case, size)
    expected = wire.expected_chunks(CASES_DIR, case)
    assert chunks == expected
    usage = load(case, "expected_usage.json")
    assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (usage["prompt_tokens"],
                                                                          usage["completion_tokens"])
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert state.finish_reason == (finishes[-1] if error is None else None)
    assert all(f is None for f in finishes[:-1])
    assert [("role" in c["choices"][0]["delta"]) for c in chunks] == [True] + [False] * (len(chunks) - 1)
    assert {(c["id"], c["created"]) for c in chunks} == {(expected[0]["id"], CREATED)}
    assert state.text == "".join(streamed_text(c) for c in chunks)
    if (CASES_DIR / case / "expected_error.json").exists():
        want = load(case, "expected_error.json")
        assert (error.status, error.type, error.code, error.message) == (
            want["status"], want["type"], want["code"], want["message"])
        assert error.retryable
    else:
        assert error is None


def streamed_text(chunk: dict) -> str:
    delta = chunk["choices"][0]["delta"]
    calls = "".join(c["function"].get("arguments", "") for c in delta.get("tool_calls", []))
    return delta.get("content", "") + delta.get("reasoning_content", "") + calls


def test_stream_error_types_map_to_their_http_statuses():
    for kind, status in [("api_error", 500), ("overloaded_error", 529), ("rate_limit_error", 429),
                         ("invalid_request_error", 400), ("something_new", 500)]:
        event = b'event: error\ndata: {"type":"error","error":{"type":"%s","message":"boom"}}\n\n' % kind.encode()
        with pytest.raises(UpstreamError) as caught:
            list(ADAPTOR.convert_stream(iter_events([event]), context(), StreamState()))
        assert (caught.value.status, caught.value.type, caught.value.message) == (status, kind, "boom")


# Errors: bodies as Anthropic (and the proxy in front of it) send them.
AUTH_401 = (b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},'
            b'"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}')
RATE_429 = (b'{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate '
            b'limit for your organization of 50,000 input tokens per minute."}}')
OVERLOADED_529 = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
            b"</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n")


@pytest.mark.parametrize(("status", "body", "kind", "message", "retryable"), [
    (401, AUTH_401, "authentication_error", "invalid x-api-key", False),
    (429, RATE_429, "rate_limit_error", RATE_429.decode().split('"message":"')[1][:-3], True),
    (529, OVERLOADED_529, "overloaded_error", "Overloaded", True),
])
def test_anthropic_error_bodies_keep_their_type_as_type_and_code(status, body, kind, message, retryable):
    error = ADAPTOR.convert_error(status, body, context())
    assert (error.status, error.type, error.code, error.message) == (status, kind, kind, message)
    assert error.retryable is retryable


def test_an_html_error_page_becomes_a_one_line_error_with_the_status():
    error = ADAPTOR.convert_error(502, HTML_502, context())
    assert (error.status, error.message) == (502, "bad response status code 502")
    assert error.code == "bad_response_status_code"
    assert error.retryable


def test_an_error_body_answered_with_200_is_raised():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response(json.loads(OVERLOADED_529), context())
    assert (caught.value.status, caught.value.code) == (529, "overloaded_error")


# Headers, URL, registry.


def test_headers_carry_the_key_as_x_api_key_and_the_default_version():
    headers = ADAPTOR.request_headers(context())
    assert headers == {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01",
                       "content-type": "application/json"}


def test_headers_honour_the_clients_anthropic_version_and_beta():
    ctx = context(headers={"anthropic-version": "2024-01-01", "anthropic-beta": "prompt-caching-2024-07-31"})
    headers = ADAPTOR.request_headers(ctx)
    assert headers["anthropic-version"] == "2024-01-01"
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert "Authorization" not in headers


@pytest.mark.parametrize("base_url", ["https://api.anthropic.com", "http://127.0.0.1:8080/claude-mirror"])
def test_url_is_the_channels_base_url_plus_v1_messages(base_url):
    assert ADAPTOR.request_url(context(base_url=base_url)) == f"{base_url}/v1/messages"


def test_channel_type_14_resolves_to_the_anthropic_adaptor_for_chat_only():
    adaptor = get_adaptor(14)
    assert isinstance(adaptor, AnthropicAdaptor)
    assert adaptor.key == "anthropic"
    assert anthropic.SPEC.modes == frozenset({RelayMode.CHAT})


def test_models_list_one_apis_models_and_current_ones():
    models = list(anthropic.SPEC.models)
    assert models[:3] == ["claude-instant-1.2", "claude-2.0", "claude-2.1"]
    assert {"claude-3-5-sonnet-latest", "claude-3-7-sonnet-20250219", "claude-sonnet-4-20250514",
            "claude-opus-4-20250514"} <= set(models)
    assert len(models) == len(set(models))


# Request rules not shown by a fixture.


def convert(**body) -> dict:
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return ADAPTOR.convert_request(body, context())


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]


@pytest.mark.parametrize(("choice", "parallel", "expected"), [
    ("auto", None, {"type": "auto"}),
    ("none", None, {"type": "none"}),
    ("required", None, {"type": "any"}),
    ("any", None, {"type": "any"}),
    ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
    ("none", False, {"type": "none"}),
])
def test_tool_choice_is_mapped(choice, parallel, expected):
    body = convert(tools=TOOLS, tool_choice=choice, parallel_tool_calls=parallel)
    assert body["tool_choice"] == expected
    assert [t["name"] for t in body["tools"]] == ["f"]


def test_tool_choice_without_tools_is_not_sent():
    body = convert(tool_choice="required")
    assert "tools" not in body and "tool_choice" not in body


def test_no_tool_choice_lets_anthropic_default_to_auto():
    assert "tool_choice" not in convert(tools=TOOLS)


@pytest.mark.parametrize(("stop", "expected"), [("###", ["###"]), (["a", "", "b"], ["a", "b"]), (None, None)])
def test_stop_becomes_stop_sequences(stop, expected):
    assert convert(stop=stop).get("stop_sequences") == expected


def test_developer_messages_are_system_prompts_and_a_single_one_stays_a_string():
    body = convert(messages=[{"role": "developer", "content": "Be kind."}, {"role": "user", "content": "hi"}])
    assert body["system"] == "Be kind."


def test_invalid_or_non_object_tool_arguments_become_an_empty_object():
    calls = [{"id": f"t{i}", "type": "function", "function": {"name": "f", "arguments": arguments}}
             for i, arguments in enumerate(["{not json", "[1, 2]", None])]
    body = convert(messages=[{"role": "user", "content": "go"}, {"role": "assistant", "content": None,
                                                                    "tool_calls": calls}])
    assert [block["input"] for block in body["messages"][1]["content"]] == [{}, {}, {}]


def test_empty_messages_and_empty_text_parts_are_dropped():
    body = convert(messages=[{"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "a"}]},
                             {"role": "assistant", "content": ""},
                             {"role": "user", "content": "b"}])
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                             {"type": "text", "text": "b"}]}]


@pytest.mark.parametrize("url", ["ftp://example.com/cat.png", "data:image/png,not-base64", "data:image/png;base64"])
def test_unusable_image_urls_are_refused_locally(url):
    with pytest.raises(LocalError) as caught:
        convert(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}])
    assert caught.value.status == 400


def test_a_response_with_only_tool_calls_has_null_content():
    completion, _ = ADAPTOR.convert_response({
        "id": "msg_1", "model": "claude-3-5-haiku-20241022", "stop_reason": "tool_use",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}],
        "usage": {"input_tokens": 3, "output_tokens": 4}}, context())
    message = completion["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"][0]["function"] == {"name": "f", "arguments": "{}"}
    assert completion["choices"][0]["finish_reason"] == "tool_calls"
