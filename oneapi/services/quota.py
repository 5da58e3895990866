"""Quota amounts: how log texts show them (One API's `LogQuota`) and crediting them safely."""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.errors import Invalid, NotFound
from oneapi.extensions import db
from oneapi.models import User, UserStatus
from oneapi.services import options


def per_unit() -> float:
    """QuotaPerUnit: how much quota one US dollar buys (One API's 500000 when unset or zero)."""
    return options.get_float("QuotaPerUnit") or 500000


def describe(quota: int) -> str:
    if options.get_bool("DisplayInCurrencyEnabled"):
        return f"＄{quota / per_unit():.6f} 额度"
    return f"{quota} 点额度"


MAX_QUOTA = (1 << 63) - 1


def credit_user(user_id: int, amount: int) -> None:
    """Add `amount` to a user's quota in one guarded statement, in the caller's transaction.

    The guard keeps the balance inside a 64-bit column (SQLite would silently turn it into a float,
    PostgreSQL and MySQL would fail); a user who is missing or would overflow raises.
    """
    result = db.session.execute(
        sa.update(User)
        .where(User.id == user_id, User.status != UserStatus.DELETED, User.quota <= MAX_QUOTA - amount)
        .values(quota=User.quota + amount)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        exists = db.session.scalar(sa.select(User.id).where(User.id == user_id, User.status != UserStatus.DELETED))
        db.session.rollback()
        raise Invalid("额度超出上限") if exists else NotFound("用户不存在")
