"""The Tencent Hunyuan adaptor against wire fixtures (tests/fixtures/wire/tencent/<case>/), the TC3
signer against Tencent's published example, and the error mapping. Pure functions only."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import get_adaptor, tencent
from oneapi.relay.adaptors.base import Call
from oneapi.relay.adaptors.tencent import TencentAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import iter_events
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "tencent"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.sse").exists()]
CREATED = 1700000000
ADAPTOR = TencentAdaptor()
KEY = "1300000000|AKIDtestSecretId0123456789|testSecretKey0123456789abcdef"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(tencent, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "hunyuan-lite"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    if "mode" in extra:
        extra["mode"] = RelayMode(extra["mode"])
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 23, "channel_name": "hunyuan",
        "base_url": "https://hunyuan.tencentcloudapi.com", "key": KEY, "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")), **extra, **overrides,
    }
    return RelayContext(**values)


def run_stream(case: str, size: int) -> tuple[list[dict], StreamState, Exception | None]:
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    return wire.translate_stream(ADAPTOR, iter_events(odd_chunks(raw, size)), context(case))


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_the_hunyuan_body(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_translated_to_the_openai_answer(case):
    answer, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    wire.assert_answer(answer, usage, load(case, "expected.json"))


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_is_translated_to_chunks_whatever_the_chunk_boundaries(case, size):
    chunks, state, error = run_stream(case, size)
    expected = wire.expected_chunks(CASES_DIR, case)
    assert chunks == expected
    usage = load(case, "expected_usage.json")
    assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (usage["prompt_tokens"],
                                                                          usage["completion_tokens"])
    wire.assert_one_stream(chunks, state, error)
    wire.assert_error(CASES_DIR, case, error)


def test_stream_tool_call_pieces_are_merged_by_id():
    events = [
        {"Id": "s1", "Created": 1716360600, "Choices": [{"Delta": {"Role": "assistant", "Content": "", "ToolCalls": [
            {"Id": "call_a", "Type": "function", "Function": {"Name": "get_weather", "Arguments": "{\"city\":"}}]},
            "FinishReason": ""}]},
        {"Id": "s1", "Created": 1716360600, "Choices": [{"Delta": {"Role": "assistant", "Content": "", "ToolCalls": [
            {"Id": "call_a", "Type": "function", "Function": {"Name": "get_weather", "Arguments": "\"北京\"}"}}]},
            "FinishReason": ""}]},
        {"Id": "s1", "Created": 1716360600, "Choices": [{"Delta": {"Role": "assistant", "Content": ""},
                                                         "FinishReason": "tool_calls"}],
         "Usage": {"PromptTokens": 90, "CompletionTokens": 20, "TotalTokens": 110}},
    ]
    raw = b"".join(b"data: " + json.dumps(e, ensure_ascii=False).encode() + b"\n\n" for e in events)
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_events(odd_chunks(raw, 7)), context(stream=True), state))
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "tool_calls": [
        {"index": 0, "id": "call_a", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\":"}}]}
    assert deltas[1] == {"tool_calls": [{"index": 0, "function": {"arguments": "\"北京\"}"}}]}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (90, 20)



def test_a_client_asking_for_usage_gets_hunyuans_usage_under_the_streams_id():
    raw = (CASES_DIR / "stream_text" / "upstream.sse").read_bytes()
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_events(odd_chunks(raw, 5)),
                                         context("stream_text", client_wants_usage=True), state))
    assert chunks[-1] == {"id": "chatcmpl-e1e2e3e4-5555-4666-8777-888899990000", "object": "chat.completion.chunk",
                          "created": 1716360400, "model": "hunyuan-standard", "choices": [],
                          "usage": {"prompt_tokens": 9, "completion_tokens": 11, "total_tokens": 20}}
    assert state.usage_forwarded
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"

# -- TC3-HMAC-SHA256 -----------------------------------------------------------------------------

# Tencent's worked example ("Signature v3", CVM DescribeInstances): the documented CanonicalRequest
# hashes to 5ffe6a04…, and the documented signature is 72e494ea….
DOC_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
DOC_SIGNATURE = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"


def test_signer_reproduces_tencents_documented_example():
    value = tencent.authorization(
        "AKID**********************0123456789EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", 1551113065,
        {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}, DOC_PAYLOAD)
    assert value == ("TC3-HMAC-SHA256 Credential=AKID**********************0123456789EXAMPLE/2019-02-25/cvm/"
                     f"tc3_request, SignedHeaders=content-type;host, Signature={DOC_SIGNATURE}")


def by_hand(secret_key: str, timestamp: int, date: str, host: str, action: str, body: bytes) -> str:
    """The documented algorithm written out step by step, independently of the adaptor's code."""
    canonical = ("POST\n/\n\n"
                 f"content-type:application/json\nhost:{host}\nx-tc-action:{action.lower()}\n\n"
                 "content-type;host;x-tc-action\n" + hashlib.sha256(body).hexdigest())
    to_sign = (f"TC3-HMAC-SHA256\n{timestamp}\n{date}/hunyuan/tc3_request\n"
               + hashlib.sha256(canonical.encode()).hexdigest())
    k_date = hmac.new(b"TC3" + secret_key.encode(), date.encode(), hashlib.sha256).digest()
    k_service = hmac.new(k_date, b"hunyuan", hashlib.sha256).digest()
    k_signing = hmac.new(k_service, b"tc3_request", hashlib.sha256).digest()
    return hmac.new(k_signing, to_sign.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(("base_url", "host"), [
    ("https://hunyuan.tencentcloudapi.com", "hunyuan.tencentcloudapi.com"),
    ("http://127.0.0.1:8421", "127.0.0.1:8421"),
    ("https://Hunyuan.Mirror.example/tc", "hunyuan.mirror.example"),
])
def test_sign_signs_the_final_bytes_and_the_host_of_the_base_url(base_url, host):
    ctx = context(base_url=base_url)
    body = json.dumps(ADAPTOR.convert_request({"messages": [{"role": "user", "content": "你好"}]}, ctx),
                      ensure_ascii=False).encode()
    call = Call("POST", ADAPTOR.request_url(ctx), ADAPTOR.request_headers(ctx), body)
    # 2019-02-26 00:44:25 in UTC+8 but still 2019-02-25 in UTC: the scope takes the UTC date.
    signed = ADAPTOR.sign(ctx, call, 1551113065.9)
    assert signed.url == f"{base_url}/" and signed.body == body
    assert signed.headers["Host"] == host
    assert signed.headers["X-TC-Action"] == "ChatCompletions"
    assert signed.headers["X-TC-Version"] == "2023-09-01"
    assert signed.headers["X-TC-Timestamp"] == "1551113065"
    assert signed.headers["Content-Type"] == "application/json"
    signature = by_hand("testSecretKey0123456789abcdef", 1551113065, "2019-02-25", host, "ChatCompletions", body)
    assert signed.headers["Authorization"] == (
        "TC3-HMAC-SHA256 Credential=AKIDtestSecretId0123456789/2019-02-25/hunyuan/tc3_request, "
        f"SignedHeaders=content-type;host;x-tc-action, Signature={signature}")
    assert "Authorization" not in call.headers  # the unsigned call is left as it was


def test_embeddings_are_signed_as_get_embedding():
    ctx = context(mode=RelayMode.EMBEDDINGS, model="hunyuan-embedding")
    call = Call("POST", ADAPTOR.request_url(ctx), ADAPTOR.request_headers(ctx), b'{"InputList":["x"]}')
    signed = ADAPTOR.sign(ctx, call, 1716360000)
    assert signed.headers["X-TC-Action"] == "GetEmbedding"
    signature = by_hand("testSecretKey0123456789abcdef", 1716360000, "2024-05-22", "hunyuan.tencentcloudapi.com",
                        "GetEmbedding", b'{"InputList":["x"]}')
    assert signed.headers["Authorization"].endswith(f"Signature={signature}")


@pytest.mark.parametrize(("key", "expected"), [
    (KEY, ("AKIDtestSecretId0123456789", "testSecretKey0123456789abcdef")),
    ("AKIDonly|secret", ("AKIDonly", "secret")),
    (" 123 | AKID | sk ", ("AKID", "sk")),
])
def test_key_is_appid_secretid_secretkey(key, expected):
    assert tencent.parse_key(key) == expected


@pytest.mark.parametrize("key", ["", "just-one-part", "a|b|c|d", "123||sk"])
def test_a_malformed_key_is_refused_before_anything_is_sent(key):
    ctx = context(key=key)
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.sign(ctx, Call("POST", ADAPTOR.request_url(ctx), ADAPTOR.request_headers(ctx), b"{}"), 1716360000)
    assert (caught.value.status, caught.value.code) == (401, "invalid_key_format")
    assert "AppId|SecretId|SecretKey" in caught.value.message


# -- errors ----------------------------------------------------------------------------------------

def error_body(code: str, message: str) -> dict:
    return {"Response": {"Error": {"Code": code, "Message": message},
                         "RequestId": "6b3c1f0a-0e0e-4a4a-9b9b-123412341234"}}


@pytest.mark.parametrize(("code", "status", "retryable"), [
    ("AuthFailure.SignatureFailure", 401, False),
    ("AuthFailure.SecretIdNotFound", 401, False),
    ("LimitExceeded", 429, True),
    ("RequestLimitExceeded", 429, True),
    ("InvalidParameterValue.Model", 400, False),
    ("MissingParameter", 400, False),
    ("FailedOperation.ServiceNotActivated", 403, False),
    ("FailedOperation.EngineRequestTimeout", 504, True),
    ("InternalError", 500, True),
    ("SomethingNew.Unheard", 500, True),
])
def test_an_error_answered_with_200_is_raised_with_the_status_its_code_means(code, status, retryable):
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response(error_body(code, "问题描述"), context())
    error = caught.value
    assert (error.status, error.type, error.code, error.message) == (status, "tencent_error", code, "问题描述")
    assert error.param == "6b3c1f0a-0e0e-4a4a-9b9b-123412341234"
    assert error.retryable is retryable


def test_a_json_error_to_a_stream_request_is_mapped_the_same_way():
    body = json.dumps(error_body("AuthFailure.SignatureFailure", "The provided credentials could not be validated."))
    error = ADAPTOR.convert_error(502, body.encode(), context(stream=True))
    assert (error.status, error.type, error.code) == (401, "tencent_error", "AuthFailure.SignatureFailure")
    assert error.message == "The provided credentials could not be validated."


def test_a_stream_event_with_a_response_error_is_raised():
    raw = b'data: ' + json.dumps(error_body("LimitExceeded", "quota")).encode() + b"\n\n"
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream(iter_events([raw]), context(stream=True), StreamState()))
    assert (caught.value.status, caught.value.code) == (429, "LimitExceeded")


def test_a_gateway_page_becomes_a_one_line_error_with_the_status():
    error = ADAPTOR.convert_error(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", context())
    assert (error.status, error.message) == (502, "bad response status code 502")


# -- URL, headers, registry ------------------------------------------------------------------------

@pytest.mark.parametrize("base_url", ["https://hunyuan.tencentcloudapi.com", "http://127.0.0.1:9000/mirror"])
def test_url_is_the_base_url_root(base_url):
    assert ADAPTOR.request_url(context(base_url=base_url)) == f"{base_url}/"


def test_unsigned_headers_name_the_action_and_version():
    assert ADAPTOR.request_headers(context()) == {
        "Content-Type": "application/json", "Host": "hunyuan.tencentcloudapi.com",
        "X-TC-Action": "ChatCompletions", "X-TC-Version": "2023-09-01"}


def test_a_single_embedding_input_is_a_one_item_list():
    ctx = context(mode=RelayMode.EMBEDDINGS, model="hunyuan-embedding")
    assert ADAPTOR.convert_request({"input": "你好"}, ctx) == {"InputList": ["你好"]}


def test_developer_messages_are_system_and_required_tool_choice_is_auto():
    body = ADAPTOR.convert_request({
        "messages": [{"role": "developer", "content": [{"type": "text", "text": "简洁"}]},
                     {"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required"}, context())
    assert body["Messages"][0] == {"Role": "system", "Content": "简洁"}
    assert body["ToolChoice"] == "auto"


def test_channel_type_23_serves_chat_and_embeddings():
    adaptor = get_adaptor(23)
    assert isinstance(adaptor, TencentAdaptor)
    assert adaptor.supports(23, RelayMode.CHAT) and adaptor.supports(23, RelayMode.EMBEDDINGS)
    assert not adaptor.supports(23, RelayMode.IMAGES)
    assert tencent.SPEC.key_format == "AppId|SecretId|SecretKey"
    assert tencent.SPEC.models[:6] == ("hunyuan-lite", "hunyuan-standard", "hunyuan-standard-256K", "hunyuan-pro",
                                       "hunyuan-vision", "hunyuan-embedding")
