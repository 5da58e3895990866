"""The session cookie: HttpOnly and SameSite=Lax always, Secure whenever the client came over HTTPS."""

from __future__ import annotations

from flask import Flask, has_request_context
from flask.sessions import SecureCookieSessionInterface

from oneapi.clientip import is_https


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        # Decided per request: one process serves plain HTTP on localhost and HTTPS behind Nginx.
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and is_https())
