"""First start: root account, INITIAL_ROOT_TOKEN / INITIAL_ROOT_ACCESS_TOKEN, Go-compatible password
hashes, a separate logs database, slave nodes, and runtime options without restarts."""

from __future__ import annotations

import bcrypt
import pytest
import sqlalchemy as sa

from oneapi.app import create_app
from oneapi.extensions import db
from oneapi.models import Log, Option, Token, User
from oneapi.schema import SchemaMissing
from oneapi.services import options
from oneapi.services.passwords import check_password, hash_password
from tests.conftest import make_config


def test_initial_root_tokens_are_applied_on_an_empty_database(tmp_path):
    key = "a" * 48
    config = make_config("sqlite", tmp_path, INITIAL_ROOT_TOKEN=key, INITIAL_ROOT_ACCESS_TOKEN="b" * 32)
    app = create_app(config)
    with app.app_context():
        root = db.session.scalar(sa.select(User))
        token = db.session.get(Token, 1)
        assert (root.username, root.role, root.access_token, root.display_name) == ("root", 100, "b" * 32, "Root User")
        assert check_password("123456", root.password) and root.password.startswith("$2a$")
        assert (token.key, token.name, token.unlimited_quota) == (key, "Initial Root Token", True)
        assert token.expired_time == -1
    client = app.test_client()
    assert client.get("/api/user/self", headers={"Authorization": "Bearer " + "b" * 32}).json["success"]


def test_root_is_created_only_when_there_is_no_user(tmp_path):
    config = make_config("sqlite", tmp_path)
    app = create_app(config)
    with app.app_context():
        root = db.session.scalar(sa.select(User))
        root.password = hash_password("changed-pass")
        db.session.commit()
    app = create_app(config)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
        assert check_password("changed-pass", db.session.scalar(sa.select(User)).password)


def test_hashes_from_go_and_other_bcrypt_variants_verify():
    go_style = bcrypt.hashpw(b"secret-pw", bcrypt.gensalt(10, prefix=b"2a")).decode()
    assert go_style.startswith("$2a$10$") and check_password("secret-pw", go_style)
    assert check_password("secret-pw", go_style.replace("$2a$", "$2y$", 1))
    assert not check_password("other-pw", go_style) and not check_password("x", "not-a-hash")
    assert not check_password("a" * 100, go_style)


def test_logs_go_to_their_own_database(tmp_path):
    config = make_config("sqlite", tmp_path, LOG_SQL_DSN=f"sqlite:///{tmp_path / 'logs.db'}")
    app = create_app(config)
    client = app.test_client()
    client.post("/api/user/login", json={"username": "root", "password": "123456"})
    assert client.post("/api/topup", json={"user_id": 1, "quota": 5}).json["success"]
    main = sa.create_engine(f"sqlite:///{tmp_path / 'one-api.db'}")
    logs = sa.create_engine(f"sqlite:///{tmp_path / 'logs.db'}")
    assert "logs" not in sa.inspect(main).get_table_names()
    with logs.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Log.__table__)).scalar() == 1
    main.dispose()
    logs.dispose()


def test_a_slave_node_leaves_the_schema_to_the_master(tmp_path):
    master = make_config("sqlite", tmp_path)
    create_app(master)
    slave = make_config("sqlite", tmp_path, NODE_TYPE="slave", SQLITE_PATH=str(tmp_path / "slave.db"))
    with pytest.raises(SchemaMissing, match="start a master node"):
        create_app(slave)
    app = create_app(make_config("sqlite", tmp_path, NODE_TYPE="slave"))
    with app.app_context():
        assert db.session.scalar(sa.select(User.username)) == "root"


def test_sqlite_runs_in_wal_mode(app):
    if db.engine.dialect.name == "sqlite":
        assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    else:
        assert db.engine.dialect.name in ("postgresql", "mysql", "mariadb")


def test_an_option_written_by_another_node_arrives_on_sync(app, root_client):
    db.session.add(Option(key="SystemName", value="Written Elsewhere"))
    db.session.commit()
    assert root_client.get("/api/status").json["data"]["system_name"] == "One API"
    options.load()
    assert root_client.get("/api/status").json["data"]["system_name"] == "Written Elsewhere"
