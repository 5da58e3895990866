"""`BATCH_UPDATE_ENABLED`: usage counters (users' used quota and request count, channels' used quota)
gathered in memory and written every `BATCH_UPDATE_INTERVAL` seconds instead of on every request.

Only counters are batched. Balances are always changed at once by their guarded UPDATEs, so batching
can never let a balance be overdrawn; a crash loses at most one interval of counters.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import sqlalchemy as sa
from flask import current_app

from oneapi.extensions import db
from oneapi.models import Channel, User


class UsageBatch:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        self.channels: dict[int, int] = defaultdict(int)

    def add(self, user_id: int, channel_id: int, quota: int) -> None:
        with self.lock:
            counters = self.users[user_id]
            counters[0] += quota
            counters[1] += 1
            if channel_id:
                self.channels[channel_id] += quota

    def take(self) -> tuple[dict[int, list[int]], dict[int, int]]:
        with self.lock:
            users, channels = self.users, self.channels
            self.users, self.channels = defaultdict(lambda: [0, 0]), defaultdict(int)
        return users, channels


def batch() -> UsageBatch | None:
    if not current_app.config["ONEAPI"].batch_update_enabled:
        return None
    found = current_app.extensions.get("oneapi.usage_batch")
    if found is None:
        found = current_app.extensions["oneapi.usage_batch"] = UsageBatch()
    return found


def flush() -> int:
    """Write the gathered counters (inside an app context); returns how many rows were updated."""
    current = batch()
    if current is None:
        return 0
    users, channels = current.take()
    for user_id, (quota, count) in users.items():
        db.session.execute(sa.update(User).where(User.id == user_id).values(
            used_quota=User.used_quota + quota, request_count=User.request_count + count))
    for channel_id, quota in channels.items():
        db.session.execute(sa.update(Channel).where(Channel.id == channel_id).values(
            used_quota=Channel.used_quota + quota))
    db.session.commit()
    return len(users) + len(channels)
