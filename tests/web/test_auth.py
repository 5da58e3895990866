"""Registration, email verification codes, password reset by email, and the SMTP mail they send,
checked against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import re
import time
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import User
from oneapi.services import accounts, mail, options, verification
from tests import factories
from tests.conftest import count_rows
from tests.upstreams import smtp as mock_smtp
from tests.web.helpers import HTMX, fragment, is_full_page, post_form, text

ACCOUNT = ("mailer@example.com", "smtp-secret")


@pytest.fixture(autouse=True)
def english(client):
    """The pages and the service errors in English, which the assertions read."""
    client.set_cookie("lang", "en")


@pytest.fixture(scope="module")
def smtp_server():
    with mock_smtp.serve(credentials=ACCOUNT) as server:
        yield server


@pytest.fixture
def smtp(app, smtp_server):
    """Options pointing at the mock server (plain connection, AUTH PLAIN), its record cleared."""
    smtp_server.messages.clear()
    smtp_server.logins.clear()
    for key, value in {"SMTPServer": smtp_server.host, "SMTPPort": str(smtp_server.port),
                       "SMTPAccount": ACCOUNT[0], "SMTPToken": ACCOUNT[1], "SystemName": "Gateway"}.items():
        options.update(key, value)
    return smtp_server


def user_named(name: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.username == name))


def code_in(message) -> str:
    return re.search(r"<strong>([0-9a-f]{6})</strong>", message.html()).group(1)


def subject_of(message) -> str:
    return str(make_header(decode_header(message.mail["Subject"])))


# --- Registration ------------------------------------------------------------------------------------


def test_register_page_carries_the_invitation_code(client):
    page = text(client.get("/register?aff=AbCd"))
    assert 'name="aff_code" value="AbCd"' in page
    assert 'name="password2"' in page and 'name="email"' not in page  # no email without verification


def test_register_creates_the_user_and_sends_them_to_login(app, client):
    inviter = factories.make_user("inviter")
    options.update("QuotaForInvitee", "70")
    response = post_form(client, "/register", {"username": "newbie", "password": "goodpass1", "password2": "goodpass1",
                                                "aff_code": inviter.aff_code})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    created = user_named("newbie")
    assert created.display_name == "newbie" and created.inviter_id == inviter.id and created.quota == 70
    assert created.role == 1 and created.status == 1
    assert "Your account is ready" in text(client.get("/login"))
    # The new account logs in with the password it chose.
    assert post_form(client, "/login", {"username": "newbie", "password": "goodpass1"}).status_code == 303


def test_register_by_htmx_redirects_with_hx_redirect(client):
    response = post_form(client, "/register", {"username": "newbie", "password": "goodpass1", "password2": "goodpass1"},
                         htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/login"


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"password2": "different1"}, "password2", "The two passwords do not match"),
    ({"username": "thirteenchars"}, "username", "username"),
    ({"password": "short", "password2": "short"}, "password", "password"),
    ({"password": "x" * 21, "password2": "x" * 21}, "password", "password"),
    ({"username": ""}, "username", "username"),
])
def test_register_refuses_a_bad_field_beside_it(client, fields, field, message):
    before = count_rows(User)
    data = {"username": "newbie", "password": "goodpass1", "password2": "goodpass1", **fields}
    response = post_form(client, "/register", data)
    assert response.status_code == 422 and is_full_page(response)
    error = re.search(rf'<small class="error" id="e-{field}">([^<]+)</small>', text(response))
    assert error and message in error.group(1)
    assert count_rows(User) == before
    assert 'value="goodpass1"' not in text(response)  # passwords are never sent back


def test_register_refuses_a_taken_username(client, user):
    response = post_form(client, "/register", {"username": user.username, "password": "goodpass1",
                                               "password2": "goodpass1"})
    assert response.status_code == 422 and "The username is taken" in text(response)


@pytest.mark.parametrize("switch", ["RegisterEnabled", "PasswordRegisterEnabled"])
def test_closed_registration_shows_a_message_instead_of_the_form(client, switch):
    options.update(switch, "false")
    page = text(client.get("/register"))
    assert "Registration is closed" in page and 'name="password2"' not in page
    before = count_rows(User)
    refused = post_form(client, "/register", {"username": "newbie", "password": "goodpass1", "password2": "goodpass1"})
    assert refused.status_code == 422 and "Registration is closed" in text(refused)
    assert count_rows(User) == before


def test_register_without_csrf_is_refused(client):
    response = client.post("/register", data={"username": "newbie", "password": "goodpass1", "password2": "goodpass1"})
    assert response.status_code == 400
    assert user_named("newbie") is None


def test_register_page_fragment_is_the_form(client):
    response = fragment(client, "/register")
    assert response.status_code == 200 and not is_full_page(response) and 'id="register"' in text(response)


# --- Email verification ------------------------------------------------------------------------------


def test_verification_code_is_mailed_and_accepted_at_registration(client, smtp):
    options.update("EmailVerificationEnabled", "true")
    page = text(client.get("/register"))
    assert 'name="email"' in page and 'name="verification_code"' in page and 'formaction="/register/code"' in page
    sent = post_form(client, "/register/code", {"email": "new@example.com", "username": "newbie"}, htmx=True)
    assert sent.status_code == 200 and 'id="email-code"' in text(sent) and not is_full_page(sent)
    assert 'hx-swap-oob="true"' in text(sent) and "new@example.com" in text(sent)
    [message] = smtp.messages
    assert message.recipients == ["new@example.com"] and message.sender == ACCOUNT[0]
    assert message.login == ACCOUNT
    assert subject_of(message) == "Gateway邮箱验证邮件"
    code = code_in(message)
    wrong = post_form(client, "/register", {"username": "newbie", "password": "goodpass1", "password2": "goodpass1",
                                            "email": "new@example.com", "verification_code": "000000"})
    assert wrong.status_code == 422 and 'id="e-verification_code"' in text(wrong)
    assert user_named("newbie") is None
    done = post_form(client, "/register", {"username": "newbie", "password": "goodpass1", "password2": "goodpass1",
                                           "email": "new@example.com", "verification_code": code})
    assert done.status_code == 303
    assert user_named("newbie").email == "new@example.com"
    # A code works once.
    again = post_form(client, "/register", {"username": "newbie2", "password": "goodpass1", "password2": "goodpass1",
                                            "email": "new@example.com", "verification_code": code})
    assert again.status_code == 422 and user_named("newbie2") is None


def test_send_code_works_without_javascript(client, smtp):
    options.update("EmailVerificationEnabled", "true")
    response = post_form(client, "/register/code", {"email": "plain@example.com", "username": "keepme",
                                                    "aff_code": "Zz12"})
    assert response.status_code == 200 and is_full_page(response)
    page = text(response)
    assert 'value="keepme"' in page and 'value="Zz12"' in page and "plain@example.com" in page
    assert len(smtp.messages) == 1


def test_registration_needs_the_code_when_verification_is_on(client, smtp):
    options.update("EmailVerificationEnabled", "true")
    response = post_form(client, "/register", {"username": "newbie", "password": "goodpass1", "password2": "goodpass1"})
    assert response.status_code == 422 and "enter your email address and the verification code" in text(response)
    assert user_named("newbie") is None


def test_code_refused_outside_the_domain_whitelist_or_for_a_taken_address(client, smtp, user):
    options.update("EmailDomainWhitelist", "example.com")
    options.update("EmailDomainRestrictionEnabled", "true")
    refused = post_form(client, "/register/code", {"email": "someone@other.org"}, htmx=True)
    assert refused.status_code == 422 and 'id="e-email"' in text(refused) and "not one of them" in text(refused)
    # The suffix must be `@domain`: a look-alike domain is not on the list.
    assert post_form(client, "/register/code", {"email": "a@badexample.com"}, htmx=True).status_code == 422
    user.email = "alice@example.com"
    db.session.commit()
    taken = post_form(client, "/register/code", {"email": "alice@example.com"}, htmx=True)
    assert taken.status_code == 422 and "already in use" in text(taken)
    assert post_form(client, "/register/code", {"email": "not-an-address"}, htmx=True).status_code == 422
    assert smtp.messages == []


def test_code_expires_after_ten_minutes(app, smtp, monkeypatch):
    verification.send_verification_code("late@example.com")
    code = code_in(smtp.messages[0])
    assert verification.is_valid(verification.VERIFY, "late@example.com", code)
    assert not verification.is_valid(verification.RESET, "late@example.com", code)  # purpose-scoped
    later = time.monotonic() + verification.VALID_SECONDS + 1
    monkeypatch.setattr(verification.time, "monotonic", lambda: later)
    assert not verification.is_valid(verification.VERIFY, "late@example.com", code)


def test_unconfigured_smtp_is_reported_beside_the_email(client):
    options.update("EmailVerificationEnabled", "true")
    response = post_form(client, "/register/code", {"email": "new@example.com"}, htmx=True)
    assert response.status_code == 422 and "SMTP server is not configured" in text(response)


# --- Password reset ----------------------------------------------------------------------------------


def test_reset_link_mail_then_confirm_shows_a_password_that_logs_in(client, smtp, user):
    user.email = "alice@example.com"
    db.session.commit()
    options.update("ServerAddress", "https://gw.example.com/")
    sent = post_form(client, "/reset", {"email": "alice@example.com"})
    assert sent.status_code == 200 and "A reset link was sent to alice@example.com" in text(sent)
    [message] = smtp.messages
    assert subject_of(message) == "Gateway密码重置"
    link = re.search(r"href='([^']+)'", message.html()).group(1).replace("&amp;", "&")
    match = re.fullmatch(r"https://gw\.example\.com/user/reset\?email=alice@example\.com&token=([0-9a-f]{32})", link)
    assert match, link
    path = link.removeprefix("https://gw.example.com")
    confirm = client.get(path)
    assert confirm.status_code == 200 and 'value="alice@example.com"' in text(confirm)
    assert f'value="{match.group(1)}"' in text(confirm)
    # Opening the link changes nothing; the button does.
    assert accounts.login("alice", factories.PASSWORD)
    done = post_form(client, "/user/reset", {"email": "alice@example.com", "token": match.group(1)})
    assert done.status_code == 200
    password = re.search(r'<code class="mono" id="new-password">([0-9a-f]{12})</code>', text(done)).group(1)
    assert f'data-copy="{password}"' in text(done)
    assert post_form(client, "/login", {"username": "alice", "password": password}).status_code == 303
    # The link works once.
    reused = post_form(client, "/user/reset", {"email": "alice@example.com", "token": match.group(1)})
    assert reused.status_code == 422 and "invalid or has expired" in text(reused)


def test_reset_refuses_a_wrong_or_expired_token(client, smtp, user, monkeypatch):
    user.email = "alice@example.com"
    db.session.commit()
    post_form(client, "/reset", {"email": "alice@example.com"})
    token = re.search(r"token=([0-9a-f]{32})", smtp.messages[0].html()).group(1)
    wrong = post_form(client, "/user/reset", {"email": "alice@example.com", "token": "0" * 32})
    assert wrong.status_code == 422 and "invalid or has expired" in text(wrong)
    other = post_form(client, "/user/reset", {"email": "bob@example.com", "token": token})
    assert other.status_code == 422
    later = time.monotonic() + verification.VALID_SECONDS + 1
    monkeypatch.setattr(verification.time, "monotonic", lambda: later)
    expired = post_form(client, "/user/reset", {"email": "alice@example.com", "token": token}, htmx=True)
    assert expired.status_code == 422 and not is_full_page(expired)
    assert accounts.login("alice", factories.PASSWORD)  # the password did not change


def test_reset_for_an_unknown_address_is_refused_beside_the_field(client, smtp):
    response = post_form(client, "/reset", {"email": "nobody@example.com"})
    assert response.status_code == 422 and 'id="e-email"' in text(response) and "No account uses" in text(response)
    assert smtp.messages == []


def test_incomplete_reset_link_says_so(client):
    page = text(client.get("/user/reset?email=a@example.com"))
    assert "This reset link is incomplete" in page and "/user/reset" not in re.findall(r'action="([^"]+)"', page)


def test_reset_confirm_without_csrf_is_refused(client):
    assert client.post("/user/reset", data={"email": "a@example.com", "token": "x"}).status_code == 400
    assert client.post("/reset", data={"email": "a@example.com"}).status_code == 400


def test_turnstile_on_keeps_the_email_forms_closed(client, smtp, user):
    options.update("TurnstileSiteKey", "site")
    options.update("TurnstileSecretKey", "secret")
    options.update("TurnstileCheckEnabled", "true")
    user.email = "alice@example.com"
    db.session.commit()
    assert post_form(client, "/reset", {"email": "alice@example.com"}).status_code == 422
    assert post_form(client, "/register", {"username": "newbie", "password": "goodpass1",
                                           "password2": "goodpass1"}).status_code == 422
    assert smtp.messages == [] and user_named("newbie") is None


# --- The /api routes share the same mechanism ---------------------------------------------------------


def test_api_verification_and_reset_routes(client, smtp, user):
    user.email = "alice@example.com"
    db.session.commit()
    assert client.get("/api/verification?email=fresh@example.com").json["success"] is True
    assert smtp.messages[0].recipients == ["fresh@example.com"]
    assert client.get("/api/verification?email=alice@example.com").json == {
        "success": False, "message": "The email address is already in use"}
    assert client.get("/api/reset_password?email=alice@example.com").json["success"] is True
    token = re.search(r"token=([0-9a-f]{32})", smtp.messages[-1].html()).group(1)
    answer = client.post("/api/user/reset", json={"email": "alice@example.com", "token": token}).json
    assert answer["success"] is True and re.fullmatch(r"[0-9a-f]{12}", answer["data"])
    assert accounts.login("alice", answer["data"]).id == user.id
    assert client.post("/api/user/reset", json={"email": "alice@example.com", "token": token}).json == {
        "success": False, "message": "The reset link is invalid or has expired"}


# --- SMTP details ------------------------------------------------------------------------------------


def test_mail_headers_follow_one_api(app, smtp):
    options.update("SMTPFrom", "noreply@example.com")
    options.update("SystemName", "网关")
    mail.send_email("测试 主题", "a@example.com;b@example.com", "<p>你好</p>")
    [message] = smtp.messages
    assert message.sender == "noreply@example.com" and message.recipients == ["a@example.com", "b@example.com"]
    assert message.mail["From"].addresses[0].display_name == "网关"
    assert message.mail["From"].addresses[0].addr_spec == "noreply@example.com"
    assert b"=?utf-8?" in message.raw.split(b"\r\n\r\n")[0].lower()  # encoded subject header
    assert subject_of(message) == "测试 主题"
    assert message.mail.get_content_type() == "text/html" and message.html().strip() == "<p>你好</p>"
    assert message.mail["Message-ID"].endswith("@example.com>")


def test_mail_without_account_skips_authentication(app):
    with mock_smtp.serve() as server:
        options.update("SMTPServer", server.host)
        options.update("SMTPPort", str(server.port))
        mail.send_email("s", "a@example.com", "<p>x</p>")
    assert server.messages[0].login is None and server.logins == []


def test_mail_with_a_wrong_token_fails_clearly(app, smtp):
    options.update("SMTPToken", "wrong")
    with pytest.raises(mail.MailError) as caught:
        mail.send_email("s", "a@example.com", "<p>x</p>")
    assert "535" in caught.value.text()
    assert smtp.messages == [] and smtp.logins == [(ACCOUNT[0], "wrong")]


def test_mail_to_a_closed_port_fails_clearly(app):
    options.update("SMTPServer", "127.0.0.1")
    options.update("SMTPPort", "9")
    with pytest.raises(mail.MailError):
        mail.send_email("s", "a@example.com", "<p>x</p>")


def test_htmx_send_code_answer_keeps_vary(client, smtp):
    options.update("EmailVerificationEnabled", "true")
    response = client.post("/register/code", data={"email": "v@example.com"}, headers={
        **HTMX, "X-CSRFToken": re.search(r'name="csrf_token" value="([^"]+)"', text(client.get("/register"))).group(1)})
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]


# --- Several nodes share the codes through Redis --------------------------------------------------------


def test_a_code_mailed_by_one_node_is_accepted_by_another_through_redis(tmp_path, smtp_server):
    import uuid

    import redis

    from oneapi.app import create_app
    from tests.conftest import make_config

    env = {"REDIS_CONN_STRING": "redis://127.0.0.1:6379/0", "SYNC_FREQUENCY": "60"}
    node_a = create_app(make_config("sqlite", tmp_path, **env))
    with node_a.app_context():
        for key, value in {"SMTPServer": smtp_server.host, "SMTPPort": str(smtp_server.port), "SMTPAccount": ACCOUNT[0],
                           "SMTPToken": ACCOUNT[1], "EmailVerificationEnabled": "true"}.items():
            options.update(key, value)
    node_b = create_app(make_config("sqlite", tmp_path, **env))  # loads the same options from the database
    address = f"{uuid.uuid4().hex[:10]}@example.com"
    smtp_server.messages.clear()
    try:
        assert node_a.test_client().get(f"/api/verification?email={address}").json["success"] is True
        code = code_in(smtp_server.messages[0])
        answer = node_b.test_client().post("/api/user/register", json={
            "username": "fromb", "password": "goodpass1", "email": address, "verification_code": code})
        assert answer.json["success"] is True, answer.json
        with node_b.app_context():
            assert db.session.scalar(sa.select(User.email).where(User.username == "fromb")) == address
    finally:
        redis.Redis.from_url(env["REDIS_CONN_STRING"]).delete(f"verification:v{address}")
