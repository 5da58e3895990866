"""Password hashing compatible with One API: bcrypt, cost 10, written with Go's `$2a$` prefix so a
database can move back to One API, and verifying `$2a$`/`$2b$`/`$2y$` hashes alike."""

from __future__ import annotations

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
