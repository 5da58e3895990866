"""Cross-site request forgery against `/api`, from real pages in chromium, with root signed in.

The gateway is `http://127.0.0.1:<port>`. The attacker's pages come from a second server on another
port: as `http://localhost:<port>` they are another site (SameSite=Lax still sends root's cookie on a
top-level navigation), as `http://127.0.0.1:<port>` they are the same site (Lax sends it on fetch and
form posts too). Every attack must change nothing; the same calls made by a page of the gateway itself,
as One API's React frontend makes them, must still work.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.upstreams import smtp as mock_smtp
from tests.upstreams.server import serve

pytestmark = pytest.mark.browser
ALICE_PASSWORD = "alice-pass-1"
MALLORY_PASSWORD = "mallory-pass-1"
ATTACKER_MAIL = "attacker@example.com"


class AttackerSite:
    """A WSGI app serving whatever page a test puts in `pages` (path → HTML)."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}

    def __call__(self, environ, start_response):
        body = self.pages.get(environ["PATH_INFO"], "<p>nothing here</p>").encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture(scope="module")
def attacker():
    site = AttackerSite()
    with serve(site) as base:
        port = base.rsplit(":", 1)[1]
        yield site, f"http://localhost:{port}", f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def smtp():
    with mock_smtp.serve() as server:
        yield server


@pytest.fixture(scope="module")
def admin_api(gateway, smtp):
    """Root's script session (no browser headers, JSON bodies: allowed), with SMTP and alice set up."""
    session = requests.Session()
    assert session.post(f"{gateway}/api/user/login", json={"username": "root", "password": "123456"}).json()["success"]
    for key, value in {"SMTPServer": smtp.host, "SMTPPort": str(smtp.port), "SMTPFrom": "gw@example.com"}.items():
        assert session.put(f"{gateway}/api/option/", json={"key": key, "value": value}).json()["success"]
    for name, password in (("alice", ALICE_PASSWORD), ("mallory", MALLORY_PASSWORD)):
        created = session.post(f"{gateway}/api/user/", json={"username": name, "password": password})
        assert created.json()["success"], created.text
    return session


@pytest.fixture(scope="module")
def victim(browser, gateway, admin_api):
    """The browser, signed in to the console as root."""
    browser.get(f"{gateway}/login")
    browser.find_element(By.NAME, "username").send_keys("root")
    browser.find_element(By.NAME, "password").send_keys("123456")
    browser.find_element(By.CSS_SELECTOR, "#login button.primary").click()
    WebDriverWait(browser, 15).until(EC.presence_of_element_located((By.CSS_SELECTOR, "form[action='/logout']")))
    assert browser_self(browser, gateway)["username"] == "root"
    return browser


def browser_self(browser, gateway: str) -> dict:
    """Who the browser is signed in as, asked from a page of the gateway (same-origin)."""
    if not browser.current_url.startswith(gateway):
        browser.get(f"{gateway}/about")
    return run_fetch(browser, "/api/user/self")["data"] or {}


def run_fetch(browser, url: str, method: str = "GET", body: str | None = None,
              content_type: str = "application/json", credentials: str = "same-origin") -> dict:
    """`fetch()` run inside the page the browser shows; the JSON answer, or {"error": …} when the
    browser kept it from the page (a cross-origin answer)."""
    return browser.execute_async_script("""
        const [url, method, body, type, credentials, done] = arguments;
        const init = {method, credentials, headers: {"Content-Type": type}};
        if (body !== null) init.body = body;
        fetch(url, init).then(r => r.json()).then(done, e => done({error: String(e)}));
    """, url, method, body, content_type, credentials)


def user_row(admin_api, gateway: str, name: str) -> dict:
    found = admin_api.get(f"{gateway}/api/user/search", params={"keyword": name}).json()["data"]
    return next(u for u in found if u["username"] == name)


def mailed_code(admin_api, gateway: str, smtp) -> str:
    """The attacker asks for a code to its own mailbox (an open route) and reads it there."""
    smtp.messages.clear()
    assert requests.get(f"{gateway}/api/verification", params={"email": ATTACKER_MAIL}).json()["success"]
    return re.search(r"<strong>(\w{6})</strong>", smtp.messages[-1].html()).group(1)


def json_in_a_form(action: str, members: str) -> str:
    """A page that auto-submits a `<form enctype="text/plain">` whose one field spells the JSON object
    `{members, "pad": "="}`: the classic way to post JSON across sites without script on the request."""
    return f"""
        <form method="post" enctype="text/plain" action="{action}">
          <input type="hidden" name='{{{members}, "pad": "' value='"}}'>
        </form>
        <script>document.forms[0].submit();</script>"""


def wait_until_loaded(browser, url_prefix: str) -> None:
    WebDriverWait(browser, 15).until(lambda b: b.current_url.startswith(url_prefix)
                                     and b.execute_script("return document.readyState") == "complete")


def test_another_site_cannot_bind_its_email_to_root_by_navigation(victim, gateway, attacker, admin_api, smtp):
    """Attack (a): a page on another site sends signed-in root to One API's GET email-bind URL with a
    code the attacker had mailed to itself; with the address bound, a password reset would take root."""
    site, cross_site, _ = attacker
    code = mailed_code(admin_api, gateway, smtp)
    bind_url = f"{gateway}/api/oauth/email/bind?email={ATTACKER_MAIL}&code={code}"
    site.pages["/bind"] = f"<script>location.href = {json.dumps(bind_url)};</script>"
    victim.get(f"{cross_site}/bind")
    wait_until_loaded(victim, f"{gateway}/api/oauth/email/bind")
    answer = json.loads(victim.find_element(By.TAG_NAME, "body").text)
    assert answer["success"] is False and "跨站" in answer["message"]
    assert user_row(admin_api, gateway, "root")["email"] == ""
    # The same URL typed by root itself works: the cookie and the code were good, only the origin was not.
    victim.get(bind_url)
    assert json.loads(victim.find_element(By.TAG_NAME, "body").text)["success"] is True
    assert user_row(admin_api, gateway, "root")["email"] == ATTACKER_MAIL


def test_a_same_site_page_cannot_disable_a_user_with_a_text_plain_fetch(victim, gateway, attacker, admin_api):
    """Attack (b): another port of the same host is the same site, so Lax sends root's cookie with a
    `fetch` POST; a `text/plain` body needs no CORS preflight and used to be parsed as JSON."""
    site, _, same_site = attacker
    site.pages["/fetch"] = "<p>cute cats</p>"
    victim.get(f"{same_site}/fetch")
    body = json.dumps({"username": "alice", "action": "disable"})
    run_fetch(victim, f"{gateway}/api/user/manage", "POST", body, "text/plain", credentials="include")
    assert user_row(admin_api, gateway, "alice")["status"] == 1


def test_a_same_site_page_cannot_disable_a_user_with_a_text_plain_form(victim, gateway, attacker, admin_api):
    """Attack (b), without script on the request: an auto-submitted `<form enctype="text/plain">`
    whose one field spells a JSON object."""
    site, _, same_site = attacker
    site.pages["/form"] = json_in_a_form(f"{gateway}/api/user/manage", '"username": "alice", "action": "disable"')
    victim.get(f"{same_site}/form")
    wait_until_loaded(victim, f"{gateway}/api/user/manage")
    answer = json.loads(victim.find_element(By.TAG_NAME, "body").text)
    assert answer["success"] is False and "跨站" in answer["message"]
    assert user_row(admin_api, gateway, "alice")["status"] == 1


def test_a_same_site_page_cannot_sign_the_victim_in_as_the_attacker(victim, gateway, attacker, admin_api):
    """Attack (c), login CSRF: the victim would then work, and type secrets, in the attacker's account."""
    site, _, same_site = attacker
    site.pages["/login"] = json_in_a_form(f"{gateway}/api/user/login",
                                          f'"username": "mallory", "password": "{MALLORY_PASSWORD}"')
    victim.get(f"{same_site}/login")
    wait_until_loaded(victim, f"{gateway}/api/user/login")
    assert json.loads(victim.find_element(By.TAG_NAME, "body").text)["success"] is False
    body = json.dumps({"username": "mallory", "password": MALLORY_PASSWORD})
    victim.get(f"{same_site}/fetch")
    run_fetch(victim, f"{gateway}/api/user/login", "POST", body, "text/plain", credentials="include")
    assert browser_self(victim, gateway)["username"] == "root"


def test_the_gateways_own_pages_still_call_api_with_the_cookie(victim, gateway, admin_api):
    """What One API's React frontend does: same-origin fetch with the cookie and JSON bodies."""
    victim.get(f"{gateway}/about")
    assert run_fetch(victim, "/api/user/self")["data"]["username"] == "root"
    disabled = run_fetch(victim, "/api/user/manage", "POST", json.dumps({"username": "alice", "action": "disable"}))
    assert disabled["success"] is True and user_row(admin_api, gateway, "alice")["status"] == 2
    enabled = run_fetch(victim, "/api/user/manage", "POST", json.dumps({"username": "alice", "action": "enable"}))
    assert enabled["success"] is True and user_row(admin_api, gateway, "alice")["status"] == 1
    assert run_fetch(victim, "/api/status")["success"] is True
