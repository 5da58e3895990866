"""Turn One API's database settings (`SQL_DSN`, `SQLITE_PATH`) into SQLAlchemy URLs.

One API accepts Go's MySQL DSN (`user:pass@tcp(host:port)/db?params`), `postgres://` URLs and, when
`SQL_DSN` is empty, a SQLite file. We accept those plus ordinary `mysql://` and SQLAlchemy URLs.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.engine import URL, make_url

_GO_MYSQL = re.compile(
    r"^(?:(?P<user>[^:@/]*)(?::(?P<password>.*))?@)?"
    r"(?:(?P<net>[a-z]+)(?:\((?P<addr>[^)]*)\))?)?"
    r"/(?P<db>[^?]*)(?:\?(?P<params>.*))?$"
)


class DSNError(ValueError):
    """The database setting cannot be understood; the message says which form was expected."""


def database_url(dsn: str, sqlite_path: str = "one-api.db") -> str:
    """Return the SQLAlchemy URL for a One API style DSN (empty means the SQLite file)."""
    dsn = (dsn or "").strip()
    if not dsn:
        return URL.create("sqlite", database=os.path.abspath(sqlite_path)).render_as_string()
    scheme = dsn.split("://", 1)[0].lower() if "://" in dsn else ""
    if scheme in ("postgres", "postgresql"):
        return _with_driver(dsn, "postgresql+psycopg2")
    if scheme in ("mysql", "mariadb"):
        return _mysql_url(dsn)
    if scheme:
        try:
            return make_url(dsn).render_as_string(hide_password=False)
        except Exception as exc:  # SQLAlchemy raises ArgumentError subclasses
            raise DSNError(f"SQL_DSN is not a database URL: {exc}") from None
    return _go_mysql_url(dsn)


def _with_driver(url: str, drivername: str) -> str:
    parts = urlsplit(url)
    rest = url[len(parts.scheme) + 3:]
    return f"{drivername}://{rest}"


def _mysql_url(url: str) -> str:
    parsed = make_url(_with_driver(url, "mysql+pymysql"))
    query = dict(parsed.query)
    query.setdefault("charset", "utf8mb4")
    return parsed.set(query=query).render_as_string(hide_password=False)


def _go_mysql_url(dsn: str) -> str:
    match = _GO_MYSQL.match(dsn)
    if not match:
        raise DSNError(
            "SQL_DSN must look like user:password@tcp(host:3306)/dbname, postgres://… or mysql://…"
        )
    # Go's driver splits the password at the LAST '@', so passwords may contain '@'.
    head, _, _tail = dsn.rpartition("@") if "@" in dsn else ("", "", dsn)
    user, _, password = head.partition(":")
    host, port, socket = "127.0.0.1", 3306, None
    net, addr = match.group("net") or "tcp", match.group("addr") or ""
    if net == "unix":
        socket = addr or None
    elif addr:
        host, _, port_text = addr.rpartition(":") if ":" in addr else (addr, "", "")
        if port_text:
            if not port_text.isdigit():
                raise DSNError(f"SQL_DSN has an invalid port: {port_text!r}")
            port = int(port_text)
        host = host.strip("[]") or "127.0.0.1"
    params = dict(parse_qsl(match.group("params") or ""))
    query = {"charset": (params.get("charset") or "utf8mb4").split(",")[0]}
    if socket:
        query["unix_socket"] = socket
    url = URL.create(
        "mysql+pymysql",
        username=user or None,
        password=password or None,
        host=None if socket else host,
        port=None if socket else port,
        database=match.group("db") or None,
        query=query,
    )
    return url.render_as_string(hide_password=False)


def backend_name(url: str) -> str:
    """`sqlite`, `postgresql` or `mysql` for a SQLAlchemy URL."""
    return make_url(url).get_backend_name()
