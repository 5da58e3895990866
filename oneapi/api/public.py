"""Routes without authentication: status, notice, about, home page, login, logout, registration, email
codes and password reset, and the OAuth entry points whose mechanisms are not built yet."""

from __future__ import annotations

import time

from flask import current_app, session
from flask_login import current_user

from oneapi import __version__
from oneapi.api import bp
from oneapi.api.envelope import ok
from oneapi.api.params import Body, query_str
from oneapi.api.pending import not_yet
from oneapi.api.ratelimit import critical_limit
from oneapi.api.shapes import login_json
from oneapi.errors import Forbidden
from oneapi.services import accounts, options, verification
from oneapi.services.randomness import random_string
from oneapi.sessions import sign_in, sign_out


@bp.get("/status")
def status():
    get, on = options.get, options.get_bool
    return ok({
        "version": __version__, "start_time": current_app.config.get("ONEAPI_START_TIME", int(time.time())),
        "email_verification": on("EmailVerificationEnabled"), "github_oauth": on("GitHubOAuthEnabled"),
        "github_client_id": get("GitHubClientId"), "lark_client_id": get("LarkClientId"),
        "system_name": get("SystemName"), "logo": get("Logo"), "footer_html": get("Footer"),
        "wechat_qrcode": get("WeChatAccountQRCodeImageURL"), "wechat_login": on("WeChatAuthEnabled"),
        "server_address": get("ServerAddress") or "http://localhost:3000",
        "turnstile_check": on("TurnstileCheckEnabled"),
        "turnstile_site_key": get("TurnstileSiteKey"), "top_up_link": get("TopUpLink"), "chat_link": get("ChatLink"),
        "quota_per_unit": options.get_float("QuotaPerUnit"), "display_in_currency": on("DisplayInCurrencyEnabled"),
        "oidc": on("OidcEnabled"), "oidc_client_id": get("OidcClientId"), "oidc_well_known": get("OidcWellKnown"),
        "oidc_authorization_endpoint": get("OidcAuthorizationEndpoint"),
        "oidc_token_endpoint": get("OidcTokenEndpoint"), "oidc_userinfo_endpoint": get("OidcUserinfoEndpoint"),
    })


@bp.get("/notice")
def notice():
    return ok(options.get("Notice"))


@bp.get("/about")
def about():
    return ok(options.get("About"))


@bp.get("/home_page_content")
def home_page_content():
    return ok(options.get("HomePageContent"))


@bp.post("/user/login")
@critical_limit
def login():
    body = Body.load()
    user = accounts.login(body.str("username", max_len=191), body.str("password", max_len=191))
    sign_in(user)
    return ok(login_json(user))


@bp.get("/user/logout")
def logout():
    """One API's logout, a GET (its frontend calls it so); the CSRF check of `oneapi.api.csrf` keeps
    other sites from calling it, and the logout ends every session of the user (`oneapi.sessions`)."""
    if current_user.is_authenticated:
        accounts.sign_out_everywhere(current_user._get_current_object())
    sign_out()
    return ok()


@bp.post("/user/register")
@critical_limit
def register():
    if options.get_bool("TurnstileCheckEnabled"):
        raise Forbidden("{feature} 尚未实现", feature="Turnstile")
    body = Body.load()
    accounts.register(body.str("username", required=True, max_len=12),
                      body.str("password", required=True, max_len=20),
                      email=body.str("email", max_len=50), verification_code=body.str("verification_code", max_len=64),
                      aff_code=body.str("aff_code", max_len=32))
    return ok()


@bp.get("/oauth/state")
@critical_limit
def oauth_state():
    state = random_string(12)
    session["oauth_state"] = state
    return ok(state)


@bp.get("/verification")
@critical_limit
def send_verification_code():
    verification.send_verification_code(query_str("email"))
    return ok()


@bp.get("/reset_password")
@critical_limit
def send_reset_link():
    verification.send_reset_link(query_str("email"))
    return ok()


@bp.post("/user/reset")
@critical_limit
def reset_password():
    body = Body.load()
    return ok(verification.reset_password(body.str("email", max_len=50), body.str("token", max_len=64)))


for _rule, _feature, _methods in (
    ("/oauth/github", "GitHub OAuth", ["GET"]),
    ("/oauth/oidc", "OIDC", ["GET"]),
    ("/oauth/lark", "Lark OAuth", ["GET"]),
    ("/oauth/wechat", "WeChat login", ["GET"]),
):
    bp.add_url_rule(_rule, _rule.strip("/").replace("/", "_"), critical_limit(not_yet(_feature)), methods=_methods)
