"""The dashboard: the caller's requests, quota and tokens per day for the last 7 days, and tokens per
model, drawn as server-rendered SVG charts (`oneapi.web.charts`)."""

from __future__ import annotations

from flask import Blueprint, g

from oneapi.services import logs, options
from oneapi.web import charts, markup
from oneapi.web.access import user_page
from oneapi.web.htmx import render

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
@user_page
def index():
    usage = logs.daily_usage(g.user.id)
    days = [day[5:] for day in usage.days]  # MM-DD: the year adds nothing to a 7-day axis
    # With currency display on, the quota axis reads in dollars like the rest of the console.
    quota_label = markup.quota if options.get_bool("DisplayInCurrencyEnabled") else charts.compact
    return render(
        "dashboard/index.html", "dashboard", usage=usage,
        requests_chart=charts.line_chart(days, usage.requests, colour=charts.PALETTE[0]),
        quota_chart=charts.line_chart(days, usage.quota, quota_label, colour=charts.PALETTE[1]),
        tokens_chart=charts.line_chart(days, usage.tokens, colour=charts.PALETTE[2]),
        models_chart=charts.stacked_bars(days, usage.model_tokens, chart_width=charts.WIDE),
    )
