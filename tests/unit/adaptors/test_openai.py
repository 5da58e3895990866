"""The OpenAI / Azure / OpenAI-compatible adaptor: upstream URLs per channel type (One API's
relay/adaptor/openai and the small vendor modules), headers, request bodies, streams replayed from
recorded SSE (tests/fixtures/wire/openai/<case>/), responses and error bodies. Pure functions only."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from oneapi.relay import channeltypes
from oneapi.relay.adaptors import get_adaptor
from oneapi.relay.adaptors.base import openai_style_error
from oneapi.relay.adaptors.openai import AZURE_DEFAULT_API_VERSION, AzureAdaptor, OpenAIAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import iter_events
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "openai"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
PATHS = {M.CHAT: "/v1/chat/completions", M.COMPLETIONS: "/v1/completions", M.EMBEDDINGS: "/v1/embeddings",
         M.MODERATIONS: "/v1/moderations", M.IMAGES: "/v1/images/generations", M.EDITS: "/v1/edits",
         M.AUDIO_SPEECH: "/v1/audio/speech"}
CF_GATEWAY = "https://gateway.ai.cloudflare.com/v1/0123456789abcdef/my-gateway"


def ctx(channel_type: int = 1, base_url: str = "", mode: M = M.CHAT, path: str | None = None,
        model: str = "gpt-4o", **overrides) -> RelayContext:
    """A context as the pipeline builds it: the base URL is the channel's or the type's default, unslashed."""
    values = {"mode": mode, "channel_id": 1, "channel_type": channel_type, "channel_name": "ch",
              "base_url": channeltypes.base_url(channel_type, base_url), "key": "sk-test", "model": model,
              "original_model": model, "path": PATHS[mode] if path is None else path, **overrides}
    return RelayContext(**values)


def url(*args, **kwargs) -> str:
    context = ctx(*args, **kwargs)
    return get_adaptor(context.channel_type).request_url(context)


# -- request URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channel_type", "base_url", "mode", "path", "expected"), [
    (1, "", M.CHAT, None, "https://api.openai.com/v1/chat/completions"),
    (1, "", M.EMBEDDINGS, None, "https://api.openai.com/v1/embeddings"),
    (1, "", M.IMAGES, None, "https://api.openai.com/v1/images/generations"),
    (1, "", M.CHAT, "/v1/chat/completions?trace=1", "https://api.openai.com/v1/chat/completions?trace=1"),
    (1, "https://mirror.example.com/openai/", M.CHAT, None, "https://mirror.example.com/openai/v1/chat/completions"),
    (0, "https://unknown.example.com", M.COMPLETIONS, None, "https://unknown.example.com/v1/completions"),
    (2, "", M.CHAT, None, "https://oa.api2d.net/v1/chat/completions"),
    (29, "", M.CHAT, None, "https://api.groq.com/openai/v1/chat/completions"),
    (36, "", M.CHAT, None, "https://api.deepseek.com/v1/chat/completions"),
    (20, "", M.CHAT, None, "https://openrouter.ai/api/v1/chat/completions"),
    (8, "https://my.host/proxy", M.CHAT, None, "https://my.host/proxy/v1/chat/completions"),
    (8, "https://my.host/proxy/", M.EMBEDDINGS, None, "https://my.host/proxy/v1/embeddings"),
])
def test_openai_paths_are_appended_to_the_base(channel_type, base_url, mode, path, expected):
    assert url(channel_type, base_url, mode, path) == expected


@pytest.mark.parametrize(("channel_type", "base_url", "mode", "expected"), [
    (50, "https://llm.example.com/api/v3", M.CHAT, "https://llm.example.com/api/v3/chat/completions"),
    (50, "https://llm.example.com/api/v3/", M.EMBEDDINGS, "https://llm.example.com/api/v3/embeddings"),
    (50, "http://127.0.0.1:8000/v1", M.CHAT, "http://127.0.0.1:8000/v1/chat/completions"),
    (51, "", M.CHAT, "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"),
    (51, "", M.EMBEDDINGS, "https://generativelanguage.googleapis.com/v1beta/openai/embeddings"),
    (51, "https://gemini.mirror.example.com/v1beta/openai/", M.CHAT,
     "https://gemini.mirror.example.com/v1beta/openai/chat/completions"),
])
def test_compatible_types_drop_v1(channel_type, base_url, mode, expected):
    assert url(channel_type, base_url, mode) == expected


@pytest.mark.parametrize(("channel_type", "mode", "expected"), [
    (27, M.CHAT, "https://api.minimax.chat/v1/text/chatcompletion_v2"),
    (40, M.CHAT, "https://ark.cn-beijing.volces.com/api/v3/chat/completions"),
    (40, M.EMBEDDINGS, "https://ark.cn-beijing.volces.com/api/v3/embeddings"),
    (41, M.CHAT, "https://api.novita.ai/v3/openai/chat/completions"),
    (47, M.CHAT, "https://qianfan.baidubce.com/v2/chat/completions"),
    (49, M.CHAT, "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"),
    (49, M.EMBEDDINGS, "https://dashscope.aliyuncs.com/compatible-mode/v1/embeddings"),
])
def test_vendors_with_fixed_paths(channel_type, mode, expected):
    assert url(channel_type, "", mode) == expected
    # The client's path and query do not matter to them.
    assert url(channel_type, "", mode, PATHS[mode] + "?x=1") == expected


def test_fixed_paths_follow_a_custom_base():
    assert url(40, "https://ark.ap-southeast.bytepluses.com/") == \
        "https://ark.ap-southeast.bytepluses.com/api/v3/chat/completions"


@pytest.mark.parametrize(("channel_type", "mode"), [
    (27, M.EMBEDDINGS), (27, M.COMPLETIONS), (40, M.COMPLETIONS), (40, M.IMAGES), (41, M.EMBEDDINGS),
    (41, M.COMPLETIONS), (47, M.EMBEDDINGS), (47, M.IMAGES), (49, M.COMPLETIONS), (49, M.IMAGES),
    (49, M.AUDIO_SPEECH), (51, M.COMPLETIONS), (51, M.MODERATIONS),
])
def test_vendors_refuse_modes_they_do_not_serve(channel_type, mode):
    with pytest.raises(LocalError) as raised:
        url(channel_type, "", mode)
    assert raised.value.code == "do_request_failed"
    assert mode.name.lower() in raised.value.message


def test_cloudflare_ai_gateway_drops_v1_for_openai():
    assert url(1, CF_GATEWAY + "/openai") == CF_GATEWAY + "/openai/chat/completions"
    assert url(1, CF_GATEWAY + "/openai/", M.EMBEDDINGS) == CF_GATEWAY + "/openai/embeddings"


# -- Azure -------------------------------------------------------------------------------------------

AZURE = "https://my-resource.openai.azure.com"


def azure(model: str = "gpt-3.5-turbo", mode: M = M.CHAT, path: str | None = None, config=None,
          base_url: str = AZURE) -> str:
    return url(3, base_url, mode, path, model=model, config=config or {})


def test_azure_chat_deployment_drops_dots_and_takes_the_configured_version():
    assert azure(config={"api_version": "2024-06-01"}) == \
        f"{AZURE}/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-06-01"


def test_azure_configured_version_replaces_the_clients():
    assert azure(path="/v1/chat/completions?api-version=2023-05-15&foo=1", config={"api_version": "2024-06-01"}) \
        == f"{AZURE}/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-06-01"


def test_azure_version_from_the_clients_query_when_none_is_configured():
    assert azure(path="/v1/chat/completions?foo=1&api-version=2024-02-01") == \
        f"{AZURE}/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-02-01"


def test_azure_default_version():
    assert AZURE_DEFAULT_API_VERSION[:4].isdigit()
    assert azure(model="gpt-4o") == \
        f"{AZURE}/openai/deployments/gpt-4o/chat/completions?api-version={AZURE_DEFAULT_API_VERSION}"


def test_azure_images_keep_the_dots():
    assert azure(model="dall-e-3.5", mode=M.IMAGES, config={"api_version": "2024-10-21"}) == \
        f"{AZURE}/openai/deployments/dall-e-3.5/images/generations?api-version=2024-10-21"


def test_azure_other_tasks_follow_the_path():
    assert azure(model="text-embedding-3-small", mode=M.EMBEDDINGS, config={"api_version": "2024-10-21"}) == \
        f"{AZURE}/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
    assert azure(model="gpt-3.5-turbo-instruct", mode=M.COMPLETIONS, config={"api_version": "2024-10-21"}) == \
        f"{AZURE}/openai/deployments/gpt-35-turbo-instruct/completions?api-version=2024-10-21"


def test_azure_deployment_is_the_mapped_model():
    context = ctx(3, AZURE, model="gpt-4.1", original_model="gpt-4o", config={"api_version": "2024-10-21"})
    assert AzureAdaptor().request_url(context) == \
        f"{AZURE}/openai/deployments/gpt-41/chat/completions?api-version=2024-10-21"


def test_azure_through_the_cloudflare_gateway_drops_openai_deployments():
    base = CF_GATEWAY + "/azure-openai/my-resource"
    assert azure(base_url=base, config={"api_version": "2024-10-21"}) == \
        f"{base}/gpt-35-turbo/chat/completions?api-version=2024-10-21"


# -- headers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel_type", [1, 8, 36, 50, 51])
def test_bearer_headers(channel_type):
    headers = get_adaptor(channel_type).request_headers(ctx(channel_type, "https://x.example.com"))
    assert headers == {"Authorization": "Bearer sk-test", "Content-Type": "application/json"}


def test_azure_uses_the_api_key_header():
    headers = get_adaptor(3).request_headers(ctx(3, AZURE))
    assert headers == {"api-key": "sk-test", "Content-Type": "application/json"}


def test_openrouter_adds_its_two_headers():
    headers = get_adaptor(20).request_headers(ctx(20))
    assert headers["Authorization"] == "Bearer sk-test"
    assert headers["HTTP-Referer"] == "https://github.com/songquanpeng/one-api"
    assert headers["X-Title"] == "One API"
    assert "HTTP-Referer" not in get_adaptor(1).request_headers(ctx(1))


@pytest.mark.parametrize("channel_type", [1, 3, 20, 50])
def test_streams_accept_event_streams(channel_type):
    adaptor = get_adaptor(channel_type)
    assert adaptor.request_headers(ctx(channel_type, AZURE, stream=True))["Accept"] == "text/event-stream"
    assert "Accept" not in adaptor.request_headers(ctx(channel_type, AZURE))


# -- request bodies ----------------------------------------------------------------------------------

BODY = {"model": "my-mapped-model", "messages": [{"role": "user", "content": "hi"}], "n": 0, "seed": 0,
        "custom_field": {"kept": True}}


@pytest.mark.parametrize("channel_type", [1, 3, 8, 20, 36, 40, 50, 51])
def test_non_stream_bodies_are_forwarded_unchanged(channel_type):
    context = ctx(channel_type, AZURE, model="my-mapped-model", config={"enforce_include_usage": True})
    assert get_adaptor(channel_type).convert_request(copy.deepcopy(BODY), context) == BODY


@pytest.mark.parametrize(("channel_type", "mode"), [(1, M.CHAT), (3, M.CHAT), (1, M.COMPLETIONS)])
def test_openai_and_azure_streams_ask_for_usage(channel_type, mode):
    body = {**BODY, "stream": True}
    converted = get_adaptor(channel_type).convert_request(copy.deepcopy(body), ctx(channel_type, AZURE, mode,
                                                                                   stream=True))
    assert converted == {**body, "stream_options": {"include_usage": True}}


def test_other_vendors_streams_are_left_alone():
    body = {**BODY, "stream": True}
    assert get_adaptor(36).convert_request(copy.deepcopy(body), ctx(36, stream=True)) == body


def test_enforce_include_usage_asks_any_vendor():
    body = {**BODY, "stream": True}
    converted = get_adaptor(36).convert_request(copy.deepcopy(body), ctx(36, stream=True,
                                                                         config={"enforce_include_usage": True}))
    assert converted["stream_options"] == {"include_usage": True}


def test_the_clients_own_stream_options_are_kept():
    body = {**BODY, "stream": True, "stream_options": {"include_usage": False, "chunk_size": 4}}
    converted = get_adaptor(1).convert_request(copy.deepcopy(body), ctx(1, stream=True))
    assert converted["stream_options"] == {"include_usage": True, "chunk_size": 4}
    asked = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    assert get_adaptor(36).convert_request(copy.deepcopy(asked), ctx(36, stream=True, client_wants_usage=True)) \
        == asked


def test_embeddings_are_never_given_stream_options():
    body = {"model": "text-embedding-3-small", "input": ["a", "b"]}
    assert get_adaptor(1).convert_request(dict(body), ctx(1, mode=M.EMBEDDINGS)) == body


# -- streams replayed from recordings ----------------------------------------------------------------


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def case_context(case: str, **overrides) -> RelayContext:
    request = load(case, "openai_request.json")
    extra = load(case, "context.json")
    mode = M[extra.pop("mode", "CHAT")]
    options = request.get("stream_options") or {}
    values = {"model": request["model"], "stream": bool(request.get("stream")),
              "client_wants_usage": options.get("include_usage") is True, **extra, **overrides}
    return ctx(values.pop("channel_type"), values.pop("base_url"), mode, **values)



def replay(case: str, size: int = 0, **overrides) -> tuple[list[bytes], StreamState]:
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    context = case_context(case, **overrides)
    state = StreamState()
    chunks = odd_chunks(raw, size) if size else [raw]
    forwarded = list(get_adaptor(context.channel_type).convert_stream(iter_events(chunks), context, state))
    return forwarded, state


def expected_lines(case: str) -> list[bytes]:
    return (CASES_DIR / case / "expected.jsonl").read_bytes().splitlines()


@pytest.mark.parametrize("case", CASES)
def test_recorded_request_becomes_the_recorded_upstream_request(case):
    context = case_context(case)
    body = get_adaptor(context.channel_type).convert_request(load(case, "openai_request.json"), context)
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("size", [0, 1, 7, 64])
@pytest.mark.parametrize("case", CASES)
def test_stream_chunks_are_forwarded_byte_identical(case, size):
    forwarded, _ = replay(case, size)
    assert forwarded == expected_lines(case)
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    for line in forwarded:
        assert isinstance(line, bytes)
        assert b"data: " + line + b"\n" in raw.replace(b"\r\n", b"\n")


@pytest.mark.parametrize("case", CASES)
def test_stream_state_records_text_usage_and_finish(case):
    _, state = replay(case, 5)
    expected = load(case, "expected_state.json")
    assert state.text == expected["text"]
    assert state.finish_reason == expected["finish_reason"]
    usage = expected["usage"]
    assert (state.usage and {"prompt_tokens": state.usage.prompt_tokens,
                             "completion_tokens": state.usage.completion_tokens}) == usage
    assert state.usage_forwarded is expected["usage_forwarded"]


def test_the_usage_only_chunk_reaches_only_clients_that_asked():
    not_asked, state = replay("usage_chunk")
    asked, asked_state = replay("usage_chunk", client_wants_usage=True)
    assert asked[:-1] == not_asked
    last = json.loads(asked[-1])
    assert last["choices"] == [] and last["usage"]["total_tokens"] == 18
    assert all(json.loads(line)["choices"] for line in not_asked)
    assert state.usage.total_tokens == asked_state.usage.total_tokens == 18
    assert (state.usage_forwarded, asked_state.usage_forwarded) == (False, True)


def test_azure_prompt_filter_chunk_is_dropped():
    forwarded, _ = replay("azure_content_filter")
    assert not any(b"prompt_filter_results" in line for line in forwarded)
    assert all(json.loads(line)["choices"] for line in forwarded)


def stream(*data: str, **overrides) -> tuple[list[bytes], StreamState]:
    raw = "".join(f"data: {d}\n\n" for d in data).encode()
    context = ctx(36, stream=True, **overrides)
    state = StreamState()
    return list(get_adaptor(36).convert_stream(iter_events([raw]), context, state)), state


def test_nothing_after_done_is_forwarded():
    chunk = '{"choices":[{"index":0,"delta":{"content":"a"}}]}'
    forwarded, state = stream(chunk, "[DONE]", chunk)
    assert forwarded == [chunk.encode()] and state.text == "a"


def test_unparsable_data_is_skipped():
    chunk = '{"choices":[{"index":0,"delta":{"content":"ok"}}]}'
    forwarded, state = stream("not json", "[1,2]", '"text"', chunk)
    assert forwarded == [chunk.encode()] and state.text == "ok"


def test_an_error_object_is_forwarded_and_ends_the_stream():
    error = '{"error":{"message":"The server is overloaded","type":"server_error","code":null}}'
    chunk = '{"choices":[{"index":0,"delta":{"content":"late"}}]}'
    forwarded, state = stream('{"choices":[{"index":0,"delta":{"content":"a"}}]}', error, chunk)
    assert forwarded[-1] == error.encode() and len(forwarded) == 2
    assert state.text == "a"


def test_reasoning_content_counts_as_text():
    forwarded, state = stream('{"choices":[{"index":0,"delta":{"reasoning_content":"think "}}]}',
                              '{"choices":[{"index":0,"delta":{"content":"answer"}}]}')
    assert len(forwarded) == 2 and state.text == "think answer"


def test_a_usage_chunk_with_choices_is_forwarded_to_everyone():
    chunk = '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,' \
            '"completion_tokens":2,"total_tokens":5}}'
    forwarded, state = stream(chunk)
    assert forwarded == [chunk.encode()]
    assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (3, 2)
    assert state.finish_reason == "stop"


# -- non-stream responses ----------------------------------------------------------------------------


def test_response_usage_is_read_and_the_body_kept():
    body = {"id": "chatcmpl-1", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}}
    converted, usage = OpenAIAdaptor().convert_response(body, ctx())
    assert converted is body
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (9, 1, 10)
    assert usage.source == "upstream"


@pytest.mark.parametrize("usage", [None, {}, {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, "x"])
def test_response_without_usage_gives_none(usage):
    body = {"id": "chatcmpl-1", "choices": []}
    if usage is not None:
        body["usage"] = usage
    converted, found = OpenAIAdaptor().convert_response(body, ctx())
    assert converted is body and found is None


def test_embeddings_usage_has_no_completion():
    body = {"object": "list", "data": [], "usage": {"prompt_tokens": 8, "total_tokens": 8}}
    _, usage = OpenAIAdaptor().convert_response(body, ctx(mode=M.EMBEDDINGS))
    assert (usage.prompt_tokens, usage.completion_tokens) == (8, 0)


# -- upstream errors ---------------------------------------------------------------------------------


def test_openai_error_object_is_taken_whole():
    body = b'{"error":{"message":"Incorrect API key provided: sk-up***.","type":"invalid_request_error",' \
           b'"param":null,"code":"invalid_api_key"}}'
    error = openai_style_error(401, body)
    assert isinstance(error, UpstreamError)
    assert (error.status, error.message, error.type, error.code, error.param) == (
        401, "Incorrect API key provided: sk-up***.", "invalid_request_error", "invalid_api_key", "")
    assert error.retryable is False


def test_error_object_keeps_its_param():
    body = json.dumps({"error": {"message": "bad", "type": "invalid_request_error", "param": "messages",
                                 "code": None}}).encode()
    error = openai_style_error(400, body)
    assert (error.param, error.code) == ("messages", "")


@pytest.mark.parametrize(("body", "message"), [
    ({"message": "Insufficient balance"}, "Insufficient balance"),
    ({"msg": "rate limited"}, "rate limited"),
    ({"err": "no such model"}, "no such model"),
    ({"error_msg": "Open api qps request limit reached"}, "Open api qps request limit reached"),
    ({"header": {"code": 10163, "message": "invalid app id"}}, "invalid app id"),
    ({"response": {"error": {"message": "quota exceeded"}}}, "quota exceeded"),
    ({"error": "model overloaded"}, "model overloaded"),
])
def test_message_only_bodies(body, message):
    error = openai_style_error(429, json.dumps(body).encode())
    assert (error.status, error.message, error.type, error.code, error.param) == (
        429, message, "upstream_error", "bad_response_status_code", "429")
    assert error.retryable is True


@pytest.mark.parametrize("body", [
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    b"<!DOCTYPE html>\n<html lang=en><title>Error</title><p>Cloudflare</p></html>",
    b"  \n<HTML><BODY>oops</BODY></HTML>",
    b"",
    b"   ",
])
def test_html_pages_and_empty_bodies_become_the_status(body):
    error = openai_style_error(502, body)
    assert error.message == "bad response status code 502"
    assert (error.type, error.code, error.param) == ("upstream_error", "bad_response_status_code", "502")
    assert "<" not in error.message


def test_plain_text_bodies_are_kept_short():
    error = openai_style_error(500, b"upstream exploded " * 100)
    assert error.message.startswith("upstream exploded") and len(error.message) <= 500


def test_json_without_any_message_falls_back_to_its_text():
    error = openai_style_error(503, b'{"status":"unavailable"}')
    assert error.status == 503 and "unavailable" in error.message


def test_adaptor_convert_error_uses_openai_style():
    error = OpenAIAdaptor().convert_error(404, b'{"error":{"message":"The model does not exist",'
                                               b'"type":"invalid_request_error","code":"model_not_found"}}', ctx())
    assert (error.status, error.code, error.message) == (404, "model_not_found", "The model does not exist")
