"""The settings tabs of the console: which options each tab and group holds, how a group's form text
becomes option values, and saving a group at once.

A group is one form. Saving it writes only the options whose value changed, after every one of them
passed `options` validation, so a bad ratio JSON leaves the whole group as it was. Secrets are
write-only: they are never shown, an empty secret field keeps the stored value, and a "clear" box
beside a stored one empties it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from oneapi.errors import Invalid, NotFound
from oneapi.services import logs, options

ROOT_TABS = ("operation", "system", "other")
TEXTAREA_KEYS = {"Notice", "HomePageContent", "About", "Footer"}
LIST_KEYS = {"EmailDomainWhitelist"}
SELECT_CHOICES = {"Theme": tuple(sorted(options.THEMES))}
# `is_secret` is One API's rule for `/api/option/` (keys ending in Token or Secret); the Turnstile
# secret key is just as secret, so the page never shows it either.
EXTRA_SECRETS = {"TurnstileSecretKey"}
DATE_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


@dataclass(frozen=True)
class Group:
    name: str
    tab: str
    keys: tuple[str, ...]


GROUPS: tuple[Group, ...] = (
    Group("quota", "operation", ("QuotaForNewUser", "PreConsumedQuota", "QuotaForInviter", "QuotaForInvitee")),
    Group("ratios", "operation", ("ModelRatio", "CompletionRatio", "GroupRatio")),
    Group("logs", "operation", ("LogConsumeEnabled",)),
    Group("monitoring", "operation", ("ChannelDisableThreshold", "QuotaRemindThreshold",
                                      "AutomaticDisableChannelEnabled", "AutomaticEnableChannelEnabled")),
    Group("general", "operation", ("TopUpLink", "ChatLink", "QuotaPerUnit", "RetryTimes", "DisplayInCurrencyEnabled",
                                   "DisplayTokenStatEnabled", "ApproximateTokenEnabled")),
    Group("server", "system", ("ServerAddress",)),
    Group("login", "system", ("PasswordLoginEnabled", "PasswordRegisterEnabled", "EmailVerificationEnabled",
                              "GitHubOAuthEnabled", "WeChatAuthEnabled", "RegisterEnabled", "TurnstileCheckEnabled")),
    Group("email_domains", "system", ("EmailDomainRestrictionEnabled", "EmailDomainWhitelist")),
    Group("smtp", "system", ("SMTPServer", "SMTPPort", "SMTPAccount", "SMTPFrom", "SMTPToken")),
    Group("github", "system", ("GitHubClientId", "GitHubClientSecret")),
    Group("lark", "system", ("LarkClientId", "LarkClientSecret")),
    Group("oidc", "system", ("OidcEnabled", "OidcClientId", "OidcClientSecret", "OidcWellKnown",
                             "OidcAuthorizationEndpoint", "OidcTokenEndpoint", "OidcUserinfoEndpoint")),
    Group("wechat", "system", ("WeChatServerAddress", "WeChatServerToken", "WeChatAccountQRCodeImageURL")),
    Group("turnstile", "system", ("TurnstileSiteKey", "TurnstileSecretKey")),
    Group("message_pusher", "system", ("MessagePusherAddress", "MessagePusherToken")),
    Group("notice", "other", ("Notice",)),
    Group("branding", "other", ("SystemName", "Logo", "Theme")),
    Group("home", "other", ("HomePageContent",)),
    Group("about", "other", ("About",)),
    Group("footer", "other", ("Footer",)),
)
_BY_NAME = {g.name: g for g in GROUPS}


def groups_of(tab: str) -> list[Group]:
    return [g for g in GROUPS if g.tab == tab]


def group(name: str) -> Group:
    found = _BY_NAME.get(name)
    if found is None:
        raise NotFound("未知的设置分组")
    return found


def is_write_only(key: str) -> bool:
    return options.is_secret(key) or key in EXTRA_SECRETS


def kind(key: str) -> str:
    """How the page shows the option: bool, int, number, json, secret, list, select, textarea or text."""
    if key.endswith("Enabled"):
        return "bool"
    if is_write_only(key):
        return "secret"
    if key in options.RATIO_KEYS:
        return "json"
    if key in options.INT_KEYS:
        return "int"
    if key in options.FLOAT_KEYS:
        return "number"
    if key in LIST_KEYS:
        return "list"
    if key in SELECT_CHOICES:
        return "select"
    return "textarea" if key in TEXTAREA_KEYS else "text"


def shown_values(grp: Group) -> dict[str, str]:
    """The group's options as its form shows them: JSON pretty-printed, lists one item a line, secrets blank."""
    return {key: _shown(key, options.get(key)) for key in grp.keys}


def _shown(key: str, value: str) -> str:
    field_kind = kind(key)
    if field_kind == "secret":
        return ""
    if field_kind == "json":
        try:
            return json.dumps(json.loads(value), indent=2, ensure_ascii=False)
        except ValueError:
            return value
    if field_kind == "list":
        return "\n".join(_items(value))
    return value


def secrets_set(grp: Group) -> dict[str, bool]:
    """For each write-only option of the group: whether a value is stored (the page says "set" / "not set")."""
    return {key: bool(options.get(key)) for key in grp.keys if is_write_only(key)}


def save_group(name: str, form: Mapping[str, str], confirmed: bool = False) -> list[str]:
    """Save the options of group `name` from its form; returns the keys that changed.

    Turning password login off needs `confirmed`: without it root could lock everyone out by a stray click.
    """
    grp = group(name)
    values = _parse(grp, form)
    changed = {key: value for key, value in values.items() if _differs(key, value)}
    if changed.get("PasswordLoginEnabled") == "false" and not confirmed:
        raise Invalid("关闭密码登录后，只能通过其他方式登录；请勾选确认后再保存", field="PasswordLoginEnabled")
    options.update_many(changed)
    return list(changed)


CLEAR_PREFIX = "clear_"


def _parse(grp: Group, form: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key in grp.keys:
        text = (form.get(key) or "").strip()
        field_kind = kind(key)
        if field_kind == "bool":
            # An unticked checkbox is not posted at all.
            values[key] = "true" if text.lower() in ("true", "on", "1") else "false"
        elif field_kind == "secret":
            # Empty keeps the stored secret; only the explicit "clear" box removes it.
            if text:
                values[key] = text
            elif form.get(CLEAR_PREFIX + key):
                values[key] = ""
        elif field_kind == "list":
            values[key] = ",".join(_items(text))
        elif field_kind == "json":
            values[key] = _compact_json(text)
        else:
            values[key] = text
    return values


def _items(text: str) -> list[str]:
    """A list typed one item a line or comma-separated: blanks dropped, duplicates removed, order kept."""
    return list(dict.fromkeys(item for item in re.split(r"[\s,]+", text) if item))


def _compact_json(text: str) -> str:
    """Valid JSON is stored in one line as the defaults are; invalid text is passed on for validation to refuse."""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        return text


def _differs(key: str, value: str) -> bool:
    stored = options.get(key)
    if kind(key) == "json":
        try:
            return json.loads(stored) != json.loads(value)
        except ValueError:
            return True
    return stored != value


def clear_logs_before(text: str) -> int:
    """Delete the logs older than `text` (a local date, or date and time); returns how many went."""
    text = (text or "").strip()
    if not text:
        raise Invalid("请选择一个日期", field="before")
    for fmt in DATE_FORMATS:
        try:
            moment = time.strptime(text, fmt)
        except ValueError:
            continue
        return logs.delete_before(int(time.mktime(moment)))
    raise Invalid("日期格式无效", field="before")
