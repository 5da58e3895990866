"""Ali DashScope (type 17) through a live gateway: the official OpenAI client in, DashScope's native
wire format to the mock at the channel's base URL, OpenAI out, billed from DashScope's usage."""

from __future__ import annotations

import openai
import pytest

from oneapi.services import billing
from tests.providers.conftest import expected_quota
from tests.upstreams import ali as mock
from tests.upstreams.server import serve

KEY = "sk-dashscope-live"
PLUGIN = '{"pdf_extracter":{}}'
MODELS = ["qwen-turbo", "qwen-plus-internet", "qwen-vl-max", "qwen-rate-limit", "text-embedding-v3", "wanx-v1"]
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say hello please"}]
REPLY = "Hello from mock Qwen! You said: say hello please"


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(api_key=KEY, deltas=3)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=17, key=KEY, base_url=upstream[1], models=MODELS, other=PLUGIN)


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


def sent(upstream, path: str) -> dict:
    return [r for r in upstream[0].config["REQUESTS"] if r["path"] == path][-1]


def assert_billed(gateway, channel, model: str, prompt: int, completion: int) -> None:
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(model, 17, prompt, completion)


def test_chat_is_answered_from_dashscope_and_billed_by_its_usage(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model="qwen-turbo", messages=HI)
    assert answer.choices[0].message.content == REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "qwen-turbo"
    # The mock counts one token per word: 2 + 3 in, 9 out.
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (5, 9)
    request = sent(upstream, mock.TEXT_PATH)
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["headers"]["x-dashscope-plugin"] == PLUGIN
    assert "x-dashscope-sse" not in request["headers"]
    assert request["body"]["parameters"]["result_format"] == "message"
    assert request["body"]["input"]["messages"] == HI
    assert_billed(gateway, channel, "qwen-turbo", 5, 9)


def test_stream_assembles_to_the_reply_and_ends_normally(gateway, channel, client, upstream):
    stream = client.chat.completions.create(model="qwen-turbo", messages=HI, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert len({c.id for c in chunks}) == 1
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (5, 9)
    request = sent(upstream, mock.TEXT_PATH)
    assert request["headers"]["x-dashscope-sse"] == "enable"
    assert request["body"]["parameters"]["incremental_output"] is True
    assert_billed(gateway, channel, "qwen-turbo", 5, 9)


def test_internet_suffix_turns_on_web_search(client, upstream):
    answer = client.chat.completions.create(model="qwen-plus-internet", messages=HI, top_p=1)
    assert answer.choices[0].message.content == REPLY
    body = sent(upstream, mock.TEXT_PATH)["body"]
    assert body["model"] == "qwen-plus"
    assert body["parameters"]["enable_search"] is True
    assert body["parameters"]["top_p"] == 0.9999


def test_a_vl_model_gets_its_image_through_the_multimodal_endpoint(client, upstream):
    content = [{"type": "image_url", "image_url": {"url": "https://example.com/dog.jpg"}},
               {"type": "text", "text": "what is it"}]
    answer = client.chat.completions.create(model="qwen-vl-max", messages=[{"role": "user", "content": content}])
    assert answer.choices[0].message.content == "Hello from mock Qwen! You said: what is it"
    body = sent(upstream, mock.MULTIMODAL_PATH)["body"]
    assert body["input"]["messages"][0]["content"] == [{"image": "https://example.com/dog.jpg"}, {"text": "what is it"}]


def test_embeddings_are_answered_in_openai_shape(gateway, channel, client, upstream):
    answer = client.embeddings.create(model="text-embedding-v3", input=["hello there", "world"], dimensions=6)
    assert [d.index for d in answer.data] == [0, 1]
    assert [len(d.embedding) for d in answer.data] == [6, 6]
    assert answer.data[0].embedding == mock.vector("hello there", 6)
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == 3
    assert sent(upstream, mock.EMBEDDING_PATH)["body"] == {
        "model": "text-embedding-v3", "input": {"texts": ["hello there", "world"]}, "parameters": {"dimension": 6}}
    assert_billed(gateway, channel, "text-embedding-v3", 3, 0)


def test_an_image_task_is_submitted_polled_at_the_channel_and_answered_with_urls(gateway, channel, client, upstream):
    answer = client.images.generate(model="wanx-v1", prompt="a running cat", n=2, size="1024x1024")
    submission = sent(upstream, mock.IMAGE_PATH)
    assert submission["headers"]["x-dashscope-async"] == "enable"
    assert submission["body"] == {"model": "wanx-v1", "input": {"prompt": "a running cat"},
                                  "parameters": {"size": "1024*1024", "n": 2}}
    polls = [r for r in upstream[0].config["REQUESTS"] if r["path"].startswith("/api/v1/tasks/")]
    assert len(polls) >= 2 and all(r["method"] == "GET" and r["headers"]["authorization"] == f"Bearer {KEY}"
                                   for r in polls)
    row = gateway.last_log(channel)
    ratio = billing.model_ratio("wanx-v1", 17, {})
    assert row["quota"] == billing.image_quota("wanx-v1", "1024x1024", "standard", 2, ratio, 1)
    # The task's answer in OpenAI's shape: the URLs of its images (DashScope's task JSON is not for clients).
    assert [image.url for image in answer.data or []] == [
        f"{upstream[1]}/images/{polls[-1]['path'].rsplit('/', 1)[1]}-{i}.png" for i in range(2)]


def test_b64_json_images_are_fetched_by_the_gateway_and_answered_inline(gateway, channel, client, upstream):
    import base64

    answer = client.images.generate(model="wanx-v1", prompt="a sleeping cat", n=1, size="1024x1024",
                                    response_format="b64_json")
    assert [base64.b64decode(image.b64_json) for image in answer.data] == [mock.PNG]
    assert answer.data[0].url is None
    fetched = [r for r in upstream[0].config["REQUESTS"] if r["path"].startswith("/images/")]
    assert fetched and fetched[-1]["method"] == "GET"
    ratio = billing.model_ratio("wanx-v1", 17, {})
    assert gateway.last_log(channel)["quota"] == billing.image_quota("wanx-v1", "1024x1024", "standard", 1, ratio, 1)


def test_a_failed_image_task_is_an_error_with_dashscopes_code(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.images.generate(model="wanx-v1", prompt="something forbidden", n=1, size="1024x1024")
    assert caught.value.status_code == 400
    assert caught.value.body["code"] == "DataInspectionFailed"


def test_an_upstream_error_keeps_its_status_and_code(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="qwen-rate-limit", messages=HI)
    assert caught.value.status_code == 429
    assert caught.value.body["code"] == caught.value.body["type"] == "Throttling.RateQuota"
    assert "rate limit" in caught.value.body["message"]


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
