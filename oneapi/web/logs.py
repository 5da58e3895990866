"""The log page: every log for admins, only their own for everyone else, with One API's filters.

The filters are a GET form, so a filtered page is a link; htmx swaps the results fragment and pushes the
URL. The quota used by the filter is summed only on request (`?stat=1`), as One API loads it on click:
a sum over the whole log table is the expensive part of this page.
"""

from __future__ import annotations

import time
from datetime import datetime

from flask import Blueprint, g, request

from oneapi.models import LogType, Role, User
from oneapi.services import logs
from oneapi.services.logs import LogFilter
from oneapi.services.paging import PAGE_SIZE
from oneapi.web.access import user_page
from oneapi.web.forms import page_number, query_text
from oneapi.web.htmx import render, wants_fragment
from oneapi.web.i18n import _

bp = Blueprint("logs", __name__)

FILTERS = ("start_time", "end_time", "token_name", "model_name", "type", "channel", "username")
ADMIN_FILTERS = ("channel", "username")
MAX_FILTER_LEN = 200


@bp.get("/log")
@user_page
def index():
    admin = g.user.role >= Role.ADMIN
    args = filter_args(admin)
    flt = log_filter(args, g.user, admin)
    p = page_number()
    show_quota = request.args.get("stat", "") not in ("", "0")
    # The lazy quota request wants only the sum; a plain `?stat=1` link gets the whole page with it.
    rows = [] if show_quota and wants_fragment() else logs.list_logs(flt, p, limit=PAGE_SIZE + 1)
    return render(
        "logs/index.html", "quota" if show_quota else "results",
        admin=admin, args=args, rows=rows[:PAGE_SIZE], p=p, has_next=len(rows) > PAGE_SIZE,
        quota_used=logs.quota_sum(flt) if show_quota else None, types=log_types(),
    )


def filter_args(admin: bool) -> dict[str, str]:
    """The filters as sent, blanks dropped; the channel and username filters exist for admins only."""
    args: dict[str, str] = {}
    for name in FILTERS:
        value = query_text(name, MAX_FILTER_LEN)
        if value and (admin or name not in ADMIN_FILTERS) and not (name == "type" and value == "0"):
            args[name] = value
    return args


def log_filter(args: dict[str, str], user: User, admin: bool) -> LogFilter:
    """A non-admin's filter is always pinned to their own user id, whatever the query says."""
    kind = _number(args.get("type"))
    return LogFilter(
        kind=kind if kind in {int(t) for t in LogType} else 0,
        start=_moment(args.get("start_time")), end=_moment(args.get("end_time"), end=True),
        token_name=args.get("token_name", ""), model_name=args.get("model_name", ""),
        username=args.get("username", "") if admin else "",
        channel=_number(args.get("channel")) if admin else 0,
        user_id=None if admin else user.id,
    )


def _number(raw: str | None) -> int:
    """An integer filter; anything else means "not filtered" (a GET form has no error to show)."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 19 else 0


def _moment(raw: str | None, *, end: bool = False) -> int:
    """A `datetime-local` value in the server's time zone (the one the Time column shows) as unix seconds.

    Browsers send minutes only, so an end time covers its whole minute."""
    for fmt, extra in (("%Y-%m-%dT%H:%M:%S", 0), ("%Y-%m-%dT%H:%M", 59)):
        try:
            seconds = int(time.mktime(datetime.strptime(raw or "", fmt).timetuple()))
        except (ValueError, OverflowError):  # not this format, or a year the platform cannot convert
            continue
        return max(seconds + (extra if end else 0), 0)
    return 0


def log_types() -> dict[int, tuple[str, str]]:
    """Each log type's label and badge class, in the order of the type filter."""
    return {
        LogType.UNKNOWN: (_("Unknown"), "muted"),
        LogType.TOPUP: (_("Top up"), "ok"),
        LogType.CONSUME: (_("Usage"), "info"),
        LogType.MANAGE: (_("Admin"), "warn"),
        LogType.SYSTEM: (_("System"), "danger"),
        LogType.TEST: (_("Test"), "muted"),
    }
