"""Public pages: home, about, chat, and the language switch."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request

from oneapi.i18n import COOKIE, LANGUAGES
from oneapi.services import options
from oneapi.web.access import safe_next, user_page
from oneapi.web.htmx import redirect_to, render

bp = Blueprint("pages", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
def home():
    return render("pages/home.html", "content", content=options.get("HomePageContent"),
                  start_time=current_app.config.get("ONEAPI_START_TIME"))


@bp.get("/about")
def about():
    return render("pages/about.html", "content", content=options.get("About"))


@bp.get("/chat")
@user_page
def chat():
    return render("pages/chat.html", "content", chat_link=options.get("ChatLink"))


@bp.post("/language")
def switch_language():
    chosen = request.form.get("lang", "")
    if chosen not in LANGUAGES:
        abort(400)
    response = redirect_to(safe_next(request.form.get("next")))
    response.set_cookie(COOKIE, chosen, max_age=ONE_YEAR, samesite="Lax", httponly=True)
    return response
