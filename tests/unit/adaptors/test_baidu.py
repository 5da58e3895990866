"""The Baidu ERNIE adaptor against recorded wire fixtures (tests/fixtures/wire/baidu/<case>/), plus the
access-token exchange, the URLs and the error mapping. Pure functions only: no network, no app."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from oneapi.relay.adaptors import baidu, get_adaptor
from oneapi.relay.adaptors.baidu import BaiduAdaptor
from oneapi.relay.adaptors.base import Call, Credential
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent, iter_events
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "baidu"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.sse").exists()]
CREATED = 1700000000
ADAPTOR = BaiduAdaptor()
KEY = "Y2kX9aPiKey|s3cr3tSecretKey"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(baidu, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "ERNIE-4.0-8K"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 15, "channel_name": "ernie",
        "base_url": "https://aip.baidubce.com", "key": KEY, "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")),
        "credential": "24.6c5e1ff107f0e8bcef8c46d3424a0e78.2592000.1485516651.282335-8574074", **extra, **overrides,
    }
    values["mode"] = RelayMode(values["mode"])
    return RelayContext(**values)


def run_stream(case: str, size: int) -> tuple[list[dict], StreamState, Exception | None]:
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    return wire.translate_stream(ADAPTOR, iter_events(odd_chunks(raw, size)), context(case))


# -- fixtures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_the_ernie_body(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_translated_with_baidus_usage(case):
    converted, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    expected = load(case, "expected.json")
    assert converted == expected
    assert (usage.prompt_tokens, usage.total_tokens) == (expected["usage"]["prompt_tokens"],
                                                         expected["usage"]["total_tokens"])
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
    assert state.text == "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert [("role" in c["choices"][0]["delta"]) for c in chunks] == [True] + [False] * (len(chunks) - 1)
    assert {(c["id"], c["created"]) for c in chunks} == {(expected[0]["id"], CREATED)}
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert all(f is None for f in finishes[:-1])
    if (CASES_DIR / case / "expected_error.json").exists():
        want = load(case, "expected_error.json")
        assert (error.status, error.type, error.code, error.message) == (
            want["status"], want["type"], want["code"], want["message"])
        assert state.finish_reason is None
    else:
        assert error is None
        assert state.finish_reason == finishes[-1] == "stop"


def test_a_streamed_function_call_becomes_a_tool_call_chunk():
    event = {"id": "as-fc9", "object": "chat.completion", "created": 1, "sentence_id": 0, "is_end": True,
             "result": "", "finish_reason": "function_call",
             "function_call": {"name": "get_weather", "arguments": "{\"city\":\"Wuhan\"}", "thoughts": "..."},
             "usage": {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26}}
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream([SSEEvent("message", json.dumps(event))], context(stream=True), state))
    assert chunks == [{"id": "chatcmpl-as-fc9", "object": "chat.completion.chunk", "created": CREATED,
                       "model": "ERNIE-4.0-8K", "choices": [{"index": 0, "finish_reason": "tool_calls", "delta": {
                           "role": "assistant", "tool_calls": [{"index": 0, "id": "call_as-fc9", "type": "function",
                                                                "function": {"name": "get_weather",
                                                                             "arguments": "{\"city\":\"Wuhan\"}"}}]}}]}]
    assert (state.usage.prompt_tokens, state.usage.completion_tokens, state.finish_reason) == (20, 6, "tool_calls")


# -- the access token ---------------------------------------------------------------------------


def test_the_credential_is_fetched_from_the_channels_base_url_with_both_halves_of_the_key():
    call = ADAPTOR.credential(context(base_url="http://127.0.0.1:9999/baidu"), now=1000.0)
    assert isinstance(call, Call)
    assert call.method == "POST"
    parts = urlsplit(call.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://127.0.0.1:9999/baidu/oauth/2.0/token"
    assert parse_qs(parts.query) == {"grant_type": ["client_credentials"], "client_id": ["Y2kX9aPiKey"],
                                     "client_secret": ["s3cr3tSecretKey"]}


def test_key_halves_are_url_encoded():
    call = ADAPTOR.credential(context(key="id+1&x| sec/ret= "), now=0)
    assert parse_qs(urlsplit(call.url).query)["client_id"] == ["id+1&x"]
    assert parse_qs(urlsplit(call.url).query)["client_secret"] == ["sec/ret="]


@pytest.mark.parametrize("key", ["only-one-part", "|secret", "api|", "a|b|c", ""])
def test_a_key_that_is_not_apikey_bar_secretkey_is_refused(key):
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.credential(context(key=key), now=0)
    assert caught.value.status == 401
    assert "APIKey|SecretKey" in caught.value.message


TOKEN_ANSWER = json.dumps({
    "refresh_token": "25.b55fe1d287227ca97aab219bb249b8ab.315360000.1798284651.282335-8574074",
    "expires_in": 2592000, "session_key": "9mzdDZXu3dENdFZQurfg0Vz8slgSgvvOAUebNFzyzcpQ5EnbxbF+hfG9DQkpUVQdh4p6",
    "access_token": "24.6c5e1ff107f0e8bcef8c46d3424a0e78.2592000.1485516651.282335-8574074",
    "scope": "public wise_adapt", "session_secret": "dfac94a3489fe9fca7c3221cbf7525ff"}).encode()


def test_the_token_answer_gives_the_credential_and_its_expiry():
    credential = ADAPTOR.read_credential(context(), 200, TOKEN_ANSWER, now=1_000_000.0)
    assert credential == Credential("24.6c5e1ff107f0e8bcef8c46d3424a0e78.2592000.1485516651.282335-8574074",
                                    1_000_000.0 + 2592000)


@pytest.mark.parametrize(("status", "body", "message", "code"), [
    (401, b'{"error":"invalid_client","error_description":"unknown client id"}', "unknown client id",
     "invalid_client"),
    (401, b'{"error":"invalid_client","error_description":"Client authentication failed"}',
     "Client authentication failed", "invalid_client"),
    (200, b'{"error":"unsupported_grant_type","error_description":"The authorization grant type is not supported"}',
     "The authorization grant type is not supported", "unsupported_grant_type"),
])
def test_a_token_refusal_is_an_upstream_error(status, body, message, code):
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.read_credential(context(), status, body, now=0)
    assert (caught.value.status, caught.value.message, caught.value.type, caught.value.code) == (
        401 if status < 400 else status, message, "baidu_error", code)


# -- URLs and headers -----------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "mode", "path"), [
    ("ERNIE-4.0-8K", RelayMode.CHAT, "chat/completions_pro"),
    ("ERNIE-3.5-8K", RelayMode.CHAT, "chat/completions"),
    ("ERNIE-Speed-8K", RelayMode.CHAT, "chat/ernie_speed"),
    ("ERNIE-Speed-128K", RelayMode.CHAT, "chat/ernie-speed-128k"),
    ("ERNIE-Lite-8K-0922", RelayMode.CHAT, "chat/eb-instant"),
    ("ERNIE-Lite-8K-0308", RelayMode.CHAT, "chat/ernie-lite-8k"),
    ("ERNIE-Bot-8K", RelayMode.CHAT, "chat/ernie_bot_8k"),
    ("BLOOMZ-7B", RelayMode.CHAT, "chat/bloomz_7b1"),
    ("ERNIE-4.0-Turbo-8K", RelayMode.CHAT, "chat/ernie-4.0-turbo-8k"),
    ("Embedding-V1", RelayMode.EMBEDDINGS, "embeddings/embedding-v1"),
    ("bge-large-en", RelayMode.EMBEDDINGS, "embeddings/bge_large_en"),
    ("tao-8k", RelayMode.EMBEDDINGS, "embeddings/tao_8k"),
])
def test_url_names_the_models_endpoint_and_carries_the_access_token(model, mode, path):
    url = ADAPTOR.request_url(context(model=model, mode=mode, base_url="http://127.0.0.1:8080/mirror",
                                      credential="24.abc.2592000.1-2"))
    assert url == f"http://127.0.0.1:8080/mirror/rpc/2.0/ai_custom/v1/wenxinworkshop/{path}?access_token=24.abc.2592000.1-2"


def test_headers_carry_no_authorization():
    assert ADAPTOR.request_headers(context()) == {"Content-Type": "application/json"}


def test_channel_type_15_is_baidu_for_chat_and_embeddings():
    adaptor = get_adaptor(15)
    assert isinstance(adaptor, BaiduAdaptor)
    assert adaptor.supports(15, RelayMode.EMBEDDINGS) and adaptor.supports(15, RelayMode.CHAT)
    assert not adaptor.supports(15, RelayMode.IMAGES)
    assert baidu.SPEC.key_format == "APIKey|SecretKey"
    assert "47" in baidu.SPEC.notice.zh and "47" in baidu.SPEC.notice.en


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "status", "code", "message"), [
    (b'{"error_code":110,"error_msg":"Access token invalid or no longer valid"}', 401, 110,
     "Access token invalid or no longer valid"),
    (b'{"error_code":111,"error_msg":"Access token expired"}', 401, 111, "Access token expired"),
    (b'{"error_code":18,"error_msg":"Open api qps request limit reached"}', 429, 18,
     "Open api qps request limit reached"),
    (b'{"error_code":336501,"error_msg":"Rate limit reached for RPM"}', 429, 336501, "Rate limit reached for RPM"),
    (b'{"error_code":336003,"error_msg":"the first message role must be user"}', 400, 336003,
     "the first message role must be user"),
    (b'{"error_code":336000,"error_msg":"Internal error"}', 500, 336000, "Internal error"),
    (b'{"error_code":999999,"error_msg":"something new"}', 500, 999999, "something new"),
])
def test_baidu_errors_answered_with_200_get_the_status_their_code_means(body, status, code, message):
    error = ADAPTOR.convert_error(200, body, context())
    assert (error.status, error.type, error.code, error.message) == (status, "baidu_error", code, message)
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response(json.loads(body), context())
    assert (caught.value.status, caught.value.code) == (status, code)


def test_an_unknown_code_keeps_a_real_error_status():
    error = ADAPTOR.convert_error(503, b'{"error_code":424242,"error_msg":"busy"}', context())
    assert (error.status, error.code, error.message) == (503, 424242, "busy")


def test_an_error_body_in_answer_to_embeddings_is_raised():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response({"error_code": 336001, "error_msg": "Invalid Argument"},
                                 context(mode=RelayMode.EMBEDDINGS, model="Embedding-V1"))
    assert (caught.value.status, caught.value.message) == (400, "Invalid Argument")


def test_an_html_gateway_page_is_one_line():
    error = ADAPTOR.convert_error(502, b"<html><body>502 Bad Gateway</body></html>", context())
    assert (error.status, error.message) == (502, "bad response status code 502")


# -- request rules not shown by a fixture -----------------------------------------------------------


def convert(**body) -> dict:
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return ADAPTOR.convert_request(body, context())


@pytest.mark.parametrize(("penalty", "sent"), [(0, None), (0.5, None), (1.0, 1.0), (2.0, 2.0), (2.5, None)])
def test_frequency_penalty_is_sent_only_inside_baidus_range(penalty, sent):
    assert convert(frequency_penalty=penalty).get("penalty_score") == sent


def test_several_system_messages_are_joined():
    body = convert(messages=[{"role": "system", "content": "A"}, {"role": "developer", "content": "B"},
                             {"role": "user", "content": "hi"}])
    assert body["system"] == "A\nB"
    assert body["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("value", [7, [1, 2], ["ok", 3], [], None])
def test_embedding_inputs_must_be_texts(value):
    with pytest.raises(LocalError) as caught:
        ADAPTOR.convert_request({"model": "Embedding-V1", "input": value},
                                context(mode=RelayMode.EMBEDDINGS, model="Embedding-V1"))
    assert caught.value.status == 400


def test_a_single_embedding_input_becomes_a_list():
    body = ADAPTOR.convert_request({"model": "tao-8k", "input": "hello"}, context(mode=RelayMode.EMBEDDINGS))
    assert body == {"input": ["hello"]}


def test_a_flagged_answer_is_a_content_filter_finish():
    answer, _ = ADAPTOR.convert_response({"id": "as-x", "result": "我无法回答。", "need_clear_history": True,
                                          "ban_round": -1, "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
                                         context())
    assert answer["choices"][0]["finish_reason"] == "content_filter"
