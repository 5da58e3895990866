"""Password hashing compatible with One API: bcrypt, cost 10, written with Go's `$2a$` prefix so a
database can move back to One API, and verifying `$2a$`/`$2b$`/`$2y$` hashes alike."""

from __future__ import annotations

import uuid

import bcrypt

COST = 10


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=COST, prefix=b"2a")).decode()


def check_password(password: str, hashed: str | None) -> bool:
    if not hashed or not password:
        return False
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        # Not a bcrypt hash (a corrupted row): never a match.
        return False


# A hash of nothing anyone can type, made at the first failed lookup with the cost then in force.
_DUMMY: dict[int, str] = {}


def check_nothing(password: str) -> bool:
    """Spend one bcrypt check at the current cost and answer False: for a login whose user does not
    exist, so that it takes as long as a wrong password for one who does."""
    hashed = _DUMMY.get(COST)
    if hashed is None:
        hashed = _DUMMY.setdefault(COST, hash_password(uuid.uuid4().hex))
    check_password(password or "-", hashed)
    return False
