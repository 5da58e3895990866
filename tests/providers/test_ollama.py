"""Ollama (type 30) through a live gateway: the official OpenAI client in, Ollama's /api/chat and
/api/embed under the channel's base URL (NDJSON streams), OpenAI out, billed from prompt_eval_count and
eval_count."""

from __future__ import annotations

import openai
import pytest

from tests.providers.conftest import expected_quota
from tests.upstreams import ollama as mock
from tests.upstreams.server import serve

KEY = "ollama-proxy-token"
CHAT = "llama3:latest"
EMBED = "nomic-embed-text:latest"
MISSING = "llama3:70b"
CRASH = "runner-crash:7b"
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say hello please"}]
REPLY = mock.REPLY_PREFIX + "say hello please"
PROMPT, COMPLETION = 5, 9  # the mock counts words: 2 + 3 in, 9 out


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(models=(CHAT, EMBED, CRASH), api_key=KEY, pieces=4)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=30, key=KEY, base_url=upstream[1], models=[CHAT, EMBED])


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


@pytest.fixture(scope="module")
def failing(gateway, upstream):
    return gateway.sdk(gateway.add_channel(type=30, key=KEY, base_url=upstream[1], models=[MISSING, CRASH]))


def last_request(upstream) -> dict:
    return upstream[0].config["REQUESTS"][-1]


def assert_billed(gateway, channel, model: str, prompt: int, completion: int) -> None:
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(model, 30, prompt, completion)


def test_chat_goes_to_api_chat_with_options_and_is_billed_by_ollamas_counts(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model=CHAT, messages=HI, temperature=0.1, max_tokens=50, seed=3)
    assert answer.choices[0].message.content == REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (PROMPT, COMPLETION)
    request = last_request(upstream)
    assert request["path"] == "/api/chat"
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"] == {"model": CHAT, "messages": HI, "stream": False,
                               "options": {"temperature": 0.1, "seed": 3, "num_predict": 50}}
    assert_billed(gateway, channel, CHAT, PROMPT, COMPLETION)


def test_max_tokens_cut_is_a_length_finish(client):
    answer = client.chat.completions.create(model=CHAT, messages=HI, max_tokens=3)
    assert answer.choices[0].message.content == "Hello from mock"
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage.completion_tokens == 3


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


def test_images_go_as_bare_base64(client, upstream):
    pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{pixel}"}}]}])
    message = last_request(upstream)["body"]["messages"][0]
    assert message == {"role": "user", "content": "what is this", "images": [pixel]}


def test_embeddings_go_to_api_embed_and_bill_prompt_eval_count(gateway, channel, client, upstream):
    answer = client.embeddings.create(model=EMBED, input=["I love matcha", "tea"])
    assert [d.embedding for d in answer.data] == [mock.vector("I love matcha"), mock.vector("tea")]
    assert answer.usage.prompt_tokens == 4
    request = last_request(upstream)
    assert request["path"] == "/api/embed"
    assert request["body"] == {"model": EMBED, "input": ["I love matcha", "tea"]}
    assert_billed(gateway, channel, EMBED, 4, 0)


def test_a_model_that_was_not_pulled_is_a_404_ollama_error(failing):
    with pytest.raises(openai.APIStatusError) as caught:
        failing.chat.completions.create(model=MISSING, messages=HI)
    assert caught.value.status_code == 404
    assert caught.value.body["type"] == "ollama_error"
    assert caught.value.body["message"].startswith('model "llama3:70b" not found, try pulling it first')


def test_an_error_line_inside_a_stream_ends_it_with_an_error(failing):
    with pytest.raises(openai.APIError) as caught, \
            failing.chat.completions.create(model=CRASH, messages=HI, stream=True) as stream:
        list(stream)
    assert "unexpected EOF" in str(caught.value)


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
