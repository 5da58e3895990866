"""Random identifiers in One API's formats: API keys, access tokens, codes."""

from __future__ import annotations

import secrets
import string
import uuid

ALPHANUMERIC = string.digits + string.ascii_letters


def random_string(length: int) -> str:
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(length))


def uuid_hex() -> str:
    """32 lower-case hex characters: access tokens and redemption codes."""
    return uuid.uuid4().hex


def api_key() -> str:
    """48 characters stored without `sk-`: 16 alphanumerics, then a UUID whose letters at even
    positions are upper-cased, exactly as One API generates keys."""
    tail = "".join(c.upper() if i % 2 == 0 else c for i, c in enumerate(uuid_hex()))
    return random_string(16) + tail
