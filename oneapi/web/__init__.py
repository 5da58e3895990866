"""The admin console: server-rendered pages (Jinja + htmx) at One API's default-theme paths."""

from __future__ import annotations

import logging
import os

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

from oneapi import extensions

log = logging.getLogger("oneapi")


def register_web(app: Flask) -> None:
    from oneapi.web import (
        auth,
        channels,
        dashboard,
        logs,
        pages,
        redemptions,
        settings,
        tokens,
        topup,
        users,
    )

    # `oneapi.web.htmx` (a submodule) shadows a bare `htmx` name in this package.
    extensions.htmx.init_app(app)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("WTF_CSRF_SSL_STRICT", True)
    extensions.csrf.init_app(app)
    from oneapi.web.confirm import ask_first
    from oneapi.web.templating import remember_notice

    for area in (pages, auth, channels, tokens, redemptions, users, logs, dashboard, topup, settings):
        app.register_blueprint(area.bp)
        # Console-only hooks, kept off the relay's path; a blueprint's hooks run after the app's CSRF
        # check. Set on this app (the blueprint objects are shared by every app a process builds).
        app.before_request_funcs.setdefault(area.bp.name, []).append(ask_first)
        app.after_request_funcs.setdefault(area.bp.name, []).append(remember_notice)


def exempt_from_csrf(app: Flask, *blueprints: object) -> None:
    """`/api` and `/v1` are called by scripts with tokens, without a form's CSRF field; `/api`'s cookie calls
    have their own same-origin check instead (`oneapi.api.csrf`)."""
    for blueprint in blueprints:
        extensions.csrf.exempt(blueprint)


def theme_loader(root: str, theme: str) -> ChoiceLoader:
    """Templates of `theme` (a folder under `root`) first, then `default` for any page it does not override."""
    folders = [os.path.join(root, "default")]
    chosen = os.path.join(root, theme)
    if theme != "default":
        if os.path.isdir(chosen):
            folders.insert(0, chosen)
        else:
            log.warning("theme %r has no template folder; using the default theme", theme)
    return ChoiceLoader([FileSystemLoader(folder) for folder in folders])
