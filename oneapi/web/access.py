"""Who may open a console page: a logged-in, enabled user of at least the page's role.

An anonymous visitor is sent to the login page (and back afterwards); a logged-in user without the
role gets the 403 page. Role and status are read from the database on every request, as for `/api`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, g, request, url_for
from flask_login import current_user, logout_user

from oneapi.errors import is_console_request
from oneapi.models import Role, UserStatus
from oneapi.web.htmx import redirect_to


def safe_next(target: str | None) -> str:
    """The one check of every redirect built from input (`next`, a referrer, a form's way back): a path
    on this site, else `/`.

    Only a path starting with exactly one `/` passes. Browsers drop tabs and newlines from a URL and
    read `\\` as `/`, so `/<tab>/evil.com` and `/\\evil.com` would leave the site; control characters,
    whitespace and backslashes are refused anywhere (CR/LF would also break the header), and so is
    anything with a scheme or a host.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or not target.isprintable() or any(c.isspace() for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def page(role: Role = Role.COMMON) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user._get_current_object() if current_user.is_authenticated else None
            if user is not None and user.status != UserStatus.ENABLED:
                logout_user()
                user = None
            if user is None:
                back = request.full_path.rstrip("?") if request.method == "GET" else request.referrer
                return redirect_to(url_for("auth.login", next=local_path(back)))
            if user.role < role:
                abort(403)
            g.user = user
            return view(*args, **kwargs)

        return wrapped

    return decorate


def local_path(url: str | None) -> str:
    """The path and query of `url` when it points at this site (a referrer, say), else `/`."""
    if not url:
        return "/"
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return "/"
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


def deny_framing(response: Response) -> Response:
    """No other site may show a console page in a frame (clickjacking a button under a decoy); the
    relay and `/api` answer JSON and need no such header."""
    if is_console_request():
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'self'")
    return response


user_page = page(Role.COMMON)
admin_page = page(Role.ADMIN)
root_page = page(Role.ROOT)
