"""API-key authentication of `/v1` requests, with One API's status codes and messages (§4).

`Authorization: Bearer sk-<key>[-<channel id>]`; the `sk-` is optional; the channel suffix pins a
channel and is for admins only. The key's status, expiry, quota, allowed models and subnets and its
owner's status are checked before anything is sent upstream.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

from oneapi.clientip import client_ip
from oneapi.models import Role, TokenStatus, UserStatus
from oneapi.relay import cache
from oneapi.relay.errors import LocalError


@dataclass(frozen=True)
class Caller:
    token_id: int
    token_name: str
    token_key: str
    unlimited: bool
    models: tuple[str, ...]
    user_id: int
    username: str
    group: str
    role: int
    pinned_channel: int = 0
    user_quota: int | None = None
    """The owner's balance as the relay cache last read it (see `settlement.require_funds`)."""


def parse_authorization(header: str) -> tuple[str, str | None]:
    """(key, channel suffix) from the header value; the suffix is None when there is no `-` at all."""
    value = header.strip()
    if value.startswith("Bearer "):
        value = value[len("Bearer "):].strip()
    value = value.removeprefix("sk-")
    key, dash, channel = value.partition("-")
    return key, channel if dash else None


def authenticate(header: str) -> Caller:
    key, channel = parse_authorization(header)
    if not key:
        raise LocalError(401, "未提供令牌")
    token = cache.token_by_key(key)
    if token is None:
        raise LocalError(401, "无效的令牌")
    _check_token_state(token)
    user = cache.user_state(token.user_id)
    if user is None or user.status != UserStatus.ENABLED:
        raise LocalError(403, "用户已被封禁")
    pinned = _pinned_channel(channel, user.role)
    models = tuple(m.strip() for m in (token.models or "").split(",") if m.strip())
    return Caller(token.id, token.name, key, bool(token.unlimited_quota), models, user.id, user.username,
                  user.group or "default", user.role, pinned, user.quota)


def _check_token_state(token: cache.TokenState) -> None:
    if token.status == TokenStatus.EXHAUSTED:
        raise LocalError(401, f"令牌 {token.name}（#{token.id}）额度已用尽")
    if token.status == TokenStatus.EXPIRED:
        raise LocalError(401, "该令牌已过期")
    if token.status != TokenStatus.ENABLED:
        raise LocalError(401, "该令牌状态不可用")
    if token.expired_time not in (None, -1) and token.expired_time < time.time():
        cache.mark_token(token.id, TokenStatus.EXPIRED)
        raise LocalError(401, "该令牌已过期")
    if not token.unlimited_quota and (token.remain_quota or 0) <= 0:
        cache.mark_token(token.id, TokenStatus.EXHAUSTED)
        raise LocalError(401, "该令牌额度已用尽")
    if token.subnet:
        check_subnet(token.subnet, client_ip())


def check_subnet(subnets: str, address: str) -> None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    for part in filter(None, (p.strip() for p in subnets.split(","))):
        try:
            if ip is not None and ip in ipaddress.ip_network(part, strict=False):
                return
        except ValueError:
            continue
    raise LocalError(403, f"该令牌只能在指定网段使用：{subnets}，当前 ip：{address}")


def _pinned_channel(suffix: str | None, role: int) -> int:
    if suffix is None:
        return 0
    if role < Role.ADMIN:
        raise LocalError(403, "普通用户不支持指定渠道")
    if not (suffix.isascii() and suffix.isdigit()) or len(suffix) > 18 or int(suffix) == 0:
        raise LocalError(400, "无效的渠道 Id")
    return int(suffix)


def check_model_allowed(caller: Caller, model: str) -> None:
    if caller.models and model and model not in caller.models:
        raise LocalError(403, f"该令牌无权使用模型：{model}")
