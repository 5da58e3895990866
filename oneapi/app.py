"""The application factory: configuration, extensions, blueprints, error handlers, start-up tasks."""

from __future__ import annotations

from typing import Any

from flask import Flask

from oneapi.config import Config
from oneapi.database import flask_database_settings, init_database
from oneapi.errors import register_error_handlers
from oneapi.extensions import db, login_manager, migrate
from oneapi.ingress import init_ingress
from oneapi.sessions import SessionInterface


def create_app(config: Config | dict[str, Any] | None = None) -> Flask:
    if not isinstance(config, Config):
        config = Config.from_env(**(config or {}))
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(
        ONEAPI=config,
        SECRET_KEY=config.session_secret_value(),
        SESSION_COOKIE_NAME="session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Behind HTTPS (directly or via a proxy setting X-Forwarded-Proto) the cookie is marked Secure.
        SESSION_COOKIE_SECURE=False,
        PERMANENT_SESSION_LIFETIME=30 * 24 * 3600,
        TESTING=config.testing,
        **flask_database_settings(config),
    )
    app.json.ensure_ascii = False
    app.session_interface = SessionInterface()
    # One API answers "/api/token/" and "/api/token" alike; a slash never changes which route is taken.
    app.url_map.strict_slashes = False
    init_database(app)
    from oneapi.schema import MIGRATIONS_DIR

    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    login_manager.init_app(app)
    _register_blueprints(app)
    register_error_handlers(app)
    from oneapi.requestlog import init_request_log

    init_request_log(app)
    init_ingress(app)
    with app.app_context():
        _start(config)
        from oneapi.web.templating import init_templating

        init_templating(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from oneapi.api import bp as api_bp
    from oneapi.relay.dashboard import bp as billing_bp
    from oneapi.relay.views import bp as relay_bp
    from oneapi.web import exempt_from_csrf, register_web

    app.register_blueprint(api_bp)
    app.register_blueprint(relay_bp)
    app.register_blueprint(billing_bp)
    register_web(app)
    exempt_from_csrf(app, api_bp, relay_bp, billing_bp)


def _start(config: Config) -> None:
    from oneapi.schema import prepare_database, require_schema
    from oneapi.services import accounts, options

    if config.is_slave:
        require_schema()
    else:
        prepare_database()
    accounts.ensure_root(config.initial_root_token, config.initial_root_access_token)
    options.load()
