"""The users pages: the admin's list and its actions, adding and editing users, and the own profile."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log, LogType, Role, User, UserStatus
from oneapi.services import accounts, options
from tests import factories
from tests.conftest import count_rows
from tests.web.helpers import HTMX, fragment, is_full_page, post_form, text


@pytest.fixture(autouse=True)
def english(admin_client, root_client, user_client):
    for client in (admin_client, root_client, user_client):
        client.set_cookie("lang", "en")


def reload(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def root() -> User:
    return db.session.scalar(sa.select(User).where(User.username == "root"))


def manage(client, username: str, action: str, htmx: bool = True):
    return post_form(client, "/user/manage", {"username": username, "action": action}, htmx=htmx)


# --- The list ----------------------------------------------------------------------------------------


def test_list_shows_every_column(admin_client, user):
    user.display_name, user.email, user.quota, user.used_quota, user.request_count = "Alice A", "a@x.io", 1000, 500, 7
    user.group = "vip"
    db.session.commit()
    options.update("DisplayInCurrencyEnabled", "false")
    page = text(admin_client.get("/user"))
    row = re.search(rf'<tr id="user-{user.id}">.*?</tr>', page, re.S).group(0)
    assert ">alice</a>" in row and 'title="Display name: Alice A · Email: a@x.io"' in row
    assert "Alice A · a@x.io" in row  # shown under the name on small screens
    assert ">vip<" in row and ">1,000<" in row and ">500<" in row and ">7<" in row
    assert "Normal user" in row and "Activated" in row
    for action in ("promote", "disable", "delete"):
        assert f'name="action" value="{action}"' in row
    assert f'href="/user/edit/{user.id}"' in row and "hx-confirm=\"Delete user alice?\"" in row
    assert "Super admin" in page and "Administrator" in page  # root and admin1


def test_search_matches_id_username_prefix_and_email(admin_client, user, other_user):
    user.email = "findme@example.com"
    db.session.commit()
    by_name = fragment(admin_client, "/user?keyword=ali")
    assert not is_full_page(by_name) and f'id="user-{user.id}"' in text(by_name)
    assert f'id="user-{other_user.id}"' not in text(by_name)
    assert f'id="user-{user.id}"' in text(admin_client.get("/user?keyword=findme"))
    assert f'id="user-{other_user.id}"' in text(admin_client.get(f"/user?keyword={other_user.id}"))
    empty = text(admin_client.get("/user?keyword=nobody"))
    assert "No user matches “nobody”." in empty and 'class="empty"' in empty


@pytest.mark.parametrize("order", ["quota", "used_quota", "request_count"])
def test_sort_orders(admin_client, order):
    low = factories.make_user("low")
    high = factories.make_user("high")
    setattr(low, order, 1)
    setattr(high, order, 9)
    db.session.commit()
    page = text(fragment(admin_client, f"/user?order={order}"))
    ids = re.findall(r'<tr id="user-(\d+)">', page)
    assert ids.index(str(high.id)) < ids.index(str(low.id))
    assert f'<option value="{order}" selected>' in text(admin_client.get(f"/user?order={order}"))


def test_pagination_and_deleted_users_hidden(admin_client):
    for i in range(10):
        factories.make_user(f"u{i}")
    first = text(admin_client.get("/user"))
    assert len(re.findall(r'<tr id="user-', first)) == 10 and "?p=1" in first
    second = text(admin_client.get("/user?p=1"))
    assert len(re.findall(r'<tr id="user-', second)) == 3  # root, admin1 and alice: 13 users in all
    assert "?p=0" in second and "?p=2" not in second
    accounts_deleted = factories.make_user("gone", status=UserStatus.DELETED)
    assert f'id="user-{accounts_deleted.id}"' not in text(admin_client.get("/user"))


# --- Actions -----------------------------------------------------------------------------------------


def test_root_promotes_and_demotes_in_place(root_client, user):
    promoted = manage(root_client, "alice", "promote")
    assert promoted.status_code == 200 and not is_full_page(promoted)
    assert promoted.text.lstrip().startswith(f'<tr id="user-{user.id}">') and "Administrator" in promoted.text
    assert "The user is now an admin." in promoted.text and 'hx-swap-oob="true"' in promoted.text
    assert reload(user.id).role == Role.ADMIN
    demoted = manage(root_client, "alice", "demote")
    assert demoted.status_code == 200 and "Normal user" in demoted.text
    assert reload(user.id).role == Role.COMMON


def test_disable_enable_and_delete(admin_client, user):
    disabled = manage(admin_client, "alice", "disable")
    assert "Banned" in disabled.text and 'value="enable"' in disabled.text
    assert reload(user.id).status == UserStatus.DISABLED
    enabled = manage(admin_client, "alice", "enable")
    assert "Activated" in enabled.text and reload(user.id).status == UserStatus.ENABLED
    deleted = manage(admin_client, "alice", "delete")
    assert deleted.status_code == 200 and "<tr" not in deleted.text and "The user is deleted." in deleted.text
    gone = reload(user.id)
    assert gone.status == UserStatus.DELETED and gone.username.startswith("deleted_")


def test_action_without_javascript_redirects_to_the_list(admin_client, user):
    response = manage(admin_client, "alice", "disable", htmx=False)
    assert response.status_code == 303 and response.headers["Location"] == "/user"
    assert reload(user.id).status == UserStatus.DISABLED
    assert "The user is banned." in text(admin_client.get("/user"))


def test_admin_cannot_promote_or_touch_root_or_an_equal(admin_client, user):
    other_admin = factories.make_user("admin2", role=Role.ADMIN)
    refused = manage(admin_client, "alice", "promote")
    assert refused.status_code == 403 and "Only root can promote users to admin" in refused.text
    assert refused.text.lstrip().startswith(f'<tr id="user-{user.id}">')  # the row stays as it was
    assert reload(user.id).role == Role.COMMON
    for action in ("disable", "delete", "demote"):
        answer = manage(admin_client, "root", action)
        assert answer.status_code == 403 and "You cannot update a user of equal or higher role" in answer.text
        answer = manage(admin_client, "admin2", action)
        assert answer.status_code == 403
    assert root().status == UserStatus.ENABLED and root().role == Role.ROOT
    assert reload(other_admin.id).status == UserStatus.ENABLED and reload(other_admin.id).role == Role.ADMIN
    # Without htmx the refusal is a flash on the list.
    plain = manage(admin_client, "root", "disable", htmx=False)
    assert plain.status_code == 303
    assert "You cannot update a user of equal or higher role" in text(admin_client.get("/user"))


def test_root_cannot_be_disabled_even_by_root(root_client):
    answer = manage(root_client, "root", "disable")
    assert answer.status_code == 403 and "The root user cannot be disabled" in answer.text
    assert root().status == UserStatus.ENABLED


def test_normal_user_cannot_manage(user_client, other_user):
    answer = manage(user_client, "bob", "disable", htmx=False)
    assert answer.status_code == 403
    assert reload(other_user.id).status == UserStatus.ENABLED


def test_manage_without_csrf_is_refused(admin_client, user):
    answer = admin_client.post("/user/manage", data={"username": "alice", "action": "disable"})
    assert answer.status_code == 400 and reload(user.id).status == UserStatus.ENABLED


# --- Add ---------------------------------------------------------------------------------------------


def test_add_user_saves_every_field(admin_client):
    response = post_form(admin_client, "/user/add", {"username": "carol", "display_name": "Carol C",
                                                     "password": "carolpass1"})
    assert response.status_code == 303 and response.headers["Location"] == "/user"
    carol = db.session.scalar(sa.select(User).where(User.username == "carol"))
    assert carol.display_name == "Carol C" and carol.role == Role.COMMON
    assert accounts.login("carol", "carolpass1").id == carol.id
    assert "User carol created." in text(admin_client.get("/user"))


@pytest.mark.parametrize(("fields", "field"), [
    ({"username": "x" * 13}, "username"),
    ({"username": ""}, "username"),
    ({"password": "short"}, "password"),
    ({"display_name": "d" * 21}, "display_name"),
])
def test_add_user_errors_beside_the_field(admin_client, fields, field):
    before = count_rows(User)
    data = {"username": "carol", "display_name": "Carol", "password": "carolpass1", **fields}
    response = post_form(admin_client, "/user/add", data)
    assert response.status_code == 422 and f'id="e-{field}"' in text(response)
    assert count_rows(User) == before


def test_add_user_with_a_taken_name_is_refused(admin_client, user):
    response = post_form(admin_client, "/user/add", {"username": "alice", "password": "carolpass1"}, htmx=True)
    assert response.status_code == 422 and not is_full_page(response) and "The username is taken" in text(response)


def test_add_without_csrf_is_refused(admin_client):
    assert admin_client.post("/user/add", data={"username": "carol", "password": "carolpass1"}).status_code == 400
    assert db.session.scalar(sa.select(User).where(User.username == "carol")) is None


# --- Edit (admin) ------------------------------------------------------------------------------------


def test_edit_form_shows_values_groups_and_bindings(admin_client, user):
    user.github_id, user.email, user.quota = "alice-gh", "alice@example.com", 1234
    db.session.commit()
    options.update("GroupRatio", '{"default": 1, "gold": 2}')
    page = text(admin_client.get(f"/user/edit/{user.id}"))
    assert 'value="alice"' in page and '<option value="gold"' in page and '<option value="default" selected>' in page
    assert 'name="quota"' in page and 'value="1234"' in page
    assert "alice-gh" in page and "alice@example.com" in page
    assert 'name="email"' not in page and 'name="github_id"' not in page  # bindings are read-only


def test_edit_saves_every_field(admin_client, user):
    options.update("GroupRatio", '{"default": 1, "gold": 2}')
    response = post_form(admin_client, f"/user/edit/{user.id}", {
        "username": "alice2", "password": "newpass123", "display_name": "Alice Two", "group": "gold", "quota": "777"})
    assert response.status_code == 303 and response.headers["Location"] == "/user"
    saved = reload(user.id)
    assert (saved.username, saved.display_name, saved.group, saved.quota) == ("alice2", "Alice Two", "gold", 777)
    assert accounts.login("alice2", "newpass123").id == user.id
    # The quota change is logged as an admin action, as One API does.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Log).where(
        Log.user_id == user.id, Log.type == LogType.MANAGE)) == 1


def test_edit_with_a_blank_password_keeps_it(admin_client, user):
    post_form(admin_client, f"/user/edit/{user.id}", {"username": "alice", "password": "", "display_name": "A",
                                                      "group": "default", "quota": "0"})
    assert accounts.login("alice", factories.PASSWORD).display_name == "A"


@pytest.mark.parametrize(("fields", "field"), [
    ({"username": "x" * 13}, "username"),
    ({"password": "short"}, "password"),
    ({"quota": "-1"}, "quota"),
    ({"quota": "lots"}, "quota"),
    ({"display_name": "d" * 21}, "display_name"),
])
def test_edit_errors_beside_the_field_and_nothing_saved(admin_client, user, fields, field):
    data = {"username": "renamed", "password": "", "display_name": "New", "group": "default", "quota": "5", **fields}
    response = post_form(admin_client, f"/user/edit/{user.id}", data)
    assert response.status_code == 422 and f'id="e-{field}"' in text(response)
    saved = reload(user.id)
    assert saved.username == "alice" and saved.display_name == "alice" and saved.quota == 0


def test_admin_cannot_edit_an_admin_or_root(admin_client):
    other_admin = factories.make_user("admin2", role=Role.ADMIN)
    for target in (other_admin.id, root().id):
        assert admin_client.get(f"/user/edit/{target}").status_code == 403
        refused = post_form(admin_client, f"/user/edit/{target}", {"username": "hijack", "group": "default",
                                                                   "quota": "1"})
        assert refused.status_code == 403
    assert reload(other_admin.id).username == "admin2" and root().username == "root"


def test_edit_unknown_user_is_404(admin_client):
    assert admin_client.get("/user/edit/999999").status_code == 404


def test_edit_without_csrf_is_refused(admin_client, user):
    response = admin_client.post(f"/user/edit/{user.id}", data={"username": "x", "group": "default", "quota": "1"})
    assert response.status_code == 400 and reload(user.id).username == "alice"


# --- Own profile -------------------------------------------------------------------------------------


def test_profile_shows_own_values_and_bindings(user_client, user):
    user.wechat_id = "wx-alice"
    db.session.commit()
    page = text(user_client.get("/user/edit"))
    assert 'value="alice"' in page and "wx-alice" in page and 'name="quota"' not in page and 'name="group"' not in page
    assert is_full_page(user_client.get("/user/edit"))
    assert 'id="profile"' in text(user_client.get("/user/edit", headers=HTMX))


def test_profile_saves_name_display_name_and_password(user_client, user):
    response = post_form(user_client, "/user/edit", {"username": "alicia", "display_name": "Alicia",
                                                     "password": "brandnew12"})
    assert response.status_code == 303 and response.headers["Location"] == "/user/edit"
    assert accounts.login("alicia", "brandnew12").display_name == "Alicia"
    assert "Your profile is saved." in text(user_client.get("/user/edit"))


def test_profile_blank_password_is_unchanged_and_quota_cannot_be_sent(user_client, user):
    post_form(user_client, "/user/edit", {"username": "alice", "display_name": "Al", "password": "",
                                          "quota": "999999", "group": "vip", "role": "100"})
    saved = reload(user.id)
    assert saved.display_name == "Al" and saved.quota == 0 and saved.group == "default" and saved.role == Role.COMMON
    assert accounts.login("alice", factories.PASSWORD)


def test_profile_errors_beside_the_field(user_client, user, other_user):
    taken = post_form(user_client, "/user/edit", {"username": "bob", "display_name": "x"})
    assert taken.status_code == 422 and "The username is taken" in text(taken)
    short = post_form(user_client, "/user/edit", {"username": "alice", "password": "short"}, htmx=True)
    assert short.status_code == 422 and 'id="e-password"' in text(short) and not is_full_page(short)
    assert reload(user.id).username == "alice" and accounts.login("alice", factories.PASSWORD)


def test_profile_without_csrf_is_refused(user_client, user):
    assert user_client.post("/user/edit", data={"username": "hacked"}).status_code == 400
    assert reload(user.id).username == "alice"


def test_profile_needs_login(client):
    response = client.get("/user/edit")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
