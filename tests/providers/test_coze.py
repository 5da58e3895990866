"""Coze (type 34) through a live gateway: the official OpenAI client in, Coze's v2 chat API to the mock
at the channel's base URL, OpenAI out, billed by local token counts (Coze reports none)."""

from __future__ import annotations

import openai
import pytest

from oneapi.relay.tokenizer import count_messages, count_text
from tests.providers.conftest import expected_quota
from tests.upstreams import coze as mock
from tests.upstreams.server import serve

TOKEN = "pat_live_coze_token"
USER_ID = "7351234567890"
MODEL = "bot-7342"
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
      {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "say hello please"}]
REPLY = "Bot 7342 heard: say hello please"


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(token=TOKEN, bots=("7342",), deltas=4)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=34, key=TOKEN, base_url=upstream[1], models=[MODEL, "bot-9999"],
                               config={"user_id": USER_ID})


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


def last_request(upstream) -> dict:
    return upstream[0].config["REQUESTS"][-1]


def assert_billed_locally(gateway, channel, messages, reply: str) -> None:
    row = gateway.last_log(channel)
    prompt, completion = count_messages(messages, MODEL), count_text(reply)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(MODEL, 34, prompt, completion)


def test_chat_is_answered_by_the_bot_and_billed_by_local_counts(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model=MODEL, messages=HI)
    assert answer.choices[0].message.content == REPLY  # only the `answer` message
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == MODEL
    request = last_request(upstream)
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert request["body"] == {
        "bot_id": "7342", "user": USER_ID, "query": "say hello please", "stream": False,
        "chat_history": [
            {"role": "user", "type": "query", "content": "Be brief.", "content_type": "text"},
            {"role": "user", "type": "query", "content": "hi", "content_type": "text"},
            {"role": "assistant", "type": "answer", "content": "Hello!", "content_type": "text"}]}
    assert_billed_locally(gateway, channel, HI, REPLY)
    # Coze reports no usage: the answer carries the counts it is billed by.
    row = gateway.last_log(channel, wait=0)
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (row["prompt_tokens"],
                                                                            row["completion_tokens"])


def test_stream_assembles_to_the_answer_and_ends_normally(gateway, channel, client, upstream):
    chunks = list(client.chat.completions.create(model=MODEL, messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY  # follow_up and verbose messages are not part of it
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].usage.completion_tokens == count_text(REPLY)
    assert last_request(upstream)["body"]["stream"] is True
    assert_billed_locally(gateway, channel, HI, REPLY)


def test_an_error_event_inside_the_stream_reaches_the_client(client):
    messages = [{"role": "user", "content": "please stream-error now"}]
    with pytest.raises(openai.APIError) as caught:
        list(client.chat.completions.create(model=MODEL, messages=messages, stream=True))
    assert "The bot failed to answer" in str(caught.value)


def test_an_unpublished_bot_is_cozes_error_with_its_code(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="bot-9999", messages=HI)
    assert caught.value.status_code == 400
    assert caught.value.body["type"] == "coze_error"
    assert caught.value.body["code"] == 4015
    assert "has not been published" in caught.value.body["message"]


def test_a_wrong_token_keeps_cozes_401(gateway, upstream):
    channel = gateway.add_channel(type=34, key="pat_wrong", base_url=upstream[1], models=[MODEL],
                                  config={"user_id": USER_ID})
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(channel).chat.completions.create(model=MODEL, messages=HI)
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == 4100


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
