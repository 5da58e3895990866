"""Who may open a console page: a logged-in, enabled user of at least the page's role.

An anonymous visitor is sent to the login page (and back afterwards); a logged-in user without the
role gets the 403 page. Role and status are read from the database on every request, as for `/api`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import abort, g, request, url_for
from flask_login import current_user, logout_user

from oneapi.models import Role, UserStatus
from oneapi.web.htmx import redirect_to


def safe_next(target: str | None) -> str:
    """A local path to return to after login; anything else (another host, `//x`) becomes `/`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
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


user_page = page(Role.COMMON)
admin_page = page(Role.ADMIN)
root_page = page(Role.ROOT)
