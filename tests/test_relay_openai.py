"""The relay against a mock OpenAI upstream through the Flask test client: routing, billing to the
quota unit, streams, retries, refunds and errors, on every database engine."""

from __future__ import annotations

import json
import math

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Channel, Log, Token, User
from oneapi.services import options
from tests import factories


@pytest.fixture
def payer(app):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, remain_quota=500_000)
    return user, token


def channel(base, **fields):
    values = {"base_url": base, "models": "gpt-4o,gpt-4o-mini,gpt-4o-429,gpt-4o-500,gpt-4o-401,gpt-4o-html,"
                                          "gpt-4o-broken,text-embedding-3-small,text-moderation-latest"}
    return factories.make_channel(**{**values, **fields})


def call(client, token, body, path="/v1/chat/completions", **kwargs):
    return client.post(path, json=body, headers={"Authorization": f"Bearer sk-{token.key}"}, **kwargs)


def balances(user, token):
    db.session.expire_all()
    return db.session.get(User, user.id).quota, db.session.get(Token, token.id).remain_quota


def test_chat_is_relayed_and_billed_to_the_unit(client, upstream, upstream_app, payer):
    user, token = payer
    ch = channel(upstream[1])
    response = call(client, token, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                                    "custom_field": {"kept": True}})
    assert response.status_code == 200, response.json
    assert response.json["choices"][0]["message"]["content"] == "w0 w1 w2 w3 w4 "
    sent = upstream_app.config["REQUESTS"][-1]
    assert sent["headers"]["Authorization"] == "Bearer sk-upstream"
    assert sent["body"]["custom_field"] == {"kept": True}
    expected = math.ceil((10 + 5 * 4) * 2.5)
    assert balances(user, token) == (1_000_000 - expected, 500_000 - expected)
    row = db.session.scalar(sa.select(Log).where(Log.type == 2))
    assert (row.quota, row.prompt_tokens, row.completion_tokens, row.channel_id) == (expected, 10, 5, ch.id)
    assert row.model_name == "gpt-4o" and row.token_name == token.name and "上游" in row.content
    assert db.session.get(Channel, ch.id).used_quota == expected
    assert db.session.get(User, user.id).request_count == 1


def test_group_ratio_multiplies_the_price(client, upstream, payer):
    user, token = payer
    user.group = "vip"
    db.session.commit()
    options.update("GroupRatio", json.dumps({"default": 1, "vip": 1.5}))
    channel(upstream[1], group="vip")
    assert call(client, token, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    assert balances(user, token)[0] == 1_000_000 - math.ceil((10 + 5 * 4) * 2.5 * 1.5)


def test_stream_is_relayed_chunk_by_chunk_and_billed(client, upstream, payer):
    user, token = payer
    channel(upstream[1])
    response = call(client, token, {"model": "gpt-4o", "stream": True,
                                    "messages": [{"role": "user", "content": "hi"}]}, buffered=False)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["X-Accel-Buffering"] == "no"
    body = b"".join(response.response).decode()
    events = [line[6:] for line in body.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    texts = [json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1]]
    assert "".join(texts) == "w0 w1 w2 w3 w4 "
    assert all(json.loads(e)["choices"] for e in events[:-1]), "no usage-only chunk for a client that did not ask"
    assert balances(user, token)[0] == 1_000_000 - math.ceil((10 + 5 * 4) * 2.5)


def test_stream_usage_chunk_reaches_clients_that_ask(client, upstream, payer):
    _, token = payer
    channel(upstream[1])
    response = call(client, token, {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True},
                                    "messages": [{"role": "user", "content": "hi"}]}, buffered=False)
    events = [e[6:] for e in b"".join(response.response).decode().split("\n\n") if e.startswith("data: ")]
    usage_chunks = [json.loads(e) for e in events[:-1] if not json.loads(e)["choices"]]
    assert len(usage_chunks) == 1 and usage_chunks[0]["usage"]["completion_tokens"] == 5


def test_upstream_failure_refunds_the_reservation(client, upstream, payer):
    user, token = payer
    channel(upstream[1])
    response = call(client, token, {"model": "gpt-4o-500", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 500
    assert "request id" in response.json["error"]["message"]
    assert balances(user, token) == (1_000_000, 500_000)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Log).where(Log.type == 2)) == 0


def test_retry_moves_to_another_channel_on_429(client, upstream, upstream_app, payer):
    user, token = payer
    options.update("RetryTimes", "2")
    bad = channel(upstream[1], name="bad", priority=10, model_mapping=json.dumps({"gpt-4o": "gpt-4o-429"}))
    good = channel(upstream[1], name="good", priority=0)
    response = call(client, token, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200
    sent = [r["body"]["model"] for r in upstream_app.config["REQUESTS"]]
    assert sent == ["gpt-4o-429", "gpt-4o"]
    row = db.session.scalar(sa.select(Log).where(Log.type == 2))
    assert row.channel_id == good.id and bad.id != good.id


def test_no_retry_on_a_client_error(client, upstream, upstream_app, payer):
    _, token = payer
    options.update("RetryTimes", "3")
    channel(upstream[1], priority=5, model_mapping=json.dumps({"gpt-4o": "gpt-4o-401"}))
    channel(upstream[1])
    response = call(client, token, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 401 and len(upstream_app.config["REQUESTS"]) == 1


def test_an_html_error_page_becomes_one_line(client, upstream, payer):
    _, token = payer
    channel(upstream[1])
    response = call(client, token, {"model": "gpt-4o-html", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 502
    assert "<html" not in response.json["error"]["message"] and "502" in response.json["error"]["message"]


def test_model_mapping_rewrites_only_the_model(client, upstream, upstream_app, payer):
    _, token = payer
    channel(upstream[1], model_mapping=json.dumps({"gpt-4": "gpt-4o"}), models="gpt-4")
    body = {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}], "n": 0, "seed": 0, "extra": [1]}
    assert call(client, token, body).status_code == 200
    assert upstream_app.config["REQUESTS"][-1]["body"] == {**body, "model": "gpt-4o"}


def test_embeddings_and_moderations(client, upstream, payer):
    _, token = payer
    channel(upstream[1])
    embedding = call(client, token, {"model": "text-embedding-3-small", "input": ["a", "b"]}, "/v1/embeddings")
    assert embedding.status_code == 200 and len(embedding.json["data"]) == 2
    moderation = call(client, token, {"input": "hello"}, "/v1/moderations")
    assert moderation.status_code == 200 and moderation.json["results"][0]["flagged"] is False


def test_no_channel_for_the_model(client, payer):
    _, token = payer
    response = call(client, token, {"model": "nope", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 503
    assert response.json["error"]["message"].startswith("当前分组 default 下对于模型 nope 无可用渠道")


def test_insufficient_quota_is_refused_before_the_upstream(client, upstream, upstream_app, app):
    user = factories.make_user("poor", quota=10)
    token = factories.make_token(user, remain_quota=10)
    channel(upstream[1])
    response = call(client, token, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 403 and response.json["error"]["code"] == "insufficient_user_quota"
    assert upstream_app.config["REQUESTS"] == []


def test_a_transient_database_error_while_settling_is_retried(client, upstream, payer, monkeypatch):
    from oneapi.services import charging, settlement

    user, token = payer
    channel(upstream[1])
    real, calls = charging.charge, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("UPDATE users", {}, Exception("server has gone away"))
        return real(*args, **kwargs)

    monkeypatch.setattr(charging, "charge", flaky)
    monkeypatch.setattr(settlement, "RETRY_DELAYS", (0.0,))
    assert call(client, token, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    expected = math.ceil((10 + 5 * 4) * 2.5)
    assert len(calls) == 2 and balances(user, token) == (1_000_000 - expected, 500_000 - expected)
    assert db.session.scalar(sa.select(sa.func.sum(Log.quota)).where(Log.type == 2)) == expected


def test_an_upstream_failing_mid_stream_gets_an_error_event_and_bills_the_part(client, upstream, payer):
    user, token = payer
    channel(upstream[1])
    response = call(client, token, {"model": "gpt-4o-broken", "stream": True,
                                    "messages": [{"role": "user", "content": "hi"}]}, buffered=False)
    events = [e[6:] for e in b"".join(response.response).decode().split("\n\n") if e.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert "error" in json.loads(events[-2])
    delivered = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-2])
    assert delivered == "w0 w1 "
    row = db.session.scalar(sa.select(Log).where(Log.type == 2))
    assert row.completion_tokens > 0 and "上游出错" in row.content and "本地计数" in row.content
    assert balances(user, token)[0] == 1_000_000 - row.quota


def test_azure_channels_use_the_deployment_path_api_version_and_api_key(client, upstream, upstream_app, payer):
    _, token = payer
    channel(upstream[1], type=3, key="azure-key", models="gpt-4.1-mini",
            config=json.dumps({"api_version": "2024-10-21"}))
    response = call(client, token, {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200, response.json
    sent = upstream_app.config["REQUESTS"][-1]
    assert sent["deployment"] == "gpt-41-mini"
    assert sent["path"].endswith("api-version=2024-10-21") and sent["headers"]["Api-Key"] == "azure-key"
    assert "Authorization" not in sent["headers"]


def test_upstream_keys_are_hidden_from_everyone_and_hosts_from_non_admins(client, upstream, payer, app):
    _, token = payer
    channel(upstream[1], models="gpt-4o-leak", key="sk-upstream")
    body = {"model": "gpt-4o-leak", "messages": [{"role": "user", "content": "hi"}]}
    hidden = call(client, token, body).json["error"]["message"]
    host = upstream[1].split("://", 1)[1]
    assert "sk-upstream" not in hidden and host not in hidden and "***" in hidden
    admin = factories.make_user("boss", role=10, quota=1_000_000)
    shown = call(client, factories.make_token(admin, unlimited_quota=True), body).json["error"]["message"]
    assert "sk-upstream" not in shown and host in shown


def test_a_stream_closed_before_its_first_byte_settles_the_prompt_and_closes_the_upstream(client, upstream, payer):
    user, token = payer
    channel(upstream[1])
    upstream[0].config["CLOSED"].clear()
    response = call(client, token, {"model": "gpt-4o", "stream": True,
                                    "messages": [{"role": "user", "content": "hi"}]}, buffered=False)
    response.close()
    row = db.session.scalar(sa.select(Log).where(Log.type == 2))
    assert row.completion_tokens == 0 and row.prompt_tokens > 0 and "客户端断开" in row.content
    assert balances(user, token)[0] == 1_000_000 - row.quota


def test_channels_that_cannot_serve_the_mode_are_skipped(client, upstream, upstream_app, payer):
    _, token = payer
    # MiniMax's OpenAI-compatible API serves chat only; the higher priority must not win an embedding.
    channel(upstream[1], type=27, priority=10, models="text-embedding-3-small")
    channel(upstream[1], type=1, models="text-embedding-3-small")
    answer = call(client, token, {"model": "text-embedding-3-small", "input": "x"}, "/v1/embeddings")
    assert answer.status_code == 200 and upstream_app.config["REQUESTS"][-1]["path"].startswith("/v1/embeddings")


def test_a_model_only_unsupported_channels_serve_gets_their_reason(client, upstream, payer):
    _, token = payer
    channel(upstream[1], type=27, models="text-embedding-3-small")
    answer = call(client, token, {"model": "text-embedding-3-small", "input": "x"}, "/v1/embeddings")
    assert answer.status_code == 400 and answer.json["error"]["code"] == "do_request_failed"
    assert "embeddings" in answer.json["error"]["message"]
    # Anthropic's channels serve chat only: an image request for their model is refused, not sent.
    channel(upstream[1], type=14, models="claude-3-5-haiku-20241022")
    image = call(client, token, {"model": "claude-3-5-haiku-20241022", "prompt": "a cat"}, "/v1/images/generations")
    assert image.status_code == 400 and "images" in image.json["error"]["message"]


@pytest.mark.parametrize("body, words", [({"model": 4, "messages": []}, "must be a string"),
                                         ({"messages": [{"role": "user", "content": "hi"}]}, "model is required"),
                                         ({"model": "gpt-4o", "messages": "hi"}, "must be an array"),
                                         ({"model": "gpt-4o", "messages": [1], "max_tokens": -1}, "max_tokens")])
def test_malformed_chat_requests_name_the_field(client, payer, body, words):
    _, token = payer
    answer = call(client, token, body)
    assert answer.status_code == 400 and words in answer.json["error"]["message"]


def test_an_upstreams_cookie_never_rides_on_the_next_users_request(client, upstream, upstream_app, payer):
    """The upstream session is shared by every user: a cookie set for one (Cloudflare's, say) must not
    be sent with the next request."""
    _, token = payer
    channel(upstream[1])
    for _ in range(2):
        assert call(client, token, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).status_code \
            == 200
    assert all("Cookie" not in sent["headers"] for sent in upstream_app.config["REQUESTS"])
    assert upstream_app.config["REQUESTS"][-1]["headers"]["User-Agent"].startswith("python-requests/")
