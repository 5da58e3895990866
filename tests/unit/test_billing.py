"""Billing arithmetic: One API's ratio tables and lookups, exact quota rounding, images, audio."""

from __future__ import annotations

import math
import random
from decimal import ROUND_CEILING, Decimal, localcontext

import pytest

from oneapi.services import billing
from oneapi.services.billing import ImageRequestError
from oneapi.services.ratios import (
    DEFAULT_COMPLETION_RATIO,
    DEFAULT_GROUP_RATIO,
    DEFAULT_MODEL_RATIO,
    IMAGE_N_RANGE,
    IMAGE_PROMPT_LIMIT,
    IMAGE_SIZE_RATIOS,
)

AWS, GROQ, OPENAI, AZURE = 33, 29, 1, 3


# --- the tables ------------------------------------------------------------------------------------------


def test_model_table_has_one_apis_entries_but_the_router_that_has_no_price():
    assert len(DEFAULT_MODEL_RATIO) == 565
    assert sum("/" in name for name in DEFAULT_MODEL_RATIO) == 271
    # OpenRouter's auto router bills the model it picks: unpriced, so the unknown-model price applies.
    assert "openrouter/auto" not in DEFAULT_MODEL_RATIO
    assert billing.model_ratio("openrouter/auto", 20, {}) == billing.UNKNOWN_MODEL_RATIO
    assert min(DEFAULT_MODEL_RATIO.values()) == 0


@pytest.mark.parametrize(("name", "input_usd", "output_usd"), [
    # List prices per 1M tokens (groq.com/pricing); One API had them 1000x too low.
    ("llama-3.1-8b-instant", 0.05, 0.08), ("llama-3.1-70b-versatile", 0.59, 0.79), ("llama3-8b-8192", 0.05, 0.08),
    ("llama3-70b-8192", 0.59, 0.79), ("gemma2-9b-it", 0.20, 0.20), ("mixtral-8x7b-32768", 0.24, 0.24),
])
def test_groq_models_cost_their_list_price(name, input_usd, output_usd):
    quota_per_usd = 500_000
    assert billing.text_quota(1_000_000, 0, billing.model_ratio(name, GROQ, {}), 1, 1) == input_usd * quota_per_usd
    completion = billing.completion_ratio(name, GROQ, {})
    assert billing.text_quota(0, 1_000_000, billing.model_ratio(name, GROQ, {}), completion, 1) == pytest.approx(
        output_usd * quota_per_usd, rel=1e-6)


@pytest.mark.parametrize(("name", "input_yuan", "output_yuan"), [
    # List prices in yuan per 1M tokens (platform.stepfun.com), at One API's RMB = 500 // 7 quota per yuan-per-1K.
    ("step-1-8k", 5, 20), ("step-1-32k", 15, 70), ("step-1-128k", 40, 200), ("step-1-256k", 95, 300),
    ("step-1-flash", 1, 4), ("step-2-16k", 38, 120),
])
def test_stepfun_models_cost_their_list_price(name, input_yuan, output_yuan):
    # One API's RMB: a price of 1 yuan per 1K tokens is ratio 71, so 1 yuan per 1M tokens is 0.071.
    ratio = billing.model_ratio(name, 32, {})
    assert ratio == pytest.approx(input_yuan * 0.071, rel=1e-6)
    assert ratio * billing.completion_ratio(name, 32, {}) == pytest.approx(output_yuan * 0.071, rel=1e-6)


def test_no_default_price_rounds_a_reservation_to_nothing():
    """Below 0.002 a ratio made One API's reservation round to 0 and skip every balance check."""
    cheap = {name: ratio for name, ratio in DEFAULT_MODEL_RATIO.items() if 0 < ratio < 0.002}
    assert cheap == {}


@pytest.mark.parametrize(("name", "ratio"), [
    ("gpt-4", 15), ("gpt-4o", 2.5), ("gpt-4o-mini", 0.075), ("o1", 7.5), ("claude-3-5-sonnet-20241022", 1.5),
    ("gemini-2.0-flash", 0.075), ("deepseek-chat", 0.07), ("deepseek-reasoner", 0.275), ("dall-e-3", 20),
    ("text-embedding-3-small", 0.01), ("dall-e-2", 10), ("claude-instant-1.2", 0.4), ("whisper-1", 15),
    # RMB is One API's integer 500 // 7 = 71, and each value is the exact product rounded once.
    ("ERNIE-4.0-8K", 8.52), ("ERNIE-3.5-8K", 0.852), ("glm-4-flashx", 0.0071), ("qwen-audio-turbo", 1.4286),
    ("step-1-8k", 0.355), ("gemma-7b-it", 0.035), ("llama3-70b-8192(33)", 1.325),
    ("meta/meta-llama-3.1-405b-instruct", 4750), ("x-ai/grok-beta", 7.5),
])
def test_model_table_spot_values(name, ratio):
    assert DEFAULT_MODEL_RATIO[name] == ratio


def test_completion_table_is_one_api_explicit_map():
    assert DEFAULT_COMPLETION_RATIO == {
        "llama3-8b-8192(33)": 2, "llama3-70b-8192(33)": 1.320754716981132, "whisper-1": 0, "deepseek-chat": 2,
        "deepseek-reasoner": 3.981818181818182,
    }
    assert DEFAULT_GROUP_RATIO == {"default": 1, "vip": 1, "svip": 1}


def test_image_tables_cover_the_same_limited_models():
    assert set(IMAGE_SIZE_RATIOS) | {"cogview-3"} == set(IMAGE_N_RANGE) == set(IMAGE_PROMPT_LIMIT)


# --- model ratio lookup -----------------------------------------------------------------------------------


def test_a_known_model_uses_the_default_table():
    assert billing.model_ratio("gpt-4o", OPENAI, {}) == 2.5
    assert billing.is_known_model("gpt-4o", OPENAI, {})


def test_the_configured_option_overrides_the_default():
    assert billing.model_ratio("gpt-4o", OPENAI, {"gpt-4o": 3}) == 3


def test_deleting_a_model_from_the_option_keeps_its_default_price():
    assert billing.model_ratio("gpt-4", OPENAI, {"gpt-4o": 3}) == 15


def test_channel_qualified_price_applies_only_to_that_channel_type():
    assert billing.model_ratio("llama3-8b-8192", AWS, {}) == 0.15
    assert billing.model_ratio("llama3-8b-8192", GROQ, {}) == 0.025


def test_a_qualified_default_beats_a_plain_configured_price():
    assert billing.model_ratio("llama3-8b-8192", AWS, {"llama3-8b-8192": 9}) == 0.15
    assert billing.model_ratio("gpt-4o", AZURE, {"gpt-4o(3)": 1, "gpt-4o": 2}) == 1
    assert billing.model_ratio("gpt-4o", OPENAI, {"gpt-4o(3)": 1, "gpt-4o": 2}) == 2


def test_unknown_model_costs_30_and_is_flagged():
    assert billing.model_ratio("no-such-model", OPENAI, {}) == 30
    assert billing.find_model_ratio("no-such-model", OPENAI, {}) is None
    assert not billing.is_known_model("no-such-model", OPENAI, {})


def test_a_model_priced_only_in_the_option_is_known():
    assert billing.find_model_ratio("my-finetune", OPENAI, {"my-finetune": 0.5}) == 0.5


def test_a_free_model_is_known_not_unknown():
    assert billing.find_model_ratio("glm-4-flash", 16, {}) == 0


@pytest.mark.parametrize(("name", "priced_as"), [
    ("qwen-turbo-internet", "qwen-turbo"), ("qwen-max-internet", "qwen-max"), ("command-r-internet", "command-r"),
    ("command-light-internet", "command-light"),
])
def test_internet_variants_cost_the_plain_model(name, priced_as):
    assert billing.model_ratio(name, 17, {}) == DEFAULT_MODEL_RATIO[priced_as]


def test_only_qwen_and_command_names_drop_the_internet_suffix():
    assert not billing.is_known_model("gpt-4o-internet", OPENAI, {})


# --- completion ratio -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "ratio"), [
    # explicit map
    ("whisper-1", 0), ("deepseek-chat", 2), ("deepseek-reasoner", 3.981818181818182),
    # gpt-3.5
    ("gpt-3.5-turbo", 3), ("gpt-3.5-turbo-0125", 3), ("gpt-3.5-turbo-1106", 2), ("gpt-3.5-turbo-16k", 4 / 3),
    ("gpt-3.5-turbo-0613", 4 / 3),
    # gpt-4 family
    ("gpt-4o", 4), ("gpt-4o-mini", 4), ("gpt-4o-2024-08-06", 4), ("gpt-4o-2024-05-13", 3), ("gpt-4-turbo", 3),
    ("gpt-4-turbo-2024-04-09", 3), ("gpt-4-1106-preview", 3), ("gpt-4-vision-preview", 3), ("gpt-4", 2),
    ("gpt-4-32k-0613", 2),
    # o1, chatgpt-4o-latest
    ("o1", 4), ("o1-mini", 4), ("o1-preview-2024-09-12", 4), ("chatgpt-4o-latest", 3),
    # families by prefix
    ("claude-3-5-sonnet-20241022", 5), ("claude-3-haiku-20240307", 5), ("claude-2.1", 3),
    ("claude-instant-1.2", 3), ("mistral-large-latest", 3), ("gemini-2.0-flash", 3), ("deepseek-r1", 2),
    # named models
    ("llama2-70b-4096", 1.25), ("llama3-8b-8192", 1.6), ("llama3-70b-8192", 79 / 59), ("command", 2),
    ("command-light", 2), ("command-nightly", 2), ("command-light-nightly", 2), ("command-r", 3),
    ("command-r-plus", 5), ("grok-beta", 3),
    # Replicate
    ("ibm-granite/granite-20b-code-instruct-8k", 5), ("ibm-granite/granite-3.0-2b-instruct", 8.333333333333334),
    ("ibm-granite/granite-8b-code-instruct-128k", 5), ("meta/llama-2-7b-chat", 5),
    ("meta/meta-llama-3-8b-instruct", 5), ("meta/llama-2-70b", 55 / 13), ("meta/meta-llama-3-70b-instruct", 55 / 13),
    ("meta/meta-llama-3.1-405b-instruct", 1), ("mistralai/mistral-7b-v0.1", 5),
    ("mistralai/mixtral-8x7b-instruct-v0.1", 10 / 3),
    # everything else, including One API's gap for o3-mini
    ("qwen-max", 1), ("o3-mini", 1), ("open-mistral-7b", 1), ("no-such-model", 1),
])
def test_completion_ratio_rules(name, ratio):
    assert billing.completion_ratio(name, OPENAI, {}) == ratio


def test_completion_ratio_qualified_by_channel_type():
    assert billing.completion_ratio("llama3-70b-8192", AWS, {}) == 1.320754716981132
    assert billing.completion_ratio("llama3-70b-8192", GROQ, {}) == 79 / 59


def test_configured_completion_ratio_beats_the_rules():
    assert billing.completion_ratio("gpt-4o", OPENAI, {"gpt-4o": 2}) == 2
    assert billing.completion_ratio("gpt-4o", AZURE, {"gpt-4o(3)": 1.5}) == 1.5


def test_internet_variants_use_the_plain_completion_ratio():
    assert billing.completion_ratio("command-r-internet", 35, {}) == 3
    assert billing.completion_ratio("qwen-max-internet", 17, {"qwen-max": 4}) == 4


# --- group ratio ------------------------------------------------------------------------------------------


def test_group_ratio_from_option_and_unknown_group_is_1():
    configured = {"default": 1, "vip": 0.8}
    assert billing.group_ratio("vip", configured) == 0.8
    assert billing.group_ratio("nobody", configured) == 1
    assert billing.group_ratio("svip", DEFAULT_GROUP_RATIO) == 1


# --- text quota -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("group", "quota"), [(1, 75), (2, 150), (0.5, 38)])
def test_gpt_4o_example(group, quota):
    mr = billing.model_ratio("gpt-4o", OPENAI, {})
    cr = billing.completion_ratio("gpt-4o", OPENAI, {})
    assert billing.text_quota(10, 5, mr, cr, group) == quota  # ceil((10 + 4 × 5) × 2.5 × group)


def test_a_price_landing_on_a_whole_quota_is_not_rounded_up_by_float_noise():
    assert math.ceil((99 + 1 * 1) * (0.1 * 1.1)) == 12  # what float arithmetic would charge
    assert billing.text_quota(99, 1, 0.1, 1, 1.1) == 11


def test_a_paid_request_costs_at_least_1():
    assert billing.text_quota(1, 0, 2.5e-05, 1, 1) == 1
    assert billing.text_quota(0, 3, 1, 0, 1) == 1


def test_a_free_model_costs_0():
    assert billing.text_quota(1000, 1000, 0, 1, 1) == 0
    assert billing.text_quota(1000, 1000, 2.5, 1, 0) == 0


def test_no_tokens_cost_nothing():
    assert billing.text_quota(0, 0, 15, 2, 1) == 0


def _decimal_reference(prompt, completion, mr, cr, gr):
    with localcontext() as ctx:
        ctx.prec = 100
        value = (Decimal(prompt) + Decimal(completion) * Decimal(repr(cr))) * Decimal(repr(mr)) * Decimal(repr(gr))
        return int(value.to_integral_value(rounding=ROUND_CEILING))


def test_text_quota_matches_exact_decimal_arithmetic_on_random_requests():
    rng = random.Random(20250213)
    names = sorted(DEFAULT_MODEL_RATIO)
    for _ in range(3000):
        name = rng.choice(names)
        mr = billing.model_ratio(name, OPENAI, {})
        cr = billing.completion_ratio(name, OPENAI, {})
        gr = rng.choice([1, 0.5, 0.8, 0.9, 1.1, 1.2, 2.5])
        prompt, completion = rng.randint(1, 200_000), rng.randint(0, 50_000)
        expected = max(_decimal_reference(prompt, completion, mr, cr, gr), 1 if mr * gr else 0)
        assert billing.text_quota(prompt, completion, mr, cr, gr) == expected, (name, prompt, completion, gr)


def test_pre_consumed_quota_truncates_the_exact_product():
    assert billing.pre_consume_quota(500, 10, 100, 2.5) == 1525
    assert billing.pre_consume_quota(500, 10, None, 2.5) == 1275
    assert billing.pre_consume_quota(0, 100, 0, 0.29) == 29  # float: int(100 * 0.29) == 28
    assert billing.pre_consume_quota(0, 100, 0, billing.ratio_product(0.1, 1.1)) == 11


# --- images -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "size", "quality", "n", "quota"), [
    ("dall-e-2", "256x256", None, 1, 10_000), ("dall-e-2", "512x512", None, 1, 11_250),
    ("dall-e-2", "1024x1024", None, 1, 12_500), ("dall-e-2", "1024x1024", "standard", 4, 50_000),
    ("dall-e-2", "1024x1024", "hd", 1, 12_500),
    ("dall-e-3", "1024x1024", "standard", 1, 20_000), ("dall-e-3", "1024x1024", "hd", 1, 40_000),
    ("dall-e-3", "1792x1024", None, 1, 40_000), ("dall-e-3", "1024x1792", "hd", 1, 60_000),
    ("dall-e-3", "1792x1024", "hd", 1, 60_000),
])
def test_image_quota(model, size, quality, n, quota):
    assert billing.image_quota(model, size, quality, n, DEFAULT_MODEL_RATIO[model], 1) == quota


def test_image_quota_applies_the_group_ratio_and_truncates_per_image():
    assert billing.image_quota("dall-e-3", "1024x1024", None, 1, 20, 0.5) == 10_000
    assert billing.image_quota("wanx-v1", "1024x1024", None, 3, 8, 1.1) == 26_400
    assert billing.image_quota("cogview-3", "any", None, 1, 7.1, 1) == 7_100
    assert billing.image_quota("dall-e-2", "512x512", None, 2, 0.0003, 1) == 0


@pytest.mark.parametrize(("model", "size", "n", "prompt", "code"), [
    ("dall-e-2", "1024x1024", 1, "", "prompt_missing"),
    ("dall-e-3", "512x512", 1, "a cat", "size_not_supported"),
    ("wanx-v1", "256x256", 1, "a cat", "size_not_supported"),
    ("dall-e-2", "1024x1024", 1, "x" * 1001, "prompt_too_long"),
    ("cogview-3", "1024x1024", 1, "x" * 834, "prompt_too_long"),
    ("dall-e-3", "1024x1024", 2, "a cat", "n_not_within_range"),
    ("dall-e-2", "1024x1024", 11, "a cat", "n_not_within_range"),
    ("dall-e-2", "1024x1024", 0, "a cat", "n_not_within_range"),
    ("dall-e-3", "512x512", 5, "a cat", "size_not_supported"),  # size is checked before n
])
def test_image_request_is_refused(model, size, n, prompt, code):
    with pytest.raises(ImageRequestError) as refused:
        billing.check_image_request(model, size, n, prompt)
    assert refused.value.code == code
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(("model", "size", "n", "prompt"), [
    ("dall-e-2", "512x512", 10, "x" * 1000), ("dall-e-3", "1792x1024", 1, "a cat"),
    ("cogview-3", "2048x2048", 1, "a cat"), ("unknown-image-model", "7x7", 10, "y" * 10_000),
    ("dall-e-2", "1024x1024", 1, "猫" * 1000),  # the limit counts characters, not UTF-8 bytes
])
def test_image_request_is_accepted(model, size, n, prompt):
    billing.check_image_request(model, size, n, prompt)


def test_image_error_messages_are_one_api_texts():
    with pytest.raises(ImageRequestError, match="^size not supported for this image model$"):
        billing.check_image_request("dall-e-3", "1x1", 1, "p")
    with pytest.raises(ImageRequestError, match="^invalid value of n$"):
        billing.check_image_request("dall-e-3", "1024x1024", 3, "p")
    with pytest.raises(ImageRequestError, match="^prompt is too long$"):
        billing.check_image_request("dall-e-3", "1024x1024", 1, "p" * 4001)


# --- audio ------------------------------------------------------------------------------------------------


def test_speech_is_charged_per_character():
    assert billing.tts_quota("hello", 7.5) == 37
    assert billing.tts_quota("你好世界", 7.5) == 30  # One API: 12 bytes -> 90
    assert billing.tts_quota("x" * 100, 0.29) == 29
    assert billing.tts_quota("", 15) == 0


def test_transcription_applies_model_and_group_ratio():
    assert billing.transcription_quota(100, 15, 1) == 1500
    assert billing.transcription_quota(100, 15, 0.5) == 750
    assert billing.transcription_quota(1, 0.0001, 1) == 1
    assert billing.transcription_quota(0, 15, 1) == 0
    assert billing.transcription_quota(50, 0, 1) == 0


# --- money ------------------------------------------------------------------------------------------------


def test_dollars_and_quota():
    assert billing.usd_to_quota(1) == 500_000
    assert billing.usd_to_quota(0.1) == 50_000
    assert billing.usd_to_quota(2.5, 1_000) == 2_500
    assert billing.quota_to_usd(250_000) == 0.5
    assert billing.quota_to_usd(1) == 0.000002


def test_ratio_1_is_two_dollars_per_million_tokens():
    quota = billing.text_quota(1_000_000, 0, 1, 1, 1)
    assert billing.quota_to_usd(quota) == 2
