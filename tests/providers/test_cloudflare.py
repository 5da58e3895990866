"""Cloudflare Workers AI (type 37) through a live gateway: the official OpenAI client in, Workers AI's
endpoints under the account prefix of the channel's base URL, OpenAI out, billed from Workers AI's usage."""

from __future__ import annotations

import openai
import pytest

from tests.providers.conftest import expected_quota
from tests.upstreams import cloudflare as mock
from tests.upstreams.server import serve

TOKEN = "cf-live-token"
ACCOUNT = "d8d7c61dbc334c32d3ced580e4bf42b4"
CHAT = "@cf/meta/llama-3.1-8b-instruct"
TEXT = "@hf/thebloke/zephyr-7b-beta-awq"
EMBED = "@cf/baai/bge-base-en-v1.5"
LIMITED = "@cf/meta/rate-limit-model"
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say hello please"}]
REPLY = "Hello from mock Workers AI! You said: say hello please"
PREFIX = f"/client/v4/accounts/{ACCOUNT}/ai"


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(api_token=TOKEN, account=ACCOUNT, deltas=3)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=37, key=TOKEN, base_url=upstream[1], models=[CHAT, TEXT, EMBED, LIMITED],
                               config={"user_id": ACCOUNT})


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


def last_request(upstream) -> dict:
    return upstream[0].config["REQUESTS"][-1]


def assert_billed(gateway, channel, model: str, prompt: int, completion: int) -> None:
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(model, 37, prompt, completion)


def test_chat_goes_to_the_account_prefix_and_is_billed_by_workers_ai_usage(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model=CHAT, messages=HI, max_tokens=40)
    assert answer.choices[0].message.content == REPLY
    assert answer.id.startswith("chatcmpl-id-")
    # The mock counts one token per word: 2 + 3 in, 10 out.
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (5, 10)
    request = last_request(upstream)
    assert request["path"] == f"{PREFIX}/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert request["body"]["model"] == CHAT and request["body"]["messages"] == HI
    assert_billed(gateway, channel, CHAT, 5, 10)


def test_chat_stream_assembles_to_the_reply_with_one_id_and_ends_normally(gateway, channel, client):
    chunks = list(client.chat.completions.create(model=CHAT, messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in with_choices][-1] == "stop"
    assert len({c.id for c in chunks}) == 1
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (5, 10)
    assert_billed(gateway, channel, CHAT, 5, 10)


def test_completions_run_the_model_and_come_back_as_text_completions(gateway, channel, client, upstream):
    answer = client.completions.create(model=TEXT, prompt="count to three", max_tokens=30, temperature=0.2)
    assert answer.object == "text_completion"
    assert answer.choices[0].text == "Hello from mock Workers AI! You said: count to three"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (3, 10)
    request = last_request(upstream)
    assert request["path"] == f"{PREFIX}/run/{TEXT}"
    assert request["body"] == {"prompt": "count to three", "max_tokens": 30, "temperature": 0.2}
    assert_billed(gateway, channel, TEXT, 3, 10)


def test_completions_stream(gateway, channel, client, upstream):
    chunks = list(client.completions.create(model=TEXT, prompt="count to three", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == \
        "Hello from mock Workers AI! You said: count to three"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert last_request(upstream)["body"]["stream"] is True
    assert_billed(gateway, channel, TEXT, 3, 10)


def test_embeddings_pass_through_in_openai_shape(gateway, channel, client, upstream):
    answer = client.embeddings.create(model=EMBED, input=["I love matcha", "tea"])
    assert [d.embedding for d in answer.data] == [mock.vector("I love matcha"), mock.vector("tea")]
    assert answer.usage.prompt_tokens == 4
    assert last_request(upstream)["path"] == f"{PREFIX}/v1/embeddings"
    assert_billed(gateway, channel, EMBED, 4, 0)


def test_an_upstream_error_keeps_its_status_and_cloudflare_code(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=LIMITED, messages=HI)
    assert caught.value.status_code == 429
    assert caught.value.body["code"] == 3040
    assert caught.value.body["message"].startswith("Capacity temporarily exceeded")


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
