"""Email verification codes and password-reset links (One API's common/verification.go and the
email controllers).

A code is kept per purpose and address for ten minutes: in process memory, or in Redis when Redis is
enabled so that every node accepts a code another node mailed. A new code replaces the previous one.
"""

from __future__ import annotations

import hmac
import html
import re
import threading
import time
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app

from oneapi.cache import redis_client
from oneapi.errors import Forbidden, Invalid
from oneapi.extensions import db
from oneapi.models import User
from oneapi.services import mail, options
from oneapi.services.passwords import hash_password
from oneapi.services.randomness import uuid_hex

VALID_SECONDS = 10 * 60
VERIFY, RESET = "v", "r"  # One API's purposes: email verification, password reset
# One API's validator `email` rule, close enough: one @, a dotted domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class MemoryCodes:
    """Codes of this process: `{purpose + address: (code, issued at)}`, swept as they expire."""

    def __init__(self) -> None:
        self.codes: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def put(self, key: str, code: str) -> None:
        now = time.monotonic()
        with self.lock:
            for stale in [k for k, (_, at) in self.codes.items() if now - at > VALID_SECONDS]:
                del self.codes[stale]
            self.codes[key] = (code, now)

    def get(self, key: str) -> str | None:
        with self.lock:
            found = self.codes.get(key)
        if found is None or time.monotonic() - found[1] > VALID_SECONDS:
            return None
        return found[0]

    def delete(self, key: str) -> None:
        with self.lock:
            self.codes.pop(key, None)


class RedisCodes:
    def __init__(self, client) -> None:
        self.client = client

    def put(self, key: str, code: str) -> None:
        self.client.set(f"verification:{key}", code, ex=VALID_SECONDS)

    def get(self, key: str) -> str | None:
        return self.client.get(f"verification:{key}")

    def delete(self, key: str) -> None:
        self.client.delete(f"verification:{key}")


def _codes() -> MemoryCodes | RedisCodes:
    client = redis_client()
    if client is not None:
        return RedisCodes(client)
    return current_app.extensions.setdefault("oneapi.verification", MemoryCodes())


def remember(purpose: str, address: str, code: str) -> None:
    _codes().put(purpose + address, code)


def is_valid(purpose: str, address: str, code: str) -> bool:
    if not address or not code:
        return False
    stored = _codes().get(purpose + address)
    return stored is not None and hmac.compare_digest(stored.encode(), code.encode())


def forget(purpose: str, address: str) -> None:
    _codes().delete(purpose + address)


def refuse_turnstile() -> None:
    """Turnstile is not built yet: with the check switched on, the forms it guards stay closed rather
    than open to bots."""
    if options.get_bool("TurnstileCheckEnabled"):
        raise Forbidden("{feature} 尚未实现", feature="Turnstile")


def check_address(address: str) -> None:
    if not address or len(address) > 50 or not _EMAIL.match(address):
        raise Invalid("无效的邮箱地址", field="email")


def domain_allowed(address: str) -> bool:
    """One API's whitelist rule: with the restriction on, the address must end in `@<listed domain>`."""
    if not options.get_bool("EmailDomainRestrictionEnabled"):
        return True
    domains = [d.strip() for d in options.get("EmailDomainWhitelist").split(",") if d.strip()]
    return any(address.endswith("@" + domain) for domain in domains)


def email_taken(address: str) -> bool:
    return db.session.scalar(sa.select(User.id).where(User.email == address).limit(1)) is not None


def send_verification_code(address: str) -> None:
    """Mail a 6-character code for registration or binding (`GET /api/verification`)."""
    refuse_turnstile()
    check_address(address)
    if not domain_allowed(address):
        raise Invalid("管理员启用了邮箱域名白名单，您的邮箱地址的域名不在白名单中", field="email")
    if email_taken(address):
        raise Invalid("邮箱地址已被占用", field="email")
    code = uuid_hex()[:6]
    remember(VERIFY, address, code)
    name = options.get("SystemName")
    mail.send_email(f"{name}邮箱验证邮件", address,
                    f"<p>您好，你正在进行{name}邮箱验证。</p><p>您的验证码为: <strong>{code}</strong></p>"
                    f"<p>验证码 {VALID_SECONDS // 60} 分钟内有效，如果不是本人操作，请忽略。</p>")


def send_reset_link(address: str) -> None:
    """Mail a link to `/user/reset` with a 32-hex token (`GET /api/reset_password`)."""
    refuse_turnstile()
    check_address(address)
    if not email_taken(address):
        raise Invalid("该邮箱地址未注册", field="email")
    token = uuid_hex()
    remember(RESET, address, token)
    server = (options.get("ServerAddress") or "http://localhost:3000").rstrip("/")
    link = html.escape(f"{server}/user/reset?email={quote(address, safe='@')}&token={token}")
    name = options.get("SystemName")
    mail.send_email(f"{name}密码重置", address,
                    f"<p>您好，你正在进行{name}密码重置。</p><p>点击 <a href='{link}'>此处</a> 进行密码重置。</p>"
                    f"<p>如果链接无法点击，请尝试点击下面的链接或将其复制到浏览器中打开：<br> {link} </p>"
                    f"<p>重置链接 {VALID_SECONDS // 60} 分钟内有效，如果不是本人操作，请忽略。</p>")


def reset_password(address: str, token: str) -> str:
    """Give every account with this address a new random 12-hex password and return it (`POST /api/user/reset`).

    The link works once: its token is forgotten when used. The accounts' cookie sessions end.
    """
    if not address or not token:
        raise Invalid("无效的参数")
    if not is_valid(RESET, address, token):
        raise Invalid("重置链接非法或已过期")
    password = uuid_hex()[:12]
    # Whoever knew the old password may hold a cookie: the reset ends every session of these accounts.
    db.session.execute(sa.update(User).where(User.email == address).values(
        password=hash_password(password), session_epoch=sa.func.coalesce(User.session_epoch, 0) + 1))
    db.session.commit()
    forget(RESET, address)
    return password
