"""Log rows: recording, filtered listing, search, quota statistics, the dashboard and clean-up."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from oneapi.errors import Invalid
from oneapi.extensions import db
from oneapi.models import Log, LogType, User
from oneapi.services.paging import PAGE_SIZE, is_id, like_prefix, page_offset

MAX_RECENT_ITEMS = 100
DAY = 86400


INSERT_LOG = sa.insert(Log.__table__)
LOG_DEFAULTS = {"token_name": "", "model_name": "", "quota": 0, "prompt_tokens": 0, "completion_tokens": 0,
                "channel_id": 0, "request_id": "", "elapsed_time": 0, "is_stream": False, "system_prompt_reset": False}


def record(user_id: int, kind: LogType, content: str, *, username: str | None = None, commit: bool = False,
           **fields: Any) -> None:
    """Insert a log row in the current transaction (committed with it unless `commit`).

    A Core INSERT on the logs database's connection: the relay writes one per request, and the ORM's
    unit of work cost several times more.
    """
    if username is None:
        username = db.session.scalar(sa.select(User.username).where(User.id == user_id)) or ""
    values = {**LOG_DEFAULTS, **fields, "user_id": user_id, "created_at": int(time.time()), "type": int(kind),
              "content": content, "username": username}
    db.session.connection(bind_arguments={"mapper": Log.__mapper__}).execute(INSERT_LOG, values)
    if commit:
        db.session.commit()


@dataclass(frozen=True)
class LogFilter:
    kind: int = 0
    start: int = 0
    end: int = 0
    username: str = ""
    token_name: str = ""
    model_name: str = ""
    channel: int = 0
    user_id: int | None = None

    def conditions(self, *, consume_only: bool = False) -> list[Any]:
        conditions: list[Any] = []
        if consume_only:
            conditions.append(Log.type == LogType.CONSUME)
        elif self.kind:
            conditions.append(Log.type == self.kind)
        if self.user_id is not None:
            conditions.append(Log.user_id == self.user_id)
        if self.username:
            conditions.append(Log.username == self.username)
        if self.token_name:
            conditions.append(Log.token_name == self.token_name)
        if self.model_name:
            conditions.append(Log.model_name == self.model_name)
        if self.start:
            conditions.append(Log.created_at >= self.start)
        if self.end:
            conditions.append(Log.created_at <= self.end)
        if self.channel:
            conditions.append(Log.channel_id == self.channel)
        return conditions


def list_logs(flt: LogFilter, page: int, limit: int = PAGE_SIZE) -> list[Log]:
    """A page of matching logs, newest first; `limit` above PAGE_SIZE peeks at the next page."""
    query = sa.select(Log).where(*flt.conditions()).order_by(Log.id.desc())
    return list(db.session.scalars(query.limit(limit).offset(page_offset(page))))


def search(keyword: str, user_id: int | None = None) -> list[Log]:
    """Admins: logs whose type equals the keyword or whose content starts with it; users: their own
    logs whose content starts with it (One API compared the keyword to the type only)."""
    condition: Any = Log.content.like(like_prefix(keyword), escape="\\")
    if is_id(keyword) and user_id is None:
        condition = sa.or_(Log.type == int(keyword), condition)
    query = sa.select(Log).where(condition)
    if user_id is not None:
        query = query.where(Log.user_id == user_id)
    return list(db.session.scalars(query.order_by(Log.id.desc()).limit(MAX_RECENT_ITEMS)))


def quota_sum(flt: LogFilter) -> int:
    """Quota of consume logs matching the filter (One API ignores the type filter here too)."""
    total = db.session.scalar(sa.select(sa.func.sum(Log.quota)).where(*flt.conditions(consume_only=True)))
    return int(total or 0)


def delete_before(timestamp: int) -> int:
    if timestamp <= 0:
        raise Invalid("target timestamp is required")
    result = db.session.execute(sa.delete(Log).where(Log.created_at < timestamp))
    db.session.commit()
    return result.rowcount or 0


def dashboard(user_id: int, now: int | None = None) -> list[dict[str, Any]]:
    """Per UTC day and model, the user's consume logs from midnight six days ago to the end of today
    (One API's window and capitalised keys)."""
    now = int(time.time()) if now is None else now
    today = now - now % DAY
    start, end = today - 6 * DAY, today + DAY - 1
    # Integer arithmetic gives the UTC day on every engine, whatever the session's time zone.
    day = Log.created_at - Log.created_at % DAY
    rows = db.session.execute(
        sa.select(day, Log.model_name, sa.func.count(), sa.func.sum(Log.quota), sa.func.sum(Log.prompt_tokens),
                  sa.func.sum(Log.completion_tokens))
        .where(Log.user_id == user_id, Log.type == LogType.CONSUME, Log.created_at >= start, Log.created_at <= end)
        .group_by(day, Log.model_name).order_by(day, Log.model_name)
    )
    return [{"Day": _utc_date(int(r[0])), "ModelName": r[1] or "", "RequestCount": int(r[2] or 0),
             "Quota": int(r[3] or 0), "PromptTokens": int(r[4] or 0), "CompletionTokens": int(r[5] or 0)}
            for r in rows]


@dataclass(frozen=True)
class DailyUsage:
    """The dashboard's seven UTC days, oldest first, with zeros for days without usage (as One API's
    page fills them); `model_tokens` maps each model to its prompt + completion tokens per day, the
    busiest model first."""

    days: list[str]
    requests: list[int]
    quota: list[int]
    tokens: list[int]
    model_tokens: dict[str, list[int]]

    @property
    def empty(self) -> bool:
        return not any(self.requests)


def daily_usage(user_id: int, now: int | None = None) -> DailyUsage:
    now = int(time.time()) if now is None else now
    today = now - now % DAY
    days = [_utc_date(today - back * DAY) for back in range(6, -1, -1)]
    index = {day: i for i, day in enumerate(days)}
    requests, quota, tokens = [0] * 7, [0] * 7, [0] * 7
    per_model: dict[str, list[int]] = {}
    for row in dashboard(user_id, now):
        i, used = index[row["Day"]], row["PromptTokens"] + row["CompletionTokens"]
        requests[i] += row["RequestCount"]
        quota[i] += row["Quota"]
        tokens[i] += used
        per_model.setdefault(row["ModelName"], [0] * 7)[i] += used
    ranked = sorted(per_model.items(), key=lambda item: (-sum(item[1]), item[0]))
    return DailyUsage(days, requests, quota, tokens, dict(ranked))


def _utc_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
