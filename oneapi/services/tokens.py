"""API keys (`tokens`) as their owners manage them. Every query is scoped to the owner, so a user can
neither see nor change another user's keys; an id that is not theirs is simply "not found"."""

from __future__ import annotations

import ipaddress
import json
import time
from dataclasses import dataclass
from urllib.parse import quote

import sqlalchemy as sa

from oneapi.errors import Invalid, NotFound
from oneapi.extensions import db
from oneapi.models import Token, TokenStatus
from oneapi.relay import cache as relay_cache
from oneapi.services.paging import PAGE_SIZE, like_prefix, page_offset
from oneapi.services.randomness import api_key
from oneapi.services.validation import check_length

ORDERS = {
    # Unlimited keys first, then by what is left (One API's "remain_quota" order).
    "remain_quota": (Token.unlimited_quota.desc(), Token.remain_quota.desc()),
    "used_quota": (Token.used_quota.desc(),),
}


@dataclass
class TokenFields:
    name: str
    expired_time: int = -1
    remain_quota: int = 0
    unlimited_quota: bool = False
    models: str | None = None
    subnet: str = ""

    def check(self) -> None:
        if len(self.name.encode()) > 30:
            raise Invalid("参数错误：令牌名称过长", field="name")
        if self.expired_time < -1:
            raise Invalid("字段 {field} 不能小于 {min}", field="expired_time", min=-1)
        if self.remain_quota < 0 and not self.unlimited_quota:
            raise Invalid("字段 {field} 不能小于 {min}", field="remain_quota", min=0)
        if self.models is not None:
            check_length("models", self.models, 0, 65535)
        check_length("subnet", self.subnet, 0, 191)
        check_subnets(self.subnet)


def check_subnets(subnet: str) -> None:
    for part in filter(None, (p.strip() for p in subnet.split(","))):
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise Invalid("无效的网段：{subnet}", subnet=part, field="subnet") from None


def list_tokens(user_id: int, page: int, order: str = "") -> list[Token]:
    query = sa.select(Token).where(Token.user_id == user_id)
    query = query.order_by(*ORDERS.get(order, ()), Token.id.desc())
    return list(db.session.scalars(query.limit(PAGE_SIZE).offset(page_offset(page))))


def search_tokens(user_id: int, keyword: str) -> list[Token]:
    query = sa.select(Token).where(Token.user_id == user_id, Token.name.like(like_prefix(keyword), escape="\\"))
    return list(db.session.scalars(query.order_by(Token.id.desc())))


def get_token(user_id: int, token_id: int) -> Token:
    token = db.session.scalar(sa.select(Token).where(Token.id == token_id, Token.user_id == user_id))
    if token is None:
        raise NotFound("令牌不存在")
    return token


def create_token(user_id: int, fields: TokenFields) -> Token:
    fields.check()
    now = int(time.time())
    token = Token(user_id=user_id, key=api_key(), status=TokenStatus.ENABLED, name=fields.name,
                  created_time=now, accessed_time=now, expired_time=fields.expired_time,
                  remain_quota=fields.remain_quota, unlimited_quota=fields.unlimited_quota,
                  models=fields.models, subnet=fields.subnet)
    db.session.add(token)
    db.session.commit()
    return token


def update_token(user_id: int, token_id: int, fields: TokenFields) -> Token:
    fields.check()
    token = get_token(user_id, token_id)
    token.name = fields.name
    token.expired_time = fields.expired_time
    token.remain_quota = fields.remain_quota
    token.unlimited_quota = fields.unlimited_quota
    token.models = fields.models
    token.subnet = fields.subnet
    db.session.commit()
    relay_cache.forget_tokens()
    return token


def set_status(user_id: int, token_id: int, status: int) -> Token:
    if status not in tuple(TokenStatus):
        raise Invalid("字段 {field} 必须是整数", field="status")
    token = get_token(user_id, token_id)
    if status == TokenStatus.ENABLED:
        expired = token.expired_time not in (None, -1) and token.expired_time <= int(time.time())
        if expired:
            raise Invalid("令牌已过期，无法启用，请先修改令牌过期时间，或者设置为永不过期")
        if not token.unlimited_quota and (token.remain_quota or 0) <= 0:
            raise Invalid("令牌可用额度已用尽，无法启用，请先修改令牌剩余额度，或者设置为无限额度")
    token.status = status
    db.session.commit()
    relay_cache.forget_tokens()
    return token


def delete_token(user_id: int, token_id: int) -> None:
    result = db.session.execute(sa.delete(Token).where(Token.id == token_id, Token.user_id == user_id))
    if result.rowcount != 1:
        db.session.rollback()
        raise NotFound("令牌不存在")
    db.session.commit()
    relay_cache.forget_tokens()


# The console's quick expiry buttons (One API's EditToken: a month is 30 days).
EXPIRY_STEPS = {"never": 0, "month": 30 * 86400, "day": 86400, "hour": 3600, "minute": 60}
EXPIRY_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")
NEXTCHAT = "https://app.nextchat.dev"


def quick_expiry(choice: str, now: int | None = None) -> int:
    """The expiry a quick button sets: -1 for "never", else now plus the step."""
    if choice not in EXPIRY_STEPS:
        raise Invalid("无效的操作")
    step = EXPIRY_STEPS[choice]
    return now_or(now) + step if step else -1


def now_or(now: int | None) -> int:
    return int(time.time()) if now is None else now


def parse_expiry(text: str) -> int:
    """`yyyy-MM-dd HH:mm:ss` (or a `datetime-local` value) in the server's time zone; "" or -1 is never."""
    text = text.strip()
    if text in ("", "-1"):
        return -1
    for pattern in EXPIRY_FORMATS:
        try:
            return int(time.mktime(time.strptime(text, pattern)))
        except ValueError:
            continue
    raise Invalid("过期时间格式错误！", field="expired_time")


def format_expiry(expired_time: int | None) -> str:
    """The form's text for an expiry: -1 for never, else local `yyyy-MM-dd HH:mm:ss`."""
    if expired_time is None or expired_time < 0:
        return "-1"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(expired_time))


def shown_status(token: Token, now: int | None = None) -> int:
    """The status to show: an enabled key past its expiry or out of quota is Expired / Depleted, as the
    relay would find it on its next use (One API only marks it then)."""
    if token.status != TokenStatus.ENABLED:
        return token.status
    if token.expired_time not in (None, -1) and token.expired_time < now_or(now):
        return TokenStatus.EXPIRED
    if not token.unlimited_quota and (token.remain_quota or 0) <= 0:
        return TokenStatus.EXHAUSTED
    return token.status


def chat_links(key: str, server: str, chat_link: str = "") -> dict[str, str]:
    """One API's chat-client links for a key (TokensTable.js), by client name.

    `server` is the ServerAddress option or the request's host URL; `chat_link` the ChatLink option.
    NextChat keeps its settings JSON raw as One API does; LobeChat's JSON is URL-encoded and is offered
    only when a chat link is set (One API has no default for it).
    """
    secret = f"sk-{key}"
    server = server.rstrip("/")
    base = chat_link.strip().rstrip("/")
    encoded = quote(server, safe="-_.!~*'()")  # JavaScript's encodeURIComponent
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    links = {"NextChat": f"{base or NEXTCHAT}/#/?settings=" + json.dumps({"key": secret, "url": server}, **compact)}
    if base:
        lobe = {"keyVaults": {"openai": {"apiKey": secret, "baseURL": f"{server}/v1"}}}
        links["LobeChat"] = f"{base}/?settings=" + quote(json.dumps(lobe, **compact), safe="")
    links["AMA"] = f"ama://set-api-key?server={encoded}&key={secret}"
    links["OpenCat"] = f"opencat://team/join?domain={encoded}&token={secret}"
    return links
