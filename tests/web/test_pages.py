"""Every console page opens as a full page and as an htmx fragment for its role, and refuses a lower one."""

from __future__ import annotations

import pytest

from tests.web.helpers import HTMX, is_full_page, text
from tests.web.pages import ADMIN, ANON, ROOT, USER, all_pages

PAGES = all_pages()
WEB_BLUEPRINTS = {"pages", "auth", "channels", "tokens", "redemptions", "users", "logs", "dashboard", "topup",
                  "settings"}


def _id(page) -> str:
    return page.path if isinstance(page.path, str) else page.endpoint


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_page_opens_in_full_for_its_role(page, login_as):
    client = login_as(page.role)
    response = client.get(page.url())
    assert response.status_code == 200, text(response)[:500]
    assert is_full_page(response)
    assert response.mimetype == "text/html"
    assert "HX-Request" in response.headers.get("Vary", "")


@pytest.mark.parametrize("page", [p for p in PAGES if p.fragment], ids=_id)
def test_page_answers_htmx_with_its_fragment(page, login_as):
    client = login_as(page.role)
    response = client.get(page.url(), headers=HTMX)
    assert response.status_code == 200, text(response)[:500]
    assert not is_full_page(response)
    assert "<html" not in text(response) and "<header" not in text(response)
    assert page.marker in text(response)
    assert "HX-Request" in response.headers.get("Vary", "")


@pytest.mark.parametrize("page", [p for p in PAGES if p.role > ANON], ids=_id)
def test_anonymous_visitor_is_sent_to_login(page, client):
    url = page.url()
    response = client.get(url)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=")
    htmx = client.get(url, headers=HTMX)
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/login?next=")


@pytest.mark.parametrize("page", [p for p in PAGES if p.role > USER], ids=_id)
def test_lower_role_is_refused(page, login_as):
    client = login_as({ADMIN: USER, ROOT: ADMIN}[page.role])
    response = client.get(page.url())
    assert response.status_code == 403
    assert is_full_page(response)
    fragment = client.get(page.url(), headers=HTMX)
    assert fragment.status_code == 403
    assert fragment.headers["HX-Retarget"] == "#flash"


def test_every_console_page_has_a_row(app):
    """A GET route of the console without a row above fails here, so no page goes untested."""
    adapter = app.url_map.bind("localhost")
    covered = set()
    for page in PAGES:
        if isinstance(page.path, str):
            covered.add(adapter.match(page.path.split("?")[0], method="GET")[0])
        else:
            covered.add(page.endpoint)
    missing = []
    for rule in app.url_map.iter_rules():
        in_console = rule.endpoint.split(".")[0] in WEB_BLUEPRINTS and "GET" in rule.methods
        if in_console and rule.endpoint not in covered:
            missing.append(f"{rule.rule} ({rule.endpoint})")
    assert not missing, missing


def _post_rules(app) -> list:
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.split(".")[0] in WEB_BLUEPRINTS and "POST" in rule.methods]


def test_every_console_post_refuses_a_missing_or_forged_csrf_token(app, login_as):
    """No mutation of the console runs without the session's CSRF token, whichever route it is."""
    client = login_as(ROOT)
    rules = _post_rules(app)
    assert len(rules) > 30
    for rule in rules:
        url = rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]
        for data, headers in (({}, {}), ({"csrf_token": "forged"}, {}), ({}, {**HTMX, "X-CSRFToken": "forged"})):
            response = client.post(url, data=data, headers=headers)
            assert response.status_code == 400, (url, response.status_code)


LISTS = ["/channel", "/token", "/redemption", "/user", "/log"]


@pytest.mark.parametrize("p", ["100000000000000000000000", "-5", "abc", "1e9", ""])
def test_a_list_takes_any_page_number(p, root_client):
    """A hand-edited `?p=` shows the first or an empty page, never an error or a database overflow."""
    for path in LISTS:
        response = root_client.get(f"{path}?p={p}")
        assert response.status_code == 200, (path, response.status_code)
