"""Replicate (type 46) through the live gateway and the official SDK, against the mock Replicate API:
predictions created, polled and streamed; chat billed by the locally counted tokens, images by One
API's image price."""

from __future__ import annotations

import time

import openai
import pytest

from oneapi.relay.tokenizer import count_messages, count_text
from oneapi.services import billing
from tests.providers.conftest import expected_quota
from tests.upstreams import replicate as mock
from tests.upstreams.server import serve

TOKEN = "r8_LiveMockTokenLiveMockTokenLiveMock0000"
CHAT_MODEL = "meta/meta-llama-3-8b-instruct"
IMAGE_MODEL = "black-forest-labs/flux-schnell"
TYPE = 46


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(api_token=TOKEN, chunk_delay=0.01)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    _, base = upstream
    return gateway.add_channel(type=TYPE, key=TOKEN, base_url=base, models=[CHAT_MODEL, IMAGE_MODEL])


def requests_since(app, start: int) -> list[dict]:
    return app.config["REQUESTS"][start:]


def reply_for(prompt: str) -> str:
    return f"Hello from mock Replicate!\nYou said: {prompt}"


def last_log_id(gateway, channel) -> int:
    try:
        return gateway.last_log(channel, wait=0)["id"]
    except AssertionError:  # no consume log yet
        return 0


def new_log(gateway, channel, after: int) -> dict:
    """The consume log row written after row `after`: a stream is settled once `[DONE]` is sent, so
    the client may read the log a moment before it is there."""
    deadline = time.monotonic() + 10
    while True:
        if last_log_id(gateway, channel) > after:
            return gateway.last_log(channel)
        assert time.monotonic() < deadline, "no new consume log"
        time.sleep(0.05)


def assert_billed_by_counted_tokens(gateway, channel, messages, reply, after):
    log = new_log(gateway, channel, after)
    assert log["model_name"] == CHAT_MODEL
    assert log["prompt_tokens"] == count_messages(messages, CHAT_MODEL)
    assert log["completion_tokens"] == count_text(reply)
    assert log["quota"] == expected_quota(CHAT_MODEL, TYPE, log["prompt_tokens"], log["completion_tokens"])
    assert log["quota"] > 0
    return log


def test_non_stream_chat_is_served_from_the_prediction_stream(gateway, channel, upstream):
    app, _ = upstream
    start, before = len(app.config["REQUESTS"]), last_log_id(gateway, channel)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]
    completion = gateway.sdk(channel).chat.completions.create(model=CHAT_MODEL, messages=messages, max_tokens=40)

    reply = reply_for("Say hi")
    assert completion.choices[0].message.content == reply
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    log = assert_billed_by_counted_tokens(gateway, channel, messages, reply, before)
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        log["prompt_tokens"], log["completion_tokens"])

    seen = requests_since(app, start)
    create, *polls, stream = seen
    assert (create["method"], create["path"]) == ("POST", f"/v1/models/{CHAT_MODEL}/predictions")
    assert create["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert create["body"] == {"input": {"prompt": "Say hi", "system_prompt": "Be brief.", "max_tokens": 40},
                              "stream": True}
    assert polls and all(p["method"] == "GET" and p["path"].startswith("/v1/predictions/") for p in polls)
    assert (stream["method"], stream["path"].split("/")[:3]) == ("GET", ["", "v1", "stream"])
    assert stream["headers"]["accept"] == "text/event-stream"
    assert stream["headers"]["authorization"] == f"Bearer {TOKEN}"


def test_stream_chat_assembles_to_the_models_text_and_ends_normally(gateway, channel):
    messages = [{"role": "user", "content": "Tell me a story"}]
    before = last_log_id(gateway, channel)
    stream = gateway.sdk(channel).chat.completions.create(model=CHAT_MODEL, messages=messages, stream=True)
    chunks = list(stream)

    reply = reply_for("Tell me a story")
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == reply
    assert len(chunks) >= 4  # one chunk per piece the model streamed
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert len({c.id for c in chunks}) == 1
    assert_billed_by_counted_tokens(gateway, channel, messages, reply, before)


def test_an_error_event_inside_the_stream_reaches_the_client(gateway, channel):
    stream = gateway.sdk(channel).chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": "[stream-error] go"}], stream=True)
    with pytest.raises(openai.APIError) as caught:
        list(stream)
    assert "CUDA error: out of memory" in str(caught.value)


def test_image_generation_polls_the_prediction_and_answers_its_urls(gateway, channel, upstream):
    app, base = upstream
    start, before = len(app.config["REQUESTS"]), last_log_id(gateway, channel)
    result = gateway.sdk(channel).images.generate(model=IMAGE_MODEL, prompt="a red fox in snow", size="1792x1024")

    assert len(result.data) == 1
    assert result.data[0].url.startswith(f"{base}/files/") and result.data[0].url.endswith(".png")
    create, *polls = requests_since(app, start)
    assert create["path"] == f"/v1/models/{IMAGE_MODEL}/predictions"
    assert create["body"] == {"input": {"prompt": "a red fox in snow", "aspect_ratio": "16:9", "num_outputs": 1,
                                        "output_format": "png"}}
    assert len(polls) == 2  # starting → processing → succeeded
    log = new_log(gateway, channel, before)
    ratio = billing.model_ratio(IMAGE_MODEL, TYPE, {})
    assert ratio == 1.5  # One API's default: $0.003 per image
    assert log["quota"] == billing.image_quota(IMAGE_MODEL, "1792x1024", "standard", 1, ratio, 1) == 1500


def test_several_images_are_one_prediction_with_num_outputs(gateway, channel, upstream):
    app, _ = upstream
    start, before = len(app.config["REQUESTS"]), last_log_id(gateway, channel)
    result = gateway.sdk(channel).images.generate(model=IMAGE_MODEL, prompt="two cats", n=2)
    assert len(result.data) == 2
    assert requests_since(app, start)[0]["body"]["input"]["num_outputs"] == 2
    assert new_log(gateway, channel, before)["quota"] == 3000


def test_a_failed_prediction_is_an_error(gateway, channel):
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(channel).images.generate(model=IMAGE_MODEL, prompt="[fail] something")
    assert caught.value.status_code == 500
    assert "NSFW content detected" in caught.value.message


def test_an_upstream_error_keeps_its_status(gateway, upstream):
    _, base = upstream
    bad = gateway.add_channel(type=TYPE, key="r8_wrong", base_url=base, models=[CHAT_MODEL])
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(bad).chat.completions.create(model=CHAT_MODEL, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 401
    assert "You did not pass a valid authentication token" in caught.value.message
    assert caught.value.body["type"] == "replicate_error"
