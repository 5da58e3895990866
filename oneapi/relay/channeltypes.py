"""The channel-type registry: One API's type ids (§7.1) and, for each, one `TypeSpec` declared next
to its adaptor: labels, base URL, key format, form fields, modes, models and balance.

Everything else (the relay, `/api/models`, `/v1/models`, the console's channel form, balances, the
type-id validation) reads these declarations; nothing else spells a type's facts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from oneapi.relay.modes import RelayMode


class ChannelType(enum.IntEnum):
    UNKNOWN = 0
    OPENAI = 1
    API2D = 2
    AZURE = 3
    CLOSEAI = 4
    OPENAI_SB = 5
    OPENAI_MAX = 6
    OHMYGPT = 7
    CUSTOM = 8
    AILS = 9
    AIPROXY = 10
    PALM = 11
    API2GPT = 12
    AIGC2D = 13
    ANTHROPIC = 14
    BAIDU = 15
    ZHIPU = 16
    ALI = 17
    XUNFEI = 18
    AI360 = 19
    OPENROUTER = 20
    AIPROXY_LIBRARY = 21
    FASTGPT = 22
    TENCENT = 23
    GEMINI = 24
    MOONSHOT = 25
    BAICHUAN = 26
    MINIMAX = 27
    MISTRAL = 28
    GROQ = 29
    OLLAMA = 30
    LINGYIWANWU = 31
    STEPFUN = 32
    AWS_CLAUDE = 33
    COZE = 34
    COHERE = 35
    DEEPSEEK = 36
    CLOUDFLARE = 37
    DEEPL = 38
    TOGETHER_AI = 39
    DOUBAO = 40
    NOVITA = 41
    VERTEX_AI = 42
    PROXY = 43
    SILICONFLOW = 44
    XAI = 45
    REPLICATE = 46
    BAIDU_V2 = 47
    XUNFEI_V2 = 48
    ALI_BAILIAN = 49
    OPENAI_COMPATIBLE = 50
    GEMINI_OPENAI_COMPATIBLE = 51


@dataclass(frozen=True)
class Text:
    """A console text in both languages (Chinese first, as One API's UI)."""

    zh: str
    en: str = ""

    def get(self, language: str) -> str:
        return self.en or self.zh if language == "en" else self.zh

    def __bool__(self) -> bool:
        return bool(self.zh or self.en)


NO_TEXT = Text("")


@dataclass(frozen=True)
class ConfigField:
    """One key of a channel's `config` JSON that the channel form asks for."""

    key: str
    label: Text
    placeholder: str = ""
    secret: bool = False
    """Write-only (AWS's secret key, Vertex's ADC JSON): never shown back; empty keeps the saved value."""
    required: bool = True
    multiline: bool = False
    hint: Text = NO_TEXT
    json_object: bool = False
    """The value must be a JSON object (Vertex's ADC)."""


@dataclass(frozen=True)
class OtherField:
    """What the legacy `other` column holds for the type (Azure's API version, Spark's version …)."""

    name: str
    label: Text
    placeholder: str = ""
    hint: Text = NO_TEXT
    default: str = ""
    """Saved when the input is left empty."""


@dataclass(frozen=True)
class Balance:
    """How the channel's balance is read: the services' reader of that name, the host it asks when the
    channel has no base URL, and how the console shows the amount."""

    reader: str
    base_url: str
    unit: str = "$"
    """`$`, `¥`, `¥/10000` (OpenAI-SB counts ten-thousandths of a yuan) or `` (a bare number)."""
    field: str = ""
    """The reader's argument, where one reader serves several types (the credit-grants field)."""

    def display(self, amount: float) -> str:
        if self.unit == "¥/10000":
            return f"¥{amount / 10000:.2f}"
        return f"{self.unit}{amount:.2f}"


@dataclass(frozen=True)
class TypeSpec:
    """Everything about one channel type, declared once next to its adaptor (`adaptors.register`)."""

    id: ChannelType
    label: Text
    """One API's console label and our English one."""
    modes: frozenset[RelayMode]
    models: tuple[str, ...] = ()
    """Built-in model list: `/api/models`, "fill models"; `/v1/models` when `owner` is set."""
    owner: str = ""
    """`owned_by` in `/v1/models`; empty keeps the type's list out of it (One API's catalogue)."""
    base_url: str = ""
    base_url_input: str = "proxy"
    """Which base URL input the form shows: proxy (optional mirror), azure, custom, compatible
    (required), fastgpt, none."""
    key_format: str = ""
    """The key's shape (`APIKey|SecretKey` …); empty: the provider's API key as it is."""
    key_hint: Text = NO_TEXT
    key_input: bool = True
    """False where the key is built from the config (AWS, Vertex), as One API's form does."""
    key_from: tuple[str, ...] = ()
    """The config keys joined with `|` into the key when there is no key input (default: all)."""
    other: OtherField | None = None
    config: tuple[ConfigField, ...] = ()
    notice: Text = NO_TEXT
    """A remark the form shows for the type (what the model name means, a retired API …)."""
    balance: Balance | None = None
    vendor: bool = False
    """An OpenAI-compatible vendor: its list comes after every provider's own in `/v1/models`, in
    One API's order (so `llama3-8b-8192` is AWS's, not Groq's)."""
    models_required: bool = True
    """Whether a channel of the type must list models (a Proxy channel serves paths, not models)."""

    @property
    def base_url_required(self) -> bool:
        return self.base_url_input in ("azure", "custom", "compatible", "target")

    @property
    def secret_config(self) -> frozenset[str]:
        return frozenset(f.key for f in self.config if f.secret)

    def serves(self, mode: RelayMode) -> bool:
        return mode in self.modes


_TYPES: dict[int, TypeSpec] = {}


def declare(spec: TypeSpec) -> TypeSpec:
    """Add a channel type to the registry (an adaptor module does, when `adaptors.register` runs)."""
    if int(spec.id) in _TYPES:
        raise RuntimeError(f"channel type {int(spec.id)} declared twice")
    _TYPES[int(spec.id)] = spec
    return spec


def known(channel_type: object) -> bool:
    """Whether `channel_type` is the id of a declared channel type."""
    _loaded()
    return isinstance(channel_type, int) and not isinstance(channel_type, bool) and channel_type in _TYPES


def spec(channel_type: int) -> TypeSpec | None:
    _loaded()
    return _TYPES.get(channel_type)


def specs() -> list[TypeSpec]:
    """Every declared type, by id."""
    _loaded()
    return [_TYPES[key] for key in sorted(_TYPES)]


def label(channel_type: int, language: str = "zh") -> str:
    found = spec(channel_type)
    return found.label.get(language) if found else f"#{channel_type}"


def secret_config_keys() -> frozenset[str]:
    """Config keys that are write-only in any type."""
    return frozenset(key for s in specs() for key in s.secret_config)


def config_keys() -> tuple[str, ...]:
    """Every config key some type's form asks for, in first-seen order."""
    seen: dict[str, None] = {}
    for s in specs():
        for f in s.config:
            seen.setdefault(f.key, None)
    return tuple(seen)


def base_url(channel_type: int, channel_base_url: str | None) -> str:
    """The channel's own base URL (mirrors, proxies) or the type's default, without a trailing slash."""
    url = (channel_base_url or "").strip()
    if not url:
        found = spec(channel_type)
        url = found.base_url if found else ""
    return url.rstrip("/")


def _loaded() -> None:
    # The adaptor modules declare the types; importing the package loads them all.
    if not _TYPES:
        import oneapi.relay.adaptors  # noqa: F401
