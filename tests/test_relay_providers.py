"""Anthropic and Gemini channels through the whole relay: an OpenAI request in, the provider's wire
format to its mock (at the channel's base URL), OpenAI out, billed from the provider's usage."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log
from oneapi.services import billing
from tests import factories
from tests.upstreams import anthropic as mock_anthropic
from tests.upstreams import gemini as mock_gemini
from tests.upstreams.server import serve

HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say hello please"}]


@pytest.fixture(scope="module")
def anthropic_upstream():
    app = mock_anthropic.create_app(api_key="sk-ant-test")
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def gemini_upstream():
    app = mock_gemini.create_app(key="gemini-key")
    with serve(app) as base:
        yield app, base


@pytest.fixture
def key(app):
    user = factories.make_user("payer", quota=10_000_000)
    return factories.make_token(user, unlimited_quota=True)


def post(client, key, body, path="/v1/chat/completions"):
    return client.post(path, json=body, headers={"Authorization": f"Bearer sk-{key.key}"}, buffered=False)


def events(response) -> list[dict]:
    text = b"".join(response.response).decode()
    payloads = [e[6:] for e in text.split("\n\n") if e.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    return [json.loads(p) for p in payloads[:-1]]


def consume_log() -> Log:
    return db.session.scalar(sa.select(Log).where(Log.type == 2).order_by(Log.id.desc()))


def expected_quota(model: str, channel_type: int, prompt: int, completion: int) -> int:
    return billing.text_quota(prompt, completion, billing.model_ratio(model, channel_type, {}),
                              billing.completion_ratio(model, channel_type, {}), 1)


def test_anthropic_chat(client, anthropic_upstream, key):
    factories.make_channel(type=14, key="sk-ant-test", base_url=anthropic_upstream[1],
                           models="claude-3-5-sonnet-20241022")
    answer = post(client, key, {"model": "claude-3-5-sonnet-20241022", "messages": HI}).json
    sent = anthropic_upstream[0].config["REQUESTS"][-1]
    assert sent["path"] == "/v1/messages" and sent["headers"]["x-api-key"] == "sk-ant-test"
    assert sent["body"]["system"] == "Be brief." and sent["body"]["max_tokens"] == 4096
    assert answer["object"] == "chat.completion" and answer["choices"][0]["message"]["content"]
    row = consume_log()
    usage = answer["usage"]
    assert (row.prompt_tokens, row.completion_tokens) == (usage["prompt_tokens"], usage["completion_tokens"])
    assert row.quota == expected_quota("claude-3-5-sonnet-20241022", 14, row.prompt_tokens, row.completion_tokens)


def test_anthropic_stream(client, anthropic_upstream, key):
    factories.make_channel(type=14, key="sk-ant-test", base_url=anthropic_upstream[1], models="claude-3-haiku-20240307")
    chunks = events(post(client, key, {"model": "claude-3-haiku-20240307", "messages": HI, "stream": True,
                                       "stream_options": {"include_usage": True}}))
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert sum(1 for c in chunks if c["choices"] and "role" in c["choices"][0]["delta"]) == 1
    assert [c for c in chunks if c["choices"] and c["choices"][0].get("finish_reason")][-1]["choices"][0][
        "finish_reason"] == "stop"
    usage = chunks[-1]["usage"]
    # The usage chunk the gateway adds carries the stream's own id, as OpenAI's does.
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-msg")
    row = consume_log()
    assert row.is_stream and (row.prompt_tokens, row.completion_tokens) == (usage["prompt_tokens"],
                                                                            usage["completion_tokens"])
    assert "上游" in row.content


def test_anthropic_overload_is_retried_elsewhere(client, anthropic_upstream, key):
    from oneapi.services import options

    options.update("RetryTimes", "1")
    factories.make_channel(name="busy", type=14, key="sk-ant-test", base_url=anthropic_upstream[1],
                           models="claude-3-haiku-20240307", priority=5,
                           model_mapping=json.dumps({"claude-3-haiku-20240307": "claude-overloaded"}))
    good = factories.make_channel(name="ok", type=14, key="sk-ant-test", base_url=anthropic_upstream[1],
                                  models="claude-3-haiku-20240307")
    response = post(client, key, {"model": "claude-3-haiku-20240307", "messages": HI})
    assert response.status_code == 200 and consume_log().channel_id == good.id


def test_gemini_chat(client, gemini_upstream, key):
    factories.make_channel(type=24, key="gemini-key", base_url=gemini_upstream[1], models="gemini-2.0-flash")
    answer = post(client, key, {"model": "gemini-2.0-flash", "messages": HI}).json
    assert answer["choices"][0]["message"]["content"].startswith("Hello!")
    row = consume_log()
    assert (row.prompt_tokens, row.completion_tokens) == (answer["usage"]["prompt_tokens"],
                                                          answer["usage"]["completion_tokens"])
    assert row.quota == expected_quota("gemini-2.0-flash", 24, row.prompt_tokens, row.completion_tokens)


def test_gemini_stream(client, gemini_upstream, key):
    factories.make_channel(type=24, key="gemini-key", base_url=gemini_upstream[1], models="gemini-2.0-flash")
    chunks = events(post(client, key, {"model": "gemini-2.0-flash", "messages": HI, "stream": True}))
    assert len({c["id"] for c in chunks}) == 1
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.startswith("Hello!")
    assert consume_log().completion_tokens > 0


def test_gemini_embeddings(client, gemini_upstream, key):
    factories.make_channel(type=24, key="gemini-key", base_url=gemini_upstream[1], models="text-embedding-004")
    answer = post(client, key, {"model": "text-embedding-004", "input": ["one", "two"]}, "/v1/embeddings").json
    assert [d["index"] for d in answer["data"]] == [0, 1] and answer["data"][0]["embedding"]
    assert consume_log().prompt_tokens == 2
