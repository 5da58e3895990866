"""`/api` called with the session cookie must come from this site's pages (oneapi/api/csrf.py).

Each header combination a browser (or a script) sends, through the Flask test client, whose requests
go to `http://localhost`. The real attacks from real pages are in tests/browser/test_cross_site.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import User
from oneapi.services import options, verification
from tests import factories
from tests.web.helpers import csrf_token

CROSS_SITE = "拒绝跨站请求：请在本站页面中调用，或使用 access token"
NOT_JSON = "拒绝跨站请求：请求体须为 JSON（Content-Type: application/json），或带上 X-CSRFToken 请求头"
MANAGE_BODY = '{"username": "alice", "action": "disable"}'


def refused(response, message: str = CROSS_SITE) -> bool:
    return response.status_code == 403 and response.json == {"success": False, "message": message}


def status_of(name: str) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(User.status).where(User.username == name))


def email_of(name: str) -> str:
    db.session.expire_all()
    return db.session.scalar(sa.select(User.email).where(User.username == name)) or ""


@pytest.fixture
def mailed_code(app):
    """A code mailed for attacker@example.com, which the attacker (who owns that mailbox) knows."""
    verification.remember(verification.VERIFY, "attacker@example.com", "c0de42")
    return "/api/oauth/email/bind?email=attacker@example.com&code=c0de42"


# --- Fetch metadata (HTTPS and loopback addresses) -------------------------------------------------------


def test_another_site_navigating_the_victim_to_email_bind_is_refused(root_client, mailed_code):
    """Attack (a): a link on another site binds the attacker's mailbox to signed-in root (and then the
    attacker resets root's password through it)."""
    response = root_client.get(mailed_code, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
    assert refused(response)
    assert email_of("root") == ""


def test_a_same_site_page_on_another_port_cannot_post_text_plain_json(admin_client, user):
    """Attack (b): SameSite=Lax sends the cookie to a same-site page's fetch; `text/plain` needs no preflight."""
    response = admin_client.post("/api/user/manage", data=MANAGE_BODY, content_type="text/plain",
                                 headers={"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:8080"})
    assert refused(response)
    assert status_of("alice") == 1


def test_login_csrf_from_a_same_site_page_is_refused(client, user):
    """Attack (c): another page signs the victim's browser in as the attacker."""
    response = client.post("/api/user/login", data='{"username": "alice", "password": "password123"}',
                           content_type="text/plain", headers={"Sec-Fetch-Site": "same-site"})
    assert refused(response)
    assert client.get("/api/user/self").status_code == 401


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site", "bogus"])
def test_any_fetch_site_but_same_origin_or_none_is_refused(user_client, site):
    assert refused(user_client.get("/api/user/self", headers={"Sec-Fetch-Site": site}))


def test_the_one_api_frontend_same_origin_json_works(root_client, user, mailed_code):
    """One API's React pages: same-origin axios calls with the cookie and JSON bodies."""
    same = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
    assert root_client.get("/api/user/self", headers=same).json["success"] is True
    managed = root_client.post("/api/user/manage", json={"username": "alice", "action": "disable"}, headers=same)
    assert managed.json["success"] is True and status_of("alice") == 2
    assert root_client.get(mailed_code, headers=same).json["success"] is True
    assert email_of("root") == "attacker@example.com"


def test_an_address_typed_by_the_user_is_allowed(user_client):
    assert user_client.get("/api/user/self", headers={"Sec-Fetch-Site": "none"}).json["success"] is True


def test_a_same_origin_body_must_still_be_json_or_carry_the_csrf_token(admin_client, user):
    same = {"Sec-Fetch-Site": "same-origin"}
    plain = admin_client.post("/api/user/manage", data=MANAGE_BODY, content_type="text/plain", headers=same)
    assert refused(plain, NOT_JSON) and status_of("alice") == 1
    forged = admin_client.post("/api/user/manage", data=MANAGE_BODY, content_type="text/plain",
                               headers={**same, "X-CSRFToken": "forged"})
    assert refused(forged, NOT_JSON) and status_of("alice") == 1
    token = csrf_token(admin_client)
    with_token = admin_client.post("/api/user/manage", data=MANAGE_BODY, content_type="text/plain",
                                   headers={**same, "X-CSRFToken": token})
    assert with_token.json["success"] is True and status_of("alice") == 2


# --- Origin (no fetch metadata: plain HTTP to a host name, older browsers) ------------------------------


@pytest.mark.parametrize("origin", ["http://localhost", "HTTP://LOCALHOST", "http://localhost:80"])
def test_this_servers_origin_is_accepted(admin_client, user, origin):
    response = admin_client.post("/api/user/manage", json={"username": "alice", "action": "disable"},
                                 headers={"Origin": origin})
    assert response.json["success"] is True and status_of("alice") == 2


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:8080", "https://localhost", "null",
                                    "http://localhost.evil.example", "", "localhost", "http://[::1]"])
def test_any_other_origin_is_refused(admin_client, user, origin):
    response = admin_client.post("/api/user/manage", json={"username": "alice", "action": "disable"},
                                 headers={"Origin": origin})
    assert refused(response) and status_of("alice") == 1


LOGIN = {"username": "alice", "password": factories.PASSWORD}


def test_a_trusted_proxys_forwarded_host_is_this_server(client, user):
    """Nginx on the same machine passes `Host: 127.0.0.1:3000` and the public name in X-Forwarded-Host.
    (A login: the test client keeps cookies for `localhost` only.)"""
    headers = {"Host": "127.0.0.1:3000", "X-Forwarded-Host": "api.example.com", "X-Forwarded-Proto": "https",
               "Origin": "https://api.example.com"}
    assert client.post("/api/user/login", json=LOGIN, headers=headers).json["success"] is True


def test_forwarded_host_from_anyone_else_is_not_believed(client, user):
    headers = {"Host": "127.0.0.1:3000", "X-Forwarded-Host": "evil.example", "Origin": "http://evil.example"}
    response = client.post("/api/user/login", json=LOGIN, headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert refused(response)


def test_the_server_address_options_origin_is_this_server(client, user):
    options.update("ServerAddress", "https://gateway.example.com/")
    headers = {"Host": "10.0.0.5:3000", "Origin": "https://gateway.example.com"}
    response = client.post("/api/user/login", json=LOGIN, headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.json["success"] is True


# --- Neither header: scripts with a cookie jar, and plain-HTTP navigations -------------------------------


def test_scripts_without_browser_headers_keep_working_with_json(admin_client, user):
    assert admin_client.get("/api/user/self").json["success"] is True
    managed = admin_client.post("/api/user/manage", json={"username": "alice", "action": "disable"})
    assert managed.json["success"] is True


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_a_form_can_send_is_refused(admin_client, user, content_type):
    response = admin_client.post("/api/user/manage", data=MANAGE_BODY, content_type=content_type)
    assert refused(response, NOT_JSON) and status_of("alice") == 1


@pytest.mark.parametrize("headers", [{"Upgrade-Insecure-Requests": "1"},
                                     {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}])
def test_a_navigation_without_fetch_metadata_is_refused(root_client, mailed_code, headers):
    """Over plain HTTP to a host name browsers send neither Sec-Fetch-Site nor (on a GET) Origin; the
    navigation itself gives the cross-site link away."""
    assert refused(root_client.get(mailed_code, headers=headers))
    assert email_of("root") == ""


# --- Access tokens and public reads ------------------------------------------------------------------


def test_access_token_calls_are_unchanged(client, user):
    token = factories.make_user("admin2", role=10).access_token
    headers = {"Authorization": f"Bearer {token}", "Sec-Fetch-Site": "cross-site", "Origin": "http://elsewhere"}
    response = client.post("/api/user/manage", data=MANAGE_BODY, content_type="text/plain", headers=headers)
    assert response.json["success"] is True and status_of("alice") == 2


@pytest.mark.parametrize("scheme", ["Basic YWxpY2U6cHc=", "Digest username=\"a\"", "Negotiate abc", "NTLM abc"])
def test_credentials_a_browser_replays_do_not_exempt(admin_client, user, scheme):
    """A browser adds Basic (or Digest, Kerberos, NTLM) credentials of a proxy in front on its own."""
    response = admin_client.post("/api/user/manage", json={"username": "alice", "action": "disable"},
                                 headers={"Authorization": scheme, "Sec-Fetch-Site": "cross-site"})
    assert refused(response) and status_of("alice") == 1


@pytest.mark.parametrize("path", ["/api/status", "/api/notice", "/api/about", "/api/home_page_content"])
def test_public_reads_are_open_to_every_site(client, path):
    response = client.get(path, headers={"Sec-Fetch-Site": "cross-site", "Origin": "http://elsewhere"})
    assert response.status_code == 200 and response.json["success"] is True


def test_english_callers_get_the_refusal_in_english(user_client):
    response = user_client.get("/api/user/self", headers={"Sec-Fetch-Site": "cross-site", "Accept-Language": "en"})
    assert response.status_code == 403 and response.json["message"].startswith("Cross-site request refused")


# --- Every route, and the state-changing GETs by name ------------------------------------------------

STATE_CHANGING_GETS = [
    "/api/user/logout", "/api/oauth/state", "/api/verification?email=a@example.com",
    "/api/reset_password?email=a@example.com", "/api/user/token", "/api/user/aff",
    "/api/oauth/email/bind?email=a@example.com&code=x", "/api/oauth/wechat/bind?code=x",
    "/api/oauth/github?code=x&state=y", "/api/oauth/oidc?code=x&state=y", "/api/oauth/lark?code=x&state=y",
    "/api/oauth/wechat?code=x", "/api/channel/test", "/api/channel/test/1", "/api/channel/update_balance",
    "/api/channel/update_balance/1",
]


@pytest.mark.parametrize("path", STATE_CHANGING_GETS)
def test_every_state_changing_get_is_refused_from_another_site(root_client, path):
    before = root_client.get("/api/user/self").json["data"]
    response = root_client.get(path, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
    assert refused(response)
    assert root_client.get("/api/user/self").json["data"] == before, "still signed in, nothing changed"


def test_every_api_route_but_the_public_reads_is_guarded(app, root_client):
    """A route added to `/api` later is guarded too: the check runs before every route of the blueprint."""
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", "1")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = root_client.open(path, method=method, json={}, headers={"Sec-Fetch-Site": "cross-site"})
            public = method == "GET" and rule.endpoint in {"api.status", "api.notice", "api.about",
                                                           "api.home_page_content"}
            assert public != refused(response), (method, path, response.get_json())
