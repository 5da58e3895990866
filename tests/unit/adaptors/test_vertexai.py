"""The Vertex AI adaptor against recorded wire fixtures (tests/fixtures/wire/vertexai/<case>/), plus its
URLs, the service-account token grant and the error shapes. Pure functions only: no network, no app."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from oneapi.relay.adaptors import anthropic, get_adaptor
from oneapi.relay.adaptors.base import Call, Credential
from oneapi.relay.adaptors.gemini import response as gemini_response
from oneapi.relay.adaptors.vertexai import SPEC, VertexAIAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import iter_events
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "vertexai"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.sse").exists()]
CREATED = 1700000000
NOW = 1760000000.0
ADAPTOR = VertexAIAdaptor()
TOKEN_URI = "https://oauth2.googleapis.com/token"

PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = PRIVATE_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
ADC = {"type": "service_account", "project_id": "adc-project", "private_key_id": "4f1c2b9e0d7a",
       "private_key": PEM, "client_email": "relay@adc-project.iam.gserviceaccount.com",
       "client_id": "104882930045512345678", "token_uri": TOKEN_URI}
CONFIG = {"region": "us-east5", "vertex_ai_project_id": "my-project", "vertex_ai_adc": json.dumps(ADC)}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(anthropic, "now", lambda: CREATED)
    monkeypatch.setattr(gemini_response, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "claude-sonnet-4-5@20250929"}
    values = {
        "mode": RelayMode.CHAT, "channel_id": 7, "channel_type": 42, "channel_name": "vertex", "base_url": "",
        "key": f"us-east5|my-project|{json.dumps(ADC)}", "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")), "config": dict(CONFIG),
        "credential": "ya29.c.test-access-token", **overrides,
    }
    return RelayContext(**values)


# Translation, against the fixtures.


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_the_publishers_body(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")
    if case.startswith("claude"):
        assert "model" not in body and body["anthropic_version"] == "vertex-2023-10-16"


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_translated_to_a_chat_completion(case):
    completion, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    expected = load(case, "expected.json")
    assert completion == expected
    assert (usage.prompt_tokens, usage.completion_tokens) == (expected["usage"]["prompt_tokens"],
                                                              expected["usage"]["completion_tokens"])
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
    assert state.text == usage["text"]
    assert state.finish_reason == usage["finish_reason"]
    assert [("role" in c["choices"][0]["delta"]) for c in chunks] == [True] + [False] * (len(chunks) - 1)
    assert {(c["id"], c["created"]) for c in chunks} == {(expected[0]["id"], CREATED)}
    wire.assert_error(CASES_DIR, case, error)


def test_a_gemini_stream_ends_with_googles_usage_when_the_client_asks_for_it():
    raw = (CASES_DIR / "gemini_stream" / "upstream.sse").read_bytes()
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_events([raw]), context("gemini_stream", client_wants_usage=True),
                                         state))
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 11, "total_tokens": 16}
    assert state.usage_forwarded


# URLs and headers.


@pytest.mark.parametrize(("model", "stream", "tail"), [
    ("claude-3-5-haiku@20241022", False, "publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict"),
    ("claude-3-5-haiku@20241022", True, "publishers/anthropic/models/claude-3-5-haiku@20241022:streamRawPredict"),
    ("gemini-2.5-pro", False, "publishers/google/models/gemini-2.5-pro:generateContent"),
    ("gemini-2.5-pro", True, "publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"),
])
def test_url_names_region_project_publisher_model_and_method(model, stream, tail):
    url = ADAPTOR.request_url(context(model=model, stream=stream))
    assert url == f"https://us-east5-aiplatform.googleapis.com/v1/projects/my-project/locations/us-east5/{tail}"


def test_the_global_region_uses_the_global_host():
    ctx = context(model="gemini-2.5-flash", config={**CONFIG, "region": "global"})
    assert ADAPTOR.request_url(ctx) == ("https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/"
                                        "publishers/google/models/gemini-2.5-flash:generateContent")


def test_a_channel_base_url_replaces_the_host():
    ctx = context(model="claude-sonnet-4-5@20250929", base_url="http://127.0.0.1:9000/vertex")
    assert ADAPTOR.request_url(ctx) == ("http://127.0.0.1:9000/vertex/v1/projects/my-project/locations/us-east5/"
                                        "publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")


def test_region_and_project_fall_back_to_the_key_and_then_to_the_adcs_project():
    from_key = context(model="gemini-2.5-flash", config={}, key=f"europe-west4|key-project|{json.dumps(ADC)}")
    assert ADAPTOR.request_url(from_key).startswith(
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/key-project/locations/europe-west4/")
    from_adc = context(model="gemini-2.5-flash", config={"region": "asia-northeast1", "vertex_ai_adc": ADC}, key="")
    assert "/projects/adc-project/locations/asia-northeast1/" in ADAPTOR.request_url(from_adc)


def test_headers_carry_the_access_token_as_bearer():
    assert ADAPTOR.request_headers(context()) == {"Authorization": "Bearer ya29.c.test-access-token",
                                                  "Content-Type": "application/json"}


def test_claude_calls_forward_the_clients_anthropic_beta_and_gemini_calls_do_not():
    headers = {"anthropic-beta": "context-1m-2025-08-07"}
    assert ADAPTOR.request_headers(context(headers=headers))["anthropic-beta"] == "context-1m-2025-08-07"
    assert "anthropic-beta" not in ADAPTOR.request_headers(context(model="gemini-2.5-pro", headers=headers))


# The service-account token.


def b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def test_credential_is_a_jwt_bearer_grant_signed_with_the_service_account_key():
    call = ADAPTOR.credential(context(), NOW)
    assert isinstance(call, Call)
    assert (call.method, call.url) == ("POST", TOKEN_URI)
    assert call.headers == {"Content-Type": "application/x-www-form-urlencoded"}
    form = parse_qs(call.body.decode(), strict_parsing=True)
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    header, claims, signature = form["assertion"][0].split(".")
    assert json.loads(b64decode(header)) == {"alg": "RS256", "typ": "JWT", "kid": "4f1c2b9e0d7a"}
    assert json.loads(b64decode(claims)) == {
        "iss": "relay@adc-project.iam.gserviceaccount.com", "scope": "https://www.googleapis.com/auth/cloud-platform",
        "aud": TOKEN_URI, "iat": 1760000000, "exp": 1760003600}
    # Verified with the public key, independently of the signing library.
    PRIVATE_KEY.public_key().verify(b64decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(),
                                    hashes.SHA256())
    with pytest.raises(InvalidSignature):
        PRIVATE_KEY.public_key().verify(b64decode(signature), f"{header}.{claims}x".encode(), padding.PKCS1v15(),
                                        hashes.SHA256())


def test_the_token_uri_of_the_adc_is_where_the_grant_goes():
    adc = {**ADC, "token_uri": "http://127.0.0.1:9000/token"}
    call = ADAPTOR.credential(context(config={**CONFIG, "vertex_ai_adc": adc}), NOW)
    assert call.url == "http://127.0.0.1:9000/token"
    claims = json.loads(b64decode(parse_qs(call.body.decode())["assertion"][0].split(".")[1]))
    assert claims["aud"] == "http://127.0.0.1:9000/token"


def test_the_token_answer_gives_the_access_token_and_its_expiry():
    body = b'{"access_token":"ya29.c.b0AXv0zTNew","expires_in":3599,"token_type":"Bearer"}'
    assert ADAPTOR.read_credential(context(), 200, body, NOW) == Credential("ya29.c.b0AXv0zTNew", NOW + 3599)


def test_an_oauth_error_from_the_token_endpoint_is_a_401():
    body = b'{"error":"invalid_grant","error_description":"Invalid JWT Signature."}'
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.read_credential(context(), 400, body, NOW)
    error = caught.value
    assert (error.status, error.type, error.code) == (401, "invalid_grant", "invalid_grant")
    assert error.message == "failed to get an access token: Invalid JWT Signature."
    assert not error.retryable


def test_a_server_error_from_the_token_endpoint_keeps_its_status():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.read_credential(context(), 503, b"<html><body>Service Unavailable</body></html>", NOW)
    assert caught.value.status == 503
    assert caught.value.retryable


@pytest.mark.parametrize("adc", ["not json", json.dumps({"client_email": "a@b"}),
                                 json.dumps({**ADC, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n"})])
def test_an_unusable_service_account_is_an_authentication_error_of_the_channel(adc):
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.credential(context(config={**CONFIG, "vertex_ai_adc": adc}, key=""), NOW)
    assert (caught.value.status, caught.value.code) == (401, "invalid_credentials")


# Errors.

GOOGLE_429 = json.dumps({"error": {
    "code": 429, "status": "RESOURCE_EXHAUSTED",
    "message": "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base "
               "model: anthropic-claude-sonnet-4-5. Please submit a quota increase request."}}).encode()
GOOGLE_401 = json.dumps({"error": {
    "code": 401, "status": "UNAUTHENTICATED",
    "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
               "other valid authentication credential."}}).encode()
ANTHROPIC_400 = (b'{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 100000 > 64000, '
                 b'which is the maximum allowed number of output tokens for claude-sonnet-4-5-20250929"}}')


@pytest.mark.parametrize(("model", "status", "body", "kind", "code"), [
    ("claude-sonnet-4-5@20250929", 429, GOOGLE_429, "RESOURCE_EXHAUSTED", 429),
    ("claude-sonnet-4-5@20250929", 400, ANTHROPIC_400, "invalid_request_error", "invalid_request_error"),
    ("gemini-2.5-pro", 401, GOOGLE_401, "UNAUTHENTICATED", 401),
])
def test_google_and_anthropic_error_envelopes_keep_the_upstream_status(model, status, body, kind, code):
    error = ADAPTOR.convert_error(status, body, context(model=model))
    parsed = json.loads(body)["error"]
    assert (error.status, error.type, error.code, error.message) == (status, kind, code, parsed["message"])


def test_an_html_error_page_becomes_a_one_line_error():
    error = ADAPTOR.convert_error(502, b"<!DOCTYPE html><html><title>Error 502</title></html>", context())
    assert (error.status, error.message) == (502, "bad response status code 502")


# Registry.


def test_channel_type_42_resolves_to_vertex_for_chat_only():
    adaptor = get_adaptor(42)
    assert isinstance(adaptor, VertexAIAdaptor)
    assert adaptor.supports(42, RelayMode.CHAT)
    assert not adaptor.supports(42, RelayMode.EMBEDDINGS)
    assert SPEC.modes == frozenset({RelayMode.CHAT})


def test_models_keep_one_apis_list_and_add_current_ones():
    assert SPEC.models[:6] == ("claude-3-haiku@20240307", "claude-3-sonnet@20240229", "claude-3-opus@20240229",
                               "claude-3-5-sonnet@20240620", "claude-3-5-sonnet-v2@20241022",
                               "claude-3-5-haiku@20241022")
    assert {"claude-sonnet-4-5@20250929", "claude-haiku-4-5@20251001", "gemini-2.5-pro",
            "gemini-2.5-flash"} <= set(SPEC.models)
    assert len(SPEC.models) == len(set(SPEC.models))
    assert not SPEC.key_input and SPEC.base_url == ""
