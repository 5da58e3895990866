"""The session cookie and signing in and out with it.

The cookie is HttpOnly and SameSite=Lax always, Secure whenever the client came over HTTPS. It is
signed, not stored, so it cannot be deleted on the server: instead each user has a session epoch
(`users.session_epoch`), written into the cookie at sign-in and compared on every request (the
Flask-Login user loader). Raising the epoch ends every cookie of that user at once, on every node.

Logging out raises the epoch too, so a copy of the cookie taken before the logout is worthless
afterwards. The price is that logging out in one browser logs the user out in all of them; a
per-session record on the server would avoid that, but needs a table of sessions we do not keep.
"""

from __future__ import annotations

from flask import Flask, has_request_context, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, login_user, logout_user

from oneapi.clientip import is_https

EPOCH = "_epoch"


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        # Decided per request: one process serves plain HTTP on localhost and HTTPS behind Nginx.
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and is_https())


def epoch_of(user) -> int:
    return user.session_epoch or 0


def sign_in(user) -> None:
    """Start a fresh session for `user`: nothing of the visitor's previous session (a planted
    session, a CSRF secret) survives into the signed-in one."""
    session.clear()
    login_user(user)
    session[EPOCH] = epoch_of(user)
    session.permanent = True


def is_current(user) -> bool:
    """The session was issued at the user's present epoch (a session from before it counts as 0)."""
    return session.get(EPOCH, 0) == epoch_of(user)


def keep_signed_in(user) -> None:
    """After `user`'s sessions were ended by their own action in this browser (a new password), this
    browser's session carries on at the new epoch; every other one stays ended."""
    if current_user.is_authenticated and current_user.get_id() == str(user.id):
        session[EPOCH] = epoch_of(user)


def sign_out() -> None:
    logout_user()
    session.clear()
