"""Destructive actions ask first without JavaScript too: a confirmation page, then the real post."""

from __future__ import annotations

from oneapi.extensions import db
from oneapi.models import Token
from tests import factories
from tests.web.helpers import csrf_token, is_full_page, post_form, text


def test_the_delete_button_carries_its_question_for_browsers_without_javascript(user, user_client):
    factories.make_token(user, name="doomed")
    page = text(user_client.get("/token"))
    assert '<noscript><input type="hidden" name="_confirm"' in page
    assert 'hx-confirm="' in page


def test_without_javascript_a_delete_shows_a_confirmation_page_first(user, user_client):
    token = factories.make_token(user, name="doomed")
    asked = post_form(user_client, f"/token/{token.id}/delete", {"_confirm": "Delete the token doomed?"},
                      headers={"Referer": "http://localhost/token"})
    assert asked.status_code == 200 and is_full_page(asked)
    page = text(asked)
    assert "Delete the token doomed?" in page and 'action="/token/' in page and 'href="/token"' in page
    db.session.expire_all()
    assert db.session.get(Token, token.id) is not None, "nothing is deleted before the answer"
    answer = user_client.post(f"/token/{token.id}/delete", data={"csrf_token": csrf_token(user_client)})
    assert answer.status_code == 303
    db.session.expire_all()
    assert db.session.get(Token, token.id) is None


def test_the_confirmation_page_keeps_the_posted_fields(root_client, user):
    asked = post_form(root_client, "/user/manage", {"_confirm": "Delete?", "username": user.username,
                                                    "action": "delete"})
    page = text(asked)
    assert f'name="username" value="{user.username}"' in page and 'name="action" value="delete"' in page
    assert 'name="_confirm"' not in page


def test_the_question_needs_a_valid_csrf_token_like_any_post(user_client):
    assert user_client.post("/token/1/delete", data={"_confirm": "x"}).status_code == 400


def test_a_foreign_referrer_is_not_offered_as_the_way_back(user, user_client):
    token = factories.make_token(user)
    asked = post_form(user_client, f"/token/{token.id}/delete", {"_confirm": "Sure?"},
                      headers={"Referer": "https://evil.example.com/x"})
    assert 'href="/"' in text(asked) and "evil.example.com" not in text(asked)


def test_the_relay_never_answers_with_a_confirmation_page(client, user):
    """The hook belongs to the console's blueprints: a relay upload with such a field goes to the relay."""
    token = factories.make_token(user)
    response = client.post("/v1/audio/transcriptions", data={"_confirm": "x", "model": "whisper-1"},
                           headers={"Authorization": f"Bearer sk-{token.key}"})
    assert response.mimetype == "application/json" and "error" in response.json
