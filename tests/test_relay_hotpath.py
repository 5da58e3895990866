"""The relay's hot path: with the memory cache on, a request reads nothing from the database (only its
quota and log writes go there), and upstream connections are kept alive and reused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from oneapi.app import create_app
from oneapi.extensions import db
from oneapi.relay import http, streaming
from tests import factories
from tests.conftest import make_config
from tests.upstreams import openai as mock_openai
from tests.upstreams.server import serve

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def cached_app(tmp_path):
    with serve(mock_openai.create_app()) as base:
        application = create_app(make_config("sqlite", tmp_path, MEMORY_CACHE_ENABLED="true"))
        with application.app_context():
            user = factories.make_user("payer", quota=1_000_000)
            token = factories.make_token(user, remain_quota=100_000)
            factories.make_channel(base_url=base)
            key = token.key
            db.session.remove()
        yield application, key, base


def statements_during(application, action) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement.strip().split()[0].upper())

    with application.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_cached_relay_request_reads_nothing_from_the_database(cached_app):
    application, key, _ = cached_app
    client = application.test_client()
    headers = {"Authorization": f"Bearer sk-{key}"}
    assert client.post("/v1/chat/completions", json=BODY, headers=headers).status_code == 200  # warms the cache
    seen = statements_during(application, lambda: client.post("/v1/chat/completions", json=BODY, headers=headers))
    assert "SELECT" not in seen
    assert {"UPDATE", "INSERT"} <= set(seen)


def test_without_the_cache_every_lookup_is_a_query(tmp_path):
    with serve(mock_openai.create_app()) as base:
        application = create_app(make_config("sqlite", tmp_path))
        with application.app_context():
            token = factories.make_token(factories.make_user("payer", quota=1_000_000), remain_quota=100_000)
            factories.make_channel(base_url=base)
            key = token.key
        client = application.test_client()
        seen = statements_during(application, lambda: client.post(
            "/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"}))
    assert "SELECT" in seen


def test_upstream_connections_are_kept_alive(cached_app):
    application, key, base = cached_app
    client = application.test_client()
    for _ in range(3):
        assert client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"}
                           ).status_code == 200
    port = int(base.rsplit(":", 1)[1])
    manager = http.session().get_adapter(base).poolmanager
    pools = [manager.pools[key] for key in manager.pools.keys() if key.key_port == port]  # noqa: SIM118 - not a dict
    assert len(pools) == 1
    assert pools[0].num_connections == 1 and pools[0].num_requests >= 3


class FakeRaw:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def release_conn(self) -> None:
        self.calls.append("release")


class FakeResponse:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.raw = FakeRaw(self.calls)

    def close(self) -> None:
        self.calls.append("close")


def broken_body():
    yield b"\r\n"
    raise OSError("connection reset")


def test_a_finished_stream_returns_its_upstream_connection_to_the_pool():
    """The body's end may still be unread after `[DONE]`; closing would drop a keep-alive connection
    (a TCP and TLS handshake for every stream), so it is read and the connection released instead."""
    finished = FakeResponse()
    streaming.finish_upstream(finished, iter([b"0\r\n\r\n"]), reuse=True)
    assert finished.calls == ["release"]
    abandoned = FakeResponse()
    streaming.finish_upstream(abandoned, iter([b"more"]), reuse=False)
    assert abandoned.calls == ["close"]
    broken = FakeResponse()
    streaming.finish_upstream(broken, broken_body(), reuse=True)
    assert broken.calls == ["close"]
    endless = FakeResponse()
    streaming.finish_upstream(endless, iter([b"x" * 40000] * 3), reuse=True)
    assert endless.calls == ["close"]
