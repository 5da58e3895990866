"""Environment parsing with One API's defaults, and the database settings they produce."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oneapi.config import ENV_VARS, Config
from oneapi.database import engine_options, flask_database_settings
from oneapi.dsn import DSNError, database_url


def test_defaults_are_one_apis():
    config = Config.from_env({})
    assert (config.port, config.sqlite_path, config.sqlite_busy_timeout) == (3000, "one-api.db", 3000)
    assert (config.sql_max_idle_conns, config.sql_max_open_conns, config.sql_max_lifetime) == (100, 1000, 60)
    assert (config.sync_frequency, config.global_api_rate_limit, config.global_web_rate_limit) == (600, 480, 240)
    assert config.test_prompt == "Output only your specific model name with no additional text."
    assert config.gemini_safety_setting == "BLOCK_NONE" and config.gemini_version == "v1"
    assert config.metric_success_rate_threshold == 0.8 and not config.memory_cache


def test_values_are_typed_and_bad_numbers_keep_the_default():
    config = Config.from_env({"MEMORY_CACHE_ENABLED": "true", "RELAY_TIMEOUT": "30", "BATCH_UPDATE_INTERVAL": "x",
                              "METRIC_SUCCESS_RATE_THRESHOLD": "0.5"})
    assert config.memory_cache_enabled is True and config.relay_timeout == 30
    assert config.batch_update_interval == 5 and config.metric_success_rate_threshold == 0.5


def test_redis_needs_sync_frequency_as_in_one_api():
    assert not Config.from_env({"REDIS_CONN_STRING": "redis://127.0.0.1:6379"}).redis_enabled
    config = Config.from_env({"REDIS_CONN_STRING": "redis://127.0.0.1:6379", "SYNC_FREQUENCY": "60"})
    assert config.redis_enabled and config.memory_cache


def test_a_long_session_secret_is_used_as_it_is():
    secret = "9f1c2e7a4b6d8e0f1a2b3c4d5e6f7a8b"
    assert Config.from_env({"SESSION_SECRET": secret}).session_secret_value() == secret


def test_conn_max_lifetime_alias():
    assert Config.from_env({"SQL_CONN_MAX_LIFETIME": "7"}).pool_recycle == 7
    assert Config.from_env({"SQL_MAX_LIFETIME": "9"}).pool_recycle == 9


@pytest.mark.parametrize("dsn, url", [
    ("root:123456@tcp(localhost:3306)/oneapi", "mysql+pymysql://root:123456@localhost:3306/oneapi?charset=utf8mb4"),
    ("u:p@ss@tcp(db:3307)/x?charset=utf8mb4,utf8&parseTime=true",
     "mysql+pymysql://u:p%40ss@db:3307/x?charset=utf8mb4"),
    ("root@tcp(127.0.0.1:3306)/test", "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"),
    ("mysql://a:b@h:1/d", "mysql+pymysql://a:b@h:1/d?charset=utf8mb4"),
    ("postgres://u:p@h:5432/db?sslmode=disable", "postgresql+psycopg2://u:p@h:5432/db?sslmode=disable"),
    ("postgresql://u@h/db", "postgresql+psycopg2://u@h/db"),
])
def test_one_api_dsn_forms(dsn, url):
    assert database_url(dsn) == url


def test_unix_socket_mysql_dsn():
    url = database_url("root:pw@unix(/run/mysqld/mysqld.sock)/db")
    assert url == "mysql+pymysql://root:pw@/db?charset=utf8mb4&unix_socket=%2Frun%2Fmysqld%2Fmysqld.sock"


def test_empty_dsn_is_the_sqlite_file(tmp_path):
    assert database_url("", str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"


def test_unreadable_dsn_is_a_clear_error():
    with pytest.raises(DSNError, match="user:password@tcp"):
        database_url("this is not a dsn")


def test_pool_settings_follow_sql_max_variables():
    config = Config.from_env({"SQL_MAX_IDLE_CONNS": "10", "SQL_MAX_OPEN_CONNS": "40", "SQL_MAX_LIFETIME": "30"})
    options = engine_options("postgresql+psycopg2://u@h/db", config)
    assert (options["pool_size"], options["max_overflow"], options["pool_recycle"]) == (10, 30, 30)
    sqlite = engine_options("sqlite:////tmp/x.db", Config.from_env({"SQLITE_BUSY_TIMEOUT": "5000"}))
    assert sqlite["connect_args"]["timeout"] == 5.0


def test_log_sql_dsn_gives_logs_their_own_database(tmp_path):
    settings = flask_database_settings(Config.from_env({"SQLITE_PATH": str(tmp_path / "a.db"),
                                                        "LOG_SQL_DSN": "postgres://u@h/logs"}))
    assert settings["SQLALCHEMY_BINDS"]["logs"]["url"] == "postgresql+psycopg2://u@h/logs"
    assert flask_database_settings(Config.from_env({}))["SQLALCHEMY_BINDS"] == {}


def test_readme_documents_every_environment_variable():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, re.MULTILINE))
    assert {v.name for v in ENV_VARS} <= documented


def test_sqlite_uses_one_connection_under_gevent(monkeypatch):
    from gevent import monkey

    config = Config.from_env({"SQL_MAX_IDLE_CONNS": "10", "SQL_MAX_OPEN_CONNS": "40"})
    monkeypatch.setattr(monkey, "is_module_patched", lambda name: True)
    assert engine_options("sqlite:////tmp/x.db", config)["pool_size"] == 1
    assert engine_options("postgresql+psycopg2://u@h/db", config)["pool_size"] == 10
    monkeypatch.setattr(monkey, "is_module_patched", lambda name: False)
    assert engine_options("sqlite:////tmp/x.db", config)["pool_size"] == 10


@pytest.mark.parametrize(("env", "endpoint"), [
    ({}, None),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, "http://127.0.0.1:4566"),
    ({"AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://b"}, "http://b"),
])
def test_the_aws_sdk_endpoint_variables_reach_every_bedrock_request(env, endpoint):
    from oneapi.relay.context import channel_config

    merged = channel_config({"region": "us-east-1"}, "", Config.from_env(env))
    assert merged.get("aws_endpoint_url") == endpoint
