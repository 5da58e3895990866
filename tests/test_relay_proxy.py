"""The channel proxy route: authenticated, limited to the caller's group, logged and billed."""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log, User
from oneapi.services import billing
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
