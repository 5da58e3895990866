"""Xunfei Spark (type 18) through the live gateway: the official SDK in front, the websocket mock
(tests/upstreams/xunfei.py) behind, which checks every handshake signature and frame as Spark does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from email.utils import formatdate
from urllib.parse import urlencode

import openai
import pytest
import websocket

from tests.providers.conftest import expected_quota
from tests.upstreams import xunfei as mock
from tests.upstreams.server import serve

APP_ID, API_SECRET, API_KEY = "5A1B2C3D", "NmY0ZTc1YzA5MzFkZmQ4YjE0ZGJhMmIw", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
MODEL = "Spark-Max"
TYPE = 18


@pytest.fixture(scope="module")
def spark():
    app = mock.create_app(app_id=APP_ID, api_key=API_KEY, api_secret=API_SECRET, frames=4)
    with serve(app) as base:
        yield app, base.replace("http://", "ws://", 1)


@pytest.fixture(scope="module")
def channel(gateway, spark) -> int:
    _, base = spark
    return gateway.add_channel(type=TYPE, key=f"{APP_ID}|{API_SECRET}|{API_KEY}", base_url=base,
                               models=[MODEL, "Spark-Lite"])


def reply_to(text: str) -> str:
    return f"Hello from mock Spark! You said: {text}"


def last_frame(app) -> dict:
    return app.config["REQUESTS"][-1]


def test_non_stream_chat_is_answered_from_the_frames_with_sparks_usage(gateway, spark, channel):
    app, _ = spark
    client = gateway.sdk(channel)
    completion = client.chat.completions.create(
        model=MODEL, max_tokens=200, temperature=0.5,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello to the gateway"}])
    assert completion.choices[0].message.content == reply_to("Say hello to the gateway")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.object == "chat.completion"
    # The mock counts one token per word: the history for the prompt, the reply for the completion.
    prompt, completion_tokens = 2 + 5, len(reply_to("Say hello to the gateway").split())
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (prompt, completion_tokens)

    handshake = last_frame(app)
    assert handshake["path"] == "/v3.5/chat"
    assert set(handshake["query"]) == {"host", "date", "authorization"}
    assert handshake["frame"] == {
        "header": {"app_id": APP_ID},
        "parameter": {"chat": {"domain": "generalv3.5", "temperature": 0.5, "max_tokens": 200}},
        "payload": {"message": {"text": [{"role": "system", "content": "Be brief."},
                                         {"role": "user", "content": "Say hello to the gateway"}]}},
    }
    assert "authorization" not in handshake["headers"]

    log = gateway.last_log(channel)
    assert (log["prompt_tokens"], log["completion_tokens"]) == (prompt, completion_tokens)
    assert log["quota"] == expected_quota(MODEL, TYPE, prompt, completion_tokens)
    assert log["model_name"] == MODEL


def last_log_id(gateway, channel: int) -> int:
    try:
        return gateway.last_log(channel, wait=0)["id"]
    except AssertionError:  # no row yet
        return 0


def log_after(gateway, channel: int, previous: int) -> dict:
    """The channel's consume log row newer than row `previous`: a stream is settled after its `[DONE]`."""
    deadline = time.monotonic() + 10
    while last_log_id(gateway, channel) <= previous and time.monotonic() < deadline:
        time.sleep(0.05)
    return gateway.last_log(channel)


def test_stream_chat_assembles_to_sparks_text_and_ends_normally(gateway, spark, channel):
    app, _ = spark
    client = gateway.sdk(channel)
    previous = last_log_id(gateway, channel)
    stream = client.chat.completions.create(model="Spark-Lite", stream=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "Stream me a greeting please"}])
    chunks = list(stream)
    with_choices = [c for c in chunks if c.choices]
    text = "".join(c.choices[0].delta.content or "" for c in with_choices)
    assert text == reply_to("Stream me a greeting please")
    assert len([c for c in with_choices if c.choices[0].delta.content]) == 4  # one chunk per frame
    assert with_choices[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in with_choices][-1] == "stop"
    assert all(c.choices[0].finish_reason is None for c in with_choices[:-1])
    assert len({c.id for c in with_choices}) == 1
    prompt, completion_tokens = 5, len(text.split())
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (prompt, completion_tokens)
    assert last_frame(app)["path"] == "/v1.1/chat"
    assert last_frame(app)["frame"]["parameter"]["chat"]["domain"] == "lite"

    log = log_after(gateway, channel, previous)
    assert log["id"] > previous
    assert (log["prompt_tokens"], log["completion_tokens"]) == (prompt, completion_tokens)
    assert log["quota"] == expected_quota("Spark-Lite", TYPE, prompt, completion_tokens)
    assert log["is_stream"]


def test_a_function_call_comes_back_as_a_tool_call(gateway, spark, channel):
    app, _ = spark
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                               "parameters": {"type": "object",
                                                              "properties": {"city": {"type": "string"}}}}}]
    completion = gateway.sdk(channel).chat.completions.create(
        model=MODEL, tools=tools, messages=[{"role": "user", "content": "[tool] weather in Hefei"}])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.id.startswith("call_") and call.type == "function"
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather",
                                                                         {"query": "[tool] weather in Hefei"})
    assert last_frame(app)["frame"]["payload"]["functions"] == {"text": [
        {"name": "get_weather", "description": "Weather of a city",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]}
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (4, 5)


@pytest.mark.parametrize(("marker", "status", "code"), [("[refuse]", 400, "10013"), ("[busy]", 429, "11202")])
def test_an_error_frame_is_an_api_error_with_its_status(gateway, channel, marker, status, code):
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(channel).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"{marker} something"}])
    assert caught.value.status_code == status
    error = caught.value.body
    assert (error["type"], error["code"]) == ("xunfei_error", code)


def test_a_bad_api_secret_is_refused_at_the_handshake_with_401(gateway, spark):
    app, base = spark
    bad = gateway.add_channel(type=TYPE, key=f"{APP_ID}|not-the-secret|{API_KEY}", base_url=base, models=[MODEL])
    refused_before = len(app.config["REQUESTS"])
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(bad).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 401
    assert "HMAC signature does not match" in caught.value.body["message"]
    assert app.config["REQUESTS"][refused_before]["frame"] is None


def test_an_http_base_url_is_taken_for_a_websocket_one(gateway, spark):
    app, base = spark
    http_channel = gateway.add_channel(type=TYPE, key=f"{APP_ID}|{API_SECRET}|{API_KEY}",
                                       base_url=base.replace("ws://", "http://", 1), models=[MODEL])
    completion = gateway.sdk(http_channel).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "plain http base"}])
    assert completion.choices[0].message.content == reply_to("plain http base")


def test_the_mock_refuses_a_stale_date_as_spark_does(spark):
    _, base = spark
    host = base.removeprefix("ws://")
    date = formatdate(time.time() - 600, usegmt=True)
    line = f"host: {host}\ndate: {date}\nGET /v3.5/chat HTTP/1.1"
    signature = base64.b64encode(hmac.new(API_SECRET.encode(), line.encode(), hashlib.sha256).digest()).decode()
    origin = (f'api_key="{API_KEY}", algorithm="hmac-sha256", headers="host date request-line", '
              f'signature="{signature}"')
    query = urlencode({"host": host, "date": date, "authorization": base64.b64encode(origin.encode()).decode()})
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        websocket.create_connection(f"{base}/v3.5/chat?{query}", timeout=5)
    assert caught.value.status_code == 403
    assert b"a valid date or x-date header is required" in caught.value.resp_body


def test_a_malformed_key_is_a_401_before_anything_is_sent(gateway, spark):
    app, base = spark
    before = len(app.config["REQUESTS"])
    broken = gateway.add_channel(type=TYPE, key=f"{APP_ID}|{API_SECRET}", base_url=base, models=[MODEL])
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(broken).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_auth"
    assert len(app.config["REQUESTS"]) == before


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
