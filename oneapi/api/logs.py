"""`/api/log…`: every log for admins, each user's own logs for them."""

from __future__ import annotations

from flask import g

from oneapi.api import bp
from oneapi.api.envelope import ok
from oneapi.api.params import page, query_int, query_str
from oneapi.api.shapes import log_json
from oneapi.auth.decorators import admin_required, user_required
from oneapi.services import logs
from oneapi.services.logs import LogFilter


def _filter(*, own: bool) -> LogFilter:
    return LogFilter(
        kind=query_int("type", 0, minimum=0), start=query_int("start_timestamp", 0, minimum=0),
        end=query_int("end_timestamp", 0, minimum=0), token_name=query_str("token_name"),
        model_name=query_str("model_name"), username="" if own else query_str("username"),
        channel=0 if own else query_int("channel", 0, minimum=0), user_id=g.user.id if own else None,
    )


@bp.get("/log/")
@admin_required
def log_index():
    return ok([log_json(row) for row in logs.list_logs(_filter(own=False), page())])


@bp.delete("/log/")
@admin_required
def log_delete_history():
    return ok(logs.delete_before(query_int("target_timestamp", 0)))


@bp.get("/log/stat")
@admin_required
def log_stat():
    return ok({"quota": logs.quota_sum(_filter(own=False))})


@bp.get("/log/search")
@admin_required
def log_search():
    return ok([log_json(row) for row in logs.search(query_str("keyword"))])


@bp.get("/log/self")
@user_required
def log_self():
    return ok([log_json(row) for row in logs.list_logs(_filter(own=True), page())])


@bp.get("/log/self/stat")
@user_required
def log_self_stat():
    return ok({"quota": logs.quota_sum(_filter(own=True))})


@bp.get("/log/self/search")
@user_required
def log_self_search():
    return ok([log_json(row) for row in logs.search(query_str("keyword"), user_id=g.user.id)])
