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
from oneapi.relay.channeltypes import INFO, SECRET_CONFIG_KEYS
from oneapi.relay.channeltypes import ChannelType as T
from oneapi.services import catalog, channels, options

AZURE_DEFAULT_API_VERSION = "2024-03-01-preview"
CONFIG_KEYS = ("region", "ak", "sk", "user_id", "vertex_ai_project_id", "vertex_ai_adc")
SECRET_CONFIG = SECRET_CONFIG_KEYS


@dataclass(frozen=True)
class TypeForm:
    base_url: str = "proxy"
    """Which base URL input: proxy (optional mirror), azure, custom, compatible (required), fastgpt, none."""
    other: str = ""
    """What `other` holds for the type: api_version, xunfei_version, knowledge_id, plugin (or nothing)."""
    config: tuple[str, ...] = ()
    """The `config` keys the type asks for (all required)."""
    key: bool = True
    """Whether the key is typed in; AWS and Vertex build it from their config, as One API's form does."""

    @property
    def base_url_required(self) -> bool:
        return self.base_url in ("azure", "custom", "compatible")


FORMS: dict[int, TypeForm] = {
    T.AZURE: TypeForm(base_url="azure", other="api_version"),
    T.CUSTOM: TypeForm(base_url="custom"),
    T.OPENAI_COMPATIBLE: TypeForm(base_url="compatible"),
    T.FASTGPT: TypeForm(base_url="fastgpt"),
    T.XUNFEI: TypeForm(other="xunfei_version"),
    T.AIPROXY_LIBRARY: TypeForm(other="knowledge_id"),
    T.ALI: TypeForm(other="plugin"),
    T.AWS_CLAUDE: TypeForm(base_url="none", config=("region", "ak", "sk"), key=False),
    T.VERTEX_AI: TypeForm(config=("region", "vertex_ai_project_id", "vertex_ai_adc"), key=False),
    T.COZE: TypeForm(config=("user_id",)),
    T.CLOUDFLARE: TypeForm(config=("user_id",)),
}

# English names of the types whose One API label is Chinese.
LABELS_EN: dict[int, str] = {
    T.API2D: "Proxy: API2D", T.CLOSEAI: "Proxy: CloseAI", T.OPENAI_SB: "Proxy: OpenAI-SB",
    T.OPENAI_MAX: "Proxy: OpenAI Max", T.OHMYGPT: "Proxy: OhMyGPT", T.CUSTOM: "Custom channel",
    T.AILS: "Proxy: AI.LS", T.AIPROXY: "Proxy: AI Proxy", T.API2GPT: "Proxy: API2GPT", T.AIGC2D: "Proxy: AIGC2D",
    T.BAIDU: "Baidu Qianfan", T.ZHIPU: "Zhipu ChatGLM", T.ALI: "Alibaba Tongyi Qianwen", T.XUNFEI: "iFlytek Spark",
    T.AI360: "360 AI", T.AIPROXY_LIBRARY: "Knowledge base: AI Proxy", T.FASTGPT: "Knowledge base: FastGPT",
    T.TENCENT: "Tencent Hunyuan", T.BAICHUAN: "Baichuan", T.LINGYIWANWU: "01.AI", T.STEPFUN: "StepFun",
    T.DOUBAO: "ByteDance Doubao (Volcano Engine)", T.BAIDU_V2: "Baidu Qianfan V2", T.XUNFEI_V2: "iFlytek Spark V2",
    T.ALI_BAILIAN: "Alibaba Cloud Bailian", T.OPENAI_COMPATIBLE: "OpenAI compatible",
}


def form_of(channel_type: int) -> TypeForm:
    return FORMS.get(channel_type, TypeForm())


def type_label(channel_type: int, english: bool) -> str:
    if channel_type not in T._value2member_map_:
        return f"#{channel_type}"
    return LABELS_EN.get(channel_type, INFO[T(channel_type)].label) if english else INFO[T(channel_type)].label


def type_choices(english: bool) -> list[tuple[int, str]]:
    return [(t.value, type_label(t.value, english)) for t in T if t != T.UNKNOWN]


@dataclass
class ChannelValues:
    """What the form holds, before or after a save (the key and secret config inputs start empty)."""

    type: int = T.OPENAI
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
        config={k: str(config.get(k, "")) for k in CONFIG_KEYS if k not in SECRET_CONFIG})


def saved_secrets(channel: Channel | None) -> set[str]:
    """The secret config keys the channel already has (the form says an empty input keeps them)."""
    config = _config_dict(channel.config) if channel else {}
    return {k for k in SECRET_CONFIG if config.get(k)}


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


def _check(values: ChannelValues, form: TypeForm, current: Channel | None) -> None:
    if not values.name.strip():
        raise Invalid("字段 {field} 是必填项", field="name")
    if form.base_url_required and not values.base_url.strip():
        raise Invalid("字段 {field} 是必填项", field="base_url")
    if values.type != T.PROXY and not values.models:
        raise Invalid("请至少选择一个模型！", field="models")
    kept = saved_secrets(current)
    for key in form.config:
        if not values.config.get(key, "").strip() and key not in kept:
            raise Invalid("字段 {field} 是必填项", field=f"config_{key}")
    if form.key and current is None and not values.key.strip():
        raise Invalid("渠道密钥不能为空", field="key")
    # The model mapping and config JSON are checked by `channels.check_fields` (field named).
    channels.check_fields({"model_mapping": values.model_mapping})


def _base_url(values: ChannelValues, form: TypeForm) -> str:
    return "" if form.base_url == "none" else values.base_url.strip().rstrip("/")


def _other(values: ChannelValues, form: TypeForm) -> str:
    if not form.other:
        return ""
    if form.other == "api_version":
        return values.other.strip() or AZURE_DEFAULT_API_VERSION
    return values.other.strip()


def _config(values: ChannelValues, form: TypeForm, current: Channel | None) -> dict[str, Any]:
    """The channel's config: keys the form does not know are kept, the type's keys come from the form
    (an empty secret keeps the saved one), other form keys are dropped."""
    before = _config_dict(current.config) if current else {}
    config = {k: v for k, v in before.items() if k not in CONFIG_KEYS}
    for key in form.config:
        value = values.config.get(key, "").strip()
        if not value and key in SECRET_CONFIG:
            value = str(before.get(key, ""))
        if value:
            config[key] = value
    adc = config.get("vertex_ai_adc")
    if adc and not isinstance(_config_dict(adc) or None, dict):
        raise Invalid("ADC JSON 必须是合法的 JSON 对象", field="config_vertex_ai_adc")
    return config


def _derived_key(form: TypeForm, config: dict[str, Any]) -> str:
    """AWS and Vertex have no key input: One API's form builds the key from the config."""
    if form.key:
        return ""
    if "ak" in form.config:
        return f"{config.get('ak', '')}|{config.get('sk', '')}|{config.get('region', '')}"
    return f"{config.get('region', '')}|{config.get('vertex_ai_project_id', '')}|{config.get('vertex_ai_adc', '')}"
