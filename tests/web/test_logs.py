"""The log page: admins see every log, users only their own; each filter narrows the rows; the quota
used by the filter; pagination keeping the filters; provider text escaped; empty states."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from oneapi.models import LogType
from oneapi.services import logs
from oneapi.services.logs import LogFilter
from oneapi.web.markup import quota
from tests import factories
from tests.web.helpers import HTMX, fragment, is_full_page, text

DAY = 86400
EN = {"Accept-Language": "en"}
NOW = int(time.time())


def local_minute(timestamp: int) -> str:
    """A `datetime-local` value, as a browser sends it, in the server's time zone."""
    return time.strftime("%Y-%m-%dT%H:%M", time.localtime(timestamp))


@pytest.fixture
def history(user, other_user):
    """Alice's four logs and one of Bob's, named by their content."""
    rows = {
        "a-old": factories.make_log(user, content="a-old", created_at=NOW - 3 * DAY, channel_id=1, quota=100),
        "a-claude": factories.make_log(user, content="a-claude", created_at=NOW - DAY, model_name="claude",
                                       token_name="other-key", channel_id=2, quota=200),
        "a-topup": factories.make_log(user, content="a-topup", type=LogType.TOPUP, model_name="", token_name="",
                                      quota=1000, channel_id=0),
        "b-use": factories.make_log(other_user, content="b-use", created_at=NOW - DAY, channel_id=1, quota=400),
    }
    return {name: row.id for name, row in rows.items()}


def shown(response) -> set[int]:
    """Ids of the log rows on the page."""
    return {int(i) for i in re.findall(r'<tr id="log-(\d+)"', text(response))}


def ids(history, *names) -> set[int]:
    return {history[n] for n in names}


def test_admin_sees_every_log_with_channel_and_user_links(admin_client, history, other_user):
    response = admin_client.get("/log")
    assert response.status_code == 200 and is_full_page(response)
    assert shown(response) == set(history.values())
    body = text(response)
    assert 'href="/channel/edit/2"' in body
    assert f'href="/user/edit/{other_user.id}">bob</a>' in body
    assert 'name="channel"' in body and 'name="username"' in body


def test_user_sees_only_own_logs_without_admin_columns(user_client, history):
    response = user_client.get("/log")
    assert shown(response) == ids(history, "a-old", "a-claude", "a-topup")
    body = text(response)
    assert "b-use" not in body
    assert 'name="channel"' not in body and 'name="username"' not in body
    assert "/channel/edit/" not in body and "/user/edit/" not in body


@pytest.mark.parametrize("query", [
    "username=bob", "channel=1", "user_id=4", "username=bob&channel=1", "type=2&model_name=gpt-4o",
    "token_name=key", "p=0&username=bob&stat=1",
])
def test_no_query_shows_a_user_another_users_logs(user_client, history, query):
    response = user_client.get(f"/log?{query}")
    assert response.status_code == 200
    assert history["b-use"] not in shown(response)
    assert "b-use" not in text(response)


def test_user_channel_and_username_filters_are_ignored(user_client, history):
    # Not an empty page: the filters do not exist for a common user, so they do not narrow anything.
    response = user_client.get("/log?channel=2&username=bob")
    assert shown(response) == ids(history, "a-old", "a-claude", "a-topup")
    quota_used = fragment(user_client, "/log?channel=2&username=bob&stat=1")
    assert quota(300) in text(quota_used)  # Alice's two usage logs, not channel 2's 200 nor Bob's 400


@pytest.mark.parametrize(("query", "names"), [
    (lambda: f"start_time={local_minute(NOW - 2 * DAY)}", ("a-claude", "a-topup", "b-use")),
    (lambda: f"end_time={local_minute(NOW - 2 * DAY)}", ("a-old",)),
    (lambda: "token_name=other-key", ("a-claude",)),
    (lambda: "model_name=claude", ("a-claude",)),
    (lambda: "type=1", ("a-topup",)),
    (lambda: "type=2", ("a-old", "a-claude", "b-use")),
    (lambda: "channel=2", ("a-claude",)),
    (lambda: "username=bob", ("b-use",)),
    (lambda: f"start_time={local_minute(NOW - 2 * DAY)}&end_time={local_minute(NOW - DAY // 2)}&type=2",
     ("a-claude", "b-use")),
], ids=["start", "end", "token", "model", "type-topup", "type-usage", "channel", "username", "combined"])
def test_each_admin_filter_narrows_the_rows(admin_client, history, query, names):
    response = admin_client.get(f"/log?{query()}")
    assert shown(response) == ids(history, *names)


@pytest.mark.parametrize(("query", "names"), [
    (lambda: f"start_time={local_minute(NOW - 2 * DAY)}", ("a-claude", "a-topup")),
    (lambda: f"end_time={local_minute(NOW - 2 * DAY)}", ("a-old",)),
    (lambda: "token_name=other-key", ("a-claude",)),
    (lambda: "model_name=gpt-4o", ("a-old",)),
    (lambda: "type=1", ("a-topup",)),
], ids=["start", "end", "token", "model", "type"])
def test_each_user_filter_narrows_own_rows(user_client, history, query, names):
    assert shown(user_client.get(f"/log?{query()}")) == ids(history, *names)


def test_filters_come_back_filled_in_and_the_type_selected(admin_client, history):
    start = local_minute(NOW - 2 * DAY)
    body = text(admin_client.get(f"/log?start_time={start}&model_name=claude&type=1&channel=2&username=bob"))
    assert f'name="start_time" type="datetime-local" value="{start}"' in body
    assert 'name="model_name" type="text" value="claude"' in body
    assert 'name="channel" type="number" value="2"' in body
    assert 'name="username" type="text" value="bob"' in body
    assert '<option value="1" selected>' in body


@pytest.mark.parametrize("query", ["", "model_name=claude", "username=bob", "channel=1", "type=1",
                                   "token_name=key&channel=1"])
def test_quota_used_matches_the_filter(admin_client, history, query):
    # The lazy request (htmx) answers with the sum alone; the type filter is ignored as in One API.
    response = fragment(admin_client, f"/log?stat=1&{query}")
    assert response.status_code == 200 and not is_full_page(response)
    body = text(response)
    assert 'id="log-quota"' in body and "<table" not in body
    args = dict(pair.split("=") for pair in query.split("&") if pair)
    expected = logs.quota_sum(LogFilter(username=args.get("username", ""), model_name=args.get("model_name", ""),
                                        token_name=args.get("token_name", ""), channel=int(args.get("channel", 0))))
    assert f'<strong class="stat">{quota(expected)}</strong>' in body


def test_quota_sums_by_filter(admin_client, history):
    assert f'<strong class="stat">{quota(700)}</strong>' in text(fragment(admin_client, "/log?stat=1"))
    assert f'<strong class="stat">{quota(500)}</strong>' in text(fragment(admin_client, "/log?stat=1&channel=1"))


def test_quota_link_loads_lazily_and_works_without_javascript(user_client, history):
    page = text(user_client.get("/log?model_name=claude"))
    assert "<strong class=\"stat\">" not in page  # not summed until asked for
    link = re.search(r'<a href="([^"]+)" hx-get="([^"]+)"\s+hx-target="#log-quota"', page)
    assert link and link.group(1) == link.group(2)
    assert parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query) == {"stat": ["1"], "model_name": ["claude"]}
    # Without JavaScript the link opens the whole page, table and sum together.
    full = user_client.get(link.group(1).replace("&amp;", "&"))
    assert is_full_page(full)
    assert shown(full) == ids(history, "a-claude")
    assert f'<strong class="stat">{quota(200)}</strong>' in text(full)


def test_htmx_filter_request_gets_the_results_fragment(admin_client, history):
    response = admin_client.get("/log?model_name=claude", headers=HTMX)
    body = text(response)
    assert not is_full_page(response)
    assert body.lstrip().startswith('<section id="log-results"')
    assert 'role="search"' not in body  # the filter form stays on the page
    assert shown(response) == ids(history, "a-claude")


def test_filter_form_swaps_the_results_and_pushes_the_url(admin_client):
    body = text(admin_client.get("/log"))
    form = re.search(r'<form class="card log-filters"[^>]*>', body).group(0)
    assert 'method="get"' in form and 'action="/log"' in form
    assert 'hx-get="/log"' in form and 'hx-target="#log-results"' in form and 'hx-push-url="true"' in form


def test_pagination_keeps_the_filters(admin_client, user):
    made = [factories.make_log(user, model_name="claude", content=f"c{i}").id for i in range(12)]
    factories.make_log(user, model_name="gpt-4o")
    first = admin_client.get("/log?model_name=claude")
    assert shown(first) == set(made[-10:])
    nxt = re.search(r'href="([^"]+)" rel="next"', text(first)).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(nxt).query) == {"p": ["1"], "model_name": ["claude"]}
    second = admin_client.get(nxt)
    assert shown(second) == set(made[:2])
    body = text(second)
    assert 'rel="next"' not in body
    prev = re.search(r'href="([^"]+)" rel="prev"', body).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(prev).query) == {"p": ["0"], "model_name": ["claude"]}


def test_exactly_one_page_has_no_next_link(admin_client, user):
    for _ in range(10):
        factories.make_log(user)
    body = text(admin_client.get("/log"))
    assert len(re.findall(r'<tr id="log-', body)) == 10
    assert 'rel="next"' not in body


def test_columns_show_the_log(admin_client, user):
    factories.make_log(user, content="<script>alert(1)</script>", request_id="req-42", prompt_tokens=11,
                       completion_tokens=22, quota=123, channel_id=7, token_name="my-key", model_name="gpt-4o-mini")
    body = text(admin_client.get("/log", headers=EN))
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'title="Request ID: req-42"' in body
    assert cell(body, "Prompt tokens") == "11" and cell(body, "Completion tokens") == "22"
    assert cell(body, "Quota") == quota(123)
    assert '<span class="badge info">Usage</span>' in body
    assert cell(body, "Token name") == "my-key" and cell(body, "Model") == "gpt-4o-mini"


@pytest.mark.parametrize(("kind", "label"), [(1, "Top up"), (2, "Usage"), (3, "Admin"), (4, "System"), (5, "Test")])
def test_type_badge(admin_client, user, kind, label):
    factories.make_log(user, type=kind)
    assert f">{label}</span>" in text(admin_client.get("/log", headers=EN))


def test_empty_log_says_what_to_do(user_client):
    body = text(user_client.get("/log", headers=EN))
    assert "No logs yet. Make a request with one of your tokens" in body
    assert 'href="/token"' in body


def test_no_match_offers_to_clear_the_filters(user_client, history):
    body = text(user_client.get("/log?model_name=nothing-like-this", headers=EN))
    assert "No logs match these filters." in body
    assert "No logs yet" not in body


def test_page_in_chinese(user_client, history):
    body = text(user_client.get("/log", headers={"Accept-Language": "zh-CN"}))
    assert "起始时间" in body and "令牌名称" in body and "消费" in body


def test_bad_filter_values_are_ignored(admin_client, history):
    for query in ("start_time=yesterday&channel=abc&type=99", "start_time=0001-01-01T00:00",
                  "end_time=2024-13-40T25:61", "channel=99999999999999999999999"):
        response = admin_client.get(f"/log?{query}")
        assert response.status_code == 200
        assert shown(response) == set(history.values()), query


def cell(body: str, label: str) -> str:
    """The first row's cell under the column `label` (cells carry their column's name for phones)."""
    return re.search(rf'<td data-label="{re.escape(label)}"[^>]*>(.*?)</td>', body, re.S).group(1).strip()
