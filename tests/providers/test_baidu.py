"""Baidu ERNIE (type 15) through a live gateway: the official OpenAI client in; an access token fetched
from the channel's base URL with `APIKey|SecretKey` and cached; the wenxinworkshop endpoints; OpenAI out,
billed from Baidu's usage; Baidu's HTTP-200 error bodies answered with the status their code means."""

from __future__ import annotations

import openai
import pytest

from tests.providers.conftest import expected_quota
from tests.upstreams import baidu as mock
from tests.upstreams.server import serve

API_KEY, SECRET = "Y2kX9aPiKeyLive", "s3cr3tSecretKeyLive"
CHAT, SPEED, EMBED = "ERNIE-4.0-8K", "ERNIE-Speed-128K", "Embedding-V1"
QUESTION = "你好，请介绍一下北京"
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
REPLY = f"文心一言收到：{QUESTION}"
PROMPT = mock.tokens("Be brief.") + mock.tokens(QUESTION)
API = "/rpc/2.0/ai_custom/v1/wenxinworkshop"


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(api_key=API_KEY, secret_key=SECRET, pieces=3)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=15, key=f"{API_KEY}|{SECRET}", base_url=upstream[1], models=[CHAT, SPEED, EMBED])


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


def requests_to(upstream, path: str) -> list[dict]:
    return [r for r in upstream[0].config["REQUESTS"] if r["path"] == path]


def assert_billed(gateway, channel, model: str, prompt: int, completion: int) -> None:
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(model, 15, prompt, completion)


def test_chat_fetches_a_token_calls_the_models_endpoint_and_is_billed_by_baidus_usage(gateway, channel, client,
                                                                                   upstream):
    answer = client.chat.completions.create(model=CHAT, messages=HI, temperature=0.5, max_tokens=300)
    assert answer.choices[0].message.content == REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == CHAT and answer.id.startswith("chatcmpl-as-")
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (PROMPT, mock.tokens(REPLY))
    token_call = requests_to(upstream, "/oauth/2.0/token")[-1]
    assert token_call["method"] == "POST"
    assert token_call["query"] == {"grant_type": "client_credentials", "client_id": API_KEY, "client_secret": SECRET}
    sent = requests_to(upstream, f"{API}/chat/completions_pro")[-1]
    assert sent["query"]["access_token"] in upstream[0].config["TOKENS"]
    assert sent["body"] == {"messages": [{"role": "user", "content": QUESTION}], "system": "Be brief.",
                            "temperature": 0.5, "max_output_tokens": 300}
    assert_billed(gateway, channel, CHAT, PROMPT, mock.tokens(REPLY))


def test_the_token_is_cached_for_the_channel(client, upstream):
    client.chat.completions.create(model=CHAT, messages=HI)
    before = len(requests_to(upstream, "/oauth/2.0/token"))
    speed_calls = len(requests_to(upstream, f"{API}/chat/ernie-speed-128k"))
    client.chat.completions.create(model=CHAT, messages=HI)
    client.chat.completions.create(model=SPEED, messages=HI)
    assert len(requests_to(upstream, "/oauth/2.0/token")) == before == 1
    assert len(requests_to(upstream, f"{API}/chat/ernie-speed-128k")) == speed_calls + 1


def test_a_token_baidu_revoked_is_dropped_and_the_next_request_fetches_another(client, upstream):
    client.chat.completions.create(model=CHAT, messages=HI)
    fetched = len(requests_to(upstream, "/oauth/2.0/token"))
    upstream[0].config["TOKENS"].clear()  # Baidu revoked it: error 110 in an HTTP 200 answer
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model=CHAT, messages=HI)
    assert client.chat.completions.create(model=CHAT, messages=HI).choices[0].message.content == REPLY
    assert len(requests_to(upstream, "/oauth/2.0/token")) == fetched + 1


def test_chat_stream_assembles_to_the_reply_and_ends_normally(gateway, channel, client, upstream):
    chunks = list(client.chat.completions.create(model=SPEED, messages=HI, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == REPLY
    assert len(chunks) == 4  # three pieces, then the empty is_end event's finish
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, None, "stop"]
    assert len({c.id for c in chunks}) == 1
    assert requests_to(upstream, f"{API}/chat/ernie-speed-128k")[-1]["body"]["stream"] is True
    assert_billed(gateway, channel, SPEED, PROMPT, mock.tokens(REPLY))


def test_embeddings_use_the_embeddings_endpoint(gateway, channel, client, upstream):
    answer = client.embeddings.create(model=EMBED, input=["北京欢迎你", "hello world"])
    assert [d.embedding for d in answer.data] == [mock.vector("北京欢迎你", 384), mock.vector("hello world", 384)]
    assert [d.index for d in answer.data] == [0, 1]
    expected = mock.tokens("北京欢迎你") + mock.tokens("hello world")
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == expected
    sent = requests_to(upstream, f"{API}/embeddings/embedding-v1")[-1]
    assert sent["body"] == {"input": ["北京欢迎你", "hello world"]}
    assert_billed(gateway, channel, EMBED, expected, 0)


def test_an_error_answered_with_200_arrives_with_the_status_its_code_means(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "a"},
                                                             {"role": "assistant", "content": "b"}])
    assert caught.value.status_code == 400
    assert caught.value.body["type"] == "baidu_error" and caught.value.body["code"] == 336003
    assert caught.value.body["message"].startswith("the length of messages must be an odd number")


def test_a_rate_limit_is_a_429_also_for_a_stream_request(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi [rate-limit]"}])
    assert (caught.value.status_code, caught.value.body["code"]) == (429, 336501)
    with pytest.raises(openai.APIStatusError) as caught:
        list(client.chat.completions.create(model=CHAT, stream=True,
                                            messages=[{"role": "user", "content": "hi [rate-limit]"}]))
    assert (caught.value.status_code, caught.value.body["code"]) == (429, 336501)


def test_a_wrong_secret_key_is_refused_by_the_token_endpoint(gateway, upstream):
    channel = gateway.add_channel(type=15, key=f"{API_KEY}|wrong-secret", base_url=upstream[1], models=[CHAT])
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(channel).chat.completions.create(model=CHAT, messages=HI)
    assert caught.value.status_code == 401
    assert caught.value.body["message"].startswith("Client authentication failed")
    assert caught.value.body["code"] == "invalid_client"


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
