"""Logs through `/api/log…` and `/api/user/dashboard`: admin filters and pagination, quota statistics,
search, history clean-up, each user's own rows, and the 7-day per-model dashboard."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log
from tests import factories
from tests.conftest import count_rows

DAY = 86400
NOW = int(time.time())
HOUR_AGO = NOW - 3600



@pytest.fixture
def history(user, other_user):
    """A small, varied log table: alice and bob, several types, tokens, models, channels and times."""
    return {
        "a_consume": factories.make_log(user, type=2, quota=10, token_name="web", model_name="gpt-4o", channel_id=1,
                                        created_at=HOUR_AGO - 300),
        "a_consume2": factories.make_log(user, type=2, quota=20, token_name="cli", model_name="gpt-4o-mini",
                                         channel_id=2, created_at=HOUR_AGO),
        "a_topup": factories.make_log(user, type=1, quota=1000, content="通过兑换码充值 ＄0.002000 额度",
                                      token_name="", model_name="", created_at=HOUR_AGO + 60),
        "b_consume": factories.make_log(other_user, type=2, quota=300, token_name="web", model_name="gpt-4o",
                                        channel_id=2, created_at=HOUR_AGO + 120),
        "b_manage": factories.make_log(other_user, type=3, quota=0, content="管理员将用户额度从 A修改为 B",
                                       token_name="", model_name="", created_at=HOUR_AGO + 180),
    }


def ids(response) -> list[int]:
    body = response.json
    assert body["success"] is True, body
    return [row["id"] for row in body["data"]]


def expect(history, *names) -> list[int]:
    """Ids of the named rows, newest id first (the lists' order)."""
    return sorted((history[n].id for n in names), reverse=True)


def test_admin_lists_every_log_newest_first(admin_client, history):
    assert ids(admin_client.get("/api/log/")) == expect(history, *history)
    row = admin_client.get("/api/log/").json["data"][-1]
    assert row["username"] == "alice" and row["channel"] == 1 and row["model_name"] == "gpt-4o"


@pytest.mark.parametrize(("query", "names"), [
    ("type=2", ["a_consume", "a_consume2", "b_consume"]),
    ("type=1", ["a_topup"]),
    ("type=0", ["a_consume", "a_consume2", "a_topup", "b_consume", "b_manage"]),
    ("username=bob", ["b_consume", "b_manage"]),
    ("token_name=web", ["a_consume", "b_consume"]),
    ("model_name=gpt-4o-mini", ["a_consume2"]),
    ("channel=2", ["a_consume2", "b_consume"]),
    (f"start_timestamp={HOUR_AGO}", ["a_consume2", "a_topup", "b_consume", "b_manage"]),
    (f"end_timestamp={HOUR_AGO + 60}", ["a_consume", "a_consume2", "a_topup"]),
    (f"start_timestamp={HOUR_AGO}&end_timestamp={HOUR_AGO + 120}&type=2", ["a_consume2", "b_consume"]),
    ("username=alice&token_name=web&model_name=gpt-4o", ["a_consume"]),
])
def test_admin_log_filters(admin_client, history, query, names):
    assert ids(admin_client.get(f"/api/log/?{query}")) == expect(history, *names)


def test_admin_log_list_pages_ten_rows(admin_client, user):
    made = [factories.make_log(user, created_at=NOW - i) for i in range(13)]
    assert ids(admin_client.get("/api/log/")) == [row.id for row in reversed(made)][:10]
    assert ids(admin_client.get("/api/log/?p=1")) == [made[2].id, made[1].id, made[0].id]
    assert ids(admin_client.get("/api/log/?p=2")) == []


def test_stat_sums_consume_logs_only(admin_client, history):
    assert admin_client.get("/api/log/stat").json == {"success": True, "message": "", "data": {"quota": 330}}
    assert admin_client.get("/api/log/stat?type=1").json["data"] == {"quota": 330}
    assert admin_client.get("/api/log/stat?username=alice").json["data"] == {"quota": 30}
    assert admin_client.get("/api/log/stat?token_name=web&channel=2").json["data"] == {"quota": 300}
    assert admin_client.get(f"/api/log/stat?end_timestamp={HOUR_AGO - 1}").json["data"] == {"quota": 10}
    assert admin_client.get("/api/log/stat?model_name=none").json["data"] == {"quota": 0}


def test_admin_search_matches_type_number_or_content_prefix(admin_client, history):
    assert ids(admin_client.get("/api/log/search?keyword=3")) == expect(history, "b_manage")
    assert ids(admin_client.get("/api/log/search?keyword=1")) == expect(history, "a_topup")
    assert ids(admin_client.get("/api/log/search?keyword=通过兑换码")) == expect(history, "a_topup")
    assert ids(admin_client.get("/api/log/search?keyword=兑换码")) == []


def test_deleting_history_removes_only_older_rows_and_returns_the_count(admin_client, history):
    body = admin_client.delete(f"/api/log/?target_timestamp={HOUR_AGO + 60}").json
    assert body == {"success": True, "message": "", "data": 2}
    db.session.expire_all()
    remaining = set(db.session.scalars(sa.select(Log.id)))
    assert remaining == {history[n].id for n in ("a_topup", "b_consume", "b_manage")}
    assert admin_client.delete(f"/api/log/?target_timestamp={HOUR_AGO}").json["data"] == 0


def test_deleting_history_needs_a_target_timestamp(admin_client, history):
    body = admin_client.delete("/api/log/").json
    assert body["success"] is False
    assert count_rows(Log) == len(history)
    # One API's controller/log.go DeleteHistoryLogs.
    assert body["message"] == "target timestamp is required"


def test_common_user_cannot_read_every_log(user_client, history):
    assert user_client.get("/api/log/").json == {"success": False, "message": "无权进行此操作，权限不足"}
    assert user_client.delete(f"/api/log/?target_timestamp={NOW}").json["success"] is False
    assert count_rows(Log) == len(history)


def test_user_sees_only_own_logs(user_client, history):
    assert ids(user_client.get("/api/log/self")) == expect(history, "a_consume", "a_consume2", "a_topup")
    assert ids(user_client.get("/api/log/self?type=2")) == expect(history, "a_consume", "a_consume2")
    assert ids(user_client.get("/api/log/self?token_name=web")) == expect(history, "a_consume")
    # Other users' filters cannot widen the scope.
    assert ids(user_client.get("/api/log/self?username=bob")) == expect(history, "a_consume", "a_consume2", "a_topup")


def test_user_stat_sums_own_consume_logs_only(user_client, history):
    assert user_client.get("/api/log/self/stat").json["data"] == {"quota": 30}
    assert user_client.get("/api/log/self/stat?model_name=gpt-4o").json["data"] == {"quota": 10}


def test_user_search_stays_within_own_logs(user_client, history, other_user):
    factories.make_log(other_user, type=1, content="通过兑换码充值 bob")
    found = user_client.get("/api/log/self/search?keyword=通过").json["data"]
    assert [row["username"] for row in found] == ["alice"]


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def test_dashboard_aggregates_own_consume_logs_per_day_and_model(user_client, user, other_user):
    now = int(time.time())
    two_days_ago = now - 2 * DAY
    factories.make_log(user, model_name="gpt-4o", quota=10, prompt_tokens=1, completion_tokens=2, created_at=now)
    factories.make_log(user, model_name="gpt-4o", quota=30, prompt_tokens=3, completion_tokens=4, created_at=now)
    factories.make_log(user, model_name="gpt-4o-mini", quota=5, prompt_tokens=5, completion_tokens=6, created_at=now)
    factories.make_log(user, model_name="gpt-4o", quota=7, prompt_tokens=7, completion_tokens=8,
                       created_at=two_days_ago)
    factories.make_log(user, type=1, model_name="gpt-4o", quota=999, created_at=now)
    factories.make_log(other_user, model_name="gpt-4o", quota=999, created_at=now)
    factories.make_log(user, model_name="gpt-4o", quota=999, created_at=now - 10 * DAY)
    body = user_client.get("/api/user/dashboard").json
    assert body["success"] is True
    assert body["data"] == [
        {"Day": _day(two_days_ago), "ModelName": "gpt-4o", "RequestCount": 1, "Quota": 7, "PromptTokens": 7,
         "CompletionTokens": 8},
        {"Day": _day(now), "ModelName": "gpt-4o", "RequestCount": 2, "Quota": 40, "PromptTokens": 4,
         "CompletionTokens": 6},
        {"Day": _day(now), "ModelName": "gpt-4o-mini", "RequestCount": 1, "Quota": 5, "PromptTokens": 5,
         "CompletionTokens": 6},
    ]


def test_dashboard_window_is_today_and_the_six_days_before(user_client, user):
    """One API (controller/user.go GetUserDashboard) starts at UTC midnight six days ago."""
    now = int(time.time())
    window_start = now - now % DAY - 6 * DAY
    factories.make_log(user, model_name="first-day", created_at=window_start)
    factories.make_log(user, model_name="too-old", created_at=window_start - 1)
    rows = user_client.get("/api/user/dashboard").json["data"]
    assert {"first-day"} <= {r["ModelName"] for r in rows}
    assert [r["Day"] for r in rows if r["ModelName"] == "first-day"] == [_day(window_start)]
    assert "too-old" not in {r["ModelName"] for r in rows}
