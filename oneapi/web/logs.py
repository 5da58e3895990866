"""The logs pages (being built)."""

from __future__ import annotations

from flask import Blueprint

from oneapi.web.access import user_page
from oneapi.web.htmx import render

bp = Blueprint("logs", __name__)


@bp.get("/log")
@user_page
def index():
    return render("pages/placeholder.html", "content")
