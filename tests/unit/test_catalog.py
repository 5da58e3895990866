"""The built-in model catalogue: One API's default model list per channel type and the /v1/models objects."""

from __future__ import annotations

import pytest

from oneapi.services import catalog

# Sizes of One API's lists at commit 8df4a267, by channel type.
SIZES = {
    1: 53, 14: 11, 33: 12, 15: 16, 47: 23, 16: 23, 17: 89, 49: 13, 18: 6, 48: 6, 23: 6, 24: 13, 51: 13, 42: 17,
    30: 7, 11: 1, 35: 12, 37: 33, 38: 3, 46: 41, 20: 231, 19: 4, 26: 3, 36: 2, 40: 7, 29: 21, 31: 3, 27: 7, 28: 6,
    25: 3, 41: 13, 44: 30, 32: 9, 39: 4, 45: 8,
}
OPENAI_FAMILY = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 21, 22, 50)


@pytest.mark.parametrize(("channel_type", "size"), sorted(SIZES.items()))
def test_channel_type_list_has_one_api_size(channel_type, size):
    names = catalog.models_by_channel_type()[channel_type]
    assert len(names) == size
    assert len(set(names)) == size


def test_every_channel_type_but_proxy_has_a_list_and_only_coze_is_empty():
    lists = catalog.models_by_channel_type()
    assert set(lists) == set(range(1, 52)) - {43}
    assert [t for t, names in lists.items() if not names] == [34]


@pytest.mark.parametrize("channel_type", OPENAI_FAMILY)
def test_openai_family_types_share_the_openai_list(channel_type):
    assert catalog.models_by_channel_type()[channel_type] == catalog.OPENAI


def test_gemini_openai_compatible_uses_the_gemini_list():
    lists = catalog.models_by_channel_type()
    assert lists[51] == lists[24] == catalog.GEMINI


def test_lists_hold_the_expected_names():
    lists = catalog.models_by_channel_type()
    assert "gpt-4o" in lists[1] and "o3-mini" not in lists[1]  # One API never added o3-mini to the list
    assert "claude-3-5-sonnet-latest" in lists[14] == catalog.ANTHROPIC
    assert {"llama3-8b-8192", "llama3-70b-8192", "claude-3-5-haiku-20241022"} <= set(lists[33])
    assert "command-r-plus-internet" in lists[35]
    assert "claude-3-5-sonnet-v2@20241022" in lists[42] and "gemini-2.0-flash-001" in lists[42]
    assert lists[11] == ["PaLM-2"]
    assert lists[36] == ["deepseek-chat", "deepseek-reasoner"]


def test_callers_get_a_copy():
    catalog.models_by_channel_type()[1].append("mine")
    assert "mine" not in catalog.models_by_channel_type()[1]


def test_openai_models_ids_are_unique_and_first_owner_wins():
    models = catalog.openai_models()
    ids = [m["id"] for m in models]
    assert len(ids) == len(set(ids)) == 471
    owners = {m["id"]: m["owned_by"] for m in models}
    assert owners["gpt-4o"] == "openai"
    assert owners["claude-3-haiku-20240307"] == "anthropic"  # also in the AWS list, which comes later
    assert owners["llama3-8b-8192"] == "aws"  # before Groq
    assert owners["command-r"] == "Cohere"
    assert owners["open-mistral-7b"] == "mistralai"
    assert owners["Qwen/Qwen1.5-72B-Chat"] == "together.ai"
    assert owners["360GPT_S2_V9"] == "360"
    assert owners["gemini-2.0-flash"] == "google gemini"


def test_openai_models_leave_out_what_one_api_leaves_out():
    ids = {m["id"] for m in catalog.openai_models()}
    assert "openrouter/auto" not in ids  # OpenRouter is not among One API's enumerated compatible channels
    assert "qwen-max" in ids  # from the Ali adaptor, not from Bailian


def test_openai_model_object_shape():
    model = catalog.openai_models()[0]
    assert model == {
        "id": "gpt-3.5-turbo", "object": "model", "created": 1626777600, "owned_by": "openai",
        "permission": [{
            "id": "modelperm-LwHkVFn8AcMItP432fKKDIKJ", "object": "model_permission", "created": 1626777600,
            "allow_create_engine": True, "allow_sampling": True, "allow_logprobs": True,
            "allow_search_indices": False, "allow_view": True, "allow_fine_tuning": False, "organization": "*",
            "group": None, "is_blocking": False,
        }],
        "root": "gpt-3.5-turbo", "parent": None,
    }
