"""Users as admins and the users themselves manage them: listing, edits, roles, bans, deletion,
access tokens, affiliate codes and admin top-ups."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from oneapi.errors import Conflict, Forbidden, Invalid, NotFound
from oneapi.extensions import db
from oneapi.models import Ability, LogType, Role, User, UserStatus
from oneapi.relay import cache as relay_cache
from oneapi.services import logs
from oneapi.services.accounts import create_user, revoke_sessions, validate_profile
from oneapi.services.paging import get_by_id, id_or_prefix, page_of
from oneapi.services.passwords import hash_password
from oneapi.services.quota import credit_user, describe
from oneapi.services.randomness import random_string, uuid_hex

ORDERS = {"quota": (User.quota.desc(),), "used_quota": (User.used_quota.desc(),),
          "request_count": (User.request_count.desc(),)}


def list_users(page: int, order: str = "") -> list[User]:
    """Users not deleted, newest first or by `order` (One API hides deleted users here)."""
    return page_of(User, page, *ORDERS.get(order, ()), where=User.status != UserStatus.DELETED)


def search_users(keyword: str) -> list[User]:
    return id_or_prefix(User, keyword, User.username, User.email, User.display_name)


def get_user(user_id: int) -> User:
    return get_by_id(User, user_id, "用户不存在")


def _outranks(caller: User, target: User) -> bool:
    return caller.role == Role.ROOT or caller.role > target.role


def keep_a_root(user: User) -> None:
    """Refuse to delete, disable or demote `user` when it is the last enabled root: nobody could
    manage options or roots any more, and no path short of the database would bring one back.

    The enabled roots' rows are locked (PostgreSQL, MySQL), so two roots demoting each other at the
    same moment cannot both succeed; SQLite serialises writers anyway.
    """
    if user.role != Role.ROOT or user.status != UserStatus.ENABLED:
        return
    roots = db.session.scalars(sa.select(User.id).where(User.role == Role.ROOT, User.status == UserStatus.ENABLED)
                               .with_for_update())
    if not set(roots) - {user.id}:
        raise Forbidden("必须保留至少一个启用的超级管理员")


def find_by_username(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username)) if username else None


def get_for_admin(caller: User, user_id: int) -> User:
    user = get_user(user_id)
    if not _outranks(caller, user) and caller.id != user.id:
        raise Forbidden("无权获取同级或更高等级用户的信息")
    return user


def admin_create(caller: User, username: str, password: str, display_name: str, role: int) -> User:
    validate_profile(username=username, password=password, display_name=display_name)
    if role >= caller.role:
        raise Forbidden("无法创建权限大于等于自己的用户")
    return create_user(username, password, display_name=display_name or username)


def admin_update(caller: User, user_id: int, changes: dict[str, Any]) -> User:
    """Apply an admin's edit. Only profile fields, group, quota and role can change (never the access
    token, affiliate code or bindings, which One API let admins overwrite).

    `quota` sets the balance; with `quota_shown` (the balance the editing page showed) only the
    difference is applied, so a top-up or a spend since the page was loaded is kept. A new password
    ends the user's cookie sessions.
    """
    user = get_user(user_id)
    if not _outranks(caller, user):
        raise Forbidden("无权更新同权限等级或更高权限等级的用户信息")
    _check_role_change(caller, user, changes.get("role"))
    validate_profile(username=changes.get("username"), password=changes.get("password") or None,
                     display_name=changes.get("display_name"), email=changes.get("email"))
    _apply_profile(user, changes)
    if changes.get("role") is not None:
        user.role = changes["role"]
    if changes.get("group"):
        user.group = changes["group"]
    _apply_quota(user, changes.get("quota"), changes.get("quota_shown"))
    _commit_unique()
    return user


def _check_role_change(caller: User, user: User, role: int | None) -> None:
    if role is None:
        return
    if role not in (Role.COMMON, Role.ADMIN, Role.ROOT):
        raise Invalid("字段 {field} 必须是整数", field="role")
    if role >= caller.role and caller.role != Role.ROOT:
        raise Forbidden("无权将其他用户权限等级提升到大于等于自己的权限等级")
    if role < user.role:
        keep_a_root(user)


def _apply_quota(user: User, quota: int | None, shown: int | None) -> None:
    if quota is None:
        return
    if shown is None:
        old = user.quota
        if quota == old:
            return
        user.quota = quota
    elif quota == shown:
        return
    else:
        old, quota = add_quota(user.id, quota - shown)
        db.session.expire(user, ["quota"])
    logs.record(user.id, LogType.MANAGE, f"管理员将用户额度从 {describe(old)}修改为 {describe(quota)}",
                username=user.username)


def add_quota(user_id: int, delta: int) -> tuple[int, int]:
    """Change a user's balance by `delta` in one relative statement (never below 0), in the caller's
    transaction; returns the balance (before, after) for the log."""
    quota = sa.select(User.quota).where(User.id == user_id)
    # The lock (PostgreSQL, MySQL) keeps `before` exact; the balance is right without it too.
    before = db.session.scalar(quota.with_for_update())
    if delta > 0:
        credit_user(user_id, delta)
    else:
        added = User.quota + delta
        db.session.execute(sa.update(User).where(User.id == user_id).values(quota=sa.case((added < 0, 0), else_=added))
                           .execution_options(synchronize_session=False))
    return before, db.session.scalar(quota)


def _apply_profile(user: User, changes: dict[str, Any]) -> None:
    if changes.get("username"):
        if db.session.scalar(sa.select(User.id).where(User.username == changes["username"], User.id != user.id)):
            raise Conflict("用户名已存在，或已注销")
        user.username = changes["username"]
    if changes.get("display_name") is not None:
        user.display_name = changes["display_name"]
    if changes.get("email") is not None:
        user.email = changes["email"]
    if changes.get("password"):
        user.password = hash_password(changes["password"])
        revoke_sessions(user)


def _commit_unique() -> None:
    try:
        db.session.commit()
        relay_cache.forget_users()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("用户名已存在，或已注销") from None


def update_self(user: User, changes: dict[str, Any]) -> User:
    """The user's own edit of username, display name and password; a new password ends the user's
    cookie sessions (the view keeps the browser that made the change signed in)."""
    validate_profile(username=changes.get("username"), password=changes.get("password") or None,
                     display_name=changes.get("display_name"))
    _apply_profile(user, {k: changes.get(k) for k in ("username", "display_name", "password")})
    _commit_unique()
    return user


def manage(caller: User, username: str, action: str) -> User:
    user = find_by_username(username)
    if user is None:
        raise NotFound("用户不存在")
    if not _outranks(caller, user):
        raise Forbidden("无权更新同权限等级或更高权限等级的用户信息")
    handler = _ACTIONS.get(action)
    if handler is None:
        raise Invalid("无效的操作")
    try:
        handler(caller, user)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    relay_cache.forget_users()
    return user


def _disable(caller: User, user: User) -> None:
    if user.role == Role.ROOT:
        raise Forbidden("无法禁用超级管理员用户")
    user.status = UserStatus.DISABLED
    revoke_sessions(user)


def _enable(caller: User, user: User) -> None:
    user.status = UserStatus.ENABLED


def _delete(caller: User, user: User) -> None:
    if user.role == Role.ROOT:
        raise Forbidden("无法删除超级管理员用户")
    soft_delete(user)


def _promote(caller: User, user: User) -> None:
    if caller.role != Role.ROOT:
        raise Forbidden("普通管理员用户无法提升其他用户为管理员")
    if user.role >= Role.ADMIN:
        raise Conflict("该用户已经是管理员")
    user.role = Role.ADMIN


def _demote(caller: User, user: User) -> None:
    """One step down, as promotion is one step up: root to admin (only while another enabled root
    remains), admin to common user."""
    if user.role == Role.COMMON:
        raise Conflict("该用户已经是普通用户")
    if user.role == Role.ROOT:
        keep_a_root(user)
        user.role = Role.ADMIN
        return
    user.role = Role.COMMON


_ACTIONS = {"disable": _disable, "enable": _enable, "delete": _delete, "promote": _promote, "demote": _demote}


def soft_delete(user: User) -> None:
    """One API's deletion: status 3 and the username freed as `deleted_<uuid>`; rows stay for the logs."""
    user.status = UserStatus.DELETED
    user.username = f"deleted_{uuid_hex()}"
    user.access_token = None
    revoke_sessions(user)


def delete_user(caller: User, user_id: int) -> None:
    user = get_user(user_id)
    if not _outranks(caller, user):
        raise Forbidden("无权删除同权限等级或更高权限等级的用户")
    keep_a_root(user)
    soft_delete(user)
    db.session.commit()
    relay_cache.forget_users()


def delete_self(user: User) -> None:
    if user.role == Role.ROOT:
        raise Forbidden("不能删除超级管理员账户")
    soft_delete(user)
    db.session.commit()
    relay_cache.forget_users()


def regenerate_access_token(user: User) -> str:
    user.access_token = uuid_hex()
    db.session.commit()
    return user.access_token


def affiliate_code(user: User) -> str:
    if not user.aff_code:
        for _ in range(5):
            user.aff_code = random_string(4)
            try:
                db.session.commit()
                break
            except IntegrityError:
                db.session.rollback()
    return user.aff_code or ""


def admin_topup(user_id: int, quota: int, remark: str = "") -> None:
    """Add quota to a user in one guarded statement and log it (`POST /api/topup`)."""
    if quota <= 0:
        raise Invalid("额度必须是非负整数")
    credit_user(user_id, quota)
    logs.record(user_id, LogType.TOPUP, remark or f"通过 API 充值 {describe(quota)}", quota=quota)
    db.session.commit()


def available_models(group: str) -> list[str]:
    rows = db.session.scalars(
        sa.select(Ability.model).where(Ability.group == group, Ability.enabled == sa.true()).distinct()
    )
    return sorted(m for m in rows if m)
