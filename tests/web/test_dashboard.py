"""The dashboard: the caller's own usage of the last 7 days as SVG charts with readable numbers."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

from oneapi.models import LogType
from oneapi.services import logs, options
from oneapi.web.charts import BASELINE, PLOT_H
from oneapi.web.markup import quota
from tests import factories
from tests.web.helpers import HTMX, is_full_page, text

DAY = 86400
EN = {"Accept-Language": "en"}


def day(offset: int) -> str:
    return datetime.fromtimestamp(time.time() - offset * DAY, UTC).strftime("%Y-%m-%d")


@pytest.fixture
def usage(user, other_user):
    """Alice: today 3 requests (two models), two days ago 1, and one outside the window; noise that
    must not count: Bob's usage and Alice's top-up."""
    now = int(time.time())
    factories.make_log(user, model_name="gpt-4o", prompt_tokens=100, completion_tokens=50, quota=300)
    factories.make_log(user, model_name="gpt-4o", prompt_tokens=200, completion_tokens=100, quota=600)
    factories.make_log(user, model_name="claude", prompt_tokens=40, completion_tokens=10, quota=1000)
    factories.make_log(user, model_name="claude", prompt_tokens=600, completion_tokens=0, quota=50,
                       created_at=now - 2 * DAY)
    factories.make_log(user, model_name="gpt-4o", prompt_tokens=9999, quota=9999, created_at=now - 8 * DAY)
    factories.make_log(other_user, model_name="gpt-4o", prompt_tokens=7777, quota=7777)
    factories.make_log(user, type=LogType.TOPUP, model_name="", quota=5555)


def numbers(body: str, chart: str) -> dict[str, str]:
    """The day → value table under a line chart."""
    section = body.split(f'id="chart-{chart}"')[1].split("</figure>")[0]
    return dict(re.findall(r'<th scope="row">([\d-]+)</th><td class="num">([^<]+)</td>', section))


def circles(body: str, chart: str) -> list[float]:
    section = body.split(f'id="chart-{chart}"')[1].split("</figure>")[0]
    return [float(y) for y in re.findall(r'<circle class="point" cx="[\d.]+" cy="([\d.]+)"', section)]


def bars(body: str) -> dict[tuple[str, str], float]:
    """(MM-DD, model) → the bar's height."""
    found = re.findall(r'<rect class="bar" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="#\w+">'
                       r"<title>([\d-]+) · ([^:]+): ([\d,]+)</title>", body)
    return {(d, model): float(h) for h, d, model, _ in found}


def test_dashboard_totals_per_day(user_client, usage):
    response = user_client.get("/dashboard", headers=EN)
    assert response.status_code == 200 and is_full_page(response)
    body = text(response)
    days = [day(back) for back in range(6, -1, -1)]
    requests = numbers(body, "requests")
    assert list(requests) == days  # seven days, oldest first, zeros filled in
    assert requests[day(0)] == "3" and requests[day(2)] == "1"
    assert {requests[d] for d in days if d not in (day(0), day(2))} == {"0"}
    assert numbers(body, "tokens")[day(0)] == "500" and numbers(body, "tokens")[day(2)] == "600"
    assert numbers(body, "quota")[day(0)] == quota(1900)
    assert f"Today's spend: {quota(1900)}" in body
    assert "Today: 3" in body and "Today: 500" in body


def test_todays_spend_is_in_dollars_when_currency_display_is_on(user_client, usage):
    options.update_many({"DisplayInCurrencyEnabled": "true", "QuotaPerUnit": "500000"})
    assert "Today's spend: $0.0038" in text(user_client.get("/dashboard", headers=EN))
    assert 'dominant-baseline="middle">$0.004</text>' in text(user_client.get("/dashboard"))  # the quota axis top
    options.update_many({"DisplayInCurrencyEnabled": "false"})
    body = text(user_client.get("/dashboard", headers=EN))
    assert "Today's spend: 1,900" in body
    assert 'dominant-baseline="middle">2k</text>' in body


def test_line_points_follow_the_values(user_client, usage):
    body = text(user_client.get("/dashboard"))
    ys = circles(body, "tokens")
    assert len(ys) == 7
    # Tokens 600 (two days ago) and 500 (today) on an axis up to 800; the empty days on the axis.
    assert ys[4] == pytest.approx(BASELINE - PLOT_H * 600 / 800, abs=0.1)
    assert ys[6] == pytest.approx(BASELINE - PLOT_H * 500 / 800, abs=0.1)
    assert ys[0] == BASELINE
    assert '<text x="40" y="10.0" text-anchor="end" dominant-baseline="middle">800</text>' in body


def test_model_bars_are_proportional_and_stacked(user_client, usage):
    body = text(user_client.get("/dashboard"))
    heights = bars(body)
    today, before = day(0)[5:], day(2)[5:]
    assert set(heights) == {(today, "gpt-4o"), (today, "claude"), (before, "claude")}
    # 450 gpt-4o and 50 claude tokens today, 600 claude two days ago, on an axis up to 800.
    for key, tokens in (((today, "gpt-4o"), 450), ((today, "claude"), 50), ((before, "claude"), 600)):
        assert heights[key] == pytest.approx(PLOT_H * tokens / 800, abs=0.1)
    legend = re.findall(r'<li><i style="background: (#\w+)"></i>([^<]+)</li>', body)
    assert [name for _, name in legend] == ["claude", "gpt-4o"]  # the busiest model first
    assert len({colour for colour, _ in legend}) == 2
    table = body.split('id="chart-models"')[1]
    assert re.search(r'<th scope="row">gpt-4o</th>(<td class="num">0</td>){6}<td class="num">450</td>', table)


def test_charts_are_accessible_images_with_their_numbers(user_client, usage):
    body = text(user_client.get("/dashboard", headers=EN))
    assert body.count('role="img"') == 4
    for chart in ("requests", "quota", "tokens", "models"):
        assert f'aria-labelledby="chart-{chart}-title"' in body and f'<title id="chart-{chart}-title">' in body
    assert body.count("<summary>Show the numbers</summary>") == 4
    assert "<script" not in body.split("<main")[1]  # no chart library
    lines = re.findall(r'<polyline class="series" fill="none" stroke="(#\w+)"', body)
    assert len(lines) == 3 and len(set(lines)) == 3


def test_dashboard_counts_only_the_callers_usage(login_as, usage, other_user):
    client = login_as(1)  # a third user with no usage at all
    body = text(client.get("/dashboard", headers=EN))
    assert "No usage in the last 7 days yet" in body
    assert 'href="/token"' in body and "<svg" not in body


def test_other_users_usage_stays_out(user_client, usage):
    body = text(user_client.get("/dashboard"))
    assert "7,777" not in body and "7777" not in body and "9,999" not in body


def test_usage_older_than_seven_days_is_not_shown(user_client, user):
    factories.make_log(user, created_at=int(time.time()) - 7 * DAY, prompt_tokens=5)
    assert "No usage in the last 7 days yet" in text(user_client.get("/dashboard", headers=EN))


def test_dashboard_fragment(user_client, usage):
    response = user_client.get("/dashboard", headers=HTMX)
    assert not is_full_page(response)
    assert text(response).lstrip().startswith('<div id="dashboard">')


def test_model_names_are_escaped(user_client, user):
    factories.make_log(user, model_name="<b>m</b>", prompt_tokens=3)
    body = text(user_client.get("/dashboard"))
    assert "<b>m</b>" not in body and "&lt;b&gt;m&lt;/b&gt;" in body


def test_daily_usage_fills_missing_days(app, user):
    now = int(time.time())
    factories.make_log(user, created_at=now - 3 * DAY, prompt_tokens=4, completion_tokens=1, quota=7)
    usage = logs.daily_usage(user.id, now)
    assert len(usage.days) == 7 and usage.days[-1] == day(0)
    assert usage.requests == [0, 0, 0, 1, 0, 0, 0]
    assert usage.quota == [0, 0, 0, 7, 0, 0, 0] and usage.tokens == [0, 0, 0, 5, 0, 0, 0]
    assert usage.model_tokens == {"gpt-4o": [0, 0, 0, 5, 0, 0, 0]}
    assert not usage.empty
    assert logs.daily_usage(user.id + 100, now).empty
