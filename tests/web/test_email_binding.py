"""Binding an email address: a code mailed through SMTP, then the address bound with it (console and /api)."""

from __future__ import annotations

import re

import pytest

from oneapi.extensions import db
from oneapi.models import User
from oneapi.services import options
from tests.upstreams import smtp as mock_smtp
from tests.web.helpers import is_full_page, post_form, text


@pytest.fixture(scope="module")
def smtp_server():
    with mock_smtp.serve() as server:
        yield server


@pytest.fixture
def smtp(app, smtp_server):
    smtp_server.messages.clear()
    options.update("SMTPServer", smtp_server.host)
    options.update("SMTPPort", str(smtp_server.port))
    options.update("SMTPFrom", "gateway@example.com")
    return smtp_server


def _code(message) -> str:
    return re.search(r"<strong>(\w{6})</strong>", message.html()).group(1)


def _email_of(user) -> str:
    db.session.expire_all()
    return db.session.get(User, user.id).email


def test_a_user_binds_an_email_in_the_console(user, user_client, smtp):
    sent = post_form(user_client, "/setting/email", {"email": "alice@example.com", "step": "code"}, htmx=True)
    assert sent.status_code == 200 and not is_full_page(sent) and 'id="bindings"' in text(sent)
    [message] = smtp.messages
    assert message.recipients == ["alice@example.com"]
    wrong = post_form(user_client, "/setting/email", {"email": "alice@example.com", "email_code": "000000",
                                                      "step": "bind"}, htmx=True)
    assert wrong.status_code == 422 and 'id="e-email_code"' in text(wrong)
    assert _email_of(user) == ""
    bound = post_form(user_client, "/setting/email", {"email": "alice@example.com", "email_code": _code(message),
                                                      "step": "bind"})
    assert bound.status_code == 200 and is_full_page(bound)
    assert _email_of(user) == "alice@example.com"
    again = post_form(user_client, "/setting/email", {"email": "alice@example.com", "email_code": _code(message),
                                                      "step": "bind"})
    assert again.status_code == 422, "a code works once"


def test_an_address_taken_by_another_user_is_refused(user, other_user, user_client, smtp):
    other_user.email = "bob@example.com"
    db.session.commit()
    refused = post_form(user_client, "/setting/email", {"email": "bob@example.com", "step": "code"}, htmx=True)
    assert refused.status_code == 422 and 'id="e-email"' in text(refused)
    assert smtp.messages == []


def test_the_api_binds_with_the_mailed_code(user, user_client, smtp):
    assert user_client.get("/api/verification?email=alice@example.com").json["success"]
    code = _code(smtp.messages[-1])
    assert not user_client.get("/api/oauth/email/bind?email=alice@example.com&code=nope").json["success"]
    assert user_client.get(f"/api/oauth/email/bind?email=alice@example.com&code={code}").json["success"]
    assert _email_of(user) == "alice@example.com"


def test_binding_needs_a_login(client):
    assert client.get("/api/oauth/email/bind?email=a@example.com&code=x").status_code == 401


def test_sending_codes_is_rate_limited_like_one_api(tmp_path, engine_name):
    from oneapi.app import create_app
    from tests.conftest import make_config
    from tests.factories import PASSWORD, login, make_user

    app = create_app(make_config(engine_name, tmp_path, CRITICAL_RATE_LIMIT="2"))  # the login takes one
    client = app.test_client()
    with app.app_context():
        make_user("limited")
        login(client, "limited", PASSWORD)
        codes = [post_form(client, "/setting/email", {"email": "x@example.com", "step": "code"}).status_code
                 for _ in range(2)]
    assert codes[0] != 429 and codes[1] == 429
