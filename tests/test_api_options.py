"""Runtime settings through `/api/option/` (root only): write-only secrets, changes live at once, One
API's guards on enabling login features, ratio validation, and `/api/group/`."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Option, User
from tests import factories


def put(root_client, key: str, value: str) -> dict:
    return root_client.put("/api/option/", json={"key": key, "value": value}).json


def listed(root_client) -> dict[str, str]:
    body = root_client.get("/api/option/").json
    assert body["success"] is True, body
    return {row["key"]: row["value"] for row in body["data"]}


def stored(key: str) -> str | None:
    db.session.expire_all()
    row = db.session.get(Option, key)
    return None if row is None else row.value


def test_root_lists_options_with_their_values(root_client):
    options = listed(root_client)
    assert options["SystemName"] == "One API" and options["PasswordLoginEnabled"] == "true"
    assert options["QuotaPerUnit"] == "500000" and json.loads(options["GroupRatio"]) == {"default": 1, "svip": 1,
                                                                                          "vip": 1}


def test_secrets_are_stored_but_never_listed(root_client):
    assert put(root_client, "SMTPToken", "smtp-password")["success"]
    assert put(root_client, "GitHubClientSecret", "gh-secret")["success"]
    assert stored("SMTPToken") == "smtp-password" and stored("GitHubClientSecret") == "gh-secret"
    options = listed(root_client)
    assert not [key for key in options if key.endswith(("Token", "Secret"))]
    assert "smtp-password" not in options.values() and "gh-secret" not in options.values()


def test_only_root_may_read_or_change_options(admin_client):
    denied = {"success": False, "message": "无权进行此操作，权限不足"}
    assert admin_client.get("/api/option/").json == denied
    assert admin_client.put("/api/option/", json={"key": "SystemName", "value": "Mine"}).json == denied
    assert stored("SystemName") is None


def test_system_name_change_shows_in_status_at_once(root_client, client):
    assert put(root_client, "SystemName", "Acme Gateway")["success"]
    assert stored("SystemName") == "Acme Gateway"
    assert client.get("/api/status").json["data"]["system_name"] == "Acme Gateway"
    assert listed(root_client)["SystemName"] == "Acme Gateway"


def test_notice_change_shows_in_notice_at_once(root_client, client):
    assert put(root_client, "Notice", "Maintenance at **22:00**")["success"]
    assert client.get("/api/notice").json == {"success": True, "message": "", "data": "Maintenance at **22:00**"}


def test_turning_registration_off_blocks_registration(root_client, client):
    assert put(root_client, "RegisterEnabled", "false")["success"]
    body = client.post("/api/user/register", json={"username": "dave", "password": factories.PASSWORD}).json
    assert body["success"] is False
    assert db.session.scalar(sa.select(User).where(User.username == "dave")) is None
    assert put(root_client, "RegisterEnabled", "true")["success"]
    assert client.post("/api/user/register", json={"username": "dave", "password": factories.PASSWORD}).json["success"]


@pytest.mark.parametrize(("key", "message", "prepare"), [
    ("GitHubOAuthEnabled", "无法启用 GitHub OAuth，请先填入 GitHub Client Id 以及 GitHub Client Secret！", None),
    ("EmailDomainRestrictionEnabled", "无法启用邮箱域名限制，请先填入限制的邮箱域名！", ("EmailDomainWhitelist", "")),
    ("WeChatAuthEnabled", "无法启用微信登录，请先填入微信登录相关配置信息！", None),
    ("TurnstileCheckEnabled", "无法启用 Turnstile 校验，请先填入 Turnstile 校验相关配置信息！", None),
])
def test_login_features_cannot_be_enabled_without_their_settings(root_client, key, message, prepare):
    if prepare:
        assert put(root_client, *prepare)["success"]
    assert put(root_client, key, "true") == {"success": False, "message": message}
    assert stored(key) is None
    assert listed(root_client)[key] == "false"


@pytest.mark.parametrize(("key", "needed", "value"), [
    ("GitHubOAuthEnabled", "GitHubClientId", "Iv1.abc"),
    ("EmailDomainRestrictionEnabled", "EmailDomainWhitelist", "example.com"),
    ("WeChatAuthEnabled", "WeChatServerAddress", "http://127.0.0.1:3001"),
    ("TurnstileCheckEnabled", "TurnstileSiteKey", "0x4AAA"),
])
def test_login_features_can_be_enabled_once_configured(root_client, key, needed, value):
    assert put(root_client, needed, value)["success"]
    assert put(root_client, key, "true")["success"]
    assert stored(key) == "true" and listed(root_client)[key] == "true"


def test_invalid_model_ratio_is_refused_and_not_saved(root_client):
    good = json.dumps({"gpt-4o": 2.5, "my-model": 3})
    assert put(root_client, "ModelRatio", good)["success"]
    body = put(root_client, "ModelRatio", '{"gpt-4o": 2.5,')
    assert body["success"] is False and body["message"]
    assert stored("ModelRatio") == good
    assert listed(root_client)["ModelRatio"] == good


def test_group_list_follows_the_group_ratio(root_client, admin_client):
    assert sorted(admin_client.get("/api/group/").json["data"]) == ["default", "svip", "vip"]
    assert put(root_client, "GroupRatio", json.dumps({"default": 1, "gold": 0.8}))["success"]
    assert sorted(admin_client.get("/api/group/").json["data"]) == ["default", "gold"]


def test_invalid_group_ratio_keeps_the_previous_groups(root_client, admin_client):
    assert put(root_client, "GroupRatio", json.dumps({"default": 1, "gold": 0.8}))["success"]
    assert put(root_client, "GroupRatio", "not json")["success"] is False
    assert sorted(admin_client.get("/api/group/").json["data"]) == ["default", "gold"]
