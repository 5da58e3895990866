"""Test data builders (make_user, make_token, make_channel, make_log, make_redemption) and login."""

from __future__ import annotations

import time

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Ability, Channel, Log, Option, Redemption, Token, User
from oneapi.services import accounts, channels
from oneapi.services.randomness import api_key, uuid_hex

PASSWORD = "password123"
TABLES = ("abilities", "channels", "logs", "options", "redemptions", "tokens", "users")


def empty_tables() -> None:
    """Delete every row of the current app's tables (both binds)."""
    for model in (Ability, Channel, Option, Redemption, Token, User, Log):
        db.session.execute(sa.delete(model))
    db.session.commit()


def login(client, username: str, password: str) -> None:
    response = client.post("/api/user/login", json={"username": username, "password": password})
    assert response.json["success"], response.json


def make_user(username: str, *, role: int = 1, quota: int = 0, password: str = PASSWORD, group: str = "default",
              status: int = 1) -> User:
    user = accounts.create_user(username, password)
    user.role, user.quota, user.group, user.status = role, quota, group, status
    db.session.commit()
    return user


def make_token(user: User, name: str = "key", **fields) -> Token:
    now = int(time.time())
    values = {"status": 1, "expired_time": -1, "remain_quota": 1000, "unlimited_quota": False, **fields}
    token = Token(user_id=user.id, key=api_key(), name=name, created_time=now, accessed_time=now, **values)
    db.session.add(token)
    db.session.commit()
    return token


def make_channel(name: str = "ch", key: str = "sk-upstream", **fields) -> Channel:
    values = {"type": 1, "models": "gpt-4o,gpt-4o-mini", "group": "default", "name": name, **fields}
    return channels.create_channels(key, values)[0]


def make_log(user: User, **fields) -> Log:
    values = {"type": 2, "content": "test", "quota": 10, "model_name": "gpt-4o", "token_name": "key",
              "created_at": int(time.time()), **fields}
    log = Log(user_id=user.id, username=user.username, **values)
    db.session.add(log)
    db.session.commit()
    return log


def make_redemption(creator: User | None = None, quota: int = 1000, **fields) -> Redemption:
    values = {"status": 1, "name": "code", "created_time": int(time.time()), **fields}
    redemption = Redemption(user_id=creator.id if creator else 1, key=uuid_hex(), quota=quota, **values)
    db.session.add(redemption)
    db.session.commit()
    return redemption
