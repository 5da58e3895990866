"""Charging relay requests: reserve before the upstream call, settle after it, refund on failure.

Every balance change is a guarded UPDATE whose row count is checked (`… WHERE quota >= :amount`):
concurrent requests can neither lose a charge nor push a user's or a key's balance below zero. There
is no "trusted user" shortcut (One API skipped the reservation for rich users and let balances go
negative). When a request costs more than it reserved and the balance cannot cover all of it, the
rest is charged as far as the balance goes and the log records exactly what was taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Channel, Token, User
from oneapi.relay.errors import LocalError
from oneapi.services import usage_batch

MAX_SETTLE_ROUNDS = 5


@dataclass(frozen=True)
class Payer:
    user_id: int
    token_id: int
    unlimited: bool


def reserve(payer: Payer, amount: int) -> int:
    """Take `amount` from the user and (unless unlimited) from the key, all or nothing."""
    if amount <= 0:
        return 0
    if _take_user(payer.user_id, amount) != amount:
        db.session.rollback()
        raise LocalError(403, "user quota is not enough", code="insufficient_user_quota")
    if _take_token(payer, amount) != amount:
        db.session.rollback()
        raise LocalError(403, "令牌额度不足", code="pre_consume_token_quota_failed")
    db.session.commit()
    return amount


def refund(payer: Payer, amount: int) -> None:
    """Give back a reservation whose request failed."""
    if amount > 0:
        _give(payer, amount)
        db.session.commit()


def settle(payer: Payer, reserved: int, cost: int) -> int:
    """Turn a reservation into the final charge (in the caller's transaction); returns what was charged."""
    if cost <= reserved:
        _give(payer, reserved - cost)
        return cost
    return reserved + _take_partial(payer, cost - reserved)


def record_use(user_id: int, channel_id: int, quota: int) -> None:
    """The user's and the channel's used quota and request count (in the caller's transaction, or
    gathered for the next batch write with BATCH_UPDATE_ENABLED)."""
    pending = usage_batch.batch()
    if pending is not None:
        pending.add(user_id, channel_id, quota)
        return
    db.session.execute(sa.update(User).where(User.id == user_id).values(
        used_quota=User.used_quota + quota, request_count=User.request_count + 1))
    if channel_id:
        db.session.execute(sa.update(Channel).where(Channel.id == channel_id).values(
            used_quota=Channel.used_quota + quota))


def _take_user(user_id: int, amount: int) -> int:
    result = db.session.execute(
        sa.update(User).where(User.id == user_id, User.quota >= amount).values(quota=User.quota - amount)
        .execution_options(synchronize_session=False))
    return amount if result.rowcount == 1 else 0


def _take_token(payer: Payer, amount: int) -> int:
    values = {"used_quota": Token.used_quota + amount}
    condition = Token.id == payer.token_id
    if not payer.unlimited:
        values["remain_quota"] = Token.remain_quota - amount
        condition = sa.and_(condition, Token.remain_quota >= amount)
    result = db.session.execute(sa.update(Token).where(condition).values(**values)
                                .execution_options(synchronize_session=False))
    return amount if result.rowcount == 1 or payer.unlimited else 0


def _give(payer: Payer, amount: int) -> None:
    if amount <= 0:
        return
    db.session.execute(sa.update(User).where(User.id == payer.user_id).values(quota=User.quota + amount)
                       .execution_options(synchronize_session=False))
    values = {"used_quota": Token.used_quota - amount}
    if not payer.unlimited:
        values["remain_quota"] = Token.remain_quota + amount
    db.session.execute(sa.update(Token).where(Token.id == payer.token_id).values(**values)
                       .execution_options(synchronize_session=False))


def _take_partial(payer: Payer, wanted: int) -> int:
    """Take up to `wanted` from both balances; returns the amount actually taken from both."""
    from_user = _take_user_up_to(payer.user_id, wanted)
    if from_user == 0:
        return 0
    taken = from_user if payer.unlimited else _take_token_up_to(payer, from_user)
    if taken < from_user:
        db.session.execute(sa.update(User).where(User.id == payer.user_id)
                           .values(quota=User.quota + (from_user - taken))
                           .execution_options(synchronize_session=False))
    if payer.unlimited:
        _take_token(payer, taken)
    return taken


def _take_user_up_to(user_id: int, wanted: int) -> int:
    for _ in range(MAX_SETTLE_ROUNDS):
        if _take_user(user_id, wanted) == wanted:
            return wanted
        wanted = max(0, db.session.scalar(sa.select(User.quota).where(User.id == user_id)) or 0)
        if wanted == 0:
            return 0
    return 0


def _take_token_up_to(payer: Payer, wanted: int) -> int:
    for _ in range(MAX_SETTLE_ROUNDS):
        if _take_token(payer, wanted) == wanted:
            return wanted
        wanted = max(0, db.session.scalar(sa.select(Token.remain_quota).where(Token.id == payer.token_id)) or 0)
        if wanted == 0:
            return 0
    return 0
