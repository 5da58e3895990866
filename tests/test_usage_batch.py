"""BATCH_UPDATE_ENABLED: usage counters are written in batches; balances still change at once."""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.app import create_app
from oneapi.extensions import db
from oneapi.models import Channel, User
from oneapi.services import usage_batch
from tests import factories
from tests.conftest import make_config
from tests.upstreams import openai as mock_openai
from tests.upstreams.server import serve

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def test_counters_wait_for_the_flush_but_balances_do_not(tmp_path):
    with serve(mock_openai.create_app()) as base:
        application = create_app(make_config("sqlite", tmp_path, BATCH_UPDATE_ENABLED="true"))
        with application.app_context():
            user = factories.make_user("payer", quota=1_000_000)
            key = factories.make_token(user, remain_quota=100_000).key
            channel_id = factories.make_channel(base_url=base).id
            user_id = user.id
        client = application.test_client()
        for _ in range(3):
            assert client.post("/v1/chat/completions", json=BODY,
                               headers={"Authorization": f"Bearer sk-{key}"}).status_code == 200
        with application.app_context():
            row = db.session.get(User, user_id)
            assert row.quota == 1_000_000 - 3 * 75 and (row.used_quota, row.request_count) == (0, 0)
            assert usage_batch.flush() == 2
            db.session.expire_all()
            row = db.session.get(User, user_id)
            assert (row.used_quota, row.request_count) == (3 * 75, 3)
            assert db.session.scalar(sa.select(Channel.used_quota).where(Channel.id == channel_id)) == 3 * 75
            assert usage_batch.flush() == 0
