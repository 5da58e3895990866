"""PaLM 2 (type 11) through a live gateway: the official OpenAI client in, generateMessage of
chat-bison-001 under the channel's base URL with `x-goog-api-key`, OpenAI out. PaLM reports no usage
and cannot stream: the log holds the local count, and a stream is simulated from the one answer."""

from __future__ import annotations

import openai
import pytest

from oneapi.relay.tokenizer import count_messages, count_text
from tests.providers.conftest import expected_quota
from tests.upstreams import palm as mock
from tests.upstreams.server import serve

KEY = "AIzaSyLivePalmKey"
MODEL = "PaLM-2"
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say hello please"}]
REPLY = "PaLM says: say hello please"
PATH = "/v1beta2/models/chat-bison-001:generateMessage"


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(api_key=KEY)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=11, key=KEY, base_url=upstream[1], models=[MODEL])


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


def last_request(upstream) -> dict:
    return upstream[0].config["REQUESTS"][-1]


def assert_counted(gateway, channel, messages: list[dict], reply: str) -> None:
    prompt, completion = count_messages(messages, MODEL), count_text(reply)
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(MODEL, 11, prompt, completion)


def test_chat_calls_generate_message_and_is_billed_by_the_local_count(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model=MODEL, messages=HI, temperature=0.4, max_tokens=50)
    assert answer.choices[0].message.content == REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == MODEL
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (count_messages(HI, MODEL),
                                                                            count_text(REPLY))
    request = last_request(upstream)
    assert request["path"] == PATH
    assert request["headers"]["x-goog-api-key"] == KEY and "authorization" not in request["headers"]
    assert request["body"] == {"prompt": {"context": "Be brief.",
                                          "messages": [{"author": "0", "content": "say hello please"}]},
                               "temperature": 0.4}
    assert_counted(gateway, channel, HI, REPLY)


def test_a_stream_is_simulated_from_the_one_answer_and_ends_normally(gateway, channel, client, upstream):
    chunks = list(client.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == REPLY
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks] == [None, "stop"]
    assert len({c.id for c in chunks}) == 1
    assert "stream" not in last_request(upstream)["body"] and last_request(upstream)["path"] == PATH
    assert_counted(gateway, channel, HI, REPLY)


def test_several_candidates_become_choices(client):
    answer = client.chat.completions.create(model=MODEL, messages=HI, n=2)
    assert [c.message.content for c in answer.choices] == [REPLY, f"{REPLY} (#2)"]


def test_a_blocked_prompt_is_an_empty_filtered_answer(client):
    answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "[blocked] x"}])
    assert (answer.choices[0].message.content, answer.choices[0].finish_reason) == ("", "content_filter")


def test_an_upstream_error_keeps_its_status_and_google_status(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "[quota] please"}])
    assert caught.value.status_code == 429
    assert caught.value.body["type"] == "RESOURCE_EXHAUSTED"
    assert caught.value.body["message"].startswith("Resource has been exhausted")


def test_a_bad_key_is_googles_400_also_for_a_stream(gateway, upstream):
    channel = gateway.add_channel(type=11, key="AIza-wrong", base_url=upstream[1], models=[MODEL])
    with pytest.raises(openai.APIStatusError) as caught:
        list(gateway.sdk(channel).chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert caught.value.status_code == 400
    assert caught.value.body["message"].startswith("API key not valid")


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
