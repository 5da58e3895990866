"""Price lookups and quota arithmetic for the relay; pure functions over the option maps callers pass in.

Units, as One API's: 1 quota = 1 token at ratio 1; ratio 1 = $0.002 per 1K tokens; 500000 quota = $1
(`QuotaPerUnit`). A request costs its tokens × model ratio × group ratio, completion tokens further × the
completion ratio. All products are computed exactly on the decimal text of each ratio (`0.075` is 3/40, not
the nearest binary float), so a price that lands on a whole quota is never rounded up by float noise.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from oneapi.services.ratios import (
    DEFAULT_COMPLETION_RATIO,
    DEFAULT_MODEL_RATIO,
    IMAGE_N_RANGE,
    IMAGE_PROMPT_LIMIT,
    IMAGE_SIZE_RATIOS,
    NAMED_COMPLETION_RATIOS,
)

QUOTA_PER_UNIT = 500_000
UNKNOWN_MODEL_RATIO = 30
Number = int | float | Fraction | Decimal

_INTERNET_PREFIXES = ("qwen-", "command-")


def exact(value: Number) -> Fraction:
    """The value as a Fraction; a float is read as its shortest decimal text (0.1 -> 1/10)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return _decimal_fraction(value)
    return Fraction(value)


@lru_cache(maxsize=4096)
def _decimal_fraction(value: float) -> Fraction:
    # Parsing the text is the slow part, and a relay request reads the same few ratios again and again.
    return Fraction(repr(value))


def ratio_product(*ratios: Number) -> Fraction:
    """The exact product of ratios, e.g. model × group, for the functions taking one combined ratio."""
    product = Fraction(1)
    for ratio in ratios:
        product *= exact(ratio)
    return product


def _base_name(name: str) -> str:
    # `qwen-…-internet` and `command-…-internet` are the web-search variants, priced as the plain model.
    if name.startswith(_INTERNET_PREFIXES) and name.endswith("-internet"):
        return name[: -len("-internet")]
    return name


def _lookup(name: str, channel_type: int, configured: dict, defaults: dict) -> float | None:
    for key in (f"{name}({channel_type})", name):
        for table in (configured, defaults):
            if key in table:
                return table[key]
    return None


def find_model_ratio(name: str, channel_type: int, configured: dict) -> float | None:
    """The model ratio, or None when neither the option nor the defaults price the model.

    Order: `name(channel_type)` in `configured`, then in the defaults, then `name` in each; a `-internet`
    suffix on `qwen-`/`command-` names is ignored.
    """
    return _lookup(_base_name(name), channel_type, configured, DEFAULT_MODEL_RATIO)


def is_known_model(name: str, channel_type: int, configured: dict) -> bool:
    """Whether the model has a price; unpriced models are billed at UNKNOWN_MODEL_RATIO."""
    return find_model_ratio(name, channel_type, configured) is not None


def model_ratio(name: str, channel_type: int, configured: dict) -> float:
    """The model ratio as One API resolves it, UNKNOWN_MODEL_RATIO (30) for an unpriced model.

    Use `find_model_ratio` or `is_known_model` to tell the fallback from a real price.
    """
    ratio = find_model_ratio(name, channel_type, configured)
    return UNKNOWN_MODEL_RATIO if ratio is None else ratio


def completion_ratio(name: str, channel_type: int, configured: dict) -> float:
    """Price of a completion token relative to a prompt token.

    The explicit map (`name(channel_type)` then `name`, option before defaults) wins; otherwise One API's
    rules by name family, then NAMED_COMPLETION_RATIOS, else 1.
    """
    name = _base_name(name)
    ratio = _lookup(name, channel_type, configured, DEFAULT_COMPLETION_RATIO)
    if ratio is not None:
        return ratio
    ratio = _family_completion_ratio(name)
    if ratio is not None:
        return ratio
    return NAMED_COMPLETION_RATIOS.get(name, 1)


def _family_completion_ratio(name: str) -> float | None:
    if name.startswith("gpt-3.5"):
        if name == "gpt-3.5-turbo" or name.endswith("0125"):
            return 3
        return 2 if name.endswith("1106") else 4 / 3
    if name.startswith("gpt-4"):
        return _gpt4_completion_ratio(name)
    if name.startswith("o1"):
        return 4
    if name == "chatgpt-4o-latest":
        return 3
    if name.startswith("claude-3"):
        return 5
    if name.startswith(("claude-", "mistral-", "gemini-")):
        return 3
    if name.startswith("deepseek-"):
        return 2
    return None


def _gpt4_completion_ratio(name: str) -> float:
    if name.startswith("gpt-4o"):
        return 3 if name == "gpt-4o-2024-05-13" else 4
    if name.startswith("gpt-4-turbo") or name.endswith("preview"):
        return 3
    return 2


def group_ratio(group: str, configured: dict) -> float:
    """The group's ratio from the option map; 1 for a group it does not list."""
    return configured.get(group, 1)


def text_quota(prompt_tokens: int, completion_tokens: int, model_ratio: Number, completion_ratio: Number,
               group_ratio: Number) -> int:
    """ceil((prompt + completion × completion_ratio) × model_ratio × group_ratio), exactly.

    At least 1 when the ratio product is not 0, and 0 when no tokens were used at all.
    """
    if prompt_tokens + completion_tokens == 0:
        return 0
    ratio = ratio_product(model_ratio, group_ratio)
    quota = math.ceil((prompt_tokens + completion_tokens * exact(completion_ratio)) * ratio)
    if ratio != 0 and quota <= 0:
        return 1
    return quota


def pre_consume_quota(pre_consumed_quota_option: int, prompt_tokens: int, max_tokens: int | None,
                      ratio: Number) -> int:
    """int((PreConsumedQuota + prompt + max_tokens) × ratio): the reservation made before a text request.

    `ratio` is model × group (pass `ratio_product(...)` to keep it exact); the result truncates toward zero.
    """
    tokens = pre_consumed_quota_option + prompt_tokens + (max_tokens or 0)
    return int(tokens * exact(ratio))


def image_cost_ratio(model: str, size: str, quality: str | None) -> Fraction:
    """The size multiplier (1 for an unlisted size), doubled for an hd 1024x1024 dall-e-3, else ×1.5 for hd."""
    ratio = exact(IMAGE_SIZE_RATIOS.get(model, {}).get(size, 1))
    if quality == "hd" and model == "dall-e-3":
        ratio *= 2 if size == "1024x1024" else Fraction(3, 2)
    return ratio


def image_quota(model: str, size: str, quality: str | None, n: int, model_ratio: Number,
                group_ratio: Number) -> int:
    """int(model_ratio × group_ratio × image_cost_ratio × 1000) × n, never below 0.

    Replicate returns one image whatever `n` asks for; its caller passes n=1.
    """
    per_image = int(ratio_product(model_ratio, group_ratio, image_cost_ratio(model, size, quality), 1000))
    return max(0, per_image * n)


class ImageRequestError(ValueError):
    """An image request One API refuses with HTTP 400; `code` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# `n` of a model without a row in IMAGE_N_RANGE: the bounds of OpenAI's images API, whose format every
# image channel speaks here ("n: between 1 and 10", https://platform.openai.com/docs/api-reference/images).
# One API let any n through for those models: n=0 or a negative n was relayed and billed 0 (the price is
# per image × n), and a huge n reserved an absurd amount for one request.
DEFAULT_IMAGE_N_RANGE = (1, 10)


def check_image_request(model: str, size: str, n: int, prompt: str) -> None:
    """Raise ImageRequestError when the model's size, prompt-length or `n` limits are not met.

    Checks in One API's order: prompt_missing, size_not_supported, prompt_too_long, n_not_within_range.
    The prompt limit counts characters; `n` must lie in the model's range, DEFAULT_IMAGE_N_RANGE for a
    model the table does not list.
    """
    if not prompt:
        raise ImageRequestError("prompt_missing", "prompt is required")
    sizes = IMAGE_SIZE_RATIOS.get(model)
    if sizes is not None and model != "cogview-3" and size not in sizes:
        raise ImageRequestError("size_not_supported", "size not supported for this image model")
    if len(prompt) > IMAGE_PROMPT_LIMIT.get(model, len(prompt)):
        raise ImageRequestError("prompt_too_long", "prompt is too long")
    low, high = IMAGE_N_RANGE.get(model, DEFAULT_IMAGE_N_RANGE)
    if not low <= n <= high:
        raise ImageRequestError("n_not_within_range", "invalid value of n")


def tts_quota(input_text: str, ratio: Number) -> int:
    """int(characters of input × ratio), never below 0; `ratio` is model × group.

    One API counts UTF-8 bytes, so Chinese text cost three times as much; OpenAI prices speech per character.
    """
    return max(0, int(len(input_text) * exact(ratio)))


def transcription_quota(transcript_tokens: int, model_ratio: Number, group_ratio: Number) -> int:
    """ceil(transcript tokens × model_ratio × group_ratio), with text_quota's minimum-1 and zero rules.

    The transcript is billed as prompt tokens: whisper-1's ratio 15 is One API's price per transcript token
    ($0.006 a minute ≈ 200 tokens) and its completion ratio is 0. One API itself charged the bare token count.
    """
    return text_quota(transcript_tokens, 0, model_ratio, 0, group_ratio)


def usd_to_quota(usd: Number, quota_per_unit: Number = QUOTA_PER_UNIT) -> int:
    """int(usd × QuotaPerUnit), truncated toward zero."""
    return int(exact(usd) * exact(quota_per_unit))


def quota_to_usd(quota: int, quota_per_unit: Number = QUOTA_PER_UNIT) -> float:
    """quota / QuotaPerUnit in dollars."""
    return float(Fraction(quota) / exact(quota_per_unit))
