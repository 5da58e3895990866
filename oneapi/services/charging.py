"""The balance statements of billing: holds taken before an upstream call, the final charge, refunds.

Taking is guarded (`UPDATE … WHERE quota >= :guard`, rows checked), so concurrent requests can never
take a hold a balance does not cover, and a user or key at or below zero is refused: the guard is
never below 1. The final charge is not guarded: what was delivered is charged in full, and a balance
that the answer overran goes below zero (a debt that the next top-up pays first). The key's
`remain_quota` is the user's own budget for that key: it refuses further requests when spent, it
never lowers a charge (the README's billing policy says how far below zero a balance can go).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Channel, Token, User
from oneapi.services import usage_batch


@dataclass(frozen=True)
class Payer:
    user_id: int
    token_id: int
    unlimited: bool


class InsufficientQuota(Exception):
    """The user's balance (`payer == "user"`) or the key's (`"token"`) cannot cover a hold."""

    def __init__(self, payer: str) -> None:
        super().__init__(f"{payer} quota is not enough")
        self.payer = payer


def reserve(payer: Payer, amount: int) -> int:
    """Take `amount` (≥ 0) from the user and, unless unlimited, from the key, all or nothing, and commit.

    Either balance must be at least max(amount, 1): nothing is served to a payer without money, even
    a free model. Raises InsufficientQuota.
    """
    short = _take(payer, amount)
    if short:
        db.session.rollback()
        raise InsufficientQuota(short)
    db.session.commit()
    return amount


def extend(payer: Payer, amount: int) -> int:
    """Take up to `amount` more for a request already holding quota (a long stream), as much as both
    balances cover; commits and returns what was taken (0 when either balance is spent)."""
    for _ in range(MAX_EXTEND_ROUNDS):
        if amount <= 0:
            return 0
        if not _take(payer, amount):
            db.session.commit()
            return amount
        db.session.rollback()
        # What is left now; another request may take it first, hence the rounds.
        amount = min(amount, user_quota(payer.user_id), amount if payer.unlimited else _token_remain(payer.token_id))
    db.session.rollback()
    return 0


def refund(payer: Payer, amount: int) -> None:
    """Give back a hold whose request failed, and commit."""
    if amount > 0:
        _run(GIVE_USER, uid=payer.user_id, amt=amount)
        _run(GIVE_UNLIMITED_TOKEN if payer.unlimited else GIVE_TOKEN, tid=payer.token_id, amt=amount)
        db.session.commit()


def charge(payer: Payer, held: int, cost: int, channel_id: int) -> None:
    """Turn a hold into the final charge `cost` and count the use, in the caller's transaction.

    The difference goes back (cost < held) or is taken unguarded (cost > held); one statement per
    table, which is the relay's hot path. With BATCH_UPDATE_ENABLED the counters are gathered instead.
    """
    back = held - cost
    pending = usage_batch.batch()
    if pending is None:
        _run(SETTLE_AND_COUNT_USER, uid=payer.user_id, back=back, amt=cost)
        if channel_id:
            _run(COUNT_CHANNEL_USE, cid=channel_id, amt=cost)
    else:
        if back:
            _run(GIVE_USER, uid=payer.user_id, amt=back)
        pending.add(payer.user_id, channel_id, cost)
    if back:
        _run(GIVE_UNLIMITED_TOKEN if payer.unlimited else GIVE_TOKEN, tid=payer.token_id, amt=back)


# Core statements, compiled once and cached by SQLAlchemy: this is the relay's hot path, and the
# ORM's bulk-update machinery cost several times more per statement.
_users, _tokens, _channels = User.__table__, Token.__table__, Channel.__table__
_amount, _guard, _uid, _tid = sa.bindparam("amt"), sa.bindparam("guard"), sa.bindparam("uid"), sa.bindparam("tid")
TAKE_USER = sa.update(_users).where(_users.c.id == _uid, _users.c.quota >= _guard).values(
    quota=_users.c.quota - _amount)
GIVE_USER = sa.update(_users).where(_users.c.id == _uid).values(quota=_users.c.quota + _amount)
TAKE_TOKEN = sa.update(_tokens).where(_tokens.c.id == _tid, _tokens.c.remain_quota >= _guard).values(
    remain_quota=_tokens.c.remain_quota - _amount, used_quota=_tokens.c.used_quota + _amount)
TAKE_UNLIMITED_TOKEN = sa.update(_tokens).where(_tokens.c.id == _tid).values(
    used_quota=_tokens.c.used_quota + _amount)
GIVE_TOKEN = sa.update(_tokens).where(_tokens.c.id == _tid).values(
    remain_quota=_tokens.c.remain_quota + _amount, used_quota=_tokens.c.used_quota - _amount)
GIVE_UNLIMITED_TOKEN = sa.update(_tokens).where(_tokens.c.id == _tid).values(
    used_quota=_tokens.c.used_quota - _amount)
SETTLE_AND_COUNT_USER = sa.update(_users).where(_users.c.id == _uid).values(
    quota=_users.c.quota + sa.bindparam("back"), used_quota=_users.c.used_quota + _amount,
    request_count=_users.c.request_count + 1)
COUNT_CHANNEL_USE = sa.update(_channels).where(_channels.c.id == sa.bindparam("cid")).values(
    used_quota=_channels.c.used_quota + _amount)
USER_QUOTA = sa.select(_users.c.quota).where(_users.c.id == _uid)
TOKEN_REMAIN = sa.select(_tokens.c.remain_quota).where(_tokens.c.id == _tid)
MAX_EXTEND_ROUNDS = 4
MAX_QUOTA = (1 << 63) - 1


def _run(statement: sa.Executable, **params: int) -> int:
    return db.session.connection().execute(statement, params).rowcount


def _take(payer: Payer, amount: int) -> str:
    """Take from both balances in the open transaction; the name of the one that fell short, or ""."""
    if amount > MAX_QUOTA:
        return "user"  # no balance column holds that much (and the statement would fail on it)
    guard = max(amount, 1)
    if _run(TAKE_USER, uid=payer.user_id, amt=amount, guard=guard) != 1:
        return "user"
    if payer.unlimited:
        _run(TAKE_UNLIMITED_TOKEN, tid=payer.token_id, amt=amount)
    elif _run(TAKE_TOKEN, tid=payer.token_id, amt=amount, guard=guard) != 1:
        return "token"
    return ""


def user_quota(user_id: int) -> int:
    """The user's balance as the database has it now."""
    return int(db.session.connection().execute(USER_QUOTA, {"uid": user_id}).scalar() or 0)


def _token_remain(token_id: int) -> int:
    return int(db.session.connection().execute(TOKEN_REMAIN, {"tid": token_id}).scalar() or 0)
