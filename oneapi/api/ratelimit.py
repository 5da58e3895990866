"""One API's request limits per client IP: the global `/api` limit and the critical limit on login,
registration, password reset and OAuth. In memory per process, or in Redis when Redis is enabled.

A key allows a request when it holds fewer than N timestamps or its oldest is older than the window
(One API's algorithm). A refused request gets a bare 429, as in One API.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app

from oneapi.clientip import client_ip

GLOBAL_API_WINDOW = 180
CRITICAL_WINDOW = 1200


class MemoryLimiter:
    def __init__(self) -> None:
        self.hits: dict[str, deque[float]] = {}
        self.lock = threading.Lock()
        self.swept = time.monotonic()

    def allow(self, key: str, limit: int, window: int) -> bool:
        now = time.monotonic()
        with self.lock:
            self._sweep(now)
            queue = self.hits.setdefault(key, deque())
            if len(queue) < limit:
                queue.append(now)
                return True
            if now - queue[0] >= window:
                queue.popleft()
                queue.append(now)
                return True
            return False

    def _sweep(self, now: float) -> None:
        if now - self.swept < CRITICAL_WINDOW:
            return
        self.swept = now
        for key in [k for k, q in self.hits.items() if not q or now - q[-1] > CRITICAL_WINDOW]:
            del self.hits[key]


class RedisLimiter:
    def __init__(self, client: Any) -> None:
        self.client = client

    def allow(self, key: str, limit: int, window: int) -> bool:
        name = f"rateLimit:{key}"
        now = time.time()
        if self.client.llen(name) < limit:
            self.client.lpush(name, now)
        else:
            oldest = float(self.client.lindex(name, -1) or 0)
            if now - oldest < window:
                return False
            self.client.lpush(name, now)
            self.client.ltrim(name, 0, limit - 1)
        self.client.expire(name, CRITICAL_WINDOW)
        return True


def _limiter() -> MemoryLimiter | RedisLimiter:
    limiter = current_app.extensions.get("oneapi.ratelimit")
    if limiter is None:
        from oneapi.cache import redis_client

        client = redis_client()
        limiter = RedisLimiter(client) if client is not None else MemoryLimiter()
        current_app.extensions["oneapi.ratelimit"] = limiter
    return limiter


def check(mark: str, limit: int, window: int) -> None:
    if limit <= 0 or current_app.config["ONEAPI"].debug:
        return
    if not _limiter().allow(mark + client_ip(), limit, window):
        abort(429)


def check_global_api() -> None:
    check("GA", current_app.config["ONEAPI"].global_api_rate_limit, GLOBAL_API_WINDOW)


def critical_limit(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        check("CT", current_app.config["ONEAPI"].critical_rate_limit, CRITICAL_WINDOW)
        return view(*args, **kwargs)

    return wrapped
