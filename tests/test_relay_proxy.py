"""The channel proxy route: authenticated, funded, limited to the caller's group and (for users) to
the relay's endpoints, billed by what the answer reports or holds, and masked on the way back."""

from __future__ import annotations

import json

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log, User
from oneapi.services import billing, options
from tests import factories


def test_proxy_passes_any_path_with_the_channel_key_and_bills_usage(client, upstream, upstream_app, app):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1])
    answer = client.post(f"/v1/oneapi/proxy/{ch.id}/v1/chat/completions?trace=1",
                         headers={"Authorization": f"Bearer sk-{token.key}"},
                         json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 200 and answer.json["choices"][0]["message"]["content"]
    sent = upstream_app.config["REQUESTS"][-1]
    assert sent["path"] == "/v1/chat/completions?trace=1"
    assert sent["headers"]["Authorization"] == "Bearer sk-upstream"
    row = db.session.scalar(sa.select(Log).where(Log.type == 2))
    expected = billing.text_quota(10, 5, 2.5, 4, 1)
    assert row.quota == expected and row.channel_id == ch.id and "代理" in row.content
    db.session.expire_all()
    assert db.session.get(User, user.id).quota == 1_000_000 - expected


def test_proxy_refuses_channels_of_other_groups_and_bad_ids(client, upstream, app):
    user = factories.make_user("payer", quota=1_000)
    token = factories.make_token(user)
    vip = factories.make_channel(base_url=upstream[1], group="vip")
    headers = {"Authorization": f"Bearer sk-{token.key}"}
    assert client.get(f"/v1/oneapi/proxy/{vip.id}/v1/models", headers=headers).status_code == 403
    assert client.get("/v1/oneapi/proxy/abc/v1/models", headers=headers).status_code == 400
    assert client.get(f"/v1/oneapi/proxy/{vip.id}/v1/models").status_code == 401


# -- what a user may do through the proxy, and what it costs ---------------------------------------

HI = [{"role": "user", "content": "hi"}]


def proxy(client, token, channel_id, path, method="POST", **kwargs):
    return client.open(f"/v1/oneapi/proxy/{channel_id}/{path}", method=method,
                       headers={"Authorization": f"Bearer sk-{token.key}"}, buffered=False, **kwargs)


def consume_logs() -> list[Log]:
    return list(db.session.scalars(sa.select(Log).where(Log.type == 2).order_by(Log.id)))


def quota_of(user) -> int:
    db.session.expire_all()
    return db.session.get(User, user.id).quota


def test_a_user_without_balance_cannot_use_the_proxy(client, upstream, upstream_app, app):
    user = factories.make_user("broke", quota=0)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1])
    answer = proxy(client, token, ch.id, "v1/chat/completions", json={"model": "gpt-4o", "messages": HI})
    assert answer.status_code == 403 and answer.json["error"]["code"] == "insufficient_user_quota"
    assert upstream_app.config["REQUESTS"] == []


def test_the_keys_model_list_holds_on_the_proxy(client, upstream, upstream_app, app):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, unlimited_quota=True, models="gpt-4o-mini")
    ch = factories.make_channel(base_url=upstream[1])
    answer = proxy(client, token, ch.id, "v1/chat/completions", json={"model": "gpt-4o", "messages": HI})
    assert answer.status_code == 403 and upstream_app.config["REQUESTS"] == []


def test_users_reach_only_the_relays_endpoints_admins_any(client, upstream, upstream_app, app):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1])
    refused = proxy(client, token, ch.id, "v1/files/file-abc", method="DELETE")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "proxy_path_not_allowed"
    assert upstream_app.config["REQUESTS"] == []
    for path in ("v1/../v1/files/x", "v1/./chat/completions", "v1//chat/completions"):
        assert proxy(client, token, ch.id, path, json={"model": "gpt-4o", "messages": HI}).status_code == 400
    boss = factories.make_token(factories.make_user("boss", role=10, quota=1_000_000), unlimited_quota=True)
    deleted = proxy(client, boss, ch.id, "v1/files/file-abc", method="DELETE")
    assert deleted.status_code == 200 and deleted.json["deleted"] is True
    assert upstream_app.config["REQUESTS"][-1]["path"] == "/v1/files/file-abc?"


def test_a_proxied_stream_is_billed_from_its_events(client, upstream, app):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1])
    answer = proxy(client, token, ch.id, "v1/chat/completions",
                   json={"model": "gpt-4o", "messages": HI, "stream": True, "stream_options": {"include_usage": True}})
    text = b"".join(answer.response).decode()
    assert answer.status_code == 200 and text.endswith("data: [DONE]\n\n") and "w4" in text
    (row,) = consume_logs()
    assert (row.prompt_tokens, row.completion_tokens) == (10, 5)
    assert row.quota == billing.text_quota(10, 5, 2.5, 4, 1) == 1_000_000 - quota_of(user)


def test_a_proxied_stream_without_usage_is_counted_never_free(client, upstream, app):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1])
    b"".join(proxy(client, token, ch.id, "v1/chat/completions",
                   json={"model": "gpt-4o", "messages": HI, "stream": True}).response)
    (row,) = consume_logs()
    assert row.completion_tokens > 0 and row.prompt_tokens > 0 and row.quota > 0 and "本地计数" in row.content
    assert row.quota == 1_000_000 - quota_of(user)


def test_a_proxied_stream_ends_where_the_balance_does(client, upstream, app):
    user = factories.make_user("payer", quota=3_000)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1], models="gpt-4o-long")
    options.update("ModelRatio", json.dumps({**options.get_json("ModelRatio"), "gpt-4o-long": 2.5}))
    b"".join(proxy(client, token, ch.id, "v1/chat/completions",
                   json={"model": "gpt-4o-long", "messages": HI, "stream": True}).response)
    (row,) = consume_logs()
    assert 0 < row.quota <= 3_000 and quota_of(user) == 3_000 - row.quota


def test_a_proxied_answer_without_max_tokens_needs_a_whole_answers_hold(client, upstream, upstream_app, app):
    user = factories.make_user("payer", quota=20_000)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1])
    refused = proxy(client, token, ch.id, "v1/chat/completions", json={"model": "gpt-4o", "messages": HI})
    assert refused.status_code == 403 and "max_tokens" in refused.json["error"]["message"]
    assert upstream_app.config["REQUESTS"] == []
    answer = proxy(client, token, ch.id, "v1/chat/completions",
                   json={"model": "gpt-4o", "messages": HI, "max_tokens": 100})
    assert answer.status_code == 200
    assert consume_logs()[0].quota == billing.text_quota(10, 5, 2.5, 4, 1)


def test_the_upstreams_key_host_and_cookies_stay_behind_the_proxy(client, upstream, app):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1], models="gpt-4o-leak,gpt-4o")
    answer = proxy(client, token, ch.id, "v1/chat/completions", json={"model": "gpt-4o-leak", "messages": HI,
                                                                       "max_tokens": 10})
    body = b"".join(answer.response).decode()
    assert answer.status_code == 500 and "refused key ***" in body
    assert "sk-upstream" not in body and upstream[1].split("://")[1] not in body
    assert "Set-Cookie" not in answer.headers
    ok = proxy(client, token, ch.id, "v1/chat/completions", json={"model": "gpt-4o", "messages": HI,
                                                                   "max_tokens": 10})
    assert ok.status_code == 200 and "Set-Cookie" not in ok.headers
    assert consume_logs()[0].quota > 0  # the failed call was not billed, the good one was


def test_a_proxied_stream_left_before_its_first_byte_is_settled_and_closed(client, upstream, app):
    """The generator of a stream nobody read never runs its `finally`: the hold was left taken and
    no log was written."""
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1])
    answer = proxy(client, token, ch.id, "v1/chat/completions", json={"model": "gpt-4o", "messages": HI,
                                                                       "stream": True})
    answer.close()
    (row,) = consume_logs()
    assert row.prompt_tokens > 0 and row.quota == 1_000_000 - quota_of(user) > 0


def test_users_reach_only_models_the_channel_serves_them(client, upstream, upstream_app, app):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1], models="gpt-4o-mini")
    answer = proxy(client, token, ch.id, "v1/chat/completions",
                   json={"model": "gpt-4o", "messages": HI, "max_tokens": 10})
    assert answer.status_code == 403 and answer.json["error"]["code"] == "model_not_found"
    assert upstream_app.config["REQUESTS"] == []


def test_a_user_cannot_pick_the_channel_accounts_organisation(client, upstream, upstream_app, app):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1])
    headers = {"OpenAI-Organization": "org-of-the-operator", "OpenAI-Project": "proj-x",
               "Authorization": f"Bearer sk-{token.key}"}
    answer = client.post(f"/v1/oneapi/proxy/{ch.id}/v1/chat/completions", headers=headers,
                         json={"model": "gpt-4o", "messages": HI, "max_tokens": 10})
    assert answer.status_code == 200
    sent = upstream_app.config["REQUESTS"][-1]["headers"]
    assert "Openai-Organization" not in sent and "Openai-Project" not in sent
    assert sent["Authorization"] == "Bearer sk-upstream"


def test_a_proxied_answer_holds_every_choice(client, upstream, upstream_app, app):
    user = factories.make_user("payer", quota=billing.text_quota(8, 100, 2.5, 4, 1) * 2)
    token = factories.make_token(user, unlimited_quota=True)
    ch = factories.make_channel(base_url=upstream[1])
    answer = proxy(client, token, ch.id, "v1/chat/completions",
                   json={"model": "gpt-4o", "messages": HI, "max_tokens": 100, "n": 3})
    assert answer.status_code == 403 and upstream_app.config["REQUESTS"] == []
