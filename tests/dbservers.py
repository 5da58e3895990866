"""The local PostgreSQL and MariaDB servers the tests use, and helpers to empty them."""

from __future__ import annotations

import os

import sqlalchemy as sa

SERVER_URLS = {
    "postgres": os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"),
    "mysql": os.environ.get("TEST_MYSQL_URL", "root@tcp(127.0.0.1:3306)/test"),
}


def sqlalchemy_url(dsn: str) -> str:
    from oneapi.dsn import database_url

    return database_url(dsn)


def reset_database(dsn: str) -> None:
    """Drop every table in the database (our schema is re-created by the migrations)."""
    engine = sa.create_engine(sqlalchemy_url(dsn))
    try:
        with engine.begin() as conn:
            names = sa.inspect(conn).get_table_names()
            if conn.dialect.name == "postgresql":
                for name in names:
                    conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
            else:
                conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
                for name in names:
                    conn.execute(sa.text(f"DROP TABLE IF EXISTS `{name}`"))
    finally:
        engine.dispose()


def create_database(dsn: str, name: str) -> str:
    """(Re)create database `name` on the server of `dsn`; returns a DSN pointing at it."""
    url = sa.make_url(sqlalchemy_url(dsn))
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
                conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(dsn: str, name: str) -> None:
    url = sa.make_url(sqlalchemy_url(dsn))
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            quote = '"' if conn.dialect.name == "postgresql" else "`"
            force = " WITH (FORCE)" if conn.dialect.name == "postgresql" else ""
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{force}"))
    finally:
        engine.dispose()
