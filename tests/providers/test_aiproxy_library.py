"""Knowledge base: AI Proxy (type 21) through a live gateway: the official OpenAI client in, the library
`ask` API to the mock at the channel's base URL, OpenAI out with the reference list, billed by local
token counts (AI Proxy reports none; One API billed nothing)."""

from __future__ import annotations

import openai
import pytest

from oneapi.relay.tokenizer import count_messages, count_text
from tests.providers.conftest import expected_quota
from tests.upstreams import aiproxy_library as mock
from tests.upstreams.server import serve

KEY = "ak-live-library-key"
LIBRARY = "123456"
MODEL = "gpt-3.5-turbo"
HI = [{"role": "system", "content": "Answer from the docs."}, {"role": "user", "content": "how do I start"}]
REFERENCES = ("\n\n参考文档：\n1. [Getting started](https://docs.example.com/start)\n"
              "2. [常见问题](https://docs.example.com/faq)\n")
REPLY = f"From library {LIBRARY}: how do I start" + REFERENCES


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(api_key=KEY, libraries=(LIBRARY,), deltas=4)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    # The knowledge-base id lives in the legacy `other` field, as One API's form saves it.
    return gateway.add_channel(type=21, key=KEY, base_url=upstream[1], models=[MODEL], other=LIBRARY)


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


def last_request(upstream) -> dict:
    return upstream[0].config["REQUESTS"][-1]


def assert_billed_locally(gateway, channel, reply: str) -> None:
    row = gateway.last_log(channel)
    prompt, completion = count_messages(HI, MODEL), count_text(reply)
    assert completion > 0
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(MODEL, 21, prompt, completion)


def test_chat_is_answered_from_the_library_with_its_references(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model=MODEL, messages=HI)
    assert answer.choices[0].message.content == REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == MODEL
    request = last_request(upstream)
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"] == {"model": MODEL, "query": "how do I start", "libraryId": LIBRARY, "stream": False}
    assert_billed_locally(gateway, channel, REPLY)


def test_stream_assembles_to_the_answer_and_references_and_ends_normally(gateway, channel, client, upstream):
    chunks = list(client.chat.completions.create(model=MODEL, messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].usage.completion_tokens == count_text(REPLY)
    assert last_request(upstream)["body"]["stream"] is True
    assert_billed_locally(gateway, channel, REPLY)


def test_an_unknown_library_is_an_upstream_error_with_ai_proxys_code(gateway, upstream):
    channel = gateway.add_channel(type=21, key=KEY, base_url=upstream[1], models=[MODEL], other="999")
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(channel).chat.completions.create(model=MODEL, messages=HI)
    assert caught.value.status_code == 500
    assert caught.value.body["type"] == "aiproxy_library_error"
    assert caught.value.body["code"] == 10003
    assert "知识库不存在" in caught.value.body["message"]


def test_a_wrong_key_keeps_its_401(gateway, upstream):
    channel = gateway.add_channel(type=21, key="ak-wrong", base_url=upstream[1], models=[MODEL], other=LIBRARY)
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(channel).chat.completions.create(model=MODEL, messages=HI)
    assert caught.value.status_code == 401
    assert caught.value.body["message"].startswith("无效的 Api Key")


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
