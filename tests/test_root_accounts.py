"""Root accounts: the last enabled root can never be deleted, disabled or demoted, on any path (`DELETE
/api/user/:id`, `POST /api/user/manage`, `PUT /api/user/`, the console); while another root remains,
root may demote (one step, to admin) or delete another root, so a promotion to root can be undone."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import User
from tests import factories
from tests.web.helpers import HTMX, post_form

LAST_ROOT = "必须保留至少一个启用的超级管理员"


def row(name: str) -> tuple[int, int]:
    db.session.expire_all()
    user = db.session.scalar(sa.select(User).where(User.username == name))
    return user.role, user.status


def root_id() -> int:
    return db.session.scalar(sa.select(User.id).where(User.username == "root"))


@pytest.fixture
def second_root(app):
    return factories.make_user("root2", role=100)


def test_the_last_root_cannot_delete_itself_by_id(root_client):
    body = root_client.delete(f"/api/user/{root_id()}").json
    assert body == {"success": False, "message": LAST_ROOT}
    assert row("root") == (100, 1)


@pytest.mark.parametrize("action", ["demote", "disable", "delete"])
def test_the_last_root_cannot_demote_disable_or_delete_itself_by_manage(root_client, action):
    body = root_client.post("/api/user/manage", json={"username": "root", "action": action}).json
    assert body["success"] is False
    assert row("root") == (100, 1)


@pytest.mark.parametrize("role", [10, 1])
def test_the_last_root_cannot_lower_its_role_by_put(root_client, role):
    body = root_client.put("/api/user/", json={"id": root_id(), "role": role}).json
    assert body == {"success": False, "message": LAST_ROOT}
    assert row("root") == (100, 1)


def test_the_last_root_cannot_demote_itself_in_the_console(root_client):
    response = post_form(root_client, "/user/manage", {"username": "root", "action": "demote"}, htmx=True)
    assert response.status_code == 403
    assert row("root") == (100, 1)


def test_a_disabled_root_does_not_count_as_another_root(root_client, second_root):
    second_root.status = 2
    db.session.commit()
    assert root_client.delete(f"/api/user/{root_id()}").json["message"] == LAST_ROOT
    assert root_client.post("/api/user/manage", json={"username": "root", "action": "demote"}).json[
        "message"] == LAST_ROOT


def test_root_demotes_another_root_one_step_while_one_remains(root_client, second_root):
    body = root_client.post("/api/user/manage", json={"username": "root2", "action": "demote"}).json
    assert body["success"] is True and body["data"]["role"] == 10
    assert row("root2") == (10, 1)
    assert root_client.post("/api/user/manage", json={"username": "root2", "action": "demote"}).json["data"][
        "role"] == 1


def test_a_promotion_to_root_can_be_undone(root_client, user):
    assert root_client.put("/api/user/", json={"id": user.id, "role": 100}).json["success"] is True
    assert row("alice") == (100, 1)
    assert root_client.put("/api/user/", json={"id": user.id, "role": 1}).json["success"] is True
    assert row("alice") == (1, 1)


def test_a_root_may_step_down_while_another_root_remains(app, second_root):
    client = app.test_client()
    factories.login(client, "root2", factories.PASSWORD)
    assert client.post("/api/user/manage", json={"username": "root2", "action": "demote"}).json["success"]
    assert row("root2") == (10, 1)
    assert client.post("/api/user/manage", json={"username": "root", "action": "demote"}).json["success"] is False


def test_root_deletes_another_root_but_then_not_itself(root_client, second_root):
    assert root_client.delete(f"/api/user/{second_root.id}").json["success"] is True
    assert root_client.delete(f"/api/user/{root_id()}").json["message"] == LAST_ROOT


def test_the_console_offers_demotion_of_another_root(root_client, second_root):
    page = root_client.get("/user", headers=HTMX).get_data(as_text=True)
    row_html = page[page.index(f'id="user-{second_root.id}"'):].split("</tr>")[0]
    assert 'name="action" value="demote"' in row_html
    response = post_form(root_client, "/user/manage", {"username": "root2", "action": "demote"}, htmx=True)
    assert response.status_code == 200 and row("root2") == (10, 1)


def test_an_admin_still_cannot_touch_a_root(admin_client, second_root):
    assert admin_client.post("/api/user/manage", json={"username": "root2", "action": "demote"}).json[
        "success"] is False
    assert admin_client.delete(f"/api/user/{second_root.id}").json["success"] is False
    assert row("root2") == (100, 1)
