"""Tencent Hunyuan (type 23) through a live gateway: the official OpenAI client in, signed API 3.0 calls
to the channel's base URL (the mock verifies TC3-HMAC-SHA256 itself), OpenAI out, billed from Hunyuan's
own usage, streams included."""

from __future__ import annotations

import openai
import pytest

from tests.providers.conftest import expected_quota
from tests.upstreams import tencent as mock
from tests.upstreams.server import serve

SECRET_ID = "AKIDliveTestSecretId0000000000"
SECRET_KEY = "liveTestSecretKey000000000000000"
KEY = f"1300000000|{SECRET_ID}|{SECRET_KEY}"
CHAT = "hunyuan-lite"
EMBED = "hunyuan-embedding"
LIMITED = "hunyuan-rate-limit"
BROKEN = "hunyuan-stream-error"
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say hello please"}]
REPLY = mock.REPLY_PREFIX + "say hello please"
PROMPT, COMPLETION = 5, 7  # the mock counts words: 2 + 3 in, 7 out


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(secret_id=SECRET_ID, secret_key=SECRET_KEY, pieces=3)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=23, key=KEY, base_url=upstream[1], models=[CHAT, EMBED])


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


@pytest.fixture(scope="module")
def failing(gateway, upstream):
    """A channel for the error cases, so that nothing they do can touch the main one."""
    return gateway.sdk(gateway.add_channel(type=23, key=KEY, base_url=upstream[1], models=[LIMITED, BROKEN]))


def last_request(upstream) -> dict:
    return upstream[0].config["REQUESTS"][-1]


def assert_billed(gateway, channel, model: str, prompt: int, completion: int) -> None:
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(model, 23, prompt, completion)


def test_chat_is_signed_for_the_base_urls_host_and_billed_by_hunyuan_usage(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model=CHAT, messages=HI, temperature=0.5, max_tokens=50)
    assert answer.choices[0].message.content == REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (PROMPT, COMPLETION)
    request = last_request(upstream)
    assert request["path"] == "/"
    assert request["headers"]["x-tc-action"] == "ChatCompletions"
    assert request["headers"]["x-tc-version"] == "2023-09-01"
    assert request["headers"]["host"] == upstream[1].removeprefix("http://")
    assert request["headers"]["authorization"].startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/")
    assert "SignedHeaders=content-type;host;x-tc-action" in request["headers"]["authorization"]
    assert request["body"] == {"Model": CHAT, "Stream": False, "Temperature": 0.5,
                               "Messages": [{"Role": "system", "Content": "Be brief."},
                                            {"Role": "user", "Content": "say hello please"}]}
    assert_billed(gateway, channel, CHAT, PROMPT, COMPLETION)


def test_chat_stream_assembles_to_the_reply_and_bills_the_streamed_usage(gateway, channel, client, upstream):
    chunks = list(client.chat.completions.create(model=CHAT, messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    with_choices = [c for c in chunks if c.choices]
    assert "".join(c.choices[0].delta.content or "" for c in with_choices) == REPLY
    assert with_choices[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in with_choices] == [None] * (len(with_choices) - 1) + ["stop"]
    assert len({c.id for c in chunks}) == 1
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (PROMPT, COMPLETION)
    assert last_request(upstream)["body"]["Stream"] is True
    assert_billed(gateway, channel, CHAT, PROMPT, COMPLETION)


def test_embeddings_send_an_input_list_and_bill_the_reported_tokens(gateway, channel, client, upstream):
    answer = client.embeddings.create(model=EMBED, input=["I love matcha", "tea"])
    assert [d.embedding for d in answer.data] == [mock.vector("I love matcha"), mock.vector("tea")]
    assert [d.index for d in answer.data] == [0, 1]
    assert answer.usage.prompt_tokens == 4
    request = last_request(upstream)
    assert request["headers"]["x-tc-action"] == "GetEmbedding"
    assert request["body"] == {"InputList": ["I love matcha", "tea"]}
    assert_billed(gateway, channel, EMBED, 4, 0)


def test_a_tencent_error_answered_with_200_arrives_with_the_status_its_code_means(failing):
    with pytest.raises(openai.APIStatusError) as caught:
        failing.chat.completions.create(model=LIMITED, messages=HI)
    assert caught.value.status_code == 429
    assert caught.value.body["code"] == "LimitExceeded"
    assert caught.value.body["type"] == "tencent_error"


def test_the_same_error_to_a_stream_request_is_an_error_too(failing):
    with pytest.raises(openai.APIStatusError) as caught:
        list(failing.chat.completions.create(model=LIMITED, messages=HI, stream=True))
    assert caught.value.status_code == 429


def test_an_error_event_inside_a_stream_ends_it_with_an_error(failing):
    with pytest.raises(openai.APIError) as caught, \
            failing.chat.completions.create(model=BROKEN, messages=HI, stream=True) as stream:
        list(stream)
    assert "请求模型超时" in str(caught.value)


def test_a_wrong_secret_key_fails_the_mocks_signature_check(gateway, upstream):
    bad = gateway.sdk(gateway.add_channel(type=23, key=f"1300000000|{SECRET_ID}|not-the-secret",
                                          base_url=upstream[1], models=[CHAT]))
    with pytest.raises(openai.APIStatusError) as caught:
        bad.chat.completions.create(model=CHAT, messages=HI)
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "AuthFailure.SignatureFailure"


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
