"""The channels pages (being built)."""

from __future__ import annotations

from flask import Blueprint

from oneapi.web.access import admin_page
from oneapi.web.htmx import render

bp = Blueprint("channels", __name__)


@bp.get("/channel")
@admin_page
def index():
    return render("pages/placeholder.html", "content")
