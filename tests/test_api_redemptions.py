"""Redemption codes through `/api/redemption…` (admins) and `/api/user/topup` (users): batch creation,
name and count rules, listing, status changes, and single-use redemption, also under concurrency."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log, LogType, Redemption, User
from tests import factories
from tests.conftest import count_rows

USED = "兑换失败，该兑换码已被使用"
CONCURRENT_REDEEMERS = 20



def fresh() -> None:
    """Forget this session's snapshot, so rows committed by other connections are seen."""
    db.session.rollback()
    db.session.expire_all()


def quota_of(user_id: int) -> int:
    fresh()
    return db.session.scalar(sa.select(User.quota).where(User.id == user_id))


def topup_logs() -> list[Log]:
    fresh()
    return list(db.session.scalars(sa.select(Log).where(Log.type == LogType.TOPUP)))


def test_admin_creates_a_batch_of_distinct_32_hex_codes(admin_client, admin):
    body = admin_client.post("/api/redemption/", json={"name": "promo", "quota": 5000, "count": 7}).json
    assert body["success"] is True, body
    keys = body["data"]
    assert len(keys) == 7 and len(set(keys)) == 7
    assert all(re.fullmatch(r"[0-9a-f]{32}", k) for k in keys)
    rows = list(db.session.scalars(sa.select(Redemption)))
    assert sorted(r.key for r in rows) == sorted(keys)
    assert all(r.name == "promo" and r.quota == 5000 and r.status == 1 and r.user_id == admin.id for r in rows)


@pytest.mark.parametrize("name", ["", "x" * 21, "七个汉字的名字"], ids=["empty", "21-ascii", "21-bytes-utf8"])
def test_code_names_must_be_1_to_20_bytes(admin_client, name):
    body = admin_client.post("/api/redemption/", json={"name": name, "quota": 10, "count": 1}).json
    assert body["success"] is False
    assert count_rows(Redemption) == 0
    # One API's controller/redemption.go answers both cases with this message.
    assert body["message"] == "兑换码名称长度必须在1-20之间"


def test_a_20_character_name_is_accepted(admin_client):
    assert admin_client.post("/api/redemption/", json={"name": "n" * 20, "quota": 10, "count": 1}).json["success"]
    assert count_rows(Redemption) == 1


@pytest.mark.parametrize(("count", "message"), [
    (0, "兑换码个数必须大于0"),
    (101, "一次兑换码批量生成的个数不能大于 100"),
])
def test_batch_size_must_be_1_to_100(admin_client, count, message):
    body = admin_client.post("/api/redemption/", json={"name": "promo", "quota": 10, "count": count}).json
    assert body == {"success": False, "message": message}
    assert count_rows(Redemption) == 0


def test_admin_lists_searches_and_gets_codes(admin_client, admin):
    made = [factories.make_redemption(admin, name=f"spring{i:02d}") for i in range(11)]
    other = factories.make_redemption(admin, name="autumn")
    first = admin_client.get("/api/redemption/").json["data"]
    second = admin_client.get("/api/redemption/?p=1").json["data"]
    assert [r["id"] for r in first] == [other.id] + [r.id for r in reversed(made)][:9]
    assert [r["name"] for r in second] == ["spring01", "spring00"]
    found = admin_client.get("/api/redemption/search?keyword=spring").json["data"]
    assert len(found) == 11 and {r["name"][:6] for r in found} == {"spring"}
    by_id = admin_client.get(f"/api/redemption/search?keyword={other.id}").json["data"]
    assert other.id in [r["id"] for r in by_id]
    shown = admin_client.get(f"/api/redemption/{other.id}").json
    assert shown["success"] is True and shown["data"]["key"] == other.key and shown["data"]["quota"] == 1000


def test_admin_can_edit_and_delete_a_code(admin_client, admin):
    code = factories.make_redemption(admin, name="old", quota=10)
    body = admin_client.put("/api/redemption/", json={"id": code.id, "name": "new", "quota": 99}).json
    assert body["success"] is True and body["data"]["name"] == "new" and body["data"]["quota"] == 99
    assert admin_client.delete(f"/api/redemption/{code.id}").json["success"] is True
    assert count_rows(Redemption) == 0


def test_disabled_code_cannot_be_redeemed(admin_client, user_client, admin, user):
    code = factories.make_redemption(admin, quota=700)
    body = admin_client.put("/api/redemption/?status_only=true", json={"id": code.id, "status": 2}).json
    assert body["success"] is True and body["data"]["status"] == 2
    refused = user_client.post("/api/user/topup", json={"key": code.key}).json
    assert refused["success"] is False and refused["message"].startswith("兑换失败，")
    assert quota_of(user.id) == 0 and topup_logs() == []


def test_redeeming_adds_the_quota_once_and_logs_a_topup(user_client, admin, user):
    code = factories.make_redemption(admin, quota=2500)
    body = user_client.post("/api/user/topup", json={"key": code.key}).json
    assert body == {"success": True, "message": "", "data": 2500}
    assert quota_of(user.id) == 2500
    redeemed = db.session.get(Redemption, code.id)
    assert redeemed.status == 3 and redeemed.redeemed_time > 0
    logs = topup_logs()
    assert len(logs) == 1 and logs[0].user_id == user.id and logs[0].content == "通过兑换码充值 ＄0.005000 额度"
    again = user_client.post("/api/user/topup", json={"key": code.key}).json
    assert again == {"success": False, "message": USED}
    assert quota_of(user.id) == 2500 and len(topup_logs()) == 1


def test_used_code_is_refused_for_another_user_too(user_client, app, admin, user, other_user):
    code = factories.make_redemption(admin, quota=300)
    assert user_client.post("/api/user/topup", json={"key": code.key}).json["success"]
    bob = app.test_client()
    factories.login(bob, "bob", factories.PASSWORD)
    assert bob.post("/api/user/topup", json={"key": code.key}).json == {"success": False, "message": USED}
    assert quota_of(other_user.id) == 0


def test_unknown_code_is_refused(user_client, user):
    body = user_client.post("/api/user/topup", json={"key": "0" * 32}).json
    assert body == {"success": False, "message": "兑换失败，无效的兑换码"}


def test_a_code_redeemed_concurrently_succeeds_exactly_once(app, admin):
    """20 users send the same code at the same moment: one wins, the quota is added once."""
    code = factories.make_redemption(admin, quota=4321)
    key, code_id = code.key, code.id
    redeemers = []
    for i in range(CONCURRENT_REDEEMERS):
        user = factories.make_user(f"racer{i:02d}")
        client = app.test_client()
        factories.login(client, user.username, factories.PASSWORD)
        redeemers.append((user.id, client))
    db.session.commit()
    start = threading.Barrier(CONCURRENT_REDEEMERS)

    def redeem(client):
        start.wait(timeout=30)
        return client.post("/api/user/topup", json={"key": key}).json

    with ThreadPoolExecutor(max_workers=CONCURRENT_REDEEMERS) as pool:
        answers = list(pool.map(redeem, [c for _, c in redeemers]))

    winners = [a for a in answers if a["success"]]
    assert len(winners) == 1, answers
    assert winners[0]["data"] == 4321
    assert all(a["message"] == USED for a in answers if not a["success"]), answers
    ids = [uid for uid, _ in redeemers]
    fresh()
    quotas = dict(db.session.execute(sa.select(User.id, User.quota).where(User.id.in_(ids))).all())
    assert sum(quotas.values()) == 4321 and sorted(quotas.values())[-1] == 4321
    assert db.session.get(Redemption, code_id).status == 3
    logs = topup_logs()
    assert len(logs) == 1 and logs[0].quota == 4321 and quotas[logs[0].user_id] == 4321
