"""The Xunfei Spark adaptor against wire fixtures (tests/fixtures/wire/xunfei/<case>/), plus the rules no
single fixture shows: the signed handshake URL, versions and domains, keys, errors. Pure functions only.

A case's `upstream_messages.jsonl` holds the websocket messages Spark sends, one per line. The transport
keeps message boundaries; the stream tests still cut the recorded bytes at odd places and rebuild the
messages line by line, so that nothing in the translation depends on how the bytes arrived.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from oneapi.relay.adaptors import get_adaptor, xunfei
from oneapi.relay.adaptors.xunfei import XunfeiAdaptor
from oneapi.relay.assemble import assemble
from oneapi.relay.channeltypes import spec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent, iter_messages, iter_ndjson
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "xunfei"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
ANSWER_CASES = [c for c in CASES if (CASES_DIR / c / "expected.json").exists()]
CREATED = 1700000000
# Spark's documentation example date: Fri, 05 May 2023 10:43:39 GMT.
SIGNED_AT = 1683283419
KEY = "4CC5779A|MjlmNzkzNmZkMDQ2OTc4ZjQ0MWE2NDNk|addd2272b6d8b7c8abdd79531420ca3b"
ADAPTOR = XunfeiAdaptor()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(xunfei, "now", lambda: CREATED + 0.25)
    counter = itertools.count(1)
    monkeypatch.setattr(xunfei, "call_id", lambda: f"call_test{next(counter):04d}")


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "Spark-Lite"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 18, "channel_name": "spark",
        "base_url": "wss://spark-api.xf-yun.com", "key": KEY, "model": request["model"],
        "original_model": request["model"], "stream": bool(request.get("stream")), **extra, **overrides,
    }
    return RelayContext(**values)


def messages(case: str) -> bytes:
    return (CASES_DIR / case / "upstream_messages.jsonl").read_bytes()


def run(case: str, events) -> tuple[list[dict], StreamState, UpstreamError | None]:
    return wire.translate_stream(ADAPTOR, events, context(case))


def expected_chunks(case: str) -> list[dict]:
    return [json.loads(line) for line in (CASES_DIR / case / "expected.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_a_spark_frame(case):
    frame = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert frame == load(case, "upstream_request.json")


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", CASES)
def test_frames_are_translated_to_chunks_whatever_the_byte_boundaries(case, size):
    chunks, state, error = run(case, iter_ndjson(odd_chunks(messages(case), size)))
    expected = expected_chunks(case)
    assert chunks == expected
    usage = load(case, "expected_usage.json")
    if usage is None:
        assert state.usage is None
    else:
        assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (usage["prompt_tokens"],
                                                                              usage["completion_tokens"])
        assert state.usage.source == "upstream"
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert all(f is None for f in finishes[:-1])
    assert state.finish_reason == (finishes[-1] if error is None else None)
    assert [("role" in c["choices"][0]["delta"]) for c in chunks] == [True, *[False] * (len(chunks) - 1)][:len(chunks)]
    assert len({(c["id"], c["created"]) for c in chunks}) <= 1
    assert all(c["created"] == CREATED for c in chunks)
    assert state.text == "".join(streamed_text(c) for c in chunks)
    if (CASES_DIR / case / "expected_error.json").exists():
        want = load(case, "expected_error.json")
        assert (error.status, error.type, error.code, error.param, error.message, error.retryable) == (
            want["status"], want["type"], want["code"], want["param"], want["message"], want["retryable"])
    else:
        assert error is None


@pytest.mark.parametrize("case", CASES)
def test_websocket_messages_read_as_the_transport_delivers_them(case):
    frames = messages(case).splitlines()
    chunks, _, _ = run(case, iter_messages(frames))
    assert chunks == expected_chunks(case)


@pytest.mark.parametrize("case", ANSWER_CASES)
def test_a_non_stream_request_is_answered_from_the_assembled_frames(case):
    """Spark always streams (`always_streams`): the pipeline folds the chunks into one answer."""
    chunks, state, error = run(case, iter_ndjson([messages(case)]))
    assert error is None
    answer = assemble(chunks, RelayMode.CHAT, state.usage.as_openai(), context(case).model)
    assert answer == load(case, "expected.json")


def test_a_single_whole_frame_converts_to_the_answer():
    frame = json.loads(messages("tool_call"))
    answer, usage = ADAPTOR.convert_response(frame, context("tool_call"))
    assert answer == load("tool_call", "expected.json")
    assert (usage.prompt_tokens, usage.completion_tokens, usage.source) == (83, 12, "upstream")
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.convert_response(json.loads(messages("input_refused")), context("input_refused"))
    assert (caught.value.status, caught.value.code) == (400, "10013")


def streamed_text(chunk: dict) -> str:
    delta = chunk["choices"][0]["delta"]
    calls = "".join(c["function"].get("arguments", "") for c in delta.get("tool_calls", []))
    return delta.get("content", "") + delta.get("reasoning_content", "") + calls


def test_frames_after_the_last_one_are_not_read():
    frames = messages("simple_chat").splitlines()
    read = []

    def events():
        for frame in frames + [b'{"header":{"code":0,"sid":"x","status":2},"payload":{"choices":'
                               b'{"status":2,"text":[{"content":"never"}]}}}']:
            read.append(frame)
            yield SSEEvent("message", frame.decode())

    chunks, state, error = run("simple_chat", events())
    assert error is None and len(read) == 3
    assert "never" not in state.text


def test_a_socket_closed_before_the_last_frame_is_an_error():
    frames = messages("simple_chat").splitlines()[:2]
    chunks, state, error = run("simple_chat", iter_messages(frames))
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["你好！", "我是讯飞星火认知大模型"]
    assert (error.status, error.code) == (502, "bad_response")
    assert error.retryable
    assert state.usage is None


def test_an_answer_without_any_text_still_ends_with_a_finish_chunk():
    frame = (b'{"header":{"code":0,"message":"Success","sid":"cht1","status":2},"payload":{"choices":'
             b'{"status":2,"seq":0,"text":[{"content":"","role":"assistant","index":0}]},'
             b'"usage":{"text":{"question_tokens":1,"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}}}}')
    chunks, state, error = run("simple_chat", iter_messages([frame]))
    assert error is None
    assert chunks == [{"id": "chatcmpl-cht1", "object": "chat.completion.chunk", "created": CREATED,
                       "model": "Spark-Lite", "choices": [{"index": 0, "delta": {"role": "assistant"},
                                                           "finish_reason": "stop"}]}]
    assert (state.usage.prompt_tokens, state.usage.completion_tokens) == (1, 0)


# Errors.


@pytest.mark.parametrize(("code", "status"), [
    (11200, 401), (11500, 401), (10016, 401), (10015, 401),
    (11201, 429), (11202, 429), (11203, 429), (10007, 429),
    (10013, 400), (10907, 400), (10163, 400), (10404, 400), (10005, 400),
    (10012, 500), (10110, 500), (10222, 500), (12345, 500),
])
def test_spark_error_codes_map_to_http_statuses(code, status):
    frame = json.dumps({"header": {"code": code, "message": f"boom {code}", "sid": "cht9", "status": 2}})
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream(iter_messages([frame.encode()]), context(), StreamState()))
    error = caught.value
    assert (error.status, error.type, error.code, error.message, error.param) == (
        status, "xunfei_error", str(code), f"boom {code}", "cht9")
    assert error.retryable is (status in (429, 500))


def test_an_error_frame_without_a_message_gets_a_description():
    frame = b'{"header":{"code":11201,"sid":"cht9","status":2}}'
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream(iter_messages([frame]), context(), StreamState()))
    assert (caught.value.status, caught.value.message) == (429, "daily request limit exceeded")


@pytest.mark.parametrize(("status", "body", "message"), [
    (401, b'{"message":"HMAC signature does not match"}', "HMAC signature does not match"),
    (401, b'{"message":"Unauthorized"}', "Unauthorized"),
    (403, b'{"message":"HMAC signature cannot be verified, a valid date or x-date header is required for HMAC '
          b'Authentication"}',
     "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"),
])
def test_a_refused_handshake_keeps_its_status_and_message(status, body, message):
    error = ADAPTOR.convert_error(status, body, context())
    assert (error.status, error.message, error.param) == (status, message, str(status))
    assert error.retryable is False


def test_an_error_frame_answered_as_a_body_is_read_as_a_frame():
    body = b'{"header":{"code":11202,"message":"AppIdQpsOverFlowError","sid":"cht7","status":2}}'
    error = ADAPTOR.convert_error(502, body, context())
    assert (error.status, error.code, error.message) == (429, "11202", "AppIdQpsOverFlowError")


def test_an_html_gateway_page_is_one_line():
    error = ADAPTOR.convert_error(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", context())
    assert (error.status, error.message) == (502, "bad response status code 502")


@pytest.mark.parametrize("key", ["", "only-one-part", "a|b", "a||c", "a|b|c|d"])
def test_a_malformed_key_is_a_401_invalid_auth(key):
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.request_url(context(key=key))
    assert (caught.value.status, caught.value.code) == (401, "invalid_auth")
    with pytest.raises(UpstreamError):
        ADAPTOR.convert_request({"messages": []}, context(key=key))


# The signed handshake URL, checked with code of its own.


def verify(url: str, secret: str) -> dict[str, str]:
    """The URL's query, after checking its signature as Spark's gateway does."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=True).items()}
    assert set(query) == {"host", "date", "authorization"}
    origin = base64.b64decode(query["authorization"]).decode()
    assert origin.startswith("hmac ")
    fields = dict(item.split("=", 1) for item in origin[len("hmac "):].split(", "))
    fields = {k: v.strip('"') for k, v in fields.items()}
    assert fields["algorithm"] == "hmac-sha256"
    assert fields["headers"] == "host date request-line"
    text = f"host: {query['host']}\ndate: {query['date']}\nGET {parts.path} HTTP/1.1"
    want = base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()
    assert fields["signature"] == want
    return {**query, "username": fields["username"]}


def test_the_url_is_signed_with_the_api_secret_and_names_the_api_key():
    url = ADAPTOR.request_url(context())
    assert url.startswith("wss://spark-api.xf-yun.com/v1.1/chat?host=spark-api.xf-yun.com&date=")
    query = verify(url, "MjlmNzkzNmZkMDQ2OTc4ZjQ0MWE2NDNk")
    assert query["username"] == "addd2272b6d8b7c8abdd79531420ca3b"
    assert query["host"] == "spark-api.xf-yun.com"
    assert query["date"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert parsedate_to_datetime(query["date"]).timestamp() == CREATED


def test_the_signature_of_a_known_date_is_stable(monkeypatch):
    monkeypatch.setattr(xunfei, "now", lambda: SIGNED_AT)
    url = ADAPTOR.request_url(context(model="Spark-Max"))
    assert url == (
        "wss://spark-api.xf-yun.com/v3.5/chat?host=spark-api.xf-yun.com&date=Fri%2C+05+May+2023+10%3A43%3A39+GMT"
        "&authorization=aG1hYyB1c2VybmFtZT0iYWRkZDIyNzJiNmQ4YjdjOGFiZGQ3OTUzMTQyMGNhM2IiLCBhbGdvcml0aG09ImhtYWMtc2hhMjU2Iiwg"
        "aGVhZGVycz0iaG9zdCBkYXRlIHJlcXVlc3QtbGluZSIsIHNpZ25hdHVyZT0ibjF2Yy9Yb3p5UDFxZDQrNzFFNGdoSGFzajBBM1lWU20wdjlXR3dHam9xUT0i")
    verify(url, "MjlmNzkzNmZkMDQ2OTc4ZjQ0MWE2NDNk")


@pytest.mark.parametrize(("base_url", "prefix", "host"), [
    ("ws://127.0.0.1:8765", "ws://127.0.0.1:8765/v3.5/chat?", "127.0.0.1:8765"),
    ("http://127.0.0.1:8765", "ws://127.0.0.1:8765/v3.5/chat?", "127.0.0.1:8765"),
    ("https://spark-mirror.example.com/spark", "wss://spark-mirror.example.com/spark/v3.5/chat?",
     "spark-mirror.example.com"),
    ("HTTPS://spark-api.xf-yun.com", "wss://spark-api.xf-yun.com/v3.5/chat?", "spark-api.xf-yun.com"),
    ("spark-api.xf-yun.com", "wss://spark-api.xf-yun.com/v3.5/chat?", "spark-api.xf-yun.com"),
])
def test_the_url_is_built_on_the_channels_base_url(base_url, prefix, host):
    url = ADAPTOR.request_url(context(model="Spark-Max", base_url=base_url))
    assert url.startswith(prefix)
    assert verify(url, "MjlmNzkzNmZkMDQ2OTc4ZjQ0MWE2NDNk")["host"] == host


def test_credentials_never_travel_in_headers():
    assert ADAPTOR.request_headers(context()) == {}


# Versions, paths and domains.


@pytest.mark.parametrize(("model", "config", "path", "domain"), [
    ("Spark-Lite", {}, "/v1.1/chat", "lite"),
    ("Spark-Pro", {}, "/v3.1/chat", "generalv3"),
    ("Spark-Pro-128K", {}, "/chat/pro-128k", "pro-128k"),
    ("Spark-Max", {}, "/v3.5/chat", "generalv3.5"),
    ("Spark-Max-32K", {}, "/chat/max-32k", "max-32k"),
    ("Spark-4.0-Ultra", {}, "/v4.0/chat", "4.0Ultra"),
    ("Spark-X1", {}, "/v1/x1", "spark-x"),
    ("spark-max", {}, "/v3.5/chat", "generalv3.5"),
    ("generalv3", {"api_version": "v1.1"}, "/v3.1/chat", "generalv3"),
    ("4.0Ultra", {}, "/v4.0/chat", "4.0Ultra"),
    ("max-32k", {}, "/chat/max-32k", "max-32k"),
    ("SparkDesk-v3.5", {}, "/v3.5/chat", "generalv3.5"),
    ("SparkDesk-v3.1-128K", {}, "/chat/pro-128k", "pro-128k"),
    ("SparkDesk-v2.1", {}, "/v2.1/chat", "generalv2"),
    ("SparkDesk-v9.9", {}, "/v9.9/chat", "generalv9.9"),
    ("SparkDesk", {"api_version": "v3.5"}, "/v3.5/chat", "generalv3.5"),
    ("SparkDesk", {"api_version": "V3.5-32k"}, "/chat/max-32k", "max-32k"),
    ("Spark-Lite", {"api_version": "v3.5"}, "/v1.1/chat", "lite"),
    ("my-model", {"api_version": "v4.0"}, "/v4.0/chat", "4.0Ultra"),
    ("SparkDesk", {}, "/v1.1/chat", "lite"),
    ("gpt-3.5-turbo", {}, "/v1.1/chat", "lite"),
])
def test_the_version_comes_from_the_model_then_the_channel_then_v1_1(model, config, path, domain):
    ctx = context(model=model, config=config)
    assert urlsplit(ADAPTOR.request_url(ctx)).path == path
    frame = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}]}, ctx)
    assert frame["parameter"]["chat"]["domain"] == domain


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]


@pytest.mark.parametrize(("model", "sent"), [
    ("Spark-Lite", False), ("Spark-Pro", True), ("Spark-Pro-128K", False), ("Spark-Max", True),
    ("Spark-Max-32K", False), ("Spark-4.0-Ultra", True), ("Spark-X1", True),
])
def test_functions_go_only_to_the_domains_that_call_them(model, sent):
    frame = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}], "tools": TOOLS},
                                    context(model=model))
    assert ("functions" in frame["payload"]) is sent


def test_legacy_functions_are_sent_too():
    body = {"messages": [{"role": "user", "content": "hi"}],
            "functions": [{"name": "g", "description": "d", "parameters": {"type": "object"}}]}
    frame = ADAPTOR.convert_request(body, context(model="Spark-Max"))
    assert frame["payload"]["functions"] == {"text": [{"name": "g", "description": "d",
                                                        "parameters": {"type": "object"}}]}


def test_a_long_user_is_not_sent_as_uid():
    frame = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}], "user": "u" * 33},
                                    context())
    assert frame["header"] == {"app_id": "4CC5779A"}


# Registry.


def test_channel_type_18_is_spark_over_a_websocket_for_chat_only():
    adaptor = get_adaptor(18)
    assert isinstance(adaptor, XunfeiAdaptor)
    assert (adaptor.transport, adaptor.stream_format, adaptor.always_streams) == ("websocket", "messages", True)
    assert adaptor.upstream_stream(context()) is True
    declared = spec(18)
    assert declared.modes == frozenset({RelayMode.CHAT})
    assert declared.base_url == "wss://spark-api.xf-yun.com"
    assert declared.key_format == "APPID|APISecret|APIKey"
    assert declared.models[:6] == ("Spark-Lite", "Spark-Pro", "Spark-Pro-128K", "Spark-Max", "Spark-Max-32K",
                                   "Spark-4.0-Ultra")
    assert adaptor.supports(18, RelayMode.CHAT) and not adaptor.supports(18, RelayMode.EMBEDDINGS)
