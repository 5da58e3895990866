"""Signing in and out of the console (`/login`, `/logout`); registration and password reset."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from oneapi.api.ratelimit import critical_limit
from oneapi.errors import Invalid, OneAPIError
from oneapi.services import accounts, options, verification
from oneapi.sessions import sign_in, sign_out
from oneapi.web.access import deny_framing, safe_next
from oneapi.web.forms import FormInput, field_errors, query_text
from oneapi.web.htmx import redirect_to, render
from oneapi.web.i18n import _

bp = Blueprint("auth", __name__)
# Registered here, once per app, for every console response (the hook itself skips the rest).
bp.after_app_request(deny_framing)


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")), 303)
    return render("auth/login.html", "content", next=safe_next(request.args.get("next")), errors={}, username="")


@bp.post("/login")
@critical_limit
def login_submit():
    form = FormInput()
    target = safe_next(form.data.get("next"))
    try:
        user = accounts.login(form.str("username", max_len=191), form.str("password", max_len=191, strip=False))
    except OneAPIError as exc:
        return render("auth/login.html", "content", status=422, next=target, errors=field_errors(exc),
                      username=form.str("username")[:191])
    sign_in(user)
    return redirect_to(target)


@bp.post("/logout")
def logout():
    """Ends every session of the user, not only this cookie (see `oneapi.sessions`)."""
    if current_user.is_authenticated:
        accounts.sign_out_everywhere(current_user._get_current_object())
    sign_out()
    return redirect_to(url_for("pages.home"))


def _registration_open() -> bool:
    return options.get_bool("RegisterEnabled") and options.get_bool("PasswordRegisterEnabled")


def _register_page(values: dict[str, str], errors: dict[str, str], status: int = 200, block: str = "content"):
    return render("auth/register.html", block, status=status, values=values, errors=errors,
                  open=_registration_open(), verify=options.get_bool("EmailVerificationEnabled"))


def _register_values(form: FormInput) -> dict[str, str]:
    """What was typed, to fill the form again (never the passwords)."""
    return {k: form.str(k)[:64] for k in ("username", "email", "verification_code", "aff_code")}


@bp.get("/register")
def register():
    return _register_page({"aff_code": query_text("aff", 32)}, {})


@bp.post("/register")
@critical_limit
def register_submit():
    form = FormInput()
    values = _register_values(form)
    try:
        if form.str("password", strip=False) != form.str("password2", strip=False):
            raise Invalid("两次输入的密码不一致", field="password2")
        accounts.register(form.str("username", required=True, max_len=12),
                          form.str("password", required=True, max_len=20, strip=False),
                          email=form.str("email", max_len=50),
                          verification_code=form.str("verification_code", max_len=64),
                          aff_code=form.str("aff_code", max_len=32))
    except OneAPIError as exc:
        return _register_page(values, field_errors(exc), 422)
    flash(_("Your account is ready: log in with your username and password."), "success")
    return redirect_to(url_for("auth.login"))


@bp.post("/register/code")
@critical_limit
def register_code():
    """Mail a verification code; htmx swaps only the email part, a plain post gets the whole form back."""
    form = FormInput()
    values = _register_values(form)
    try:
        verification.send_verification_code(form.str("email", required=True, max_len=50))
    except OneAPIError as exc:
        return _register_page(values, {"email": field_errors(exc).popitem()[1]}, 422, "email_code")
    flash(_("A verification code was sent to %(email)s; it is valid for 10 minutes.", email=values["email"]), "success")
    return _register_page(values, {}, block="email_code")


@bp.get("/reset")
def reset():
    return render("auth/reset.html", "content", email="", errors={}, sent=False)


@bp.post("/reset")
@critical_limit
def reset_submit():
    form = FormInput()
    email = form.str("email")[:50]
    try:
        verification.send_reset_link(form.str("email", required=True, max_len=50))
    except OneAPIError as exc:
        return render("auth/reset.html", "content", status=422, email=email, errors={"email": exc.text()}, sent=False)
    return render("auth/reset.html", "content", email=email, errors={}, sent=True)


@bp.get("/user/reset")
def reset_confirm():
    return render("auth/reset_confirm.html", "content", email=query_text("email", 50),
                  token=query_text("token", 64), errors={}, password="")


@bp.post("/user/reset")
@critical_limit
def reset_confirm_submit():
    form = FormInput()
    email, token = form.str("email")[:50], form.str("token")[:64]
    try:
        password = verification.reset_password(email, token)
    except OneAPIError as exc:
        return render("auth/reset_confirm.html", "content", status=422, email=email, token=token,
                      errors=field_errors(exc), password="")
    return render("auth/reset_confirm.html", "content", email=email, token="", errors={}, password=password)
