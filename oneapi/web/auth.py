"""Signing in and out of the console (`/login`, `/logout`); registration and password reset."""

from __future__ import annotations

from flask import Blueprint, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from oneapi.api.ratelimit import critical_limit
from oneapi.errors import OneAPIError
from oneapi.services import accounts
from oneapi.web.access import safe_next
from oneapi.web.forms import FormInput, field_errors
from oneapi.web.htmx import redirect_to, render

bp = Blueprint("auth", __name__)


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")), 303)
    return render("auth/login.html", "content", next=safe_next(request.args.get("next")), errors={}, username="")


@bp.post("/login")
@critical_limit
def login_submit():
    form = FormInput()
    target = safe_next(form.str("next"))
    try:
        user = accounts.login(form.str("username", max_len=191), form.str("password", max_len=191, strip=False))
    except OneAPIError as exc:
        return render("auth/login.html", "content", status=422, next=target, errors=field_errors(exc),
                      username=form.str("username")[:191])
    session.clear()
    login_user(user)
    session.permanent = True
    return redirect_to(target)


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    return redirect_to(url_for("pages.home"))


@bp.get("/register")
def register():
    return render("pages/placeholder.html", "content")


@bp.get("/reset")
def reset():
    return render("pages/placeholder.html", "content")
