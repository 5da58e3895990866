"""Redemption codes: batch creation by admins and single-use redemption by users.

Redeeming is one guarded UPDATE (`… WHERE status = 1`) checked by its row count, in the same
transaction as the quota increase, so a code sent twice at once succeeds exactly once on every engine
(One API's row lock was silently ignored by GORM v2).
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlencode, urlsplit, urlunsplit

import sqlalchemy as sa

from oneapi.errors import Invalid
from oneapi.extensions import db
from oneapi.models import LogType, Redemption, RedemptionStatus, User
from oneapi.services import logs
from oneapi.services.paging import get_by_id, id_or_prefix, page_of
from oneapi.services.quota import credit_user, describe
from oneapi.services.randomness import uuid_hex
from oneapi.services.validation import check_range

MAX_BATCH = 100


def list_redemptions(page: int) -> list[Redemption]:
    return page_of(Redemption, page)


def search_redemptions(keyword: str) -> list[Redemption]:
    return id_or_prefix(Redemption, keyword, Redemption.name)


def get_redemption(redemption_id: int) -> Redemption:
    return get_by_id(Redemption, redemption_id, "兑换码不存在")


def _check_name(name: str) -> None:
    if not 1 <= len(name.encode()) <= 20:
        raise Invalid("兑换码名称长度必须在1-20之间", field="name")


def create_batch(creator_id: int, name: str, quota: int, count: int) -> list[str]:
    _check_name(name)
    check_range("quota", quota, 0)
    if count <= 0:
        raise Invalid("兑换码个数必须大于0", field="count")
    if count > MAX_BATCH:
        raise Invalid("一次兑换码批量生成的个数不能大于 100", field="count")
    now = int(time.time())
    keys = [uuid_hex() for _ in range(count)]
    db.session.add_all(Redemption(user_id=creator_id, key=key, status=RedemptionStatus.ENABLED, name=name,
                                  quota=quota, created_time=now) for key in keys)
    db.session.commit()
    return keys


def update(redemption_id: int, name: str | None = None, quota: int | None = None,
           status: int | None = None) -> Redemption:
    redemption = get_redemption(redemption_id)
    if status is not None:
        if status not in (RedemptionStatus.ENABLED, RedemptionStatus.DISABLED):
            raise Invalid("无效的操作")
        if redemption.status == RedemptionStatus.USED:
            raise Invalid("兑换失败，该兑换码已被使用")
        redemption.status = status
    if name is not None:
        _check_name(name)
        redemption.name = name
    if quota is not None:
        redemption.quota = check_range("quota", quota, 0)
    db.session.commit()
    return redemption


def delete(redemption_id: int) -> None:
    db.session.delete(get_redemption(redemption_id))
    db.session.commit()


def redeem(user: User, key: str) -> int:
    """Spend a code for `user`; returns the quota added.

    The claiming UPDATE is the transaction's first statement: on SQLite a transaction that read first
    could not upgrade to a writer once another writer committed.
    """
    key = key.strip()
    if not key:
        raise Invalid("未提供兑换码", field="key")
    if len(key) > 32:
        raise Invalid("兑换失败，无效的兑换码", field="key")
    claimed = db.session.execute(
        sa.update(Redemption)
        .where(Redemption.key == key, Redemption.status == RedemptionStatus.ENABLED)
        .values(status=RedemptionStatus.USED, redeemed_time=int(time.time()))
        .execution_options(synchronize_session=False)
    )
    redemption = db.session.scalar(sa.select(Redemption).where(Redemption.key == key))
    if claimed.rowcount != 1 or redemption is None:
        db.session.rollback()
        raise Invalid(_refusal(redemption), field="key")
    quota = redemption.quota or 0
    credit_user(user.id, quota)
    logs.record(user.id, LogType.TOPUP, f"通过兑换码充值 {describe(quota)}", username=user.username, quota=quota)
    db.session.commit()
    return quota


def _refusal(redemption: Redemption | None) -> str:
    if redemption is None:
        return "兑换失败，无效的兑换码"
    if redemption.status == RedemptionStatus.DISABLED:
        return "兑换失败，该兑换码已被禁用"
    return "兑换失败，该兑换码已被使用"


def topup_link(base: str, user: User, transaction_id: str | None = None) -> str:
    """The TopUpLink option with `username`, `user_id` and `transaction_id` (a fresh random UUID) added to
    its query, as One API's top-up page opens it for an external payment page (docs/API.md)."""
    parts = urlsplit(base.strip())
    extra = urlencode({"username": user.username, "user_id": user.id,
                       "transaction_id": transaction_id or str(uuid.uuid4())})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))
