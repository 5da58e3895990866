"""Redirects built from input go to a path of this site only: `next` after login, the language switch,
the no-JS confirmation page's way back, referrer-based redirects and htmx's `HX-Redirect`
(one check: `safe_next` in oneapi/web/access.py)."""

from __future__ import annotations

import pytest

from tests import factories
from tests.web.helpers import HTMX, post_form, text

NASTY = [
    "/\t/evil.com",  # browsers drop the tab and read //evil.com
    "/\n/evil.com",
    "/\r\n/evil.com",
    "/\r\nSet-Cookie: pwned=1",
    "//evil.com",
    "///evil.com",
    "/\\evil.com",  # browsers read a backslash as a slash
    "\\\\evil.com",
    "/\\/evil.com",
    "\\/evil.com",
    "https://evil.com",
    "http:evil.com",
    "HTTPS://evil.com/",
    "javascript:alert(1)",
    " //evil.com",
    "\t//evil.com",
    "/\x00/evil.com",
    "/\x0b/evil.com",
    "/\u3000/evil.com",
    "/\u2028/evil.com",
    "evil.com",
    "",
]
GOOD = ["/token", "/log?p=2&type=1", "/user/edit/3", "/setting/operation#group-logs"]


def location(response) -> str:
    return response.headers.get("Location") or response.headers.get("HX-Redirect")


@pytest.mark.parametrize("target", NASTY)
def test_login_page_of_a_signed_in_user_never_leaves_the_site(user_client, target):
    response = user_client.get("/login", query_string={"next": target})
    assert response.status_code == 303 and location(response) == "/"


def test_the_raw_tab_of_the_report_is_refused(user_client):
    """`next=/%09/evil.com` exactly as it was reported."""
    response = user_client.get("/login?next=/%09/evil.com")
    assert response.status_code == 303 and location(response) == "/"


@pytest.mark.parametrize("target", NASTY)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_login_submit_never_leaves_the_site(client, user, target, htmx):
    response = post_form(client, "/login", {"username": "alice", "password": factories.PASSWORD, "next": target},
                         htmx=htmx)
    assert response.status_code in (303, 204) and location(response) == "/"


@pytest.mark.parametrize("target", GOOD)
def test_login_returns_to_a_local_page(client, user, target):
    response = post_form(client, "/login", {"username": "alice", "password": factories.PASSWORD, "next": target})
    assert location(response) == target


@pytest.mark.parametrize("target", NASTY)
def test_the_login_form_carries_only_a_local_next(client, target):
    page = text(client.get("/login", query_string={"next": target}))
    assert 'name="next" value="/"' in page


@pytest.mark.parametrize("target", NASTY)
def test_the_language_switch_never_leaves_the_site(client, target):
    response = post_form(client, "/language", {"lang": "en", "next": target})
    assert location(response) == "/"


# A header cannot carry CR or LF at all: those values are left out of the referrer cases.
REFERRERS = [f"http://localhost{t}" if t.startswith("/") else t for t in NASTY if "\n" not in t]


@pytest.mark.parametrize("referrer", [*REFERRERS, "http://evil.com/user", "//evil.com/user"])
def test_the_confirmation_pages_way_back_stays_on_the_site(root_client, user, referrer):
    page = post_form(root_client, "/user/manage", {"username": "alice", "action": "delete",
                                                   "_confirm": "Delete user alice?"}, headers={"Referer": referrer})
    assert page.status_code == 200
    assert 'class="button" href="/"' in text(page)


def test_the_confirmation_page_goes_back_to_a_local_referrer(root_client, user):
    page = post_form(root_client, "/user/manage", {"username": "alice", "action": "delete", "_confirm": "Sure?"},
                     headers={"Referer": "http://localhost/user?keyword=al"})
    assert 'href="/user?keyword=al"' in text(page)


@pytest.mark.parametrize("referrer", ["http://localhost/user\t/x",
                                      "http://evil.com/user", "http://localhost//evil.com/user",
                                      "http://localhost/\\evil.com"])
def test_a_user_action_without_htmx_goes_back_to_the_list_only(root_client, user, referrer):
    response = post_form(root_client, "/user/manage", {"username": "alice", "action": "disable"},
                         headers={"Referer": referrer})
    assert response.status_code == 303 and location(response) == "/user"


def test_a_user_action_goes_back_to_the_filtered_list(root_client, user):
    response = post_form(root_client, "/user/manage", {"username": "alice", "action": "disable"},
                         headers={"Referer": "http://localhost/user?keyword=al&p=0"})
    assert location(response) == "/user?keyword=al&p=0"


def test_an_anonymous_visitor_is_sent_to_login_with_a_local_next(client):
    response = client.get("/token", headers=HTMX)
    assert location(response) == "/login?next=/token"
