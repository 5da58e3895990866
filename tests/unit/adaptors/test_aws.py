"""The AWS Bedrock adaptor against wire fixtures (tests/fixtures/wire/aws/<case>/), its SigV4 signer against
AWS's published test-suite vectors and botocore, and its signed calls against the mock Bedrock (through
Flask's test client: no network)."""

from __future__ import annotations

import calendar
import json
import time
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from oneapi.relay.adaptors import anthropic, get_adaptor
from oneapi.relay.adaptors.aws import SPEC, AwsAdaptor, llama, sigv4
from oneapi.relay.adaptors.base import Call
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.eventstream import iter_eventstream
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks
from tests.upstreams import aws as mock

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "aws"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.eventstream").exists()]
CREATED = 1700000000
ADAPTOR = AwsAdaptor()
CONFIG = {"ak": "AKIAMOCKACCESSKEY", "sk": "mock/secret+key", "region": "us-east-1"}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(anthropic, "now", lambda: CREATED)
    monkeypatch.setattr(llama, "now", lambda: CREATED)
    monkeypatch.setattr(llama, "random_id", lambda: "chatcmpl-llama0001")


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "claude-3-haiku-20240307"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 33, "channel_name": "bedrock",
        "base_url": "", "key": "", "model": request["model"], "original_model": request["model"],
        "stream": bool(request.get("stream")), "config": dict(CONFIG), **extra, **overrides,
    }
    return RelayContext(**values)


def run_stream(case: str, size: int) -> tuple[list[dict], StreamState, Exception | None]:
    raw = (CASES_DIR / case / "upstream.eventstream").read_bytes()
    return wire.translate_stream(ADAPTOR, iter_eventstream(odd_chunks(raw, size)), context(case))


# -- translation against the fixtures ------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_the_bedrock_body(case):
    assert ADAPTOR.convert_request(load(case, "openai_request.json"), context(case)) == load(
        case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_translated_to_a_chat_completion(case):
    completion, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    expected = load(case, "expected.json")
    assert completion == expected
    assert usage.as_openai() == expected["usage"]
    assert usage.source == "upstream"


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_event_stream_is_translated_to_chunks_whatever_the_chunk_boundaries(case, size):
    chunks, state, error = run_stream(case, size)
    expected = wire.expected_chunks(CASES_DIR, case)
    assert chunks == expected
    usage = load(case, "expected_usage.json")
    assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (usage["prompt_tokens"],
                                                                          usage["completion_tokens"])
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert all(f is None for f in finishes[:-1])
    assert [("role" in c["choices"][0]["delta"]) for c in chunks] == [True] + [False] * (len(chunks) - 1)
    assert {(c["id"], c["created"]) for c in chunks} == {(expected[0]["id"], CREATED)}
    assert state.text == "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    if (CASES_DIR / case / "expected_error.json").exists():
        want = load(case, "expected_error.json")
        assert (error.status, error.type, error.code, error.message) == (
            want["status"], want["type"], want["code"], want["message"])
        assert state.finish_reason is None
    else:
        assert error is None
        assert state.finish_reason == finishes[-1] == "stop"


@pytest.mark.parametrize("case", ["claude_stream", "llama_stream"])
def test_a_client_asking_for_usage_gets_it_last_under_the_streams_id(case):
    raw = (CASES_DIR / case / "upstream.eventstream").read_bytes()
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_eventstream([raw]), context(case, client_wants_usage=True), state))
    expected = [json.loads(line) for line in (CASES_DIR / case / "expected.jsonl").read_text().splitlines()]
    usage = load(case, "expected_usage.json")
    assert chunks[:-1] == expected
    assert chunks[-1] == {"id": expected[0]["id"], "object": "chat.completion.chunk", "created": CREATED,
                          "model": expected[0]["model"], "choices": [],
                          "usage": {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}}
    assert state.usage_forwarded


# -- SigV4 ---------------------------------------------------------------------------------------------

SUITE_NOW = calendar.timegm((2015, 8, 30, 12, 36, 0))
SUITE_KEYS = sigv4.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_PREFIX = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=")


@pytest.mark.parametrize(("name", "method", "url", "signature"), [
    ("get-vanilla", "GET", "https://example.amazonaws.com/",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("post-vanilla", "POST", "https://example.amazonaws.com/",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ("get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("get-utf8", "GET", "https://example.amazonaws.com/\u1234",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
])
def test_sigv4_matches_the_aws_test_suite(name, method, url, signature):
    headers = sigv4.signed_headers(method, url, {}, None, SUITE_KEYS, "us-east-1", "service", SUITE_NOW,
                                   content_sha256=False)
    assert headers["X-Amz-Date"] == "20150830T123600Z"
    assert headers["Authorization"] == SUITE_PREFIX + signature


def test_post_vanilla_canonical_request_and_string_to_sign_are_the_suites():
    creq, signed = sigv4.canonical_request("POST", "https://example.amazonaws.com/", {
        "Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"}, sigv4.sha256_hex(b""))
    assert signed == "host;x-amz-date"
    assert creq == ("POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert sigv4.sha256_hex(creq.encode()) == "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87"


def test_the_canonical_uri_encodes_the_sent_path_once_more():
    assert sigv4.canonical_uri("/model/anthropic.claude-v2%3A1/invoke") == "/model/anthropic.claude-v2%253A1/invoke"
    assert sigv4.canonical_uri("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aprovisioned-model%2Fx/invoke") == (
        "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A1%253Aprovisioned-model%252Fx/invoke")
    assert sigv4.canonical_uri("/a b/~c") == "/a%20b/~c"
    assert sigv4.canonical_uri("/x%3A", service="s3") == "/x%3A"
    assert sigv4.canonical_uri("") == "/"


def test_header_values_are_trimmed_and_names_lowercased_and_sorted():
    block, names = sigv4.canonical_headers({"X-B": "  a   b  ", "Content-Type": "application/json", "host": "h"})
    assert block == "content-type:application/json\nhost:h\nx-b:a b\n"
    assert names == "content-type;host;x-b"


@pytest.mark.parametrize(("url", "host"), [
    ("https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke", "bedrock-runtime.us-east-1.amazonaws.com"),
    ("https://vpce.example.com:443/model/x/invoke", "vpce.example.com"),
    ("http://127.0.0.1:8080/model/x/invoke", "127.0.0.1:8080"),
    ("http://localhost:80/x", "localhost"),
])
def test_the_signed_host_is_what_a_client_sends(url, host):
    assert sigv4.host_of(url) == host


def bedrock_call(ctx: RelayContext, body: dict) -> Call:
    return Call("POST", ADAPTOR.request_url(ctx), ADAPTOR.request_headers(ctx),
                json.dumps(body).encode(), stream=ctx.stream)


def botocore_signature(call: Call, names: list[str], region: str) -> str:
    headers = {name: value for name, value in call.headers.items() if name.lower() in names}
    request = AWSRequest(method=call.method, url=call.url, headers=headers, data=call.body)
    request.context["timestamp"] = call.headers["X-Amz-Date"]
    auth = SigV4Auth(BotoCredentials(CONFIG["ak"], CONFIG["sk"]), "bedrock", region)
    return auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)


@pytest.mark.parametrize("stream", [False, True])
def test_a_bedrock_call_is_signed_as_botocore_signs_it(stream):
    ctx = context(model="claude-2.1", stream=stream, base_url="https://bedrock-runtime.us-east-1.amazonaws.com")
    call = bedrock_call(ctx, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": []})
    signed = ADAPTOR.sign(ctx, call, calendar.timegm((2024, 6, 1, 8, 30, 15)))
    assert call.url.endswith("/model/anthropic.claude-v2%3A1/" + ("invoke-with-response-stream" if stream
                                                                    else "invoke"))
    assert signed.headers["X-Amz-Date"] == "20240601T083015Z"
    assert signed.headers["X-Amz-Content-Sha256"] == sigv4.sha256_hex(call.body)
    authorization = signed.headers["Authorization"]
    scope, names, signature = (part.split("=", 1)[1] for part in authorization.split(" ", 1)[1].split(", "))
    assert scope == "AKIAMOCKACCESSKEY/20240601/us-east-1/bedrock/aws4_request"
    expected_names = ["accept", "content-type", "host", "x-amz-content-sha256", "x-amz-date"]
    assert names.split(";") == sorted(expected_names + (["x-amzn-bedrock-accept"] if stream else []))
    assert signature == botocore_signature(signed, names.split(";"), "us-east-1")
    assert (signed.url, signed.body, signed.stream) == (call.url, call.body, call.stream)


def test_temporary_credentials_sign_the_security_token():
    ctx = context(config={**CONFIG, "session_token": "FwoGZXIvYXdzEXAMPLE"})
    signed = ADAPTOR.sign(ctx, bedrock_call(ctx, {}), time.time())
    assert signed.headers["X-Amz-Security-Token"] == "FwoGZXIvYXdzEXAMPLE"
    assert "x-amz-security-token" in signed.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]


# -- the adaptor's calls against the mock Bedrock (botocore verifies there) --------------------------------


def send(app, call: Call):
    path = call.url.split("://", 1)[1].split("/", 1)[1]
    return app.test_client().open("/" + path, method=call.method, headers=call.headers, data=call.body)


def mock_ctx(model: str, stream: bool, **config) -> RelayContext:
    return context(model=model, original_model=model, stream=stream, base_url="http://localhost",
                   config={**CONFIG, **config})


@pytest.mark.parametrize("model", ["claude-3-haiku-20240307", "llama3-8b-8192"])
def test_the_mock_accepts_a_signed_call_and_its_answer_translates(model):
    app = mock.create_app()
    ctx = mock_ctx(model, stream=False)
    body = ADAPTOR.convert_request({"model": model, "messages": [{"role": "user", "content": "ping pong"}]}, ctx)
    response = send(app, ADAPTOR.sign(ctx, bedrock_call(ctx, body), time.time()))
    assert response.status_code == 200, response.get_data(as_text=True)
    completion, usage = ADAPTOR.convert_response(response.get_json(), ctx)
    assert completion["choices"][0]["message"]["content"].endswith("You said: ping pong")
    assert usage.completion_tokens == int(response.headers["X-Amzn-Bedrock-Output-Token-Count"])
    assert usage.prompt_tokens == int(response.headers["X-Amzn-Bedrock-Input-Token-Count"])
    recorded = app.config["REQUESTS"][-1]
    assert recorded["raw_path"] == "/model/" + ctx_model_id(model).replace(":", "%3A") + "/invoke"


def ctx_model_id(model: str) -> str:
    return {"claude-3-haiku-20240307": "anthropic.claude-3-haiku-20240307-v1:0",
            "llama3-8b-8192": "meta.llama3-8b-instruct-v1:0"}[model]


@pytest.mark.parametrize("model", ["claude-3-haiku-20240307", "llama3-8b-8192"])
def test_the_mock_streams_an_event_stream_the_adaptor_reads(model):
    app = mock.create_app(deltas=4)
    ctx = mock_ctx(model, stream=True)
    body = ADAPTOR.convert_request({"model": model, "messages": [{"role": "user", "content": "a b c"}]}, ctx)
    response = send(app, ADAPTOR.sign(ctx, bedrock_call(ctx, body), time.time()))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/vnd.amazon.eventstream"
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_eventstream(odd_chunks(response.get_data(), 3)), ctx, state))
    assert state.text.endswith("You said: a b c")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert state.usage.completion_tokens == len(state.text.split(" "))


@pytest.mark.parametrize(("config", "status", "code", "words"), [
    ({"sk": "wrong"}, 403, "InvalidSignatureException", "signature we calculated does not match"),
    ({"ak": "AKIAUNKNOWN"}, 403, "UnrecognizedClientException", "security token included in the request is invalid"),
    ({"region": "eu-west-1"}, 403, "InvalidSignatureException", "scoped to a valid region"),
])
def test_the_mock_refuses_bad_credentials_and_the_error_is_read(config, status, code, words):
    app = mock.create_app()
    ctx = mock_ctx("claude-3-haiku-20240307", stream=False, **config)
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}]}, ctx)
    response = send(app, ADAPTOR.sign(ctx, bedrock_call(ctx, body), time.time()))
    assert response.status_code == status
    assert response.headers["x-amzn-ErrorType"].startswith(code + ":")
    error = ADAPTOR.convert_error(response.status_code, response.get_data(), ctx)
    assert (error.status, error.type, error.code, words in error.message) == (status, "aws_error", code, True)


def test_the_mock_refuses_a_tampered_body():
    app = mock.create_app()
    ctx = mock_ctx("claude-3-haiku-20240307", stream=False)
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}]}, ctx)
    signed = ADAPTOR.sign(ctx, bedrock_call(ctx, body), time.time())
    headers = {k: v for k, v in signed.headers.items() if k != "X-Amz-Content-Sha256"}
    tampered = Call(signed.method, signed.url, headers, signed.body.replace(b"hi", b"ho"))
    assert send(app, tampered).status_code == 403
    assert mock.BAD_SIGNATURE in send(app, tampered).get_data(as_text=True)


def test_the_mock_refuses_a_stale_signature():
    app = mock.create_app()
    ctx = mock_ctx("claude-3-haiku-20240307", stream=False)
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}]}, ctx)
    response = send(app, ADAPTOR.sign(ctx, bedrock_call(ctx, body), time.time() - 3600))
    assert response.status_code == 403
    assert "Signature expired" in response.get_json()["message"]


# -- URL, headers, credentials --------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "url"), [
    ({"base_url": "http://127.0.0.1:9000/bedrock"}, "http://127.0.0.1:9000/bedrock/model/"),
    ({"config": {**CONFIG, "aws_endpoint_url": "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/"}},
     "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/"),
    ({"config": {**CONFIG, "region": "eu-central-1"}}, "https://bedrock-runtime.eu-central-1.amazonaws.com/model/"),
])
def test_the_endpoint_is_the_base_url_else_the_configured_one_else_the_regional_host(overrides, url):
    assert ADAPTOR.request_url(context(**overrides)) == url + "anthropic.claude-3-haiku-20240307-v1%3A0/invoke"


@pytest.mark.parametrize(("model", "segment"), [
    ("claude-3-5-sonnet-latest", "anthropic.claude-3-5-sonnet-20241022-v2%3A0"),
    ("claude-sonnet-4-5-20250929", "anthropic.claude-sonnet-4-5-20250929-v1%3A0"),
    ("us.anthropic.claude-sonnet-4-20250514-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1%3A0"),
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
     "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0"),
    ("llama3-70b-8192", "meta.llama3-70b-instruct-v1%3A0"),
])
def test_model_ids_are_mapped_or_passed_through_and_encoded_as_one_segment(model, segment):
    url = ADAPTOR.request_url(context(model=model, stream=True))
    assert url == f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{segment}/invoke-with-response-stream"


def test_stream_and_non_stream_headers():
    assert ADAPTOR.request_headers(context()) == {"Content-Type": "application/json", "Accept": "application/json"}
    assert ADAPTOR.request_headers(context(stream=True)) == {
        "Content-Type": "application/json", "Accept": "application/vnd.amazon.eventstream",
        "X-Amzn-Bedrock-Accept": "application/json"}


def test_credentials_fall_back_to_the_ak_sk_region_key():
    ctx = context(config={}, key="AKIAFROMKEY|secretfromkey|ap-northeast-1")
    assert ADAPTOR.request_url(ctx).startswith("https://bedrock-runtime.ap-northeast-1.amazonaws.com/")
    signed = ADAPTOR.sign(ctx, bedrock_call(ctx, {}), SUITE_NOW)
    assert "Credential=AKIAFROMKEY/20150830/ap-northeast-1/bedrock/aws4_request" in signed.headers["Authorization"]


def test_the_config_wins_over_the_key():
    ctx = context(key="AKIAFROMKEY|secretfromkey|ap-northeast-1")
    assert "Credential=AKIAMOCKACCESSKEY/" in ADAPTOR.sign(ctx, bedrock_call(ctx, {}), SUITE_NOW).headers[
        "Authorization"]


def test_a_channel_without_credentials_fails_before_sending():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.request_url(context(config={"region": "us-east-1"}, key="placeholder"))
    assert caught.value.code == "invalid_aws_credentials"
    assert "ak, sk" in caught.value.message


def test_a_model_of_another_family_is_refused_locally():
    with pytest.raises(LocalError) as caught:
        ADAPTOR.convert_request({"messages": [{"role": "user", "content": "x"}]},
                                context(model="amazon.titan-text-express-v1"))
    assert caught.value.status == 400


# -- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "body", "code", "message"), [
    (400, b'{"message":"The provided model identifier is invalid."}', "ValidationException",
     "The provided model identifier is invalid."),
    (403, b'{"message":"You don\'t have access to the model with the specified model ID."}', "AccessDeniedException",
     "You don't have access to the model with the specified model ID."),
    (403, b'{"message":"The security token included in the request is invalid."}', "UnrecognizedClientException",
     "The security token included in the request is invalid."),
    (403, b'{"message":"' + mock.BAD_SIGNATURE.encode() + b'"}', "InvalidSignatureException", mock.BAD_SIGNATURE),
    (403, b'{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token '
          b'included in the request is invalid."}', "UnrecognizedClientException",
     "The security token included in the request is invalid."),
    (429, b'{"message":"Too many requests, please wait before trying again."}', "ThrottlingException",
     "Too many requests, please wait before trying again."),
    (424, b'{"Message":"Received server error (500) from model."}', "ModelErrorException",
     "Received server error (500) from model."),
    (418, b'{"message":"odd"}', "bad_response_status_code", "odd"),
])
def test_bedrock_errors_keep_status_and_message(status, body, code, message):
    error = ADAPTOR.convert_error(status, body, context())
    assert (error.status, error.type, error.code, error.message) == (status, "aws_error", code, message)


def test_an_html_error_page_becomes_a_one_line_error():
    error = ADAPTOR.convert_error(502, b"<html><body>Bad Gateway</body></html>", context())
    assert (error.status, error.message) == (502, "bad response status code 502")
    assert error.code == "bad_response_status_code"


@pytest.mark.parametrize(("name", "status"), [
    ("throttlingException", 429), ("validationException", 400), ("modelStreamErrorException", 424),
    ("modelTimeoutException", 408), ("internalServerException", 500), ("serviceUnavailableException", 503),
    ("somethingNewException", 500),
])
def test_stream_exceptions_map_to_their_http_statuses(name, status):
    events = [SSEEvent(f"exception:{name}", '{"message":"boom"}')]
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream(events, context(stream=True), StreamState()))
    assert (caught.value.status, caught.value.code, caught.value.message) == (status, name[0].upper() + name[1:],
                                                                              "boom")


def test_an_unreadable_chunk_is_an_upstream_error():
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream([SSEEvent("chunk", '{"bytes":"not base64!"}')], context(stream=True),
                                    StreamState()))
    assert (caught.value.status, caught.value.code) == (502, "bad_stream_chunk")


def test_other_events_are_ignored():
    chunks = list(ADAPTOR.convert_stream([SSEEvent("initial-response", "{}")], context(stream=True), StreamState()))
    assert chunks == []


# -- Llama and the registry -------------------------------------------------------------------------------


def test_llama_max_gen_len_is_capped_at_bedrocks_limit():
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "x"}], "max_tokens": 10},
                                   context(model="llama3-8b-8192"))
    assert body["max_gen_len"] == 10
    body = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "x"}], "max_tokens": 9000},
                                   context(model="llama3-8b-8192"))
    assert body["max_gen_len"] == 2048


def test_llama_length_stop_is_length():
    completion, _ = ADAPTOR.convert_response({"generation": "a", "prompt_token_count": 3,
                                              "generation_token_count": 1, "stop_reason": "length"},
                                             context(model="llama3-8b-8192"))
    assert completion["choices"][0]["finish_reason"] == "length"


def test_channel_type_33_is_the_aws_adaptor_for_chat_with_one_apis_models_and_current_ones():
    adaptor = get_adaptor(33)
    assert isinstance(adaptor, AwsAdaptor)
    assert adaptor.stream_format == "eventstream"
    assert SPEC.modes == frozenset({RelayMode.CHAT})
    assert adaptor.supports(33, RelayMode.CHAT) and not adaptor.supports(33, RelayMode.EMBEDDINGS)
    models = adaptor.models()
    assert models[:3] == ["claude-instant-1.2", "claude-2.0", "claude-2.1"]
    assert {"llama3-8b-8192", "llama3-70b-8192", "claude-3-7-sonnet-20250219", "claude-sonnet-4-20250514",
            "claude-opus-4-20250514", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"} <= set(models)
    assert len(models) == len(set(models))
