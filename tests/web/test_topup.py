"""The top-up page: the user's quota, redeeming a code (success and each refusal, beside the field),
and the external top-up link with username, user id and a fresh transaction id."""

from __future__ import annotations

import re
import uuid
from html import unescape
from urllib.parse import parse_qs, urlsplit

from oneapi.extensions import db
from oneapi.models import Redemption, User
from oneapi.services import options
from oneapi.services.redemptions import topup_link
from tests import factories
from tests.web.helpers import HTMX, is_full_page, post_form, text


def _quota(user: User) -> int:
    db.session.expire_all()
    return db.session.get(User, user.id).quota


def test_page_shows_the_current_quota(user_client, user):
    options.update("DisplayInCurrencyEnabled", "false")
    user.quota = 123456
    db.session.commit()
    body = text(user_client.get("/topup"))
    assert '<strong id="current-quota">123,456</strong>' in body
    assert 'name="key"' in body and 'action="/topup"' in body


def test_redeeming_adds_the_quota_and_says_how_much(user_client, user):
    options.update("DisplayInCurrencyEnabled", "false")
    code = factories.make_redemption(quota=5000)
    response = post_form(user_client, "/topup", {"key": f"  {code.key} "}, headers={"Accept-Language": "en"})
    assert response.status_code == 303 and response.headers["Location"] == "/topup"
    assert _quota(user) == 5000
    body = text(user_client.get("/topup", headers={"Accept-Language": "en"}))
    assert "Code redeemed: 5,000 added to your quota." in body
    assert '<strong id="current-quota">5,000</strong>' in body
    db.session.expire_all()
    assert db.session.get(Redemption, code.id).status == 3


def test_redeeming_through_htmx_reloads_the_page(user_client, user):
    code = factories.make_redemption(quota=10)
    response = post_form(user_client, "/topup", {"key": code.key}, htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/topup"
    assert _quota(user) == 10


def _refused(client, key: str) -> str:
    response = post_form(client, "/topup", {"key": key}, boosted=True, headers={"Accept-Language": "en"})
    assert response.status_code == 422 and is_full_page(response)
    match = re.search(r'<small class="error" id="e-key">([^<]*)</small>', text(response))
    assert match, "no error beside the code field"
    return unescape(match.group(1))


def test_each_refusal_is_shown_beside_the_field(user_client, user):
    used = factories.make_redemption(quota=10, status=3)
    disabled = factories.make_redemption(quota=10, status=2)
    assert _refused(user_client, "") == "No redemption code provided"
    assert _refused(user_client, "0" * 32) == "Redemption failed: invalid code"
    assert _refused(user_client, "x" * 40) == "Redemption failed: invalid code"
    assert _refused(user_client, used.key) == "Redemption failed: the code has already been used"
    assert _refused(user_client, disabled.key) == "Redemption failed: the code is disabled"
    assert _quota(user) == 0


def test_a_code_is_spent_once(user_client, user, other_user):
    code = factories.make_redemption(quota=7)
    assert post_form(user_client, "/topup", {"key": code.key}).status_code == 303
    client = user_client.application.test_client()
    factories.login(client, other_user.username, factories.PASSWORD)
    assert _refused(client, code.key) == "Redemption failed: the code has already been used"
    assert _quota(other_user) == 0 and _quota(user) == 7


def test_topup_link_carries_username_user_id_and_a_transaction_id(user_client, user):
    assert "Get a code" not in text(user_client.get("/topup", headers={"Accept-Language": "en"}))
    options.update("TopUpLink", "https://pay.example.com/buy?plan=basic")
    body = text(user_client.get("/topup", headers={"Accept-Language": "en"}))
    link = unescape(re.search(r'<a class="button primary" href="([^"]+)"', body).group(1))
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "pay.example.com", "/buy")
    query = parse_qs(parts.query)
    assert query["plan"] == ["basic"] and query["username"] == ["alice"] and query["user_id"] == [str(user.id)]
    assert uuid.UUID(query["transaction_id"][0])
    again = unescape(re.search(r'<a class="button primary" href="([^"]+)"', text(user_client.get("/topup"))).group(1))
    assert parse_qs(urlsplit(again).query)["transaction_id"] != query["transaction_id"]


def test_topup_link_builder():
    user = User(id=7, username="a b")
    assert topup_link("https://pay.example.com/", user, "tx") == (
        "https://pay.example.com/?username=a+b&user_id=7&transaction_id=tx")


def test_redeeming_without_a_csrf_token_is_refused(user_client, user):
    code = factories.make_redemption(quota=10)
    assert user_client.post("/topup", data={"key": code.key}).status_code == 400
    assert user_client.post("/topup", data={"key": code.key}, headers=HTMX).status_code == 400
    assert _quota(user) == 0
