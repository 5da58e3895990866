"""Role requirements for management routes, as One API's `UserAuth`/`AdminAuth`/`RootAuth`.

The session is tried first, then the `Authorization` header (the access token, raw or `Bearer`).
Unlike One API the role and status are read from the database on every request, so a demoted,
disabled or deleted user loses access at once, on every node; so is the session epoch, so a cookie
from before a logout or a password change is refused too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import g, request
from flask_login import current_user, logout_user

from oneapi import sessions
from oneapi.errors import Forbidden, Unauthorized
from oneapi.extensions import db, login_manager
from oneapi.models import Role, User, UserStatus


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user, for the console and `/api` alike, unless the session was ended since it
    was issued (logout, new password, ban: see `oneapi.sessions`)."""
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None:
        return None
    # A banned or deleted user's session is still recognised, only to be answered One API's "banned"
    # and ended (`resolve_caller`, the console's `page`); the ban raised the epoch, so it never works.
    if user.status == UserStatus.ENABLED and not sessions.is_current(user):
        return None
    return user


def resolve_caller() -> User:
    if current_user.is_authenticated:
        user = current_user._get_current_object()
    else:
        header = request.headers.get("Authorization", "").strip()
        if not header:
            raise Unauthorized("无权进行此操作，未登录且未提供 access token")
        token = header.removeprefix("Bearer ").strip()
        user = db.session.scalar(sa.select(User).where(User.access_token == token)) if len(token) <= 64 else None
        if user is None or not token:
            raise Forbidden("无权进行此操作，access token 无效")
    if user.status != UserStatus.ENABLED:
        logout_user()
        raise Forbidden("用户已被封禁")
    return user


def login_required(role: Role = Role.COMMON) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = resolve_caller()
            if user.role < role:
                raise Forbidden("无权进行此操作，权限不足")
            g.user = user
            return view(*args, **kwargs)

        return wrapped

    return decorate


user_required = login_required(Role.COMMON)
admin_required = login_required(Role.ADMIN)
root_required = login_required(Role.ROOT)
