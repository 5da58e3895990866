"""A database written by One API (GORM's DDL and column types) is served as it is.

The fixtures in tests/fixtures/gorm/ reproduce One API's schema for SQLite, MySQL and PostgreSQL and
seed it with users (bcrypt `$2a$` hashes), tokens, a channel, options and logs. The real server
starts on it, users log in and read their data, and afterwards not a byte of those rows changed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.dbservers import SERVER_URLS, create_database, drop_database, sqlalchemy_url
from tests.liveserver import live_server

FIXTURES = Path(__file__).parent / "fixtures" / "gorm"
TABLES = {"users": "id", "tokens": "id", "channels": "id", "abilities": "channel_id, model", "options": "key",
          "redemptions": "id", "logs": "id"}
pytestmark = pytest.mark.server


def statements(name: str, quote: str) -> list[str]:
    text = (FIXTURES / name).read_text().replace("{q}", quote)
    chunks = [c.strip() for c in text.split(";\n")]
    return [c for c in chunks if c and not all(line.startswith("--") for line in c.splitlines())]


def build_oneapi_database(url: str, dialect: str) -> None:
    quote = '"' if dialect == "postgres" else "`"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for stmt in statements(f"{dialect}.sql", quote) + statements("seed.sql", quote):
            conn.exec_driver_sql(stmt.replace("%", "%%") if dialect != "sqlite" else stmt)
    engine.dispose()


def snapshot(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        quote = '"' if conn.dialect.name == "postgresql" else "`"
        rows = {}
        for table, order in TABLES.items():
            order_by = ", ".join(f"{quote}{c.strip()}{quote}" for c in order.split(","))
            rows[table] = [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {order_by}")]
    engine.dispose()
    return rows


@pytest.fixture(params=["sqlite", "mysql", "postgres"])
def oneapi_database(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "one-api.db"
        build_oneapi_database(f"sqlite:///{path}", "sqlite")
        yield {"SQLITE_PATH": str(path)}, f"sqlite:///{path}"
        return
    dsn = create_database(SERVER_URLS[request.param], "oneapi_gorm_compat")
    url = sqlalchemy_url(dsn)
    build_oneapi_database(url, request.param)
    yield {"SQL_DSN": dsn if request.param == "postgres" else go_dsn(url)}, url
    drop_database(SERVER_URLS[request.param], "oneapi_gorm_compat")


def go_dsn(url: str) -> str:
    """The MySQL DSN in One API's Go form, as its users have it in their environment."""
    parsed = sa.make_url(url)
    return f"{parsed.username}@tcp({parsed.host}:{parsed.port})/{parsed.database}?charset=utf8mb4&parseTime=True"


def login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    body = session.post(f"{base}/api/user/login", json={"username": username, "password": password}).json()
    assert body["success"], body
    return session


def test_a_one_api_database_is_served_unchanged(oneapi_database, tmp_path):
    env, url = oneapi_database
    before = snapshot(url)
    with live_server(env, tmp_path) as base:
        alice = login(base, "alice", "alicepass1")
        me = alice.get(f"{base}/api/user/self").json()["data"]
        assert (me["username"], me["quota"], me["used_quota"], me["request_count"]) == ("alice", 1000000, 12345, 7)
        keys = {t["name"]: t for t in alice.get(f"{base}/api/token/").json()["data"]}
        assert set(keys) == {"limited-key", "unlimited-key"}
        assert keys["limited-key"]["models"] == "gpt-4o,gpt-4o-mini" and keys["unlimited-key"]["unlimited_quota"]
        seeded = {row[2] for row in before["tokens"]}
        assert {t["key"] for t in keys.values()} == seeded
        assert alice.get(f"{base}/api/log/self").json()["data"], "alice's logs are listed"

        root = login(base, "root", "123456")
        channel = root.get(f"{base}/api/channel/1").json()["data"]
        assert (channel["name"], channel["models"], channel["balance"]) == ("openai-main", "gpt-4o,gpt-4o-mini", 12.5)
        assert channel["key"] == ""
        assert root.get(f"{base}/api/status").json()["data"]["system_name"] == "My Gateway"
        assert requests.post(f"{base}/api/user/login", json={"username": "alice", "password": "wrong-pass"}
                             ).json()["success"] is False
    after = snapshot(url)
    # Adoption appends our own columns (users.session_epoch, which One API ignores); One API's are untouched.
    assert {table: [row[:len(before[table][0])] for row in rows] if before[table] else rows
            for table, rows in after.items()} == before
    assert all(len(row) == len(before["users"][0]) + 1 for row in after["users"])


def test_adoption_stamps_the_current_revision(oneapi_database, tmp_path):
    env, url = oneapi_database
    with live_server(env, tmp_path):
        pass
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
    assert {"alembic_version", "alembic_version_logs"} <= names
    assert version == "0002"
