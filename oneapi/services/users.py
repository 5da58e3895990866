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
from oneapi.services.accounts import create_user, validate_profile
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
    token, affiliate code or bindings, which One API let admins overwrite)."""
    user = get_user(user_id)
    if not _outranks(caller, user):
        raise Forbidden("无权更新同权限等级或更高权限等级的用户信息")
    role = changes.get("role")
    if role is not None and role not in (Role.COMMON, Role.ADMIN, Role.ROOT):
        raise Invalid("字段 {field} 必须是整数", field="role")
    if role is not None and role >= caller.role and caller.role != Role.ROOT:
        raise Forbidden("无权将其他用户权限等级提升到大于等于自己的权限等级")
    validate_profile(username=changes.get("username"), password=changes.get("password") or None,
                     display_name=changes.get("display_name"), email=changes.get("email"))
    _apply_profile(user, changes)
    if role is not None and user.role != Role.ROOT:
        user.role = role
    if changes.get("group"):
        user.group = changes["group"]
    if changes.get("quota") is not None and changes["quota"] != user.quota:
        old, new = user.quota, changes["quota"]
        user.quota = new
        logs.record(user.id, LogType.MANAGE, f"管理员将用户额度从 {describe(old)}修改为 {describe(new)}",
                    username=user.username)
    _commit_unique()
    return user


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


def _commit_unique() -> None:
    try:
        db.session.commit()
        relay_cache.forget_users()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("用户名已存在，或已注销") from None


def update_self(user: User, changes: dict[str, Any]) -> User:
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
    if user.role == Role.ROOT:
        raise Forbidden("无法降级超级管理员用户")
    if user.role == Role.COMMON:
        raise Conflict("该用户已经是普通用户")
    user.role = Role.COMMON


_ACTIONS = {"disable": _disable, "enable": _enable, "delete": _delete, "promote": _promote, "demote": _demote}


def soft_delete(user: User) -> None:
    """One API's deletion: status 3 and the username freed as `deleted_<uuid>`; rows stay for the logs."""
    user.status = UserStatus.DELETED
    user.username = f"deleted_{uuid_hex()}"
    user.access_token = None


def delete_user(caller: User, user_id: int) -> None:
    user = get_user(user_id)
    if not _outranks(caller, user):
        raise Forbidden("无权删除同权限等级或更高权限等级的用户")
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
