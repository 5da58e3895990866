"""The Zhipu adaptor against wire fixtures (tests/fixtures/wire/zhipu/<case>/), plus the JWT, URLs,
errors and refusals no single fixture shows. Pure functions only: no network, no app, no database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import get_adaptor, zhipu
from oneapi.relay.adaptors.base import Credential
from oneapi.relay.adaptors.zhipu import SPEC, ZhipuAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import reader
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "zhipu"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.sse").exists()]
CREATED = 1700000000
KEY = "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f.Xy9ZsecretPart"
ADAPTOR = ZhipuAdaptor()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(zhipu, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "glm-4-flash"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    if "mode" in extra:
        extra["mode"] = RelayMode(extra["mode"])
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 16, "channel_name": "glm",
        "base_url": "https://open.bigmodel.cn", "key": KEY, "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")), "request_id": "req1",
        **extra, **overrides,
    }
    return RelayContext(**values)


def run_stream(case: str, size: int) -> tuple[list[dict], StreamState, Exception | None]:
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    state, chunks, error = StreamState(), [], None
    events = reader(ADAPTOR.stream_format)(odd_chunks(raw, size))
    try:
        for chunk in ADAPTOR.convert_stream(events, context(case), state):
            chunks.append(chunk)
    except UpstreamError as exc:
        error = exc
    return chunks, state, error


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_is_translated(case):
    converted, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    expected = load(case, "expected.json")
    assert converted == expected
    if "usage" in expected and "choices" in expected:
        assert usage.as_openai() == expected["usage"]
        assert usage.source == "upstream"
    elif "usage" in expected:  # embeddings: the input tokens Zhipu counted
        assert (usage.prompt_tokens, usage.completion_tokens) == (expected["usage"]["prompt_tokens"], 0)
    else:
        assert usage is None


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_is_translated_whatever_the_chunk_boundaries(case, size):
    chunks, state, error = run_stream(case, size)
    expected = wire.expected_chunks(CASES_DIR, case)
    assert chunks == expected
    usage = load(case, "expected_usage.json")
    if usage is None:
        assert state.usage is None
    else:
        assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (usage["prompt_tokens"],
                                                                              usage["completion_tokens"])
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert all(f is None for f in finishes[:-1])
    assert state.finish_reason == (finishes[-1] if error is None else None)
    assert [("role" in c["choices"][0]["delta"]) for c in chunks] == [True] + [False] * (len(chunks) - 1)
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({(c["id"], c["created"]) for c in chunks}) == 1
    assert state.text == "".join(streamed_text(c) for c in chunks)
    wire.assert_error(CASES_DIR, case, error)


def streamed_text(chunk: dict) -> str:
    delta = chunk["choices"][0]["delta"]
    calls = "".join(c["function"].get("arguments", "") for c in delta.get("tool_calls", []))
    return delta.get("content", "") + delta.get("reasoning_content", "") + calls


def test_stream_usage_reaches_only_clients_that_asked_for_it():
    plain = [json.loads(line) for line in (CASES_DIR / "stream_text" / "expected.jsonl").read_text().splitlines()]
    asked = [json.loads(line) for line in
             (CASES_DIR / "stream_usage_requested" / "expected.jsonl").read_text().splitlines()]
    assert not any("usage" in c for c in plain)
    assert asked[-1]["usage"] == {"prompt_tokens": 8, "completion_tokens": 4, "total_tokens": 12}
    _, state, _ = run_stream("stream_usage_requested", 7)
    assert state.usage_forwarded


# -- the JWT -----------------------------------------------------------------------------------------

def b64url_json(part: str):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_credential_is_an_hs256_jwt_of_the_key_id_signed_with_the_secret():
    credential = ADAPTOR.credential(context(), 1700000000.5)
    assert isinstance(credential, Credential)
    header, claims, signature = credential.value.split(".")
    assert b64url_json(header) == {"alg": "HS256", "sign_type": "SIGN"}
    assert b64url_json(claims) == {"api_key": "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f",
                                   "exp": 1700000000500 + 86400 * 1000, "timestamp": 1700000000500}
    expected = hmac.new(b"Xy9ZsecretPart", f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected
    # Renewed a little before Zhipu would refuse it; the pipeline renews a further minute earlier.
    assert 1700000000.5 + 86400 - 600 < credential.expires_at < 1700000000.5 + 86400


def test_the_authorization_header_is_the_bare_jwt():
    ctx = context(credential="header.claims.signature")
    assert ADAPTOR.request_headers(ctx) == {"Authorization": "header.claims.signature",
                                            "Content-Type": "application/json"}
    assert ADAPTOR.request_headers(context(credential="a.b.c", stream=True))["Accept"] == "text/event-stream"


def test_without_a_cached_credential_the_header_is_computed_from_the_key():
    token = ADAPTOR.request_headers(context())["Authorization"]
    assert not token.startswith("Bearer")
    assert token == ADAPTOR.credential(context(), CREATED).value


@pytest.mark.parametrize("key", ["no-dot-here", ".secret", "id.", ""])
def test_a_key_not_of_the_form_id_dot_secret_is_an_authentication_error(key):
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.credential(context(key=key), CREATED)
    assert caught.value.status == 401
    assert "id.secret" in caught.value.message


# -- URLs ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("base_url", ["https://open.bigmodel.cn", "http://127.0.0.1:9000/zhipu-mirror"])
@pytest.mark.parametrize(("mode", "model", "stream", "path"), [
    (RelayMode.CHAT, "glm-4-flash", False, "/api/paas/v4/chat/completions"),
    (RelayMode.CHAT, "glm-4.5", True, "/api/paas/v4/chat/completions"),
    (RelayMode.CHAT, "charglm-4", False, "/api/paas/v4/chat/completions"),
    (RelayMode.CHAT, "chatglm_turbo", False, "/api/paas/v3/model-api/chatglm_turbo/invoke"),
    (RelayMode.CHAT, "chatglm_pro", True, "/api/paas/v3/model-api/chatglm_pro/sse-invoke"),
    (RelayMode.EMBEDDINGS, "embedding-3", False, "/api/paas/v4/embeddings"),
    (RelayMode.IMAGES, "cogview-3-plus", False, "/api/paas/v4/images/generations"),
])
def test_urls_are_built_from_the_channels_base_url(base_url, mode, model, stream, path):
    ctx = context(base_url=base_url, mode=mode, model=model, stream=stream)
    assert ADAPTOR.request_url(ctx) == base_url + path


def test_completions_are_refused():
    with pytest.raises(LocalError):
        ADAPTOR.request_url(context(mode=RelayMode.COMPLETIONS))


# -- errors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "body", "code", "message"), [
    (401, '{"error":{"code":"1001","message":"Header中未收到Authorization参数，无法进行身份验证。"}}', "1001",
     "Header中未收到Authorization参数，无法进行身份验证。"),
    (400, '{"error":{"code":"1211","message":"模型不存在，请检查模型代码。"}}', "1211", "模型不存在，请检查模型代码。"),
    (429, '{"error":{"code":"1302","message":"您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。"}}', "1302",
     "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。"),
])
def test_zhipu_errors_keep_the_status_and_become_zhipu_error(status, body, code, message):
    error = ADAPTOR.convert_error(status, body.encode(), context())
    assert (error.status, error.type, error.code, error.message) == (status, "zhipu_error", code, message)
    assert error.retryable is (status == 429)


def test_an_html_error_page_becomes_a_one_line_error():
    error = ADAPTOR.convert_error(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", context())
    assert (error.status, error.message, error.code) == (502, "bad response status code 502",
                                                         "bad_response_status_code")


@pytest.mark.parametrize(("code", "status"), [(1003, 401), (1113, 429), (1214, 400), (1301, 400), (1305, 429),
                                               (500, 500)])
def test_a_v3_failure_answered_with_200_gets_the_status_of_its_code(code, status):
    body = {"code": code, "msg": "失败", "success": False}
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response(body, context(model="chatglm_turbo"))
    assert (caught.value.status, caught.value.type, caught.value.code) == (status, "zhipu_error", str(code))


def test_a_network_error_finish_is_an_upstream_failure():
    body = load("simple_chat", "upstream_response.json")
    body["choices"][0]["finish_reason"] = "network_error"
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response(body, context())
    assert caught.value.status == 500 and caught.value.retryable


def test_a_v3_stream_error_event_is_raised():
    raw = b"event:add\nid:1\ndata:Hi\n\nevent:error\nid:1\ndata:\xe7\xb3\xbb\xe7\xbb\x9f\xe9\x94\x99\xe8\xaf\xaf\n\n"
    state = StreamState()
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream(reader("ndjson")([raw]), context(model="chatglm_std", stream=True), state))
    assert (caught.value.status, caught.value.message) == (500, "系统错误")
    assert state.text == "Hi"


# -- refusals before any call ------------------------------------------------------------------------

@pytest.mark.parametrize("given", [[1, 2, 3], [[1, 2]], [], None, ["a"] * 65])
def test_embedding_inputs_zhipu_cannot_take_are_refused(given):
    with pytest.raises(LocalError) as caught:
        ADAPTOR.convert_request({"model": "embedding-3", "input": given}, context(mode=RelayMode.EMBEDDINGS))
    assert caught.value.status == 400


def test_a_single_embedding_input_is_sent_as_a_string():
    body = ADAPTOR.convert_request({"model": "embedding-2", "input": "hello"}, context(mode=RelayMode.EMBEDDINGS,
                                                                                      model="embedding-2"))
    assert body == {"model": "embedding-2", "input": "hello"}


@pytest.mark.parametrize("extra", [{"n": 2}, {"response_format": "png"}])
def test_image_requests_zhipu_cannot_serve_are_refused(extra):
    with pytest.raises(LocalError) as caught:
        ADAPTOR.convert_request({"model": "cogview-3", "prompt": "cat", **extra}, context(mode=RelayMode.IMAGES))
    assert caught.value.status == 400


def test_b64_json_is_not_sent_to_zhipu_the_pipeline_inlines_its_urls():
    body = ADAPTOR.convert_request({"model": "cogview-3", "prompt": "cat", "response_format": "b64_json"},
                                   context(mode=RelayMode.IMAGES))
    assert "response_format" not in body and body["prompt"] == "cat"


# -- request rules not shown by a fixture ------------------------------------------------------------

@pytest.mark.parametrize(("temperature", "top_p", "expected"), [
    (2, 1.5, (1.0, 1.0)), (-1, 0.001, (0.0, 0.01)), (0.7, 0.9, (0.7, 0.9)), (None, None, (None, None)),
])
def test_temperature_and_top_p_are_clamped_into_zhipus_ranges(temperature, top_p, expected):
    body = ADAPTOR.convert_request({"model": "glm-4", "messages": [], "temperature": temperature, "top_p": top_p},
                                   context())
    assert (body["temperature"], body["top_p"]) == expected


def test_the_mapped_model_is_sent():
    body = ADAPTOR.convert_request({"model": "my-alias", "messages": []}, context(model="glm-4-air"))
    assert body["model"] == "glm-4-air"


def test_channel_type_16_resolves_to_the_zhipu_adaptor():
    adaptor = get_adaptor(16)
    assert isinstance(adaptor, ZhipuAdaptor)
    assert SPEC.modes == frozenset({RelayMode.CHAT, RelayMode.EMBEDDINGS, RelayMode.IMAGES})
    assert SPEC.key_format == "id.secret"
    assert {"glm-4", "glm-4-flash", "cogview-3", "embedding-2", "glm-4.5"} <= set(SPEC.models)
    assert len(SPEC.models) == len(set(SPEC.models))
