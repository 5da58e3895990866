"""API keys through `/api/token…`: creation, listing orders, search, edits, status changes with One
API's refusals for expired and exhausted keys, and deletion; always scoped to the caller."""

from __future__ import annotations

import re
import time

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Token
from tests import factories

EXPIRED = "令牌已过期，无法启用，请先修改令牌过期时间，或者设置为永不过期"
EXHAUSTED = "令牌可用额度已用尽，无法启用，请先修改令牌剩余额度，或者设置为无限额度"



def stored(token_id: int) -> Token | None:
    db.session.expire_all()
    return db.session.get(Token, token_id)


def names(response) -> list[str]:
    body = response.json
    assert body["success"] is True, body
    return [t["name"] for t in body["data"]]


def test_user_can_create_a_token_and_gets_its_generated_key(user_client, user):
    body = user_client.post("/api/token/", json={"name": "ci", "remain_quota": 500, "expired_time": -1,
                                                 "unlimited_quota": False, "models": "gpt-4o",
                                                 "subnet": "10.0.0.0/8"}).json
    assert body["success"] is True, body
    data = body["data"]
    assert re.fullmatch(r"[0-9A-Za-z]{48}", data["key"])
    assert data["name"] == "ci" and data["remain_quota"] == 500 and data["status"] == 1
    row = stored(data["id"])
    assert row.key == data["key"] and row.user_id == user.id
    assert row.models == "gpt-4o" and row.subnet == "10.0.0.0/8" and row.expired_time == -1
    assert row.created_time == row.accessed_time and abs(row.created_time - time.time()) < 60


def test_each_created_token_gets_a_different_key(user_client):
    keys = {user_client.post("/api/token/", json={"name": f"k{i}"}).json["data"]["key"] for i in range(3)}
    assert len(keys) == 3


def test_token_name_longer_than_30_bytes_is_refused(user_client, user):
    body = user_client.post("/api/token/", json={"name": "令牌" * 6}).json  # 36 bytes
    assert body["success"] is False
    # One API's controller/token.go: fmt.Sprintf("参数错误：%s", "令牌名称过长").
    assert body["message"] == "参数错误：令牌名称过长"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Token).where(Token.user_id == user.id)) == 1


def test_invalid_subnet_is_refused(user_client, user):
    body = user_client.post("/api/token/", json={"name": "net", "subnet": "10.0.0.300/8"}).json
    assert body["success"] is False and "无效的网段" in body["message"]


def test_token_list_shows_only_own_tokens_newest_first_ten_per_page(user_client, user, other_user):
    factories.make_token(other_user, "bobs")
    made = [factories.make_token(user, f"t{i:02d}") for i in range(11)]
    first = user_client.get("/api/token/").json["data"]
    second = user_client.get("/api/token/?p=1").json["data"]
    assert [t["id"] for t in first] == [t.id for t in reversed(made)][:10]
    assert [t["name"] for t in second] == ["t00", "default"]
    assert all(t["user_id"] == user.id for t in first + second)
    assert first[0]["key"] == made[-1].key


def test_remain_quota_order_puts_unlimited_tokens_first(user_client, user):
    db.session.execute(sa.delete(Token).where(Token.user_id == user.id))
    db.session.commit()
    factories.make_token(user, "small", remain_quota=100)
    factories.make_token(user, "unlimited", remain_quota=0, unlimited_quota=True)
    factories.make_token(user, "large", remain_quota=900)
    assert names(user_client.get("/api/token/?order=remain_quota")) == ["unlimited", "large", "small"]
    assert names(user_client.get("/api/token/")) == ["large", "unlimited", "small"]


def test_used_quota_order_puts_the_heaviest_user_first(user_client, user):
    db.session.execute(sa.delete(Token).where(Token.user_id == user.id))
    db.session.commit()
    factories.make_token(user, "mid", used_quota=50)
    factories.make_token(user, "top", used_quota=500)
    factories.make_token(user, "idle", used_quota=0)
    assert names(user_client.get("/api/token/?order=used_quota")) == ["top", "mid", "idle"]


def test_search_matches_own_tokens_by_name_prefix(user_client, user, other_user):
    factories.make_token(user, "prod-a")
    factories.make_token(user, "prod-b")
    factories.make_token(user, "dev-prod")
    factories.make_token(other_user, "prod-bob")
    assert sorted(names(user_client.get("/api/token/search?keyword=prod"))) == ["prod-a", "prod-b"]
    assert names(user_client.get("/api/token/search?keyword=nothing")) == []


def test_user_can_get_an_own_token_but_not_someone_elses(user_client, user, other_user):
    mine = factories.make_token(user, "mine", remain_quota=77)
    theirs = factories.make_token(other_user, "theirs")
    body = user_client.get(f"/api/token/{mine.id}").json
    assert body["success"] is True and body["data"]["name"] == "mine" and body["data"]["remain_quota"] == 77
    refused = user_client.get(f"/api/token/{theirs.id}").json
    assert refused["success"] is False and "data" not in refused


def test_full_update_changes_every_editable_field_but_not_the_status(user_client, user):
    token = factories.make_token(user, "old", remain_quota=10)
    key = token.key
    future = int(time.time()) + 86400
    body = user_client.put("/api/token/", json={
        "id": token.id, "name": "renamed", "expired_time": future, "remain_quota": 42, "unlimited_quota": False,
        "models": "gpt-4o,gpt-4o-mini", "subnet": "192.168.0.0/24", "status": 2}).json
    assert body["success"] is True, body
    assert body["data"]["name"] == "renamed"
    row = stored(token.id)
    assert (row.name, row.expired_time, row.remain_quota, row.unlimited_quota) == ("renamed", future, 42, False)
    assert row.models == "gpt-4o,gpt-4o-mini" and row.subnet == "192.168.0.0/24"
    assert row.status == 1 and row.key == key


def test_user_cannot_update_someone_elses_token(user_client, other_user):
    theirs = factories.make_token(other_user, "theirs")
    body = user_client.put("/api/token/", json={"id": theirs.id, "name": "hijacked"}).json
    assert body["success"] is False
    assert stored(theirs.id).name == "theirs"
    body = user_client.put("/api/token/?status_only=true", json={"id": theirs.id, "status": 2}).json
    assert body["success"] is False
    assert stored(theirs.id).status == 1


def test_status_only_update_disables_and_re_enables_a_token(user_client, user):
    token = factories.make_token(user, "toggle", remain_quota=10, expired_time=int(time.time()) + 3600)
    body = user_client.put("/api/token/?status_only=true", json={"id": token.id, "status": 2}).json
    assert body["success"] is True and body["data"]["status"] == 2
    assert stored(token.id).status == 2
    body = user_client.put("/api/token/?status_only=true", json={"id": token.id, "status": 1}).json
    assert body["success"] is True and stored(token.id).status == 1
    assert stored(token.id).name == "toggle" and stored(token.id).remain_quota == 10


def test_expired_token_cannot_be_re_enabled_until_its_expiry_changes(user_client, user):
    token = factories.make_token(user, "old", status=3, expired_time=int(time.time()) - 60)
    body = user_client.put("/api/token/?status_only=true", json={"id": token.id, "status": 1}).json
    assert body == {"success": False, "message": EXPIRED}
    assert stored(token.id).status == 3
    assert user_client.put("/api/token/", json={"id": token.id, "name": "old", "expired_time": -1,
                                                 "remain_quota": 1000}).json["success"]
    body = user_client.put("/api/token/?status_only=true", json={"id": token.id, "status": 1}).json
    assert body["success"] is True and stored(token.id).status == 1


def test_exhausted_token_cannot_be_re_enabled_until_its_quota_changes(user_client, user):
    token = factories.make_token(user, "dry", status=4, remain_quota=0)
    body = user_client.put("/api/token/?status_only=true", json={"id": token.id, "status": 1}).json
    assert body == {"success": False, "message": EXHAUSTED}
    assert stored(token.id).status == 4
    assert user_client.put("/api/token/", json={"id": token.id, "name": "dry", "expired_time": -1,
                                                 "remain_quota": 0, "unlimited_quota": True}).json["success"]
    body = user_client.put("/api/token/?status_only=true", json={"id": token.id, "status": 1}).json
    assert body["success"] is True and stored(token.id).status == 1


def test_english_clients_get_the_expired_refusal_in_english(user_client, user):
    token = factories.make_token(user, "old", status=3, expired_time=int(time.time()) - 60)
    body = user_client.put("/api/token/?status_only=true", json={"id": token.id, "status": 1},
                           headers={"Accept-Language": "en-US"}).json
    assert body["success"] is False
    assert body["message"] == "The token has expired and cannot be enabled; change its expiry first"


def test_user_can_delete_an_own_token_only(user_client, user, other_user):
    mine = factories.make_token(user, "mine")
    theirs = factories.make_token(other_user, "theirs")
    assert user_client.delete(f"/api/token/{mine.id}").json["success"] is True
    assert stored(mine.id) is None
    assert user_client.delete(f"/api/token/{theirs.id}").json["success"] is False
    assert stored(theirs.id) is not None
