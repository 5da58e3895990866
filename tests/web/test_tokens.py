"""The tokens pages: a user's own keys listed, created, edited, enabled, disabled and deleted, the
quick expiry buttons, the quota's dollar value, the chat-client links, and no way into another user's keys."""

from __future__ import annotations

import re
import time
from html import unescape

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Token
from oneapi.services import options
from oneapi.services.tokens import chat_links, parse_expiry
from tests import factories
from tests.conftest import count_rows
from tests.web.helpers import HTMX, fragment, is_full_page, post_form, text

KEY = "abcDEF0123456789" + "0" * 32


@pytest.fixture(autouse=True)
def _no_default_tokens(user, other_user):
    """New users get a `default` key; these tests start from users without any."""
    db.session.execute(sa.delete(Token))
    db.session.commit()


def _fresh(token: Token) -> Token:
    db.session.expire_all()
    return db.session.get(Token, token.id)


def _form(**changes) -> dict:
    data = {"name": "ci", "models": [], "subnet": "", "expired_time": "-1", "remain_quota": "500000"}
    return {**data, **changes}


def _input_value(body: str, name: str) -> str:
    match = re.search(rf'<input id="f-{name}" name="{name}"[^>]*value="([^"]*)"', body)
    assert match, f"no input {name}"
    return unescape(match.group(1))


# The list

def test_list_shows_only_the_users_own_tokens_with_their_columns(user_client, user, other_user):
    options.update("DisplayInCurrencyEnabled", "false")
    factories.make_token(user, "mine", used_quota=1234, remain_quota=5678)
    factories.make_token(user, "forever", unlimited_quota=True, remain_quota=-1)
    token = factories.make_token(user, "dated", expired_time=int(time.time()) + 3600)
    factories.make_token(other_user, "bobs-key")
    body = text(user_client.get("/token", headers={"Accept-Language": "en"}))
    assert "mine" in body and "forever" in body and "dated" in body
    assert "bobs-key" not in body
    assert ">1,234<" in body and ">5,678<" in body
    assert "Unlimited" in body and "Never" in body
    assert time.strftime("%Y-%m-%d %H:%M", time.localtime(token.expired_time)) in body
    # The key is selectable text (no JavaScript needed) and the copy button's text.
    assert f'<code class="key">sk-{token.key}</code>' in body
    assert f'data-copy="sk-{token.key}"' in body


def test_list_status_column_names_each_state(user_client, user):
    factories.make_token(user, "on")
    factories.make_token(user, "off", status=2)
    factories.make_token(user, "old", expired_time=int(time.time()) - 10)
    factories.make_token(user, "empty", remain_quota=0)
    body = text(user_client.get("/token", headers={"Accept-Language": "en"}))
    for label in ("Enabled", "Disabled", "Expired", "Depleted"):
        assert f">{label}</span>" in body


def test_list_answers_htmx_with_the_table_alone(user_client, user):
    factories.make_token(user, "mine")
    response = fragment(user_client, "/token?keyword=mi")
    assert not is_full_page(response)
    assert text(response).lstrip().startswith('<div id="token-table">') and "mine" in text(response)
    assert "HX-Request" in response.headers["Vary"]


def test_search_matches_the_name_prefix(user_client, user, other_user):
    factories.make_token(user, "alpha")
    factories.make_token(user, "beta")
    factories.make_token(other_user, "alphabet")
    body = text(user_client.get("/token?keyword=al"))
    assert "alpha" in body and "beta" not in body and "alphabet" not in body
    empty = text(user_client.get("/token?keyword=zzz", headers={"Accept-Language": "en"}))
    assert "No token name starts with “zzz”." in empty and 'href="/token"' in empty


def test_sort_by_used_and_remaining_quota(user_client, user):
    options.update("DisplayInCurrencyEnabled", "false")
    factories.make_token(user, "small", used_quota=1, remain_quota=900)
    factories.make_token(user, "big", used_quota=50, remain_quota=10)
    factories.make_token(user, "endless", unlimited_quota=True, remain_quota=0)

    def order(url: str) -> list[str]:
        return re.findall(r'<tr id="token-\d+">\s*<td data-label="[^"]*">([^<]+)</td>', text(user_client.get(url)))

    assert order("/token") == ["endless", "big", "small"]
    assert order("/token?order=used_quota") == ["big", "small", "endless"]
    assert order("/token?order=remain_quota") == ["endless", "small", "big"]


def test_pagination_pages_of_ten(user_client, user):
    for n in range(11):
        factories.make_token(user, f"key-{n:02d}")
    first = text(user_client.get("/token?order=used_quota"))
    assert first.count('<tr id="token-') == 10
    assert 'href="/token?p=1&amp;order=used_quota"' in first
    second = text(user_client.get("/token?p=1"))
    assert second.count('<tr id="token-') == 1 and "key-00" in second and 'href="/token?p=0"' in second


def test_empty_list_says_what_to_do(user_client):
    body = text(user_client.get("/token", headers={"Accept-Language": "en"}))
    assert "No tokens here yet" in body and 'href="/token/add"' in body


# Chat-client links

def test_chat_links_are_one_apis_strings():
    links = chat_links(KEY, "https://api.example.com/", "https://chat.example.com/")
    assert links == {
        "NextChat": f'https://chat.example.com/#/?settings={{"key":"sk-{KEY}","url":"https://api.example.com"}}',
        "LobeChat": "https://chat.example.com/?settings=%7B%22keyVaults%22%3A%7B%22openai%22%3A%7B%22apiKey%22%3A%22"
                    f"sk-{KEY}%22%2C%22baseURL%22%3A%22https%3A%2F%2Fapi.example.com%2Fv1%22%7D%7D%7D",
        "AMA": f"ama://set-api-key?server=https%3A%2F%2Fapi.example.com&key=sk-{KEY}",
        "OpenCat": f"opencat://team/join?domain=https%3A%2F%2Fapi.example.com&token=sk-{KEY}",
    }


def test_without_a_chat_link_nextchat_uses_its_public_app_and_lobechat_is_not_offered():
    links = chat_links(KEY, "http://10.0.0.2:3000", "")
    assert links["NextChat"] == f'https://app.nextchat.dev/#/?settings={{"key":"sk-{KEY}","url":"http://10.0.0.2:3000"}}'
    assert "LobeChat" not in links
    assert links["AMA"] == f"ama://set-api-key?server=http%3A%2F%2F10.0.0.2%3A3000&key=sk-{KEY}"


def test_page_links_use_the_server_address_option_else_the_request_host(user_client, user):
    token = factories.make_token(user, "mine")
    body = unescape(text(user_client.get("/token")))
    assert f"opencat://team/join?domain=http%3A%2F%2Flocalhost&token=sk-{token.key}" in body
    assert f'https://app.nextchat.dev/#/?settings={{"key":"sk-{token.key}","url":"http://localhost"}}' in body
    options.update("ServerAddress", "https://gw.example.com")
    options.update("ChatLink", "https://lobe.example.com")
    body = unescape(text(user_client.get("/token")))
    assert f"ama://set-api-key?server=https%3A%2F%2Fgw.example.com&key=sk-{token.key}" in body
    assert "https://lobe.example.com/?settings=%7B%22keyVaults" in body
    assert f'https://lobe.example.com/#/?settings={{"key":"sk-{token.key}","url":"https://gw.example.com"}}' in body


# Creating and editing

def test_new_token_form_offers_the_groups_models_and_500000_quota(user_client):
    factories.make_channel(models="gpt-4o,gpt-4o-mini")
    body = text(user_client.get("/token/add", headers={"Accept-Language": "en"}))
    assert _input_value(body, "remain_quota") == "500000"
    assert _input_value(body, "expired_time") == "-1"
    assert '<option value="gpt-4o" >' in body and '<option value="gpt-4o-mini" >' in body
    assert "Worth $1" in body
    assert "only limits what this token may spend" in body


def test_create_saves_every_field(user_client, user):
    factories.make_channel(models="gpt-4o,gpt-4o-mini")
    response = post_form(user_client, "/token/add", _form(
        name="ci", models=["gpt-4o", "gpt-4o-mini"], subnet="10.0.0.0/8,192.168.1.1",
        expired_time="2031-02-03 04:05:06", remain_quota="777", unlimited_quota="true"))
    assert response.status_code == 303 and response.headers["Location"] == "/token"
    token = db.session.scalar(sa.select(Token).where(Token.user_id == user.id))
    assert (token.name, token.models, token.subnet) == ("ci", "gpt-4o,gpt-4o-mini", "10.0.0.0/8,192.168.1.1")
    assert token.expired_time == int(time.mktime((2031, 2, 3, 4, 5, 6, 0, 0, -1)))
    assert (token.remain_quota, token.unlimited_quota, token.status) == (777, True, 1)
    assert "令牌 ci 已保存" in text(user_client.get("/token"))


def test_create_through_htmx_redirects_the_page(user_client, user):
    response = post_form(user_client, "/token/add", _form(), htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/token"
    assert count_rows(Token) == 1


def test_datetime_local_values_are_accepted():
    assert parse_expiry("2031-02-03T04:05") == int(time.mktime((2031, 2, 3, 4, 5, 0, 0, 0, -1)))
    assert parse_expiry("") == parse_expiry("-1") == -1


def test_edit_shows_and_saves_every_field(user_client, user):
    factories.make_channel(models="gpt-4o,gpt-4o-mini")
    token = factories.make_token(user, "old", models="gpt-4o", subnet="1.2.3.4", expired_time=-1)
    body = text(user_client.get(f"/token/edit/{token.id}"))
    assert _input_value(body, "name") == "old" and _input_value(body, "subnet") == "1.2.3.4"
    assert '<option value="gpt-4o" selected>' in body and '<option value="gpt-4o-mini" >' in body
    response = post_form(user_client, f"/token/edit/{token.id}", _form(
        name="new", models=["gpt-4o-mini"], subnet="", expired_time="2030-01-01 00:00:00", remain_quota="42"))
    assert response.status_code == 303
    token = _fresh(token)
    assert (token.name, token.models, token.subnet, token.remain_quota, token.unlimited_quota) == (
        "new", "gpt-4o-mini", "", 42, False)
    assert token.expired_time == int(time.mktime((2030, 1, 1, 0, 0, 0, 0, 0, -1)))


def test_unlimited_toggle_is_saved_both_ways(user_client, user):
    token = factories.make_token(user, "k", unlimited_quota=False)
    post_form(user_client, f"/token/edit/{token.id}", _form(unlimited_quota="true", remain_quota="0"))
    assert _fresh(token).unlimited_quota is True
    assert 'name="unlimited_quota" value="true" checked' in text(user_client.get(f"/token/edit/{token.id}"))
    post_form(user_client, f"/token/edit/{token.id}", _form(remain_quota="5"))
    assert _fresh(token).unlimited_quota is False


@pytest.mark.parametrize(("button", "seconds"), [("month", 30 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)])
def test_quick_expiry_buttons_fill_in_the_time_without_saving(user_client, button, seconds):
    before = int(time.time())
    response = post_form(user_client, "/token/add", {**_form(name="draft", subnet="10.0.0.0/8"), "expire": button})
    assert response.status_code == 200 and is_full_page(response)
    body = text(response)
    shown = parse_expiry(_input_value(body, "expired_time"))
    assert before + seconds <= shown <= int(time.time()) + seconds
    # The rest of the form is kept, and nothing is saved.
    assert _input_value(body, "name") == "draft" and _input_value(body, "subnet") == "10.0.0.0/8"
    assert count_rows(Token) == 0


def test_never_button_sets_minus_one(user_client, user):
    token = factories.make_token(user, "k", expired_time=int(time.time()) + 100)
    body = text(post_form(user_client, f"/token/edit/{token.id}", {**_form(expired_time="2030-01-01 00:00:00"),
                                                                   "expire": "never"}))
    assert _input_value(body, "expired_time") == "-1"
    assert _fresh(token).expired_time != -1


def test_quick_button_through_htmx_answers_the_form_fragment(user_client):
    response = post_form(user_client, "/token/add", {**_form(), "expire": "hour"}, htmx=True)
    assert response.status_code == 200 and not is_full_page(response)
    assert text(response).lstrip().startswith('<form id="token-form"')
    assert _input_value(text(response), "expired_time") != "-1"


def test_quota_preview_shows_its_dollar_value(user_client):
    options.update("QuotaPerUnit", "1000")
    response = post_form(user_client, "/token/add", {**_form(remain_quota="2500"), "preview": "1"}, htmx=True,
                         headers={"Accept-Language": "en"})
    assert 'id="quota-usd"' in text(response) and "Worth $2.5<" in text(response)
    assert count_rows(Token) == 0


def test_invalid_subnet_is_shown_beside_the_field_and_nothing_saved(user_client):
    response = post_form(user_client, "/token/add", _form(subnet="10.0.0.0/8,not-a-net"),
                         headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert '<small class="error" id="e-subnet">Invalid subnet: not-a-net</small>' in text(response)
    assert _input_value(text(response), "subnet") == "10.0.0.0/8,not-a-net"
    assert count_rows(Token) == 0


def test_invalid_expiry_and_quota_are_shown_beside_their_fields(user_client, user):
    token = factories.make_token(user, "k", remain_quota=10)
    response = post_form(user_client, f"/token/edit/{token.id}", _form(expired_time="tomorrow"))
    assert response.status_code == 422 and 'id="e-expired_time">过期时间格式错误！' in text(response)
    response = post_form(user_client, f"/token/edit/{token.id}", _form(remain_quota="-5"), htmx=True)
    assert response.status_code == 422 and 'id="e-remain_quota"' in text(response)
    assert _fresh(token).remain_quota == 10 and _fresh(token).name == "k"


def test_too_long_name_is_shown_beside_the_name(user_client):
    response = post_form(user_client, "/token/add", _form(name="x" * 31))
    assert response.status_code == 422 and 'id="e-name"' in text(response)
    assert count_rows(Token) == 0


# Row actions

def test_disable_and_enable_answer_the_row(user_client, user):
    token = factories.make_token(user, "k")
    response = post_form(user_client, f"/token/{token.id}/status", {"status": "2"}, htmx=True,
                         headers={"Accept-Language": "en"})
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith(f'<tr id="token-{token.id}">') and ">Disabled</span>" in body
    assert ">Enable</button>" in body and 'hx-swap-oob="true"' in body
    assert _fresh(token).status == 2
    response = post_form(user_client, f"/token/{token.id}/status", {"status": "1"})
    assert response.status_code == 303 and _fresh(token).status == 1


def test_enabling_an_expired_token_is_refused(user_client, user):
    token = factories.make_token(user, "k", status=2, expired_time=int(time.time()) - 5)
    response = post_form(user_client, f"/token/{token.id}/status", {"status": "1"}, htmx=True)
    assert response.status_code == 422 and "令牌已过期" in text(response)
    assert _fresh(token).status == 2


def test_delete_removes_the_row_after_a_confirmation(user_client, user):
    token = factories.make_token(user, "k")
    page = text(user_client.get("/token"))
    assert 'hx-confirm="确定删除令牌 k 吗' in page
    response = post_form(user_client, f"/token/{token.id}/delete", htmx=True)
    assert response.status_code == 200 and "<tr" not in text(response) and "令牌已删除" in text(response)
    assert count_rows(Token) == 0
    other = factories.make_token(user, "j")
    assert post_form(user_client, f"/token/{other.id}/delete").status_code == 303
    assert count_rows(Token) == 0


# Another user's keys

def test_another_users_token_is_out_of_reach(user_client, other_user):
    token = factories.make_token(other_user, "bobs", remain_quota=99)
    assert user_client.get(f"/token/edit/{token.id}").status_code == 404
    assert fragment(user_client, f"/token/edit/{token.id}").status_code == 404
    for url, data in [(f"/token/edit/{token.id}", _form(name="stolen")),
                      (f"/token/edit/{token.id}", {**_form(), "expire": "day"}),
                      (f"/token/{token.id}/status", {"status": "2"}),
                      (f"/token/{token.id}/delete", {})]:
        assert post_form(user_client, url, data).status_code == 404, url
        assert post_form(user_client, url, data, htmx=True).status_code == 404, url
    token = _fresh(token)
    assert (token.name, token.status, token.remain_quota) == ("bobs", 1, 99)
    assert token.key not in text(user_client.get("/token"))


def test_posts_without_a_csrf_token_are_refused(user_client, user):
    token = factories.make_token(user, "k")
    for url, data in [("/token/add", _form()), (f"/token/edit/{token.id}", _form(name="x")),
                      (f"/token/{token.id}/status", {"status": "2"}), (f"/token/{token.id}/delete", {})]:
        assert user_client.post(url, data=data).status_code == 400, url
        assert user_client.post(url, data=data, headers=HTMX).status_code == 400, url
    token = _fresh(token)
    assert (token.name, token.status, count_rows(Token)) == ("k", 1, 1)
