"""Ending cookie sessions: logout, a new password (own, admin's, reset), a ban or deletion, and "sign out
everywhere" end every session of the user at once, through the session epoch (oneapi/sessions.py).

A cookie is copied from one client to another, as a thief who read it would replay it.
"""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import User
from oneapi.services import verification
from tests import factories
from tests.web.helpers import post_form

NEW_PASSWORD = "brand-new-pw1"


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """A fresh client carrying only the copied cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def signed_in(client) -> bool:
    return client.get("/api/user/self").json["success"] is True


def test_a_cookie_copied_before_an_api_logout_is_dead_after_it(app, user_client):
    copied = cookie_of(user_client)
    assert signed_in(replay(app, copied))
    assert user_client.get("/api/user/logout").json["success"] is True
    assert not signed_in(replay(app, copied))
    assert replay(app, copied).get("/user/edit").status_code == 303, "the console refuses it too"


def test_a_cookie_copied_before_a_console_logout_is_dead_after_it(app, user_client):
    copied = cookie_of(user_client)
    assert post_form(user_client, "/logout").status_code == 303
    assert not signed_in(replay(app, copied))


def test_own_password_change_ends_other_sessions_but_not_this_one(app, user, user_client):
    elsewhere = app.test_client()
    factories.login(elsewhere, "alice", factories.PASSWORD)
    copied = cookie_of(user_client)
    assert user_client.put("/api/user/self", json={"password": NEW_PASSWORD}).json["success"] is True
    assert signed_in(user_client), "the browser that changed the password stays signed in"
    assert not signed_in(elsewhere) and not signed_in(replay(app, copied))


def test_own_password_change_in_the_console_keeps_this_browser_only(app, user, user_client):
    elsewhere = app.test_client()
    factories.login(elsewhere, "alice", factories.PASSWORD)
    response = post_form(user_client, "/user/edit", {"username": "alice", "display_name": "A",
                                                     "password": NEW_PASSWORD})
    assert response.status_code == 303
    assert signed_in(user_client) and user_client.get("/user/edit").status_code == 200
    assert not signed_in(elsewhere)


def test_a_profile_edit_without_a_new_password_ends_nothing(app, user, user_client):
    elsewhere = app.test_client()
    factories.login(elsewhere, "alice", factories.PASSWORD)
    assert user_client.put("/api/user/self", json={"display_name": "Alice"}).json["success"] is True
    assert signed_in(elsewhere)


def test_an_admin_setting_a_password_ends_the_users_sessions(app, user, user_client, admin_client):
    assert admin_client.put("/api/user/", json={"id": user.id, "password": NEW_PASSWORD}).json["success"]
    assert not signed_in(user_client)
    assert signed_in(admin_client)


def test_an_admin_setting_a_password_in_the_console_ends_the_users_sessions(user, user_client, admin_client):
    response = post_form(admin_client, f"/user/edit/{user.id}", {"username": "alice", "password": NEW_PASSWORD,
                                                                  "group": "default", "quota": "0"})
    assert response.status_code == 303
    assert not signed_in(user_client)


def test_root_changing_its_own_password_through_the_admin_edit_stays_signed_in(app, root_client):
    root_id = db.session.scalar(sa.select(User.id).where(User.username == "root"))
    response = post_form(root_client, f"/user/edit/{root_id}", {"username": "root", "password": NEW_PASSWORD,
                                                                 "group": "default", "quota": "5"})
    assert response.status_code == 303 and signed_in(root_client)


def test_a_password_reset_ends_every_session_of_the_address(app, user, user_client):
    user.email = "alice@example.com"
    db.session.commit()
    verification.remember(verification.RESET, "alice@example.com", "reset-token")
    client = app.test_client()
    reset = client.post("/api/user/reset", json={"email": "alice@example.com", "token": "reset-token"})
    assert reset.json["success"] is True
    assert not signed_in(user_client)
    factories.login(client, "alice", reset.json["data"])


def test_a_ban_ends_sessions_for_good_even_after_the_user_is_enabled_again(app, user, user_client, root_client):
    copied = cookie_of(user_client)
    assert root_client.post("/api/user/manage", json={"username": "alice", "action": "disable"}).json["success"]
    assert root_client.post("/api/user/manage", json={"username": "alice", "action": "enable"}).json["success"]
    assert not signed_in(replay(app, copied))
    assert not signed_in(user_client)


def test_deletion_ends_sessions(app, user, user_client, root_client):
    copied = cookie_of(user_client)
    assert root_client.delete(f"/api/user/{user.id}").json["success"]
    assert not signed_in(replay(app, copied))


def test_sign_out_everywhere_in_the_console(app, user, user_client):
    elsewhere = app.test_client()
    factories.login(elsewhere, "alice", factories.PASSWORD)
    page = user_client.get("/setting").get_data(as_text=True)
    assert 'action="/setting/sign-out-everywhere"' in page
    response = post_form(user_client, "/setting/sign-out-everywhere")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert not signed_in(user_client) and not signed_in(elsewhere)
    factories.login(elsewhere, "alice", factories.PASSWORD)
    assert signed_in(elsewhere), "a new login works at once"


def test_sign_out_everywhere_through_the_api_keeps_access_tokens(app, user, user_client):
    token = user_client.get("/api/user/token").json["data"]
    assert user_client.delete("/api/user/self/sessions").json["success"] is True
    assert not signed_in(user_client)
    assert app.test_client().get("/api/user/self", headers={"Authorization": token}).json["success"] is True


def test_api_login_starts_a_fresh_session(app, client, user):
    """A session planted before the login (session fixation, a stale OAuth state) does not survive it."""
    assert client.get("/api/oauth/state").json["success"] is True
    with client.session_transaction() as planted:
        assert planted["oauth_state"]
        planted["planted"] = "by-someone-else"
    factories.login(client, "alice", factories.PASSWORD)
    with client.session_transaction() as after:
        assert "planted" not in after and "oauth_state" not in after


def test_a_null_epoch_counts_as_zero(app, user, user_client):
    """A row written by One API, or adopted without a default, has NULL; sessions work and end as usual."""
    db.session.execute(sa.update(User).where(User.id == user.id).values(session_epoch=None))
    db.session.commit()
    assert signed_in(user_client)
    fresh = app.test_client()
    factories.login(fresh, "alice", factories.PASSWORD)
    assert fresh.get("/api/user/logout").json["success"] is True
    assert not signed_in(user_client)
    db.session.expire_all()
    assert db.session.get(User, user.id).session_epoch == 1
