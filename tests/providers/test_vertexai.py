"""Vertex AI (type 42) through the live gateway and the official SDK, against the mock Vertex AI and its
OAuth token endpoint: a service-account key (generated here) buys one access token, reused for Claude
(rawPredict / streamRawPredict) and Gemini (generateContent / streamGenerateContent) calls, which are
billed by the usage Vertex reports."""

from __future__ import annotations

import json
import time

import openai
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.providers.conftest import expected_quota
from tests.upstreams import vertexai as mock
from tests.upstreams.server import serve

TYPE = 42
PROJECT, REGION = "oneapi-test-project", "us-east5"
CLIENT_EMAIL = "relay@oneapi-test-project.iam.gserviceaccount.com"
KEY_ID = "9d1b07c4e2f35a6b8c0d1e2f3a4b5c6d7e8f9a0b"
CLAUDE, GEMINI = "claude-sonnet-4-5@20250929", "gemini-2.5-flash"
CLAUDE_OVERLOADED, GEMINI_RATE_LIMITED = "claude-overloaded@20250101", "gemini-rate-limit"
GEMINI_REPLY = "Vertex Gemini says hello, friend."


@pytest.fixture(scope="module")
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def upstream(private_key):
    app = mock.create_app(public_key=private_key.public_key(), client_email=CLIENT_EMAIL, private_key_id=KEY_ID,
                          project=PROJECT, region=REGION, gemini_reply=GEMINI_REPLY, chunks=3, chunk_delay=0.01)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream, private_key):
    _, base = upstream
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    adc = {"type": "service_account", "project_id": PROJECT, "private_key_id": KEY_ID, "private_key": pem,
           "client_email": CLIENT_EMAIL, "client_id": "117421983025513344556",
           "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": f"{base}/token"}
    # The key is what One API's form derives from the config for this type.
    return gateway.add_channel(type=TYPE, key=f"{REGION}|{PROJECT}|{json.dumps(adc)}", base_url=base,
                               models=[CLAUDE, GEMINI, CLAUDE_OVERLOADED, GEMINI_RATE_LIMITED],
                               config={"region": REGION, "vertex_ai_project_id": PROJECT,
                                       "vertex_ai_adc": json.dumps(adc)})


@pytest.fixture(scope="module")
def client(gateway, channel):
    with gateway.sdk(channel) as sdk:
        yield sdk


def calls(app, kind: str, start: int = 0) -> list[dict]:
    return [r for r in app.config["REQUESTS"][start:] if r["kind"] == kind]


def claude_reply(prompt: str) -> str:
    return f"Hello from mock Claude! You said: {prompt}"


def words(text: str) -> int:
    return len(text.split())


def log_id(gateway, channel) -> int:
    try:
        return gateway.last_log(channel, wait=0)["id"]
    except AssertionError:  # no consume log yet
        return 0


def new_log(gateway, channel, after: int) -> dict:
    """The consume log of the request made after log `after`: a stream is settled once it has ended, which
    may be a moment after the client read its last byte."""
    deadline = time.monotonic() + 10
    while True:
        log = gateway.last_log(channel) if log_id(gateway, channel) else {"id": 0}
        if log["id"] > after or time.monotonic() > deadline:
            assert log["id"] > after, "no consume log for the request"
            return log
        time.sleep(0.05)


def assert_billed(gateway, channel, after: int, model: str, prompt: int, completion: int) -> None:
    log = new_log(gateway, channel, after)
    assert log["model_name"] == model
    assert (log["prompt_tokens"], log["completion_tokens"]) == (prompt, completion)
    assert log["quota"] == expected_quota(model, TYPE, prompt, completion)
    assert log["quota"] > 0


def test_claude_chat_goes_to_raw_predict_with_the_vertex_body(gateway, channel, client, upstream):
    app, _ = upstream
    start = len(app.config["REQUESTS"])
    before = log_id(gateway, channel)
    prompt = "What is Vertex AI?"
    completion = client.chat.completions.create(
        model=CLAUDE, max_tokens=64, messages=[{"role": "system", "content": "Be brief."},
                                               {"role": "user", "content": prompt}])

    reply = claude_reply(prompt)
    assert completion.choices[0].message.content == reply
    assert completion.choices[0].finish_reason == "stop"
    # The mock counts a token per word: the user's words and the system prompt's.
    usage = (words(prompt) + words("Be brief."), words(reply))
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == usage
    assert_billed(gateway, channel, before, CLAUDE, *usage)

    (predict,) = calls(app, "predict", start)
    assert predict["path"] == (f"/v1/projects/{PROJECT}/locations/{REGION}/publishers/anthropic/models/"
                               f"{CLAUDE}:rawPredict")
    assert predict["headers"]["authorization"] == f"Bearer {next(iter(app.config['TOKENS']))}"
    body = predict["body"]
    assert body["anthropic_version"] == "vertex-2023-10-16" and "model" not in body
    assert (body["system"], body["max_tokens"]) == ("Be brief.", 64)
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": prompt}]}]


def test_claude_stream_assembles_to_claudes_text(gateway, channel, client, upstream):
    app, _ = upstream
    start = len(app.config["REQUESTS"])
    before = log_id(gateway, channel)
    prompt = "Tell me about streaming responses"
    stream = client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": prompt}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reply = claude_reply(prompt)
    assert text == reply
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    usage = next(c.usage for c in chunks if c.usage)
    assert (usage.prompt_tokens, usage.completion_tokens) == (words(prompt), words(reply))
    assert_billed(gateway, channel, before, CLAUDE, words(prompt), words(reply))

    (predict,) = calls(app, "predict", start)
    assert predict["path"].endswith(f"/publishers/anthropic/models/{CLAUDE}:streamRawPredict")
    assert predict["body"]["stream"] is True and "model" not in predict["body"]


def test_gemini_chat_goes_to_generate_content(gateway, channel, client, upstream):
    app, _ = upstream
    start = len(app.config["REQUESTS"])
    before = log_id(gateway, channel)
    completion = client.chat.completions.create(
        model=GEMINI, messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Say hello"}])

    assert completion.choices[0].message.content == GEMINI_REPLY
    assert completion.choices[0].finish_reason == "stop"
    (predict,) = calls(app, "predict", start)
    assert predict["path"] == (f"/v1/projects/{PROJECT}/locations/{REGION}/publishers/google/models/"
                               f"{GEMINI}:generateContent")
    assert predict["body"]["systemInstruction"] == {"parts": [{"text": "Be kind."}]}
    # The mock's usageMetadata: the words of the JSON of contents and systemInstruction, the reply's words.
    prompt = words(json.dumps([predict["body"]["contents"], predict["body"]["systemInstruction"]]))
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (prompt, words(GEMINI_REPLY))
    assert_billed(gateway, channel, before, GEMINI, prompt, words(GEMINI_REPLY))


def test_gemini_stream_assembles_to_geminis_text(gateway, channel, client, upstream):
    app, _ = upstream
    start = len(app.config["REQUESTS"])
    before = log_id(gateway, channel)
    stream = client.chat.completions.create(
        model=GEMINI, messages=[{"role": "user", "content": "Stream to me"}], stream=True)
    chunks = list(stream)

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == GEMINI_REPLY
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    (predict,) = calls(app, "predict", start)
    assert predict["path"].endswith(f"/publishers/google/models/{GEMINI}:streamGenerateContent")
    assert predict["query"] == {"alt": "sse"}
    prompt = words(json.dumps([predict["body"]["contents"], None]))
    assert_billed(gateway, channel, before, GEMINI, prompt, words(GEMINI_REPLY))


def test_one_access_token_serves_every_call(client, upstream):
    app, _ = upstream
    start = len(app.config["REQUESTS"])
    for model in (CLAUDE, GEMINI, CLAUDE):
        client.chat.completions.create(model=model, max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    # However many calls the module made before, one token was ever fetched, and these three used it.
    (grant,) = calls(app, "token")
    assert grant["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert grant["body"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert len(grant["body"]["assertion"].split(".")) == 3
    predicts = calls(app, "predict", start)
    assert len(predicts) == 3
    (token,) = app.config["TOKENS"]
    assert {r["headers"]["authorization"] for r in predicts} == {f"Bearer {token}"}


@pytest.mark.parametrize(("model", "status", "fragment"), [
    (CLAUDE_OVERLOADED, 529, "Overloaded"),
    (GEMINI_RATE_LIMITED, 429, ""),
])
def test_upstream_errors_keep_their_status(client, model, status, fragment):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == status
    assert fragment in caught.value.message


def test_a_revoked_token_is_refused_then_replaced(client, upstream):
    app, _ = upstream
    messages = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(model=GEMINI, messages=messages)  # a token is cached
    fetched = len(calls(app, "token"))
    app.config["TOKENS"].clear()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=GEMINI, messages=messages)
    assert caught.value.status_code == 401
    assert "invalid authentication credentials" in caught.value.message
    assert len(calls(app, "token")) == fetched  # the refused token was not renewed before the 401
    completion = client.chat.completions.create(model=GEMINI, messages=messages)
    assert completion.choices[0].message.content == GEMINI_REPLY
    assert len(calls(app, "token")) == fetched + 1


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
