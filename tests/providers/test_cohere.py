"""Cohere (type 35) through a live gateway: the official OpenAI client in, Cohere's v1 Chat API under the
channel's base URL (NDJSON streams), OpenAI out, billed from Cohere's `meta.tokens`."""

from __future__ import annotations

import openai
import pytest

from tests.providers.conftest import expected_quota
from tests.upstreams import cohere as mock
from tests.upstreams.server import serve

KEY = "co-live-test-key"
CHAT = "command-r"
SEARCH = "command-r-internet"
UNKNOWN = "command-x"
LIMITED = "command-r-rate-limit"
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say hello please"}]
REPLY = mock.REPLY_PREFIX + "say hello please"
# The mock's `tokens`: 60 for its prompt template + 3 message words + 2 history words in, 9 words out.
PROMPT, COMPLETION = 65, 9


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(api_key=KEY, pieces=4)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=35, key=KEY, base_url=upstream[1], models=[CHAT, SEARCH])


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


@pytest.fixture(scope="module")
def failing(gateway, upstream):
    return gateway.sdk(gateway.add_channel(type=35, key=KEY, base_url=upstream[1], models=[UNKNOWN, LIMITED]))


def last_request(upstream) -> dict:
    return upstream[0].config["REQUESTS"][-1]


def assert_billed(gateway, channel, model: str, prompt: int, completion: int) -> None:
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(model, 35, prompt, completion)


def test_chat_goes_to_v1_chat_and_is_billed_by_cohere_tokens(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model=CHAT, messages=HI, temperature=0.3)
    assert answer.choices[0].message.content == REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (PROMPT, COMPLETION)
    request = last_request(upstream)
    assert request["path"] == "/v1/chat"
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"] == {"model": CHAT, "message": "say hello please", "temperature": 0.3, "stream": False,
                               "chat_history": [{"role": "SYSTEM", "message": "Be brief."}]}
    assert_billed(gateway, channel, CHAT, PROMPT, COMPLETION)


def test_chat_stream_assembles_to_the_reply_and_ends_normally(gateway, channel, client, upstream):
    chunks = list(client.chat.completions.create(model=CHAT, messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    with_choices = [c for c in chunks if c.choices]
    assert "".join(c.choices[0].delta.content or "" for c in with_choices) == REPLY
    assert with_choices[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in with_choices] == [None] * (len(with_choices) - 1) + ["stop"]
    assert len({c.id for c in chunks}) == 1
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (PROMPT, COMPLETION)
    assert last_request(upstream)["body"]["stream"] is True
    assert_billed(gateway, channel, CHAT, PROMPT, COMPLETION)


def test_an_internet_model_adds_the_web_search_connector(gateway, channel, client, upstream):
    chunks = list(client.chat.completions.create(model=SEARCH, messages=HI[1:], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    body = last_request(upstream)["body"]
    assert (body["model"], body["connectors"]) == (CHAT, [{"id": "web-search"}])
    assert "chat_history" not in body
    assert_billed(gateway, channel, SEARCH, 60 + 3, COMPLETION)


def test_max_tokens_cut_is_a_length_finish(client, upstream):
    answer = client.chat.completions.create(model=CHAT, messages=HI, max_tokens=4)
    assert answer.choices[0].message.content == "Hello from mock Cohere!"
    assert answer.choices[0].finish_reason == "length"
    assert last_request(upstream)["body"]["max_tokens"] == 4


def test_an_unknown_model_is_cohere_404_with_its_message(failing):
    with pytest.raises(openai.APIStatusError) as caught:
        failing.chat.completions.create(model=UNKNOWN, messages=HI)
    assert caught.value.status_code == 404
    assert caught.value.body["message"].startswith("model 'command-x' not found")


def test_a_rate_limit_keeps_its_429(failing):
    with pytest.raises(openai.APIStatusError) as caught:
        list(failing.chat.completions.create(model=LIMITED, messages=HI, stream=True))
    assert caught.value.status_code == 429
    assert caught.value.body["message"].startswith("You are using a Trial key")


def test_a_wrong_key_is_a_401(gateway, upstream):
    bad = gateway.sdk(gateway.add_channel(type=35, key="co-wrong", base_url=upstream[1], models=[CHAT]))
    with pytest.raises(openai.APIStatusError) as caught:
        bad.chat.completions.create(model=CHAT, messages=HI)
    assert caught.value.status_code == 401
    assert caught.value.body["message"].startswith("invalid api token")


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
