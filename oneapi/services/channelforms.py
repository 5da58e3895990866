"""The channel form of the console (One API's EditChannel): which inputs each channel type shows, how
they fold into the channel's `base_url`, `other`, `config` and key, filling the models, and saving.

Secrets stay write-only: the key, AWS's secret key and Vertex's ADC JSON are never shown back, and an
empty input keeps the saved value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from oneapi.errors import Invalid
from oneapi.extensions import db
from oneapi.models import Channel
from oneapi.relay import channeltypes
from oneapi.relay.channeltypes import ChannelType, TypeSpec
from oneapi.services import catalog, channels, options


def form_of(channel_type: int) -> TypeSpec:
    """The type's declaration, which says what the form shows (an unknown id: OpenAI's)."""
    return channeltypes.spec(channel_type) or channeltypes.spec(ChannelType.OPENAI)


def config_keys() -> tuple[str, ...]:
    """Every config input some type's form has (`config_<key>`)."""
    return channeltypes.config_keys()


def type_label(channel_type: int, english: bool) -> str:
    return channeltypes.label(channel_type, "en" if english else "zh")


def type_choices(english: bool) -> list[tuple[int, str]]:
    return [(int(s.id), s.label.get("en" if english else "zh")) for s in channeltypes.specs()
            if s.id != ChannelType.UNKNOWN]


@dataclass
class ChannelValues:
    """What the form holds, before or after a save (the key and secret config inputs start empty)."""

    type: int = ChannelType.OPENAI
    name: str = ""
    groups: list[str] = field(default_factory=lambda: ["default"])
    models: list[str] = field(default_factory=list)
    model_mapping: str = ""
    system_prompt: str = ""
    key: str = ""
    batch: bool = False
    base_url: str = ""
    other: str = ""
    config: dict[str, str] = field(default_factory=dict)


def values_of(channel: Channel) -> ChannelValues:
    """The edit form's values of a saved channel; secrets are left out."""
    config = _config_dict(channel.config)
    return ChannelValues(
        type=channel.type, name=channel.name or "", groups=channels.split_list(channel.group),
        models=channels.split_list(channel.models), model_mapping=channel.model_mapping or "",
        system_prompt=channel.system_prompt or "", base_url=channel.base_url or "", other=channel.other or "",
        config={k: str(config.get(k, "")) for k in channeltypes.config_keys()
                if k not in channeltypes.secret_config_keys()})


def saved_secrets(channel: Channel | None) -> set[str]:
    """The secret config keys the channel already has (the form says an empty input keeps them)."""
    config = _config_dict(channel.config) if channel else {}
    return {k for k in channeltypes.secret_config_keys() if config.get(k)}


def _config_dict(text: str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


# -- models and groups ------------------------------------------------------------------------------

def related_models(channel_type: int) -> list[str]:
    return catalog.models_by_channel_type().get(channel_type, [])


def all_models() -> list[str]:
    return [model["id"] for model in catalog.openai_models()]


def fill_models(values: ChannelValues, how: str) -> None:
    """One API's buttons: related models of the type, every known model, or none (each replaces the pick)."""
    if how == "related":
        values.models = related_models(values.type)
    elif how == "all":
        values.models = all_models()
    elif how == "clear":
        values.models = []


def model_choices(values: ChannelValues) -> list[str]:
    """The picker's list: the chosen models first, then the type's other related models."""
    chosen = list(values.models)
    return chosen + [m for m in related_models(values.type) if m not in chosen]


def group_choices(chosen: list[str]) -> list[str]:
    """The groups of the group ratio option, those channels already use, and the chosen ones."""
    known = set(options.get_json("GroupRatio"))
    for group in db.session.scalars(sa.select(Channel.group).distinct()):
        known.update(channels.split_list(group))
    return sorted(known | set(chosen))


# -- saving ------------------------------------------------------------------------------------------

def save(values: ChannelValues, channel_id: int | None = None) -> list[Channel]:
    """Create the channel(s) (one per key line in batch mode) or update `channel_id`; a bad field raises
    `Invalid` naming it and nothing is saved."""
    current = channels.get_channel(channel_id) if channel_id else None
    form = form_of(values.type)
    config = _config(values, form, current)
    fields = {
        "type": values.type, "name": values.name, "group": ",".join(values.groups),
        "models": ",".join(values.models), "model_mapping": values.model_mapping,
        "system_prompt": values.system_prompt, "base_url": _base_url(values, form),
        "other": _other(values, form), "config": json.dumps(config, ensure_ascii=False) if config else "",
    }
    _check(values, form, current)
    key = _derived_key(form, config) or values.key
    if current is not None:
        return [channels.update_channel(current.id, fields, key=key)]
    if not values.batch:
        key = key.replace("\n", "").strip()
    return channels.create_channels(key, fields)


def _check(values: ChannelValues, form: TypeSpec, current: Channel | None) -> None:
    if not values.name.strip():
        raise Invalid("字段 {field} 是必填项", field="name")
    if form.base_url_required and not values.base_url.strip():
        raise Invalid("字段 {field} 是必填项", field="base_url")
    if form.models_required and not values.models:
        raise Invalid("请至少选择一个模型！", field="models")
    kept = saved_secrets(current)
    for item in form.config:
        if item.required and not values.config.get(item.key, "").strip() and item.key not in kept:
            raise Invalid("字段 {field} 是必填项", field=f"config_{item.key}")
    if form.key_input and current is None and not values.key.strip():
        raise Invalid("渠道密钥不能为空", field="key")
    # The model mapping and config JSON are checked by `channels.check_fields` (field named).
    channels.check_fields({"model_mapping": values.model_mapping})


def _base_url(values: ChannelValues, form: TypeSpec) -> str:
    return "" if form.base_url_input == "none" else values.base_url.strip().rstrip("/")


def _other(values: ChannelValues, form: TypeSpec) -> str:
    if form.other is None:
        return ""
    return values.other.strip() or form.other.default


def _config(values: ChannelValues, form: TypeSpec, current: Channel | None) -> dict[str, Any]:
    """The channel's config: keys the form does not know are kept, the type's keys come from the form
    (an empty secret keeps the saved one), other form keys are dropped."""
    before = _config_dict(current.config) if current else {}
    config = {k: v for k, v in before.items() if k not in channeltypes.config_keys()}
    for item in form.config:
        value = values.config.get(item.key, "").strip()
        if not value and item.secret:
            value = str(before.get(item.key, ""))
        if value and item.json_object and not _config_dict(value):
            raise Invalid("{field} 必须是合法的 JSON 对象", field=item.label.zh)
        if value:
            config[item.key] = value
    return config


def _derived_key(form: TypeSpec, config: dict[str, Any]) -> str:
    """Types without a key input (AWS, Vertex): One API's form joins their config values with `|`."""
    if form.key_input:
        return ""
    return "|".join(str(config.get(key, "")) for key in form.key_from or [item.key for item in form.config])
