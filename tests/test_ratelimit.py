"""One API's per-IP limits on `/api` and on login-like routes, in memory and in Redis, keyed by the
client address that trusted proxies vouch for."""

from __future__ import annotations

import uuid

import pytest
import redis

from oneapi.app import create_app
from tests.conftest import make_config

REDIS_URL = "redis://127.0.0.1:6379/0"


def build(tmp_path, **env):
    return create_app(make_config("sqlite", tmp_path, **env)).test_client()


def test_critical_routes_allow_the_limit_then_answer_429(tmp_path):
    client = build(tmp_path, CRITICAL_RATE_LIMIT="3")
    codes = [client.post("/api/user/login", json={"username": "x", "password": "y"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/api/status").status_code == 200


def test_global_api_limit_counts_every_api_request(tmp_path):
    client = build(tmp_path, GLOBAL_API_RATE_LIMIT="5")
    codes = [client.get("/api/notice").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_debug_disables_the_limits(tmp_path):
    client = build(tmp_path, GLOBAL_API_RATE_LIMIT="2", DEBUG="true")
    assert {client.get("/api/notice").status_code for _ in range(5)} == {200}


def test_limits_are_per_client_address(tmp_path):
    client = build(tmp_path, CRITICAL_RATE_LIMIT="1", TRUSTED_PROXIES="10.9.9.9/32")
    proxy = {"REMOTE_ADDR": "10.9.9.9"}
    first = client.post("/api/user/login", json={}, headers={"X-Forwarded-For": "198.51.100.1"}, environ_base=proxy)
    other = client.post("/api/user/login", json={}, headers={"X-Forwarded-For": "198.51.100.2"}, environ_base=proxy)
    again = client.post("/api/user/login", json={}, headers={"X-Forwarded-For": "198.51.100.1"}, environ_base=proxy)
    assert (first.status_code, other.status_code, again.status_code) == (200, 200, 429)


def test_forwarded_addresses_from_untrusted_peers_are_ignored(tmp_path):
    client = build(tmp_path, CRITICAL_RATE_LIMIT="1")
    stranger = {"REMOTE_ADDR": "203.0.113.7"}
    client.post("/api/user/login", json={}, headers={"X-Forwarded-For": "198.51.100.1"}, environ_base=stranger)
    spoofed = client.post("/api/user/login", json={}, headers={"X-Forwarded-For": "198.51.100.99"},
                          environ_base=stranger)
    assert spoofed.status_code == 429


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    for key in client.scan_iter("rateLimit:*"):
        client.delete(key)
    client.close()


def test_redis_limits_are_shared_between_nodes(tmp_path, redis_db):
    env = {"REDIS_CONN_STRING": REDIS_URL, "SYNC_FREQUENCY": "60", "CRITICAL_RATE_LIMIT": "2",
           "TRUSTED_PROXIES": "10.9.9.9/32"}
    node_a = build(tmp_path, **env)
    node_b = build(tmp_path, **env)
    address = {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 200 + 1}"}
    proxy = {"REMOTE_ADDR": "10.9.9.9"}
    codes = [node.post("/api/user/login", json={}, headers=address, environ_base=proxy).status_code
             for node in (node_a, node_b, node_a)]
    assert codes == [200, 200, 429]
    assert any(redis_db.scan_iter("rateLimit:CT*"))
