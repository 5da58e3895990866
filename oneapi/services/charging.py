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


def settle_and_count(payer: Payer, reserved: int, cost: int, channel_id: int) -> int:
    """`settle` then `record_use`, with the user's refund and usage counters in one statement when the
    reservation covered the cost (the common case: the relay's hot path)."""
    if cost > reserved or usage_batch.batch() is not None:
        charged = settle(payer, reserved, cost)
        record_use(payer.user_id, channel_id, charged)
        return charged
    _run(GIVE_AND_COUNT_USER, uid=payer.user_id, back=reserved - cost, amt=cost)
    if reserved > cost:
        _run(GIVE_UNLIMITED_TOKEN if payer.unlimited else GIVE_TOKEN, tid=payer.token_id, amt=reserved - cost)
    if channel_id:
        _run(COUNT_CHANNEL_USE, cid=channel_id, amt=cost)
    return cost


def record_use(user_id: int, channel_id: int, quota: int) -> None:
    """The user's and the channel's used quota and request count (in the caller's transaction, or
    gathered for the next batch write with BATCH_UPDATE_ENABLED)."""
    pending = usage_batch.batch()
    if pending is not None:
        pending.add(user_id, channel_id, quota)
        return
    _run(COUNT_USER_USE, uid=user_id, amt=quota)
    if channel_id:
        _run(COUNT_CHANNEL_USE, cid=channel_id, amt=quota)


# Core statements, compiled once and cached by SQLAlchemy: this is the relay's hot path, and the
# ORM's bulk-update machinery cost several times more per statement.
_users, _tokens, _channels = User.__table__, Token.__table__, Channel.__table__
_amount, _uid, _tid = sa.bindparam("amt"), sa.bindparam("uid"), sa.bindparam("tid")
TAKE_USER = sa.update(_users).where(_users.c.id == _uid, _users.c.quota >= _amount).values(
    quota=_users.c.quota - _amount)
GIVE_USER = sa.update(_users).where(_users.c.id == _uid).values(quota=_users.c.quota + _amount)
TAKE_TOKEN = sa.update(_tokens).where(_tokens.c.id == _tid, _tokens.c.remain_quota >= _amount).values(
    remain_quota=_tokens.c.remain_quota - _amount, used_quota=_tokens.c.used_quota + _amount)
TAKE_UNLIMITED_TOKEN = sa.update(_tokens).where(_tokens.c.id == _tid).values(
    used_quota=_tokens.c.used_quota + _amount)
GIVE_TOKEN = sa.update(_tokens).where(_tokens.c.id == _tid).values(
    remain_quota=_tokens.c.remain_quota + _amount, used_quota=_tokens.c.used_quota - _amount)
GIVE_UNLIMITED_TOKEN = sa.update(_tokens).where(_tokens.c.id == _tid).values(
    used_quota=_tokens.c.used_quota - _amount)
COUNT_USER_USE = sa.update(_users).where(_users.c.id == _uid).values(
    used_quota=_users.c.used_quota + _amount, request_count=_users.c.request_count + 1)
GIVE_AND_COUNT_USER = sa.update(_users).where(_users.c.id == _uid).values(
    quota=_users.c.quota + sa.bindparam("back"), used_quota=_users.c.used_quota + _amount,
    request_count=_users.c.request_count + 1)
COUNT_CHANNEL_USE = sa.update(_channels).where(_channels.c.id == sa.bindparam("cid")).values(
    used_quota=_channels.c.used_quota + _amount)
USER_QUOTA = sa.select(_users.c.quota).where(_users.c.id == _uid)
TOKEN_REMAIN = sa.select(_tokens.c.remain_quota).where(_tokens.c.id == _tid)


def _run(statement: sa.Executable, **params: int) -> int:
    return db.session.connection().execute(statement, params).rowcount


def _take_user(user_id: int, amount: int) -> int:
    return amount if _run(TAKE_USER, uid=user_id, amt=amount) == 1 else 0


def _take_token(payer: Payer, amount: int) -> int:
    if payer.unlimited:
        _run(TAKE_UNLIMITED_TOKEN, tid=payer.token_id, amt=amount)
        return amount
    return amount if _run(TAKE_TOKEN, tid=payer.token_id, amt=amount) == 1 else 0


def _give(payer: Payer, amount: int) -> None:
    if amount <= 0:
        return
    _run(GIVE_USER, uid=payer.user_id, amt=amount)
    _run(GIVE_UNLIMITED_TOKEN if payer.unlimited else GIVE_TOKEN, tid=payer.token_id, amt=amount)


def _take_partial(payer: Payer, wanted: int) -> int:
    """Take up to `wanted` from both balances; returns the amount actually taken from both."""
    from_user = _take_user_up_to(payer.user_id, wanted)
    if from_user == 0:
        return 0
    taken = _take_token(payer, from_user) if payer.unlimited else _take_token_up_to(payer, from_user)
    if taken < from_user:
        _run(GIVE_USER, uid=payer.user_id, amt=from_user - taken)
    return taken


def _take_user_up_to(user_id: int, wanted: int) -> int:
    for _ in range(MAX_SETTLE_ROUNDS):
        if _take_user(user_id, wanted) == wanted:
            return wanted
        wanted = max(0, db.session.connection().execute(USER_QUOTA, {"uid": user_id}).scalar() or 0)
        if wanted == 0:
            return 0
    return 0


def _take_token_up_to(payer: Payer, wanted: int) -> int:
    for _ in range(MAX_SETTLE_ROUNDS):
        if _take_token(payer, wanted) == wanted:
            return wanted
        wanted = max(0, db.session.connection().execute(TOKEN_REMAIN, {"tid": payer.token_id}).scalar() or 0)
        if wanted == 0:
            return 0
    return 0
