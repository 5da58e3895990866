"""The Redis client, when `REDIS_CONN_STRING` and `SYNC_FREQUENCY` are both set (One API's rule)."""

from __future__ import annotations

from typing import Any

from flask import current_app


def redis_client() -> Any | None:
    config = current_app.config["ONEAPI"]
    if not config.redis_enabled:
        return None
    client = current_app.extensions.get("oneapi.redis")
    if client is None:
        import redis

        if config.redis_master_name:
            from redis.sentinel import Sentinel

            hosts = [tuple(h.strip().rsplit(":", 1)) for h in config.redis_conn_string.split(",") if h.strip()]
            sentinel = Sentinel([(h, int(p)) for h, p in hosts], password=config.redis_password or None)
            client = sentinel.master_for(config.redis_master_name, decode_responses=True)
        else:
            client = redis.Redis.from_url(config.redis_conn_string, decode_responses=True, socket_timeout=5)
        current_app.extensions["oneapi.redis"] = client
    return client
