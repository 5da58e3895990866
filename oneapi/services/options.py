"""Runtime settings: the `options` table over One API's defaults, cached in process.

Reads never touch the database: the cache is loaded at start, updated in place on every change made
through this node, and reloaded from the database every `SYNC_FREQUENCY` seconds so changes made on
other nodes arrive too (One API re-syncs only with the memory cache on; we always do).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from flask import current_app

from oneapi.errors import Invalid
from oneapi.extensions import db
from oneapi.jsonbody import find_lone_surrogate
from oneapi.models import Option
from oneapi.services.ratios import DEFAULT_COMPLETION_RATIO, DEFAULT_GROUP_RATIO, DEFAULT_MODEL_RATIO
from oneapi.services.validation import check_length

DEFAULTS: dict[str, str] = {
    "PasswordLoginEnabled": "true",
    "PasswordRegisterEnabled": "true",
    "EmailVerificationEnabled": "false",
    "GitHubOAuthEnabled": "false",
    "OidcEnabled": "false",
    "WeChatAuthEnabled": "false",
    "TurnstileCheckEnabled": "false",
    "RegisterEnabled": "true",
    "AutomaticDisableChannelEnabled": "false",
    "AutomaticEnableChannelEnabled": "false",
    "ApproximateTokenEnabled": "false",
    "LogConsumeEnabled": "true",
    "DisplayInCurrencyEnabled": "true",
    "DisplayTokenStatEnabled": "true",
    "ChannelDisableThreshold": "5",
    "EmailDomainRestrictionEnabled": "false",
    "EmailDomainWhitelist": "gmail.com,163.com,126.com,qq.com,outlook.com,hotmail.com,icloud.com,"
                            "yahoo.com,foxmail.com",
    "SMTPServer": "", "SMTPPort": "587", "SMTPAccount": "", "SMTPFrom": "", "SMTPToken": "",
    "Notice": "", "About": "", "HomePageContent": "", "Footer": "", "Logo": "",
    "SystemName": "One API",
    "ServerAddress": "",
    "GitHubClientId": "", "GitHubClientSecret": "",
    "LarkClientId": "", "LarkClientSecret": "",
    "OidcClientId": "", "OidcClientSecret": "", "OidcWellKnown": "", "OidcAuthorizationEndpoint": "",
    "OidcTokenEndpoint": "", "OidcUserinfoEndpoint": "",
    "WeChatServerAddress": "", "WeChatServerToken": "", "WeChatAccountQRCodeImageURL": "",
    "MessagePusherAddress": "", "MessagePusherToken": "",
    "TurnstileSiteKey": "", "TurnstileSecretKey": "",
    "QuotaForNewUser": "0", "QuotaForInviter": "0", "QuotaForInvitee": "0",
    "QuotaRemindThreshold": "1000",
    "PreConsumedQuota": "500",
    "ModelRatio": json.dumps(DEFAULT_MODEL_RATIO),
    "GroupRatio": json.dumps(DEFAULT_GROUP_RATIO),
    "CompletionRatio": json.dumps(DEFAULT_COMPLETION_RATIO),
    "TopUpLink": "", "ChatLink": "",
    "QuotaPerUnit": "500000",
    "RetryTimes": "0",
    "Theme": "default",
}

INT_KEYS = {"SMTPPort", "QuotaForNewUser", "QuotaForInviter", "QuotaForInvitee", "QuotaRemindThreshold",
            "PreConsumedQuota", "RetryTimes"}
FLOAT_KEYS = {"ChannelDisableThreshold", "QuotaPerUnit"}
RATIO_KEYS = {"ModelRatio", "GroupRatio", "CompletionRatio"}
THEMES = {"default", "berry", "air"}
MAX_KEY_LENGTH = 191
MAX_INT_OPTION = 10**17
MAX_VALUE_LENGTH = 1 << 20


def is_secret(key: str) -> bool:
    """Keys One API never returns: tokens and secrets are write-only."""
    return key.endswith(("Token", "Secret"))


class OptionStore:
    def __init__(self, theme: str) -> None:
        self.theme = theme or "default"
        self.values = {**DEFAULTS, "Theme": self.theme}
        self.parsed: dict[str, tuple[str, dict]] = {}

    def replace(self, rows: dict[str, str]) -> None:
        merged = dict(self.values)
        merged.update(rows)
        self.values = merged

    def reset(self, rows: dict[str, str]) -> None:
        """Defaults overlaid with `rows`: an option removed from the table falls back to its default."""
        self.values = {**DEFAULTS, "Theme": self.theme, **rows}


def _store() -> OptionStore:
    store = current_app.extensions.get("oneapi.options")
    if store is None:
        store = current_app.extensions["oneapi.options"] = OptionStore(current_app.config["ONEAPI"].theme)
    return store


def load() -> None:
    """Reload every option from the database over the defaults."""
    rows = {o.key: o.value or "" for o in db.session.scalars(db.select(Option))}
    db.session.rollback()
    _store().reset(rows)


def get(key: str) -> str:
    return _store().values.get(key, "")


def get_bool(key: str) -> bool:
    return get(key) == "true"


def get_int(key: str) -> int:
    try:
        return int(get(key))
    except ValueError:
        return int(DEFAULTS.get(key, "0") or 0)


def get_float(key: str) -> float:
    try:
        return float(get(key))
    except ValueError:
        return float(DEFAULTS.get(key, "0") or 0)


def get_json(key: str) -> dict:
    """The option parsed as a JSON object, parsed once per value (the relay reads ratios per request)."""
    store = _store()
    raw = get(key)
    cached = store.parsed.get(key)
    if cached is not None and cached[0] is raw:
        return cached[1]
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        value = json.loads(DEFAULTS.get(key, "{}"))
    store.parsed[key] = (raw, value)
    return value


def all_public() -> list[dict[str, str]]:
    """Every option except secrets, as One API's `GET /api/option/` lists them."""
    return [{"key": k, "value": v} for k, v in sorted(_store().values.items()) if not is_secret(k)]


def update(key: str, value: str) -> None:
    """Validate and save one option; the change is live on this node at once."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Invalid("无效的配置项")
    check_length("key", key, 1, MAX_KEY_LENGTH)
    check_length("value", value, 0, MAX_VALUE_LENGTH)
    if len(value) > MAX_VALUE_LENGTH:
        raise Invalid("配置项 {key} 的值无效：{reason}", key=key, reason="too long")
    value = _validate(key, value)
    _write({key: value})


def update_many(values: dict[str, str]) -> None:
    """Save several options together: every value is validated (the guards seeing the others of the batch)
    before any is written, in one transaction. An error names the option as its `field`."""
    merged = {**_store().values, **values}
    for key, value in values.items():
        try:
            if len(value) > MAX_VALUE_LENGTH:
                raise Invalid("配置项 {key} 的值无效：{reason}", key=key, reason="too long")
            _validate(key, value, merged.get)
        except Invalid as exc:
            exc.values.setdefault("field", key)
            raise
    _check_switches_kept(values, merged)
    if values:
        _write(values)


def _check_switches_kept(values: dict[str, str], merged: dict[str, str]) -> None:
    """A switch that stays on keeps its guard: emptying the email whitelist while the restriction is on
    would refuse every address. The error names the emptied option."""
    for switch, (needed, message) in _GUARDS.items():
        if needed in values and merged.get(switch) == "true" and not merged.get(needed):
            raise Invalid(message, field=needed)


def _write(values: dict[str, str]) -> None:
    for key, value in values.items():
        row = db.session.get(Option, key)
        if row is None:
            db.session.add(Option(key=key, value=value))
        else:
            row.value = value
    db.session.commit()
    _store().replace(values)


def _validate(key: str, value: str, current: Callable[[str], str | None] = get) -> str:
    guard = _GUARDS.get(key)
    if guard and value == "true":
        needed, message = guard
        if not current(needed):
            raise Invalid(message)
    if key == "Theme" and value not in THEMES:
        raise Invalid("无效的主题")
    if key.endswith("Enabled") and value not in ("true", "false"):
        raise Invalid("配置项 {key} 的值无效：{reason}", key=key, reason="true / false")
    checker = _CHECKERS.get(key)
    if checker:
        reason = checker(value)
        if reason:
            raise Invalid("配置项 {key} 的值无效：{reason}", key=key, reason=reason)
    return value


def _check_int(value: str) -> str | None:
    try:
        number = int(value)
    except ValueError:
        return "not an integer"
    if number < 0:
        return "must not be negative"
    # Quota options are added to balances; 1e17 keeps any sum of two inside a 64-bit column.
    return f"must be at most {MAX_INT_OPTION}" if number > MAX_INT_OPTION else None


def _check_float(value: str) -> str | None:
    try:
        number = float(value)
    except ValueError:
        return "not a number"
    return "must be a finite non-negative number" if not math.isfinite(number) or number < 0 else None


def _check_ratio(value: str) -> str | None:
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        return f"invalid JSON: {exc}"
    if not isinstance(parsed, dict):
        return "must be a JSON object"
    if find_lone_surrogate(parsed) is not None:
        # `"\\ud800"` escaped inside the text: the pages and `/api/group/` showing it would fail.
        return "a name holds a lone surrogate (invalid Unicode)"
    for name, ratio in parsed.items():
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not math.isfinite(ratio):
            return f"the ratio of {name!r} must be a number"
        if ratio < 0:
            # A negative ratio would pay users for every request.
            return f"the ratio of {name!r} must not be negative"
    return None


_CHECKERS: dict[str, Callable[[str], str | None]] = {
    **{k: _check_int for k in INT_KEYS},
    **{k: _check_float for k in FLOAT_KEYS},
    **{k: _check_ratio for k in RATIO_KEYS},
}

_GUARDS = {
    "GitHubOAuthEnabled": ("GitHubClientId",
                           "无法启用 GitHub OAuth，请先填入 GitHub Client Id 以及 GitHub Client Secret！"),
    "EmailDomainRestrictionEnabled": ("EmailDomainWhitelist", "无法启用邮箱域名限制，请先填入限制的邮箱域名！"),
    "WeChatAuthEnabled": ("WeChatServerAddress", "无法启用微信登录，请先填入微信登录相关配置信息！"),
    "TurnstileCheckEnabled": ("TurnstileSiteKey", "无法启用 Turnstile 校验，请先填入 Turnstile 校验相关配置信息！"),
}
