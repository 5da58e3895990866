"""DeepL (type 38) through a live gateway: the official OpenAI client in, /v2/translate under the
channel's base URL with `DeepL-Auth-Key`, the translation out as a chat completion, billed as One API
bills it (prompt tokens = the source text's UTF-8 bytes, completion 0); a stream is one chunk."""

from __future__ import annotations

import openai
import pytest

from tests.providers.conftest import expected_quota
from tests.upstreams import deepl as mock
from tests.upstreams.server import serve

KEY = "279a2e9d-83b3-c416-7e2d-f721593e42a0:fx"
MODELS = ["deepl-zh", "deepl-en", "deepl-ja", "deepl-xx"]


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(auth_key=KEY)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=38, key=KEY, base_url=upstream[1], models=MODELS)


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


def last_request(upstream) -> dict:
    return upstream[0].config["REQUESTS"][-1]


def assert_billed(gateway, channel, model: str, text: str) -> None:
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (len(text.encode()), 0)
    assert row["quota"] == expected_quota(model, 38, len(text.encode()), 0)


def test_the_last_message_is_translated_and_billed_by_its_bytes(gateway, channel, client, upstream):
    text = "The weather is lovely today."
    answer = client.chat.completions.create(model="deepl-zh", messages=[
        {"role": "system", "content": "ignored"}, {"role": "user", "content": text}])
    assert answer.choices[0].message.content == f"[ZH] {text}"
    assert (answer.choices[0].finish_reason, answer.model) == ("stop", "deepl-zh")
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (28, 0)
    request = last_request(upstream)
    assert request["path"] == "/v2/translate"
    assert request["headers"]["authorization"] == f"DeepL-Auth-Key {KEY}"
    assert request["body"] == {"text": [text], "target_lang": "ZH", "show_billed_characters": True}
    assert_billed(gateway, channel, "deepl-zh", text)


def test_english_targets_the_us_variant_and_multibyte_text_bills_bytes_not_characters(gateway, channel, client,
                                                                                      upstream):
    text = "今日はいい天気"
    answer = client.chat.completions.create(model="deepl-en", messages=[{"role": "user", "content": text}])
    assert answer.choices[0].message.content == f"[EN-US] {text}"
    assert last_request(upstream)["body"]["target_lang"] == "EN-US"
    assert answer.usage.prompt_tokens == 21 != len(text)
    assert_billed(gateway, channel, "deepl-en", text)


def test_a_stream_is_one_chunk_and_ends_normally(gateway, channel, client, upstream):
    text = "Good morning, café owner!"
    chunks = list(client.chat.completions.create(model="deepl-ja", messages=[{"role": "user", "content": text}],
                                                 stream=True))
    assert len(chunks) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == f"[JA] {text}"
    assert chunks[0].choices[0].finish_reason == "stop"
    assert last_request(upstream)["body"]["target_lang"] == "JA"
    assert_billed(gateway, channel, "deepl-ja", text)


def test_an_unsupported_target_is_deepls_400(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="deepl-xx", messages=[{"role": "user", "content": "hello"}])
    assert caught.value.status_code == 400
    assert caught.value.body["type"] == "deepl_error"
    assert caught.value.body["message"].startswith("Value for 'target_lang' not supported.")


def test_an_exceeded_quota_is_deepls_456_also_for_a_stream(client):
    for stream in (False, True):
        with pytest.raises(openai.APIStatusError) as caught:
            answer = client.chat.completions.create(model="deepl-zh", stream=stream,
                                                    messages=[{"role": "user", "content": "[quota] hi"}])
            list(answer) if stream else None
        assert caught.value.status_code == 456
        assert caught.value.body["message"].startswith("Quota Exceeded")


def test_a_wrong_key_is_deepls_403(gateway, upstream):
    channel = gateway.add_channel(type=38, key="wrong:fx", base_url=upstream[1], models=["deepl-zh"])
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(channel).chat.completions.create(model="deepl-zh", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 403


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
