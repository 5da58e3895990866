"""Zhipu GLM (type 16) through a live gateway: the official OpenAI client in, Zhipu's JWT-signed v4
(and v3) wire format to the mock at the channel's base URL, OpenAI out, billed from Zhipu's usage."""

from __future__ import annotations

import openai
import pytest

from oneapi.services import billing
from tests.providers.conftest import expected_quota
from tests.upstreams import zhipu as mock
from tests.upstreams.server import serve

KEY = "6a1b2c3d4e5f60718293a4b5c6d7e8f9.QnR5c2VjcmV0c2VjcmV0"
MODELS = ["glm-4-flash", "glm-4-rate-limit", "glm-4-unknown", "chatglm_turbo", "embedding-3", "cogview-3-plus"]
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say hello please"}]
REPLY = "你好！You said: say hello please"
# The mock counts one token per word: 2 + 3 in, 5 out.
PROMPT, COMPLETION = 5, 5


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(api_key=KEY, deltas=3)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=16, key=KEY, base_url=upstream[1], models=MODELS)


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


def sent(upstream, path: str) -> dict:
    return [r for r in upstream[0].config["REQUESTS"] if r["path"] == path][-1]


def assert_billed(gateway, channel, model: str, prompt: int, completion: int) -> None:
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(model, 16, prompt, completion)


def test_chat_is_answered_through_v4_with_a_jwt_and_billed_by_zhipus_usage(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model="glm-4-flash", messages=HI, temperature=1.8, user="user-0001")
    assert answer.choices[0].message.content == REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert answer.object == "chat.completion"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (PROMPT, COMPLETION)
    request = sent(upstream, mock.CHAT_PATH)
    authorization = request["headers"]["authorization"]
    assert not authorization.startswith("Bearer") and authorization.count(".") == 2
    assert request["claims"]["api_key"] == KEY.split(".")[0]
    assert request["claims"]["exp"] - request["claims"]["timestamp"] == 24 * 3600 * 1000
    assert request["body"]["temperature"] == 1.0
    assert request["body"]["user_id"] == "user-0001" and "user" not in request["body"]
    assert_billed(gateway, channel, "glm-4-flash", PROMPT, COMPLETION)


def test_stream_assembles_to_the_reply_and_ends_normally(gateway, channel, client, upstream):
    stream = client.chat.completions.create(model="glm-4-flash", messages=HI, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert len({c.id for c in chunks}) == 1
    assert [c.choices[0].delta.role for c in chunks if c.choices][:2] == ["assistant", None]
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (PROMPT, COMPLETION)
    request = sent(upstream, mock.CHAT_PATH)
    assert request["body"]["stream"] is True and "stream_options" not in request["body"]
    assert_billed(gateway, channel, "glm-4-flash", PROMPT, COMPLETION)


def test_a_stream_without_usage_requested_still_bills_zhipus_usage(gateway, channel, client):
    chunks = list(client.chat.completions.create(model="glm-4-flash", messages=HI, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    assert all(c.usage is None for c in chunks)
    assert_billed(gateway, channel, "glm-4-flash", PROMPT, COMPLETION)


def test_chatglm_models_go_to_the_v3_api(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model="chatglm_turbo", messages=HI)
    assert answer.choices[0].message.content == REPLY
    request = sent(upstream, "/api/paas/v3/model-api/chatglm_turbo/invoke")
    assert request["body"]["prompt"][0] == {"role": "user", "content": "Be brief."}
    assert_billed(gateway, channel, "chatglm_turbo", PROMPT, COMPLETION)

    chunks = list(client.chat.completions.create(model="chatglm_turbo", messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (PROMPT, COMPLETION)
    assert len({c.id for c in chunks}) == 1
    assert sent(upstream, "/api/paas/v3/model-api/chatglm_turbo/sse-invoke")["body"]["incremental"] is True
    # The usage comes from the stream's `meta:` line.
    assert_billed(gateway, channel, "chatglm_turbo", PROMPT, COMPLETION)


def test_embeddings_of_several_inputs_are_answered_in_openai_shape(gateway, channel, client, upstream):
    answer = client.embeddings.create(model="embedding-3", input=["hello there", "world"], dimensions=6)
    assert [d.index for d in answer.data] == [0, 1]
    assert answer.data[0].embedding == mock.vector("hello there", 6)
    assert answer.data[1].embedding == mock.vector("world", 6)
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == 3
    assert sent(upstream, mock.EMBEDDINGS_PATH)["body"] == {"model": "embedding-3", "input": ["hello there", "world"],
                                                            "dimensions": 6}
    assert_billed(gateway, channel, "embedding-3", 3, 0)


def test_images_are_answered_with_zhipus_url(gateway, channel, client, upstream):
    answer = client.images.generate(model="cogview-3-plus", prompt="一只可爱的小猫咪", size="1024x1024")
    assert len(answer.data) == 1
    assert answer.data[0].url.startswith(upstream[1] + "/files/")
    assert sent(upstream, mock.IMAGES_PATH)["body"] == {"model": "cogview-3-plus", "prompt": "一只可爱的小猫咪",
                                                        "size": "1024x1024"}
    row = gateway.last_log(channel)
    ratio = billing.model_ratio("cogview-3-plus", 16, {})
    assert row["quota"] == billing.image_quota("cogview-3-plus", "1024x1024", "standard", 1, ratio, 1)


def test_an_unknown_model_is_zhipus_400_with_its_code(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="glm-4-unknown", messages=HI)
    assert caught.value.status_code == 400
    assert caught.value.body["type"] == "zhipu_error"
    assert caught.value.body["code"] == "1211"
    assert "模型不存在" in caught.value.body["message"]


def test_a_rate_limit_keeps_its_status(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="glm-4-rate-limit", messages=HI)
    assert caught.value.status_code == 429
    assert caught.value.body["code"] == "1302"


def test_a_wrong_secret_is_refused_by_zhipu_with_401(gateway, upstream):
    channel = gateway.add_channel(type=16, key=KEY.split(".")[0] + ".wrongsecret", base_url=upstream[1],
                                  models=["glm-4-flash"])
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(channel).chat.completions.create(model="glm-4-flash", messages=HI)
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "1002"


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
