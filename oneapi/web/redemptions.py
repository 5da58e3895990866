"""The redemptions pages (being built)."""

from __future__ import annotations

from flask import Blueprint

from oneapi.web.access import admin_page
from oneapi.web.htmx import render

bp = Blueprint("redemptions", __name__)


@bp.get("/redemption")
@admin_page
def index():
    return render("pages/placeholder.html", "content")
