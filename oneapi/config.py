"""Static configuration: every environment variable One API reads, parsed once, typed, with One API's default.

Runtime settings (the ones an admin edits in the console) live in the options table instead; see
``oneapi.services.options``. ``ENV_VARS`` is the single list the README's table is checked against.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("oneapi")


@dataclass(frozen=True)
class EnvVar:
    name: str
    kind: type
    default: Any
    doc: str
    attr: str = ""

    @property
    def key(self) -> str:
        return self.attr or self.name.lower()


def _var(name: str, kind: type, default: Any, doc: str, attr: str = "") -> EnvVar:
    return EnvVar(name, kind, default, doc, attr)


ENV_VARS: tuple[EnvVar, ...] = (
    _var("PORT", int, 3000, "Listen port; overrides `--port`."),
    _var("GIN_MODE", str, "release", "Accepted for compatibility; `debug` turns on debug logging."),
    _var("DEBUG", bool, False, "Debug logging; disables every rate limit."),
    _var("DEBUG_SQL", bool, False, "Log every SQL statement."),
    _var("SESSION_SECRET", str, "", "Cookie-session key, the same on every worker and node; make one with "
         "`openssl rand -hex 32`. Start-up refuses a value under 16 characters or a well-known placeholder "
         "(`random_string`, `change-me`, …). Unset: a random key per start, logged as a warning (sessions "
         "end at every restart and workers disagree on cookies)."),
    _var("SQL_DSN", str, "", "Main database: empty = SQLite; `postgres://…` = PostgreSQL; "
         "`user:pass@tcp(host:port)/db` or `mysql://…` = MySQL/MariaDB."),
    _var("LOG_SQL_DSN", str, "", "Separate database for the `logs` table (same forms as `SQL_DSN`)."),
    _var("SQLITE_PATH", str, "one-api.db", "SQLite file when `SQL_DSN` is empty."),
    _var("SQLITE_BUSY_TIMEOUT", int, 3000, "SQLite busy timeout, milliseconds."),
    _var("SQL_MAX_IDLE_CONNS", int, 100, "Connections kept open in the pool."),
    _var("SQL_MAX_OPEN_CONNS", int, 1000, "Most connections open at once."),
    _var("SQL_MAX_LIFETIME", int, 60, "Seconds before a pooled connection is recycled."),
    _var("SQL_CONN_MAX_LIFETIME", int, 0, "Alias of `SQL_MAX_LIFETIME` (wins when set)."),
    _var("REDIS_CONN_STRING", str, "", "Redis URL; enables the Redis cache and rate limits "
         "(only with `SYNC_FREQUENCY` set, as in One API)."),
    _var("REDIS_PASSWORD", str, "", "Redis password (sentinel/cluster form)."),
    _var("REDIS_MASTER_NAME", str, "", "Sentinel master name; `REDIS_CONN_STRING` is then a comma list."),
    _var("SYNC_FREQUENCY", int, 600, "Seconds between option/channel cache reloads and cache TTL."),
    _var("MEMORY_CACHE_ENABLED", bool, False, "Keep options, tokens, users and channels in memory."),
    _var("NODE_TYPE", str, "master", "`slave` skips database migrations and honours `FRONTEND_BASE_URL`."),
    _var("FRONTEND_BASE_URL", str, "", "Slave only: redirect web pages to this address."),
    _var("CHANNEL_TEST_FREQUENCY", int, 0, "Minutes between automatic tests of all channels (0 = off)."),
    _var("POLLING_INTERVAL", int, 0, "Seconds between channels in a batch test."),
    _var("BATCH_UPDATE_ENABLED", bool, False, "Aggregate quota writes in memory."),
    _var("BATCH_UPDATE_INTERVAL", int, 5, "Seconds between batched quota flushes."),
    _var("RELAY_TIMEOUT", int, 0, "Upstream HTTP timeout, seconds (0 = none)."),
    _var("RELAY_PROXY", str, "", "Proxy URL for upstream calls."),
    _var("USER_CONTENT_REQUEST_PROXY", str, "", "Proxy for fetching user-supplied images."),
    _var("USER_CONTENT_REQUEST_TIMEOUT", int, 30, "Seconds for fetching user-supplied images."),
    _var("GEMINI_SAFETY_SETTING", str, "BLOCK_NONE", "Gemini safety threshold."),
    _var("GEMINI_VERSION", str, "v1", "Gemini API version when the channel sets none; when unset, `v1beta` "
         "(which serves every current model) rather than One API's `v1`."),
    _var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", str, "", "AWS Bedrock endpoint for channels without a base URL "
         "(the AWS SDKs' variable; e.g. a VPC endpoint or a local mock)."),
    _var("AWS_ENDPOINT_URL", str, "", "Every AWS service's endpoint, when the Bedrock one is not set (the AWS SDKs' "
         "variable)."),
    _var("THEME", str, "default", "Console theme (template folder)."),
    _var("GLOBAL_API_RATE_LIMIT", int, 480, "Requests per IP per 180 s on `/api` (0 = off)."),
    _var("GLOBAL_WEB_RATE_LIMIT", int, 240, "Requests per IP per 180 s on web pages (0 = off)."),
    _var("CRITICAL_RATE_LIMIT", int, 20, "Login/register/reset attempts per IP per 1200 s (0 = off); "
         "fixed at 20 in One API."),
    _var("TRUSTED_PROXIES", str, "127.0.0.1/8,::1/128", "CIDRs whose `X-Forwarded-For`/`X-Real-IP` are "
         "believed (One API believes anyone)."),
    _var("ENABLE_METRIC", bool, False, "Disable channels whose success rate falls below the threshold."),
    _var("METRIC_QUEUE_SIZE", int, 10, "Requests per channel in the success-rate window."),
    _var("METRIC_SUCCESS_RATE_THRESHOLD", float, 0.8, "Success rate below which a channel is disabled."),
    _var("METRIC_SUCCESS_CHAN_SIZE", int, 1024, "Accepted for compatibility (Go channel size)."),
    _var("METRIC_FAIL_CHAN_SIZE", int, 128, "Accepted for compatibility (Go channel size)."),
    _var("INITIAL_ROOT_TOKEN", str, "", "On an empty database, also create this API key for root."),
    _var("INITIAL_ROOT_ACCESS_TOKEN", str, "", "On an empty database, root's management access token."),
    _var("ONLY_ONE_LOG_FILE", bool, False, "Write `oneapi.log` instead of one file per day."),
    _var("ENFORCE_INCLUDE_USAGE", bool, False, "Always ask upstreams for usage in streams."),
    _var("TEST_PROMPT", str, "Output only your specific model name with no additional text.",
         "Prompt of the channel test."),
    _var("TIKTOKEN_CACHE_DIR", str, "", "Accepted for compatibility; the tokenizer ships offline."),
    _var("DATA_GYM_CACHE_DIR", str, "", "Accepted for compatibility; the tokenizer ships offline."),
)


def _parse(var: EnvVar, raw: str | None) -> Any:
    if raw is None or raw.strip() == "":
        return var.default
    raw = raw.strip()
    if var.kind is bool:
        return raw.lower() == "true"
    if var.kind in (int, float):
        try:
            return var.kind(raw)
        except ValueError:
            # One API ignores unparsable numbers and keeps the default; so do we.
            return var.default
    return raw


@dataclass
class Config:
    """Parsed environment plus the Flask settings derived from it."""

    env: dict[str, Any] = field(default_factory=dict)
    explicitly_set: frozenset[str] = frozenset()
    log_dir: str = "./logs"
    testing: bool = False

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["env"][name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        environ = os.environ if environ is None else environ
        env = {var.key: _parse(var, environ.get(var.name)) for var in ENV_VARS}
        set_names = frozenset(v.key for v in ENV_VARS if (environ.get(v.name) or "").strip())
        env.update({k: v for k, v in overrides.items() if k in env})
        extra = {k: v for k, v in overrides.items() if k not in env}
        return cls(env=env, explicitly_set=set_names | frozenset(overrides), **extra)

    @property
    def redis_enabled(self) -> bool:
        # One API enables Redis only when SYNC_FREQUENCY is set too.
        return bool(self.redis_conn_string) and "sync_frequency" in self.explicitly_set

    @property
    def memory_cache(self) -> bool:
        return self.memory_cache_enabled or self.redis_enabled

    @property
    def is_slave(self) -> bool:
        return self.node_type == "slave"

    @property
    def pool_recycle(self) -> int:
        return self.sql_conn_max_lifetime or self.sql_max_lifetime

    def session_secret_value(self) -> str:
        """The key that signs session cookies; raises `InsecureSecret` for a guessable SESSION_SECRET.

        Anyone who knows the key can forge a cookie for any user, root included, so a placeholder
        copied from an example file must stop the start rather than run (One API only warned).
        """
        secret = self.session_secret
        if not secret:
            log.warning("SESSION_SECRET is not set: a random key is used, so cookie sessions end at every "
                        "restart, and several gunicorn workers or nodes disagree on every cookie; "
                        "set SESSION_SECRET to the output of `openssl rand -hex 32`")
            return secrets.token_hex(32)
        check_session_secret(secret)
        return secret


MIN_SECRET_LENGTH = 16
# Values of example files and tutorials, compared without case, dashes, underscores or spaces.
PLACEHOLDER_SECRETS = frozenset({
    "randomstring", "changeme", "changemetoalongrandomstring", "secret", "sessionsecret", "yoursecret",
    "yoursessionsecret", "123456", "password", "oneapi", "default", "test", "secretkey", "mysecret",
})


class InsecureSecret(ValueError):
    """SESSION_SECRET is guessable; the message says how to make a good one."""


def check_session_secret(secret: str) -> None:
    advice = "set it to a long random value, e.g. the output of `openssl rand -hex 32`"
    if "".join(c for c in secret.lower() if c not in "-_ ") in PLACEHOLDER_SECRETS:
        raise InsecureSecret(f"SESSION_SECRET is a well-known placeholder ({secret!r}): anyone could forge "
                             f"session cookies; {advice}")
    if len(secret) < MIN_SECRET_LENGTH:
        raise InsecureSecret(f"SESSION_SECRET is shorter than {MIN_SECRET_LENGTH} characters; {advice}")

