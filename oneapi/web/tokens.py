"""The tokens pages (being built)."""

from __future__ import annotations

from flask import Blueprint

from oneapi.web.access import user_page
from oneapi.web.htmx import render

bp = Blueprint("tokens", __name__)


@bp.get("/token")
@user_page
def index():
    return render("pages/placeholder.html", "content")
