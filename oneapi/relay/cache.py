"""What the relay reads on every request: API keys, their owners and the channels of each (group, model).

With `MEMORY_CACHE_ENABLED` (or Redis) these live in process memory: keys and users for
`SYNC_FREQUENCY` seconds after they were read, channels as one snapshot rebuilt on that period, and
every change made through this node drops the affected entries at once. A relay request then reads
nothing from the database; its writes (quota, logs) still go there. Without the memory cache every
lookup is a query, as in One API.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app

from oneapi.extensions import db
from oneapi.models import Ability, Channel, ChannelStatus, Token, User


@dataclass(frozen=True)
class TokenState:
    id: int
    user_id: int
    name: str
    status: int
    expired_time: int
    remain_quota: int
    unlimited_quota: bool
    models: str
    subnet: str


@dataclass(frozen=True)
class UserState:
    id: int
    username: str
    status: int
    role: int
    group: str
    quota: int
    """The balance when the row was read: a hint for refusing a user without money early, never for
    charging (holds and charges are guarded statements on the row itself)."""


@dataclass(frozen=True)
class ChannelState:
    id: int
    type: int
    name: str
    key: str
    status: int
    base_url: str
    other: str
    config: dict[str, Any]
    model_mapping: dict[str, str]
    system_prompt: str
    priority: int
    weight: int


@dataclass
class Snapshot:
    by_ability: dict[tuple[str, str], list[ChannelState]] = field(default_factory=dict)
    by_id: dict[int, ChannelState] = field(default_factory=dict)
    built: float = 0.0


class RelayCache:
    def __init__(self, enabled: bool, ttl: int) -> None:
        self.enabled = enabled
        self.ttl = max(ttl, 1)
        self.tokens: dict[str, tuple[float, TokenState]] = {}
        self.users: dict[int, tuple[float, UserState]] = {}
        self.snapshot: Snapshot | None = None
        self.lock = threading.Lock()

    def fresh(self, stamp: float) -> bool:
        return time.monotonic() - stamp < self.ttl


def _cache() -> RelayCache:
    cache = current_app.extensions.get("oneapi.relay_cache")
    if cache is None:
        config = current_app.config["ONEAPI"]
        cache = RelayCache(config.memory_cache, config.sync_frequency)
        current_app.extensions["oneapi.relay_cache"] = cache
    return cache


def token_by_key(key: str) -> TokenState | None:
    cache = _cache()
    hit = cache.tokens.get(key) if cache.enabled else None
    if hit and cache.fresh(hit[0]):
        return hit[1]
    row = db.session.scalar(sa.select(Token).where(Token.key == key)) if len(key) <= 48 else None
    if row is None:
        return None
    state = TokenState(row.id, row.user_id or 0, row.name or "", row.status, row.expired_time,
                       row.remain_quota or 0, bool(row.unlimited_quota), row.models or "", row.subnet or "")
    if cache.enabled:
        cache.tokens[key] = (time.monotonic(), state)
    return state


def user_state(user_id: int) -> UserState | None:
    cache = _cache()
    hit = cache.users.get(user_id) if cache.enabled else None
    if hit and cache.fresh(hit[0]):
        return hit[1]
    row = db.session.get(User, user_id)
    if row is None:
        return None
    state = UserState(row.id, row.username or "", row.status, row.role, row.group or "default", row.quota or 0)
    if cache.enabled:
        cache.users[user_id] = (time.monotonic(), state)
    return state


def mark_token(token_id: int, status: int) -> None:
    """Record that a key expired or ran out (One API does this when it notices)."""
    db.session.execute(sa.update(Token).where(Token.id == token_id, Token.status == 1).values(status=status))
    db.session.commit()
    forget_tokens()


def channels_for(group: str, model: str) -> list[ChannelState]:
    """Enabled channels serving `model` to `group`, highest priority first."""
    cache = _cache()
    if not cache.enabled:
        return _load_snapshot(group, model).by_ability.get((group, model), [])
    snapshot = cache.snapshot
    if snapshot is None or not cache.fresh(snapshot.built):
        with cache.lock:
            snapshot = cache.snapshot = _load_snapshot()
    return snapshot.by_ability.get((group, model), [])


def channel_by_id(channel_id: int) -> ChannelState | None:
    cache = _cache()
    if cache.enabled and cache.snapshot is not None and cache.fresh(cache.snapshot.built):
        found = cache.snapshot.by_id.get(channel_id)
        if found is not None:
            return found
    row = db.session.get(Channel, channel_id) if 0 < channel_id < (1 << 63) else None
    return _channel_state(row) if row is not None else None


def _load_snapshot(group: str | None = None, model: str | None = None) -> Snapshot:
    query = sa.select(Ability.group, Ability.model, Channel).join(Channel, Channel.id == Ability.channel_id)
    query = query.where(Ability.enabled == sa.true(), Channel.status == ChannelStatus.ENABLED)
    if group is not None:
        query = query.where(Ability.group == group, Ability.model == model)
    snapshot = Snapshot(built=time.monotonic())
    grouped: dict[tuple[str, str], list[ChannelState]] = defaultdict(list)
    for ability_group, ability_model, row in db.session.execute(query):
        state = snapshot.by_id.get(row.id) or _channel_state(row)
        snapshot.by_id[row.id] = state
        grouped[(ability_group, ability_model)].append(state)
    for key, states in grouped.items():
        snapshot.by_ability[key] = sorted(states, key=lambda c: -c.priority)
    return snapshot


def _channel_state(row: Channel) -> ChannelState:
    return ChannelState(row.id, row.type, row.name or "", row.key or "", row.status, row.base_url or "",
                        row.other or "", _json_object(row.config), _json_object(row.model_mapping),
                        row.system_prompt or "", row.priority or 0, row.weight or 0)


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def forget_tokens() -> None:
    _cache().tokens.clear()


def forget_users() -> None:
    _cache().users.clear()


def forget_channels() -> None:
    _cache().snapshot = None
