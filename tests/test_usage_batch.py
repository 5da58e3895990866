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


def test_sigterm_writes_the_gathered_counters_before_the_process_ends(tmp_path):
    """A deploy or `docker stop` sends SIGTERM: the counters gathered since the last flush are written."""
    import requests

    from tests.liveserver import live_server

    database = tmp_path / "one-api.db"
    env = {"SQLITE_PATH": str(database), "BATCH_UPDATE_ENABLED": "true", "BATCH_UPDATE_INTERVAL": "3600",
           "INITIAL_ROOT_TOKEN": "t" * 48}
    with serve(mock_openai.create_app()) as upstream, live_server(env, tmp_path) as base:
        engine = sa.create_engine(f"sqlite:///{database}")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO channels (type, " + "`key`" + ", status, name, models, `group`, "
                                 "base_url, priority, weight) VALUES (1, 'sk-upstream', 1, 'mock', 'gpt-4o', "
                                 "'default', :b, 0, 0)"), {"b": upstream})
            channel_id = conn.execute(sa.text("SELECT id FROM channels")).scalar()
            conn.execute(sa.text("INSERT INTO abilities (`group`, model, channel_id, enabled, priority) "
                                 "VALUES ('default', 'gpt-4o', :c, 1, 0)"), {"c": channel_id})
        for _ in range(3):
            answer = requests.post(f"{base}/v1/chat/completions", json=BODY, timeout=30,
                                   headers={"Authorization": "Bearer sk-" + "t" * 48})
            assert answer.status_code == 200, answer.text
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT request_count FROM users WHERE username = 'root'")).scalar() == 0
    # live_server has sent SIGTERM and waited for the exit.
    with engine.connect() as conn:
        count, used = conn.execute(sa.text("SELECT request_count, used_quota FROM users WHERE username = 'root'")).one()
        channel_used = conn.execute(sa.text("SELECT used_quota FROM channels")).scalar()
    engine.dispose()
    assert (count, used, channel_used) == (3, 3 * 75, 3 * 75)
