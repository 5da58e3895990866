"""Jinja set-up for the console: theme folder, gettext, filters and the values every page uses."""

from __future__ import annotations

import hashlib
import os

from flask import Flask, Response, g, request
from flask_login import current_user
from jinja2 import Environment

from oneapi import __version__
from oneapi.i18n import language
from oneapi.services import options
from oneapi.web import markup
from oneapi.web.i18n import gettext, ngettext

NOTICE_COOKIE = "notice_seen"


def init_templating(app: Flask) -> None:
    from oneapi.web import theme_loader

    # The `Theme` option (or THEME) is read once: as in One API, a new theme takes a restart.
    theme = options.get("Theme")
    root = os.path.normpath(os.path.join(app.root_path, app.template_folder or "../templates"))
    app.jinja_loader = theme_loader(root, theme or "default")
    env = app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)
    env.globals.update(option=options.get, option_on=options.get_bool, language=language, version=__version__)
    env.filters.update(quota=markup.quota, timestamp=markup.timestamp, root_markup=markup.root_markup)
    env.tests["iframe_url"] = markup.is_iframe
    env.globals["notice_to_show"] = notice_to_show
    env.globals["server_address"] = server_address
    # Macros are globals, not `{% from %}` imports: a block rendered alone as a fragment never runs the
    # template's top-level imports, so an imported macro would be undefined there.
    env.globals["forms"] = MacroFile(env, "components/_forms.html")
    env.globals["ui"] = MacroFile(env, "components/_ui.html")
    app.context_processor(_page_values)


def _page_values() -> dict[str, object]:
    user = g.get("user")
    if user is None and current_user.is_authenticated:
        user = current_user
    return {"user": user}


def notice_id() -> str:
    """A short fingerprint of the notice: the browser remembers the last one it has seen."""
    notice = options.get("Notice").strip()
    return hashlib.sha256(notice.encode()).hexdigest()[:16] if notice else ""


def notice_to_show() -> str:
    """The notice's fingerprint if this browser has not been shown it yet ("" otherwise).

    Shown once per change, as One API does: the response that shows it remembers it in a cookie.
    """
    current = notice_id()
    if not current or request.cookies.get(NOTICE_COOKIE) == current:
        return ""
    request.environ[NOTICE_COOKIE] = current
    return current


def remember_notice(response: Response) -> Response:
    shown = request.environ.get(NOTICE_COOKIE)
    if shown:
        response.set_cookie(NOTICE_COOKIE, shown, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


class MacroFile:
    """The macros of one template file, looked up on use (so template auto-reload still applies)."""

    def __init__(self, env: Environment, name: str) -> None:
        self.env, self.name = env, name

    def __getattr__(self, macro: str) -> object:
        return getattr(self.env.get_template(self.name).module, macro)


def server_address() -> str:
    """This site's address for links and clients: the ServerAddress option, else what the browser used."""
    return (options.get("ServerAddress").strip() or request.host_url).rstrip("/")
