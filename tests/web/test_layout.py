"""The console's frame: menu by role, languages, notice, sign-in, CSRF, cookies and error answers."""

from __future__ import annotations

import re

from oneapi.app import create_app
from oneapi.services import options
from tests.conftest import make_config
from tests.web.helpers import BOOSTED, HTMX, csrf_token, is_full_page, post_form, text
from tests.web.pages import ADMIN, ANON, USER


def _menu(response) -> list[str]:
    nav = re.search(r'<nav class="menu".*?</nav>', text(response), re.S).group(0)
    return re.findall(r'href="([^"]+)"', nav)


def test_menu_shows_what_each_role_may_open(login_as):
    assert _menu(login_as(ANON).get("/")) == ["/about"]
    assert _menu(login_as(USER).get("/")) == ["/token", "/topup", "/dashboard", "/log", "/setting", "/about"]
    admin_menu = _menu(login_as(ADMIN).get("/"))
    assert admin_menu[:3] == ["/channel", "/token", "/redemption"] and "/user" in admin_menu


def test_menu_offers_chat_only_with_a_chat_link(login_as):
    options.update("ChatLink", "https://chat.example.com")
    client = login_as(USER)
    assert "/chat" in _menu(client.get("/"))
    assert 'src="https://chat.example.com"' in text(client.get("/chat"))


def test_system_name_logo_and_footer_come_from_options(client):
    options.update("SystemName", "Acme Gateway")
    options.update("Logo", "https://img.example.com/logo.png")
    options.update("Footer", "<b>Acme</b> support")
    page = text(client.get("/"))
    assert "<title>首页 · Acme Gateway</title>" in page
    assert 'src="https://img.example.com/logo.png"' in page
    assert "<b>Acme</b> support" in page


def test_language_follows_accept_language_then_the_switch(client):
    assert "登录" in text(client.get("/login"))
    assert ">Log in<" in text(client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}))
    response = post_form(client, "/language", {"lang": "en", "next": "/login"})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "lang=en" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    assert ">Log in<" in text(client.get("/login", headers={"Accept-Language": "zh-CN"}))
    post_form(client, "/language", {"lang": "zh", "next": "/"})
    assert '<html lang="zh-CN">' in text(client.get("/", headers={"Accept-Language": "en"}))


def test_language_switch_refuses_unknown_languages_and_foreign_targets(client):
    assert post_form(client, "/language", {"lang": "fr"}).status_code == 400
    response = post_form(client, "/language", {"lang": "en", "next": "//evil.example.com/x"})
    assert response.headers["Location"] == "/"


def test_service_messages_follow_the_page_language(client):
    post_form(client, "/language", {"lang": "en", "next": "/"})
    response = post_form(client, "/login", {"username": "root", "password": "wrong"})
    assert response.status_code == 422
    assert "Wrong username or password" in text(response)


def test_notice_is_shown_once_per_change(client):
    options.update("Notice", "Maintenance **tonight**")
    first = client.get("/")
    assert "<strong>tonight</strong>" in text(first)
    assert "notice_seen=" in first.headers.get("Set-Cookie", "")
    assert "tonight" not in text(client.get("/"))
    options.update("Notice", "New models")
    assert "New models" in text(client.get("/about"))


def test_home_page_content_as_markdown_or_iframe(client):
    assert "系统状况" in text(client.get("/"))
    options.update("HomePageContent", "# Welcome\n\n<em>hi</em>")
    page = text(client.get("/"))
    assert "<h1>Welcome</h1>" in page and "<em>hi</em>" in page
    options.update("HomePageContent", "https://home.example.com/")
    assert '<iframe class="page-frame" src="https://home.example.com/"' in text(client.get("/"))
    options.update("About", "https://about.example.com/")
    assert 'src="https://about.example.com/"' in text(client.get("/about"))


def test_login_returns_to_the_page_asked_for(client, user):
    assert client.get("/token").headers["Location"] == "/login?next=/token"
    response = post_form(client, "/login", {"username": user.username, "password": "password123", "next": "/token"})
    assert response.status_code == 303 and response.headers["Location"] == "/token"
    assert client.get("/token").status_code == 200


def test_login_never_redirects_off_site(client, user):
    response = post_form(client, "/login", {"username": user.username, "password": "password123",
                                            "next": "https://evil.example.com/"})
    assert response.headers["Location"] == "/"


def test_login_error_is_shown_beside_the_form(client):
    response = post_form(client, "/login", {"username": "root", "password": "nope"}, boosted=True)
    assert response.status_code == 422 and is_full_page(response)
    assert "用户名或密码错误" in text(response)
    fragment = post_form(client, "/login", {"username": "root", "password": "nope"}, htmx=True)
    assert fragment.status_code == 422 and not is_full_page(fragment)
    assert 'id="login"' in text(fragment)


def test_disabled_user_is_signed_out(login_as, user):
    client = login_as(USER)
    from oneapi.extensions import db
    from oneapi.models import User

    db.session.query(User).filter_by(username="webuser").update({"status": 2})
    db.session.commit()
    assert client.get("/token").status_code == 303


def test_logout_ends_the_session(login_as):
    client = login_as(USER)
    response = post_form(client, "/logout", boosted=True)
    assert response.status_code == 303
    assert client.get("/token").status_code == 303


def test_a_post_without_a_csrf_token_is_refused(login_as):
    client = login_as(USER)
    assert client.post("/logout").status_code == 400
    assert "表单已过期" in text(client.post("/logout"))
    htmx = client.post("/logout", headers=HTMX)
    assert htmx.status_code == 400 and htmx.headers["HX-Retarget"] == "#flash"
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/token").status_code == 200, "the refused logout must not have signed out"


def test_csrf_token_is_accepted_from_the_htmx_header(login_as):
    client = login_as(USER)
    token = csrf_token(client)
    assert client.post("/logout", headers={**HTMX, "X-CSRFToken": token}).status_code == 204


def test_api_and_relay_are_not_subject_to_form_csrf(root_client):
    assert root_client.post("/api/token/", json={"name": "k"}).json["success"]


def test_session_cookie_is_httponly_lax_and_secure_only_over_https(app, user):
    client = app.test_client()
    plain = post_form(client, "/login", {"username": user.username, "password": "password123"})
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    proxied = app.test_client()
    token = csrf_token(proxied)
    response = proxied.post("/login", data={"csrf_token": token, "username": user.username, "password": "password123"},
                            headers={"X-Forwarded-Proto": "https", "Referer": "https://localhost/login"},
                            base_url="https://localhost")
    assert "Secure" in response.headers.get("Set-Cookie", ""), (response.status_code, response.headers)


def test_forwarded_https_from_an_untrusted_peer_is_ignored(app, user):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "username": user.username, "password": "password123"},
                           headers={"X-Forwarded-Proto": "https"}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert "Secure" not in response.headers["Set-Cookie"]


def test_unknown_page_renders_the_404_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and is_full_page(response)
    assert "页面不存在" in text(response)
    assert client.get("/api/no-such").json["error"]["message"].startswith("Invalid URL")


def test_login_attempts_are_rate_limited(tmp_path, engine_name):
    app = create_app(make_config(engine_name, tmp_path, CRITICAL_RATE_LIMIT="2"))
    client = app.test_client()
    with app.app_context():
        codes = [post_form(client, "/login", {"username": "root", "password": "x"}).status_code for _ in range(3)]
    assert codes == [422, 422, 429]


def test_boosted_navigation_gets_the_full_page(login_as):
    response = login_as(USER).get("/token", headers=BOOSTED)
    assert response.status_code == 200 and is_full_page(response)


def test_pages_load_no_script_or_style_from_another_site(client):
    page = text(client.get("/login"))
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert "/static/vendor/htmx-2.0.11.min.js" in sources


def test_every_list_cell_names_its_column_for_phones():
    """On a phone the lists become cards whose lines are labelled from each cell's data-label."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates" / "default"
    for name in ("tokens/_row.html", "redemptions/_row.html", "users/_row.html", "channels/_row.html",
                 "logs/index.html"):
        cells = re.findall(r"<td(?=[\s>])[^>]*>", (root / name).read_text())
        assert cells and all("data-label=" in cell for cell in cells), name
    for name in ("tokens/index.html", "redemptions/index.html", "users/index.html", "channels/index.html",
                 "logs/index.html"):
        assert re.search(r'<table class="[^"]*\bstack\b', (root / name).read_text()), name


def test_home_page_tells_a_signed_in_user_how_to_connect(login_as):
    options.update("ServerAddress", "https://gw.example.com/")
    page = text(login_as(USER).get("/"))
    assert 'id="getting-started"' in page and "https://gw.example.com/v1" in page
    assert 'id="getting-started"' not in text(login_as(ANON).get("/"))


def test_every_htmx_request_shows_a_pending_state(client):
    """The body names a busy bar as every request's indicator (inherited by all htmx elements), and
    forms that post through htmx also disable their buttons while they wait."""
    page = text(client.get("/login"))
    assert re.search(r'<body[^>]*hx-indicator="#busy"', page) and 'id="busy"' in page
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text()
    assert ".busy.htmx-request" in css
    root = Path(__file__).resolve().parents[2] / "templates" / "default"
    for path in root.rglob("*.html"):
        for form in re.findall(r"<form[^>]*hx-post[^>]*>", path.read_text(), re.S):
            assert "hx-disabled-elt" in form, (path.name, form[:120])
