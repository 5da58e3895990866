"""The users pages (being built)."""

from __future__ import annotations

from flask import Blueprint

from oneapi.web.access import admin_page
from oneapi.web.htmx import render

bp = Blueprint("users", __name__)


@bp.get("/user")
@admin_page
def index():
    return render("pages/placeholder.html", "content")
