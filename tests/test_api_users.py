"""Accounts through `/api/user…` and `/api/topup`: login, registration, the caller's own account and
user administration, with One API's messages and side effects (tokens, logs, quota)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log, LogType, Token, User
from tests import factories
from tests.conftest import count_rows

BAD_LOGIN = "用户名或密码错误，或用户已被封禁"
NOT_LOGGED_IN = "无权进行此操作，未登录且未提供 access token"



def set_option(root_client, key: str, value: str) -> None:
    body = root_client.put("/api/option/", json={"key": key, "value": value}).json
    assert body["success"], body


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def logs_of(user_id: int, kind: LogType) -> list[Log]:
    return list(db.session.scalars(sa.select(Log).where(Log.user_id == user_id, Log.type == kind).order_by(Log.id)))


def per_unit(quota: int) -> str:
    """One API's LogQuota text with the default currency display (QuotaPerUnit 500000)."""
    return f"＄{quota / 500000:.6f} 额度"


# --- login and logout -------------------------------------------------------------------------


def test_user_can_log_in_by_username(client, user):
    body = client.post("/api/user/login", json={"username": "alice", "password": factories.PASSWORD}).json
    assert body["success"] is True
    assert body["data"]["id"] == user.id and body["data"]["username"] == "alice" and body["data"]["role"] == 1
    assert body["data"]["password"] == "" and body["data"]["access_token"] == ""
    assert client.get("/api/user/self").json["data"]["username"] == "alice"


def test_user_can_log_in_by_email(client, user):
    user.email = "alice@example.com"
    db.session.commit()
    body = client.post("/api/user/login", json={"username": "alice@example.com", "password": factories.PASSWORD}).json
    assert body["success"] is True and body["data"]["username"] == "alice"
    assert client.get("/api/user/self").json["data"]["id"] == user.id


def test_wrong_password_is_refused_with_one_api_message(client, user):
    body = client.post("/api/user/login", json={"username": "alice", "password": "wrong-password"}).json
    assert body == {"success": False, "message": BAD_LOGIN}
    assert client.get("/api/user/self").status_code == 401


def test_unknown_user_gets_the_same_message_as_a_wrong_password(client):
    body = client.post("/api/user/login", json={"username": "nobody", "password": factories.PASSWORD}).json
    assert body["success"] is False and body["message"] == BAD_LOGIN


def test_disabled_user_cannot_log_in(client, app):
    factories.make_user("carol", status=2)
    body = client.post("/api/user/login", json={"username": "carol", "password": factories.PASSWORD}).json
    assert body["success"] is False and body["message"] == BAD_LOGIN


def test_logout_ends_the_session(user_client):
    assert user_client.get("/api/user/logout").json["success"] is True
    response = user_client.get("/api/user/self")
    assert response.status_code == 401
    assert response.json == {"success": False, "message": NOT_LOGGED_IN}


# --- registration ------------------------------------------------------------------------------


def test_visitor_can_register_and_gets_a_default_unlimited_token(client, app):
    body = client.post("/api/user/register", json={"username": "dave", "password": factories.PASSWORD}).json
    assert body["success"] is True, body
    dave = db.session.scalar(sa.select(User).where(User.username == "dave"))
    assert dave.role == 1 and dave.status == 1 and dave.display_name == "dave" and dave.quota == 0
    tokens = list(db.session.scalars(sa.select(Token).where(Token.user_id == dave.id)))
    assert len(tokens) == 1
    token = tokens[0]
    assert token.name == "default" and token.unlimited_quota is True
    assert token.remain_quota == -1 and token.expired_time == -1 and token.status == 1 and len(token.key) == 48
    assert client.post("/api/user/login", json={"username": "dave", "password": factories.PASSWORD}).json["success"]


def test_registration_is_refused_when_password_registration_is_off(client, root_client):
    set_option(root_client, "PasswordRegisterEnabled", "false")
    body = client.post("/api/user/register", json={"username": "dave", "password": factories.PASSWORD}).json
    assert body["success"] is False
    assert body["message"] == "管理员关闭了通过密码进行注册，请使用第三方账户验证的形式进行注册"
    assert db.session.scalar(sa.select(User).where(User.username == "dave")) is None


def test_registration_is_refused_when_registration_is_off(client, root_client):
    set_option(root_client, "RegisterEnabled", "false")
    body = client.post("/api/user/register", json={"username": "dave", "password": factories.PASSWORD}).json
    assert db.session.scalar(sa.select(User).where(User.username == "dave")) is None
    assert body["success"] is False
    # One API's controller/user.go Register: "管理员关闭了新用户注册".
    assert body["message"] == "管理员关闭了新用户注册"


def test_new_user_bonus_is_credited_and_logged(client, root_client):
    set_option(root_client, "QuotaForNewUser", "1000")
    assert client.post("/api/user/register", json={"username": "dave", "password": factories.PASSWORD}).json["success"]
    dave = db.session.scalar(sa.select(User).where(User.username == "dave"))
    assert dave.quota == 1000
    assert [row.content for row in logs_of(dave.id, LogType.SYSTEM)] == [f"新用户注册赠送 {per_unit(1000)}"]


def test_invitation_code_rewards_inviter_and_invitee_with_system_logs(client, root_client, user):
    set_option(root_client, "QuotaForInviter", "300")
    set_option(root_client, "QuotaForInvitee", "200")
    code = user.aff_code
    assert code
    body = client.post("/api/user/register",
                       json={"username": "dave", "password": factories.PASSWORD, "aff_code": code}).json
    assert body["success"] is True, body
    dave = db.session.scalar(sa.select(User).where(User.username == "dave"))
    assert dave.inviter_id == user.id and dave.quota == 200
    assert reload(user).quota == 300
    assert [r.content for r in logs_of(dave.id, LogType.SYSTEM)] == [f"使用邀请码赠送 {per_unit(200)}"]
    inviter_logs = logs_of(user.id, LogType.SYSTEM)
    assert [r.content for r in inviter_logs] == [f"邀请用户赠送 {per_unit(300)}"]
    assert inviter_logs[0].username == "alice"


def test_unknown_invitation_code_registers_without_rewards(client, root_client, user):
    set_option(root_client, "QuotaForInviter", "300")
    set_option(root_client, "QuotaForInvitee", "200")
    body = client.post("/api/user/register",
                       json={"username": "dave", "password": factories.PASSWORD, "aff_code": "zzzz"}).json
    assert body["success"] is True
    dave = db.session.scalar(sa.select(User).where(User.username == "dave"))
    assert dave.quota == 0 and not dave.inviter_id
    assert reload(user).quota == 0


def test_registration_refuses_a_taken_username(client, user):
    body = client.post("/api/user/register", json={"username": "alice", "password": factories.PASSWORD}).json
    assert body["success"] is False
    assert count_rows(User) == 2


# --- the caller's own account --------------------------------------------------------------------


def test_user_sees_own_account_without_secrets(user_client, user):
    data = user_client.get("/api/user/self").json["data"]
    assert data["id"] == user.id and data["username"] == "alice" and data["group"] == "default"
    assert data["password"] == "" and data["access_token"] == ""


def test_user_can_change_own_password_and_log_in_with_it(user_client, client, user):
    body = user_client.put("/api/user/self",
                           json={"username": "alice", "display_name": "Alice A", "password": "newpassword1"}).json
    assert body["success"] is True, body
    assert reload(user).display_name == "Alice A"
    old = client.post("/api/user/login", json={"username": "alice", "password": factories.PASSWORD}).json
    assert old["success"] is False and old["message"] == BAD_LOGIN
    assert client.post("/api/user/login", json={"username": "alice", "password": "newpassword1"}).json["success"]


def test_updating_self_without_password_keeps_the_old_one(user_client, client, user):
    body = user_client.put("/api/user/self", json={"username": "alice", "display_name": "Al", "password": ""}).json
    assert body["success"] is True
    assert client.post("/api/user/login", json={"username": "alice", "password": factories.PASSWORD}).json["success"]


def test_user_can_delete_own_account(user_client, client, user):
    assert user_client.delete("/api/user/self").json["success"] is True
    deleted = reload(user)
    assert deleted.status == 3 and deleted.username.startswith("deleted_")
    login = client.post("/api/user/login", json={"username": "alice", "password": factories.PASSWORD}).json
    assert login["success"] is False


def test_root_cannot_delete_own_account(root_client):
    body = root_client.delete("/api/user/self").json
    assert body == {"success": False, "message": "不能删除超级管理员账户"}
    root = db.session.scalar(sa.select(User).where(User.username == "root"))
    assert root.status == 1


def test_access_token_is_32_hex_and_authenticates_management_calls(user_client, app, user):
    body = user_client.get("/api/user/token").json
    token = body["data"]
    assert body["success"] is True and re.fullmatch(r"[0-9a-f]{32}", token)
    assert reload(user).access_token == token
    for header in (token, f"Bearer {token}"):
        other = app.test_client()
        me = other.get("/api/user/self", headers={"Authorization": header}).json
        assert me["success"] is True and me["data"]["username"] == "alice"


def test_regenerating_the_access_token_revokes_the_old_one(user_client, app):
    first = user_client.get("/api/user/token").json["data"]
    second = user_client.get("/api/user/token").json["data"]
    assert first != second
    refused = app.test_client().get("/api/user/self", headers={"Authorization": f"Bearer {first}"}).json
    assert refused == {"success": False, "message": "无权进行此操作，access token 无效"}


def test_affiliate_code_is_four_characters_and_stable(user_client):
    first = user_client.get("/api/user/aff").json["data"]
    assert re.fullmatch(r"[0-9A-Za-z]{4}", first)
    assert user_client.get("/api/user/aff").json["data"] == first


def test_available_models_come_from_enabled_abilities_of_the_users_group(user_client, user):
    factories.make_channel("a", models="gpt-4o,gpt-4o-mini", group="default")
    factories.make_channel("b", models="o1", group="default", status=2)
    factories.make_channel("c", models="claude-3-haiku-20240307", group="vip")
    factories.make_channel("d", models="gpt-4o,gpt-3.5-turbo", group="default,vip")
    assert user_client.get("/api/user/available_models").json["data"] == ["gpt-3.5-turbo", "gpt-4o", "gpt-4o-mini"]
    user.group = "vip"
    db.session.commit()
    assert user_client.get("/api/user/available_models").json["data"] == [
        "claude-3-haiku-20240307", "gpt-3.5-turbo", "gpt-4o"]


# --- administration ----------------------------------------------------------------------------


def test_admin_list_pages_ten_users_newest_first(root_client, app):
    made = [factories.make_user(f"user{i:02d}") for i in range(12)]
    first = root_client.get("/api/user/").json["data"]
    second = root_client.get("/api/user/?p=1").json["data"]
    assert [u["id"] for u in first] == [u.id for u in reversed(made)][:10]
    root_id = db.session.scalar(sa.select(User.id).where(User.username == "root"))
    assert [u["id"] for u in second] == [made[1].id, made[0].id, root_id]
    assert all(u["password"] == "" for u in first + second)


def test_admin_list_can_order_by_quota(root_client, app):
    for name, quota in (("low", 5), ("high", 500), ("mid", 50)):
        factories.make_user(name, quota=quota)
    names = [u["username"] for u in root_client.get("/api/user/?order=quota").json["data"]]
    assert names == ["root", "high", "mid", "low"]


def test_admin_list_leaves_out_deleted_users(root_client, user, other_user):
    assert root_client.post("/api/user/manage", json={"username": "bob", "action": "delete"}).json["success"]
    listed = [u["id"] for u in root_client.get("/api/user/").json["data"]]
    # One API's GetAllUsers filters `status != 3`.
    assert other_user.id not in listed
    assert user.id in listed


def test_admin_can_search_users_by_id_username_and_email_prefix(root_client, user, other_user):
    other_user.email = "robert@example.com"
    db.session.commit()
    by_id = root_client.get(f"/api/user/search?keyword={user.id}").json["data"]
    assert user.id in [u["id"] for u in by_id]
    assert [u["username"] for u in root_client.get("/api/user/search?keyword=ali").json["data"]] == ["alice"]
    assert [u["username"] for u in root_client.get("/api/user/search?keyword=robert@").json["data"]] == ["bob"]
    assert root_client.get("/api/user/search?keyword=zed").json["data"] == []


def test_admin_can_create_a_common_user(admin_client, client):
    body = admin_client.post("/api/user/",
                             json={"username": "carol", "password": factories.PASSWORD, "display_name": "Carol"}).json
    assert body["success"] is True, body
    carol = db.session.scalar(sa.select(User).where(User.username == "carol"))
    assert carol.role == 1 and carol.display_name == "Carol"
    assert client.post("/api/user/login", json={"username": "carol", "password": factories.PASSWORD}).json["success"]


def test_admin_cannot_create_a_user_of_own_role(admin_client):
    body = admin_client.post("/api/user/", json={"username": "carol", "password": factories.PASSWORD, "role": 10}).json
    assert body == {"success": False, "message": "无法创建权限大于等于自己的用户"}
    assert db.session.scalar(sa.select(User).where(User.username == "carol")) is None


def test_admin_cannot_view_root(admin_client):
    root_id = db.session.scalar(sa.select(User.id).where(User.username == "root"))
    body = admin_client.get(f"/api/user/{root_id}").json
    assert body == {"success": False, "message": "无权获取同级或更高等级用户的信息"}


def test_admin_quota_change_writes_a_manage_log(root_client, user):
    body = root_client.put("/api/user/", json={"id": user.id, "username": "alice", "display_name": "alice",
                                               "password": "", "group": "vip", "quota": 5000}).json
    assert body["success"] is True, body
    updated = reload(user)
    assert updated.quota == 5000 and updated.group == "vip"
    manage = logs_of(user.id, LogType.MANAGE)
    assert [row.content for row in manage] == [f"管理员将用户额度从 {per_unit(0)}修改为 {per_unit(5000)}"]


def test_admin_update_without_quota_change_writes_no_log(root_client, user):
    body = root_client.put("/api/user/", json={"id": user.id, "username": "alice", "display_name": "Ally",
                                               "password": "", "quota": 0}).json
    assert body["success"] is True
    assert reload(user).display_name == "Ally"
    assert logs_of(user.id, LogType.MANAGE) == []


def test_admin_cannot_update_another_admin(admin_client, app):
    peer = factories.make_user("peer", role=10)
    body = admin_client.put("/api/user/", json={"id": peer.id, "username": "peer", "quota": 99}).json
    assert body == {"success": False, "message": "无权更新同权限等级或更高权限等级的用户信息"}
    assert reload(peer).quota == 0


def test_root_can_promote_and_demote_a_user(root_client, user):
    promoted = root_client.post("/api/user/manage", json={"username": "alice", "action": "promote"}).json
    assert promoted["success"] is True and promoted["data"]["role"] == 10
    assert reload(user).role == 10
    demoted = root_client.post("/api/user/manage", json={"username": "alice", "action": "demote"}).json
    assert demoted["success"] is True and demoted["data"]["role"] == 1
    assert reload(user).role == 1


def test_only_root_can_promote(admin_client, user):
    body = admin_client.post("/api/user/manage", json={"username": "alice", "action": "promote"}).json
    assert body == {"success": False, "message": "普通管理员用户无法提升其他用户为管理员"}
    assert reload(user).role == 1


def test_admin_can_disable_and_enable_a_user(admin_client, user_client, client, user):
    body = admin_client.post("/api/user/manage", json={"username": "alice", "action": "disable"}).json
    assert body["success"] is True and body["data"]["status"] == 2
    assert user_client.get("/api/user/self").json == {"success": False, "message": "用户已被封禁"}
    refused = client.post("/api/user/login", json={"username": "alice", "password": factories.PASSWORD}).json
    assert refused["message"] == BAD_LOGIN
    body = admin_client.post("/api/user/manage", json={"username": "alice", "action": "enable"}).json
    assert body["success"] is True and body["data"]["status"] == 1
    assert client.post("/api/user/login", json={"username": "alice", "password": factories.PASSWORD}).json["success"]


def test_admin_can_delete_a_user_softly(admin_client, client, user):
    body = admin_client.post("/api/user/manage", json={"username": "alice", "action": "delete"}).json
    assert body["success"] is True and body["data"]["status"] == 3
    deleted = reload(user)
    assert deleted.status == 3 and re.fullmatch(r"deleted_[0-9a-f]{32}", deleted.username)
    refused = client.post("/api/user/login", json={"username": "alice", "password": factories.PASSWORD}).json
    assert refused["success"] is False and refused["message"] == BAD_LOGIN


def test_root_cannot_be_disabled(root_client):
    body = root_client.post("/api/user/manage", json={"username": "root", "action": "disable"}).json
    assert body == {"success": False, "message": "无法禁用超级管理员用户"}


def test_admin_topup_adds_quota_and_writes_a_topup_log(admin_client, user):
    body = admin_client.post("/api/topup", json={"user_id": user.id, "quota": 1234, "remark": ""}).json
    assert body["success"] is True, body
    assert reload(user).quota == 1234
    rows = logs_of(user.id, LogType.TOPUP)
    assert len(rows) == 1 and rows[0].quota == 1234 and rows[0].content == f"通过 API 充值 {per_unit(1234)}"
    assert admin_client.post("/api/topup", json={"user_id": user.id, "quota": 6, "remark": "order #7"}).json["success"]
    assert reload(user).quota == 1240
    assert logs_of(user.id, LogType.TOPUP)[-1].content == "order #7"


def test_common_user_cannot_use_admin_routes(user_client, user):
    for response in (user_client.get("/api/user/"), user_client.post("/api/topup", json={"user_id": user.id,
                                                                                          "quota": 10})):
        assert response.json == {"success": False, "message": "无权进行此操作，权限不足"}
    assert reload(user).quota == 0


# --- message language ----------------------------------------------------------------------------


def test_english_clients_get_english_messages(client, user):
    en = {"Accept-Language": "en-US,en;q=0.9"}
    body = client.post("/api/user/login", json={"username": "alice", "password": "nope-nope"}, headers=en).json
    assert body["message"] == "Wrong username or password, or the user has been banned"
    anonymous = client.get("/api/user/self", headers=en)
    assert anonymous.status_code == 401 and anonymous.json["message"] == "Not logged in and no access token provided"


def test_clients_without_a_language_get_one_api_chinese_messages(client, user):
    body = client.post("/api/user/login", json={"username": "alice", "password": "nope-nope"}).json
    assert body["message"] == BAD_LOGIN
    chinese = client.post("/api/user/login", json={"username": "alice", "password": "nope-nope"},
                          headers={"Accept-Language": "zh-CN,zh;q=0.9"}).json
    assert chinese["message"] == BAD_LOGIN
