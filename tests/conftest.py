"""Fixtures: an app on each database engine, clients logged in as each role, and factories.

`TEST_DATABASES` (default `sqlite,postgres,mysql`) picks the engines every database test runs on;
`TEST_DATABASES=sqlite` runs the suite on SQLite alone. PostgreSQL and MariaDB are the local servers
(`TEST_POSTGRES_URL`, `TEST_MYSQL_URL` override them).
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from flask import g

from oneapi.app import create_app
from oneapi.config import Config
from oneapi.extensions import db
from oneapi.services import accounts, options, passwords
from tests import factories
from tests.dbservers import SERVER_URLS, reset_database
from tests.upstreams import openai as mock_openai
from tests.upstreams.server import serve

ENGINES = [e.strip() for e in os.environ.get("TEST_DATABASES", "sqlite,postgres,mysql").split(",") if e.strip()]


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing():
    # Cost 10 (One API's) is kept for verification; new hashes in tests use the minimum cost.
    passwords.COST = 4
    yield


@pytest.fixture(scope="session", params=ENGINES)
def engine_name(request):
    return request.param


@pytest.fixture(scope="session")
def _session_app(engine_name, tmp_path_factory):
    """One application per engine for the whole session, built on an emptied database.

    Building an app costs about 150 ms (route compilation, migration check); tests get a clean
    database instead of a new app. Tests of start-up itself call `create_app` on their own.
    """
    if engine_name != "sqlite":
        reset_database(SERVER_URLS[engine_name])
    application = create_app(make_config(engine_name, tmp_path_factory.mktemp(engine_name)))
    # Tests keep an app context open, which requests reuse; drop Flask-Login's per-request cache of the
    # user (and CSRF token) so that each request authenticates on its own, as in production.
    application.before_request_funcs.setdefault(None, []).insert(0, _forget_login_cache)
    yield application
    with application.app_context():
        db.session.remove()
        for engine in set(db.engines.values()):
            engine.dispose()


def _forget_login_cache() -> None:
    g.pop("_login_user", None)
    # Flask-WTF keeps the request's CSRF token in `g` as well.
    g.pop("csrf_token", None)


def make_config(engine_name: str, tmp_path, **env: str) -> Config:
    environ = {"GLOBAL_API_RATE_LIMIT": "0", "CRITICAL_RATE_LIMIT": "0",
               "SESSION_SECRET": "tests-only-session-secret-0f3a9c", **env}
    if engine_name == "sqlite":
        environ.setdefault("SQLITE_PATH", str(tmp_path / "one-api.db"))
    else:
        environ.setdefault("SQL_DSN", SERVER_URLS[engine_name])
    environ.setdefault("SQL_MAX_IDLE_CONNS", "5")
    environ.setdefault("SQL_MAX_OPEN_CONNS", "50")
    return Config.from_env(environ, testing=True)


@pytest.fixture
def app(_session_app):
    """The engine's application on an empty database holding only root / 123456 and default options."""
    ctx = _session_app.app_context()
    ctx.push()
    factories.empty_tables()
    accounts.ensure_root()
    options.load()
    yield _session_app
    db.session.remove()
    ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def root_client(app):
    c = app.test_client()
    factories.login(c, "root", "123456")
    return c


@pytest.fixture
def admin(app):
    return factories.make_user("admin1", role=10)


@pytest.fixture
def user(app):
    return factories.make_user("alice")


@pytest.fixture
def other_user(app):
    return factories.make_user("bob")


@pytest.fixture
def admin_client(app, admin):
    c = app.test_client()
    factories.login(c, admin.username, factories.PASSWORD)
    return c


@pytest.fixture
def user_client(app, user):
    c = app.test_client()
    factories.login(c, user.username, factories.PASSWORD)
    return c


@pytest.fixture(scope="module")
def upstream():
    """A mock OpenAI upstream on 127.0.0.1 for the module: (its Flask app, its base URL)."""
    mock = mock_openai.create_app()
    with serve(mock) as base:
        yield mock, base


@pytest.fixture
def upstream_app(upstream):
    """The module's mock upstream with its request record cleared."""
    mock, _ = upstream
    mock.config["REQUESTS"].clear()
    return mock


def count_rows(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
