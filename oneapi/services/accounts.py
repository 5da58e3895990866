"""Accounts: the root account at first start, password login, registration, new-user bonuses, and ending
a user's cookie sessions."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from oneapi.errors import Conflict, Forbidden, Invalid
from oneapi.extensions import db
from oneapi.models import LogType, Role, Token, User, UserStatus
from oneapi.services import logs, options, verification
from oneapi.services.passwords import check_nothing, check_password, hash_password
from oneapi.services.quota import credit_user, describe
from oneapi.services.randomness import api_key, random_string, uuid_hex
from oneapi.services.validation import check_length

ROOT_QUOTA = 500_000_000_000_000


def ensure_root(initial_token: str = "", initial_access_token: str = "") -> User | None:
    """On a database without any user, create root / 123456 as One API does (§2.3)."""
    if db.session.scalar(sa.select(User.id).limit(1)) is not None:
        db.session.rollback()
        return None
    root = User(username="root", password=hash_password("123456"), role=Role.ROOT, status=UserStatus.ENABLED,
                display_name="Root User", quota=ROOT_QUOTA, access_token=initial_access_token or uuid_hex(),
                aff_code=random_string(4))
    db.session.add(root)
    try:
        db.session.flush()
        if initial_token:
            # The first key of a fresh database: id 1, as One API gives it, without forcing the id
            # (an explicit id would leave PostgreSQL's sequence behind).
            db.session.add(Token(user_id=root.id, key=initial_token, status=1, name="Initial Root Token",
                                 created_time=int(time.time()), accessed_time=int(time.time()), expired_time=-1,
                                 remain_quota=ROOT_QUOTA, unlimited_quota=True))
        db.session.commit()
    except IntegrityError:
        # Another node created root at the same moment.
        db.session.rollback()
        return None
    return root


def login(username: str, password: str) -> User:
    """The enabled user with this username (or email) and password.

    Every failure reads the same, and an unknown name costs the same bcrypt check as a wrong
    password, so neither the answer nor its timing tells which usernames exist.
    """
    if not options.get_bool("PasswordLoginEnabled"):
        raise Forbidden("管理员关闭了密码登录")
    if not username or not password:
        raise Invalid("用户名或密码为空")
    user = _find_login(username)
    matches = check_password(password, user.password) if user is not None else check_nothing(password)
    if user is None or not matches or user.status != UserStatus.ENABLED:
        raise Forbidden("用户名或密码错误，或用户已被封禁")
    return user


def _find_login(name: str) -> User | None:
    """The user named `name`, else the first one with that email: One API's two lookups in one query,
    so a known and an unknown name cost the same round trips."""
    by_name = sa.case((User.username == name, 0), else_=1)
    query = sa.select(User).where(sa.or_(User.username == name, User.email == name)).order_by(by_name, User.id)
    return db.session.scalar(query.limit(1))


def revoke_sessions(user: User) -> None:
    """End every cookie session of `user`, in the caller's transaction (see `oneapi.sessions`).

    One atomic `SET session_epoch = session_epoch + 1`: two revocations at once both count, so a
    session started between them cannot survive the second.
    """
    user.session_epoch = sa.func.coalesce(User.session_epoch, 0) + 1


def sign_out_everywhere(user: User) -> None:
    """End every cookie session of `user` (logout, and the "sign out everywhere" button)."""
    revoke_sessions(user)
    db.session.commit()


def validate_profile(username: str | None = None, password: str | None = None, display_name: str | None = None,
                     email: str | None = None) -> None:
    """One API's validator limits: username ≤ 12, password 8–20, display name ≤ 20, email ≤ 50."""
    if username is not None:
        check_length("username", username, 1, 12)
    if password is not None:
        check_length("password", password, 8, 20)
        if len(password.encode()) > 72:
            # bcrypt reads 72 bytes at most; 20 emoji are 80.
            raise Invalid("字段 {field} 不能超过 {max} 字节", field="password", max=72)
    if display_name is not None:
        check_length("display_name", display_name, 0, 20)
    if email is not None:
        check_length("email", email, 0, 50)


def register(username: str, password: str, email: str = "", verification_code: str = "",
             aff_code: str = "") -> User:
    if not options.get_bool("RegisterEnabled"):
        raise Forbidden("管理员关闭了新用户注册")
    if not options.get_bool("PasswordRegisterEnabled"):
        raise Forbidden("管理员关闭了通过密码进行注册，请使用第三方账户验证的形式进行注册")
    verification.refuse_turnstile()
    validate_profile(username=username, password=password, email=email)
    verified = options.get_bool("EmailVerificationEnabled")
    if verified:
        if not email or not verification_code:
            raise Invalid("管理员开启了邮箱验证，请输入邮箱地址和验证码")
        if not verification.is_valid(verification.VERIFY, email, verification_code):
            raise Invalid("验证码错误或已过期", field="verification_code")
    inviter_id = 0
    if aff_code:
        inviter_id = db.session.scalar(sa.select(User.id).where(User.aff_code == aff_code)) or 0
    # As in One API, the address is kept only when it was verified.
    user = create_user(username, password, display_name=username, inviter_id=inviter_id,
                       email=email if verified else "")
    if verified:
        verification.forget(verification.VERIFY, email)
    return user


def create_user(username: str, password: str, display_name: str = "", inviter_id: int = 0,
                email: str = "") -> User:
    """Insert a common user with the new-user bonus, a default API key and invitation rewards."""
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise Conflict("用户名已存在，或已注销")
    bonus = options.get_int("QuotaForNewUser")
    user = User(username=username, password=hash_password(password), display_name=display_name or username,
                role=Role.COMMON, status=UserStatus.ENABLED, email=email or "", quota=bonus,
                access_token=uuid_hex(), aff_code=random_string(4), inviter_id=inviter_id or 0)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("用户名已存在，或已注销") from None
    now = int(time.time())
    db.session.add(Token(user_id=user.id, key=api_key(), status=1, name="default", created_time=now,
                         accessed_time=now, expired_time=-1, remain_quota=-1, unlimited_quota=True))
    if bonus > 0:
        logs.record(user.id, LogType.SYSTEM, f"新用户注册赠送 {describe(bonus)}", username=username)
    if inviter_id:
        _reward_invitation(user, inviter_id)
    db.session.commit()
    return user


def _reward_invitation(user: User, inviter_id: int) -> None:
    invitee_bonus = options.get_int("QuotaForInvitee")
    if invitee_bonus > 0:
        user.quota = (user.quota or 0) + invitee_bonus
        logs.record(user.id, LogType.SYSTEM, f"使用邀请码赠送 {describe(invitee_bonus)}", username=user.username)
    inviter_bonus = options.get_int("QuotaForInviter")
    if inviter_bonus > 0:
        credit_user(inviter_id, inviter_bonus)
        logs.record(inviter_id, LogType.SYSTEM, f"邀请用户赠送 {describe(inviter_bonus)}")


def bind_email(user: User, email: str, code: str) -> None:
    """Bind a mailed-and-verified address to `user` (One API's `GET /api/oauth/email/bind`)."""
    verification.check_address(email)
    if not verification.is_valid(verification.VERIFY, email, code):
        raise Invalid("验证码错误或已过期", field="email_code")
    if email != user.email and verification.email_taken(email):
        raise Invalid("邮箱地址已被占用", field="email")
    user.email = email
    db.session.commit()
    verification.forget(verification.VERIFY, email)
