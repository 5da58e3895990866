"""Channels (upstream accounts) and their abilities. Every change that can alter routing rebuilds the
channel's abilities in the same transaction, so the (group, model) index never disagrees with the
channels table (One API left orphans on bulk delete and created abilities for the model "")."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa

from oneapi.errors import Invalid
from oneapi.extensions import db
from oneapi.jsonbody import find_lone_surrogate
from oneapi.models import Ability, Channel, ChannelStatus
from oneapi.relay import cache as relay_cache
from oneapi.relay import channeltypes
from oneapi.services.paging import get_by_id, id_or_prefix, is_id, like_prefix, page_of
from oneapi.services.validation import check_length, check_range

EDITABLE = ("type", "status", "name", "weight", "base_url", "other", "models", "group", "model_mapping",
            "priority", "config", "system_prompt")


def check_type(channel_type: int) -> int:
    """A declared channel type id (One API's 0..51), refused in One API's words otherwise."""
    ids = [int(spec.id) for spec in channeltypes.specs()]
    check_range("type", channel_type, min(ids), max(ids))
    if not channeltypes.known(channel_type):
        raise Invalid("无效的参数")
    return channel_type


def split_list(text: str | None) -> list[str]:
    """Comma list → non-empty trimmed items, in order, without duplicates ignoring case (MySQL's
    collation would reject "gpt-4o" and "GPT-4o" as the same ability key)."""
    seen: dict[str, str] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if item:
            seen.setdefault(item.lower(), item)
    return list(seen.values())


def check_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the editable channel fields present in `fields`; returns them normalised."""
    out = {k: v for k, v in fields.items() if k in EDITABLE and v is not None}
    if "type" in out:
        check_type(out["type"])
    if "status" in out and out["status"] not in tuple(ChannelStatus):
        raise Invalid("字段 {field} 不能大于 {max}", field="status", max=3)
    for name, limit in (("name", 191), ("base_url", 191), ("models", 65535), ("other", 65535),
                        ("system_prompt", 65535), ("config", 65535)):
        if name in out:
            check_length(name, out[name], 0, limit)
    if "weight" in out:
        check_range("weight", out["weight"], 0)
    if "group" in out:
        out["group"] = ",".join(split_list(out["group"])) or "default"
        check_length("group", out["group"], 0, 32)
    if "models" in out:
        out["models"] = ",".join(split_list(out["models"]))
        for model in split_list(out["models"]):
            check_length("models", model, 0, 191)
    if "model_mapping" in out:
        out["model_mapping"] = _check_json_object("model_mapping", out["model_mapping"], strings=True)
    if "config" in out:
        out["config"] = _check_json_object("config", out["config"])
    return out


def _check_json_object(field: str, text: str, *, strings: bool = False) -> str:
    text = text.strip()
    if not text:
        return ""
    message = "模型映射必须是合法的 JSON 格式！" if strings else "渠道配置必须是合法的 JSON 格式！"
    try:
        parsed = json.loads(text)
    except ValueError:
        raise Invalid(message, field=field) from None
    if not isinstance(parsed, dict) or (strings and not all(isinstance(v, str) for v in parsed.values())):
        raise Invalid(message, field=field)
    if find_lone_surrogate(parsed) is not None:
        # `"\\ud800"` inside the JSON text: the relay would fail to send the mapped model or config on.
        raise Invalid("字段 {field} 包含无效字符", field=field)
    if field == "model_mapping":
        check_length(field, text, 0, 1024)
    return text


def public_config(text: str | None) -> str:
    """The channel's config as admins see it: secret values blanked (their keys stay, so a form shows
    the field empty). Text that is not a JSON object shows as "": it cannot be shown to hold no secret."""
    config = _config_object(text)
    if config is None:
        return ""
    secret = channeltypes.secret_config_keys()
    if secret.isdisjoint(config):
        return text or ""
    return json.dumps({k: "" if k in secret else v for k, v in config.items()}, ensure_ascii=False)


def keep_secrets(new_text: str, old_text: str | None) -> str:
    """The new config text, with each secret it leaves empty or out taken from the stored config (as an
    empty key keeps the stored key): an admin saves back what `public_config` showed."""
    old = _config_object(old_text) or {}
    new = _config_object(new_text) or {}
    missing = {k: old[k] for k in channeltypes.secret_config_keys() if old.get(k) and not new.get(k)}
    if not missing:
        return new_text
    return json.dumps({**new, **missing}, ensure_ascii=False)


def _config_object(text: str | None) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


# The console's sortable columns; "-name" sorts descending. Ties fall back to the newest first. An empty
# value counts as 0 (or ""), so every engine puts it in the same place (PostgreSQL sorts NULL first).
SORTS = {"id": Channel.id, "name": sa.func.coalesce(Channel.name, ""),
         "priority": sa.func.coalesce(Channel.priority, 0), "balance": sa.func.coalesce(Channel.balance, 0),
         "response_time": sa.func.coalesce(Channel.response_time, 0)}


def _order(sort: str) -> list[Any]:
    column = SORTS.get(sort.removeprefix("-"))
    if column is None:
        return []
    return [column.desc() if sort.startswith("-") else column.asc()]


def list_channels(page: int, sort: str = "") -> list[Channel]:
    return page_of(Channel, page, *_order(sort))


def search_channels(keyword: str, page: int | None = None, sort: str = "") -> list[Channel]:
    """Channels whose id is the keyword or whose name starts with it: all of them (One API's API), or one
    page in the order of `sort` (the console)."""
    if page is None and not sort:
        return id_or_prefix(Channel, keyword, Channel.name)
    condition = Channel.name.like(like_prefix(keyword), escape="\\")
    if is_id(keyword):
        condition = sa.or_(Channel.id == int(keyword), condition)
    return page_of(Channel, page or 0, *_order(sort), where=condition)


def get_channel(channel_id: int) -> Channel:
    return get_by_id(Channel, channel_id, "渠道不存在")


def create_channels(key_text: str, fields: dict[str, Any]) -> list[Channel]:
    """One channel per non-empty line of `key_text` (One API's batch add), abilities included."""
    fields = check_fields(fields)
    keys = [line.strip() for line in key_text.split("\n") if line.strip()]
    if not keys:
        raise Invalid("渠道密钥不能为空")
    now = int(time.time())
    created = []
    for key in keys:
        channel = Channel(key=key, created_time=now, **{"status": ChannelStatus.ENABLED, **fields})
        channel.group = channel.group or "default"
        db.session.add(channel)
        created.append(channel)
    db.session.flush()
    for channel in created:
        _rebuild_abilities(channel)
    db.session.commit()
    relay_cache.forget_channels()
    return created


def update_channel(channel_id: int, fields: dict[str, Any], key: str = "") -> Channel:
    """Change the given fields (an empty key, or an empty secret in `config`, keeps the stored one) and
    rebuild the abilities."""
    channel = get_channel(channel_id)
    checked = check_fields(fields)
    if "config" in checked:
        checked["config"] = keep_secrets(checked["config"], channel.config)
    for name, value in checked.items():
        setattr(channel, name, value)
    if key.strip():
        channel.key = key.strip()
    _rebuild_abilities(channel)
    db.session.commit()
    relay_cache.forget_channels()
    return channel


def set_status(channel_id: int, status: ChannelStatus) -> Channel:
    channel = get_channel(channel_id)
    channel.status = status
    db.session.execute(sa.update(Ability).where(Ability.channel_id == channel.id)
                       .values(enabled=status == ChannelStatus.ENABLED))
    db.session.commit()
    relay_cache.forget_channels()
    return channel


def delete_channel(channel_id: int) -> None:
    channel = get_channel(channel_id)
    db.session.execute(sa.delete(Ability).where(Ability.channel_id == channel.id))
    db.session.delete(channel)
    db.session.commit()
    relay_cache.forget_channels()


def delete_disabled() -> int:
    disabled = (ChannelStatus.MANUALLY_DISABLED, ChannelStatus.AUTO_DISABLED)
    ids = list(db.session.scalars(sa.select(Channel.id).where(Channel.status.in_(disabled))))
    if ids:
        db.session.execute(sa.delete(Ability).where(Ability.channel_id.in_(ids)))
        db.session.execute(sa.delete(Channel).where(Channel.id.in_(ids)))
    db.session.commit()
    relay_cache.forget_channels()
    return len(ids)


def _rebuild_abilities(channel: Channel) -> None:
    db.session.execute(sa.delete(Ability).where(Ability.channel_id == channel.id))
    enabled = channel.status == ChannelStatus.ENABLED
    for group in split_list(channel.group) or ["default"]:
        for model in split_list(channel.models):
            db.session.add(Ability(group=group, model=model, channel_id=channel.id, enabled=enabled,
                                   priority=channel.priority or 0))
