"""Engines for the main and the logs database: pool settings, SQLite WAL, one engine when shared."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from oneapi.config import Config
from oneapi.dsn import backend_name, database_url
from oneapi.extensions import db


def engine_options(url: str, config: Config) -> dict[str, Any]:
    """Pool settings from One API's `SQL_MAX_*` variables; SQLite gets its busy timeout."""
    idle = max(1, config.sql_max_idle_conns)
    most = max(idle, config.sql_max_open_conns)
    options: dict[str, Any] = {"pool_size": idle, "max_overflow": most - idle, "pool_timeout": 30}
    if backend_name(url) == "sqlite":
        options["connect_args"] = {"timeout": config.sqlite_busy_timeout / 1000, "check_same_thread": False}
        if _gevent_patched():
            # One connection: greenlets then wait for it cooperatively in the pool, where with several
            # connections a writer would wait in SQLite's busy handler, which sleeps the whole process.
            options.update(pool_size=1, max_overflow=0)
    else:
        options.update(pool_recycle=config.pool_recycle or -1, pool_pre_ping=True)
    return options


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def flask_database_settings(config: Config) -> dict[str, Any]:
    main = database_url(config.sql_dsn, config.sqlite_path)
    settings: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": main,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(main, config),
        "SQLALCHEMY_ECHO": config.debug_sql,
        "SQLALCHEMY_BINDS": {},
    }
    if config.log_sql_dsn:
        logs = database_url(config.log_sql_dsn, config.sqlite_path)
        settings["SQLALCHEMY_BINDS"] = {"logs": {"url": logs, **engine_options(logs, config)}}
    return settings


def init_database(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        engines = db.engines
        # Without LOG_SQL_DSN the logs table shares the main engine, so a transaction that writes a
        # user and a log row uses one connection (two SQLite connections would lock each other).
        if "logs" not in engines:
            engines["logs"] = engines[None]  # type: ignore[index]
        for engine in {id(e): e for e in engines.values()}.values():
            if engine.dialect.name == "sqlite":
                sa.event.listen(engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
