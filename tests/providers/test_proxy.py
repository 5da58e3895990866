"""Proxy (type 43) through a live gateway: the official OpenAI client pointed at
`/v1/oneapi/proxy/<channel id>/v1` reaches the channel's base URL plus the path, with the channel's
raw key as `Authorization`, authenticated and billed like every relayed request."""

from __future__ import annotations

import openai
import pytest

from tests.providers.conftest import ROOT_KEY, expected_quota
from tests.upstreams import openai as mock
from tests.upstreams.server import serve

RAW_KEY = "Bearer sk-upstream"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(key="sk-upstream")
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=43, key=RAW_KEY, base_url=upstream[1])


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.keep(openai.OpenAI(api_key=f"sk-{ROOT_KEY}", base_url=f"{gateway.base}/v1/oneapi/proxy/{channel}/v1",
                                      max_retries=0, timeout=60))


def test_chat_reaches_the_base_url_with_the_raw_key_and_is_billed(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert answer.choices[0].message.content == "w0 w1 w2 w3 w4 "
    sent = upstream[0].config["REQUESTS"][-1]
    assert sent["path"].rstrip("?") == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == RAW_KEY
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (10, 5)
    assert row["quota"] == expected_quota("gpt-4o-mini", 43, 10, 5)


def test_a_stream_passes_through_and_ends_normally(client):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "w0 w1 w2 w3 w4 "


def test_chat_completions_never_route_to_a_proxy_channel(gateway, channel):
    # A Proxy channel lists no models and serves no relay mode but the proxy path.
    with pytest.raises(openai.APIStatusError) as refused:
        gateway.sdk(channel).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert refused.value.status_code == 400


def test_an_upstream_error_keeps_its_status(client):
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model="gpt-4o-mini-429", messages=HI)
    assert failed.value.status_code == 429
