"""The built-in model catalogue, read from the registry: One API's default model list per channel type
(tests/fixtures/oneapi_models.json, its lists at commit 8df4a267) is kept in every type's list, in
its order, and the /v1/models objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.services import catalog

ONE_API = {int(k): v for k, v in json.loads(
    (Path(__file__).parents[1] / "fixtures" / "oneapi_models.json").read_text()).items()}
OPENAI_FAMILY = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 21, 22, 50)


@pytest.mark.parametrize("channel_type", sorted(ONE_API))
def test_each_list_keeps_one_apis_names_in_its_order(channel_type):
    names = catalog.models_by_channel_type()[channel_type]
    assert len(names) == len(set(names))
    kept = [name for name in names if name in ONE_API[channel_type]]
    assert kept == ONE_API[channel_type]


def test_every_channel_type_but_proxy_has_a_list_and_only_coze_is_empty():
    lists = catalog.models_by_channel_type()
    assert set(lists) == set(range(1, 52)) - {43}
    assert [t for t, names in lists.items() if not names] == [34]


@pytest.mark.parametrize("channel_type", OPENAI_FAMILY)
def test_openai_family_types_share_the_openai_list(channel_type):
    assert catalog.models_by_channel_type()[channel_type] == catalog.models_by_channel_type()[1]


def test_gemini_openai_compatible_uses_the_gemini_list():
    lists = catalog.models_by_channel_type()
    assert lists[51] == lists[24]


def test_lists_hold_the_expected_names():
    lists = catalog.models_by_channel_type()
    assert "gpt-4o" in lists[1] and "o3-mini" not in lists[1]  # One API never added o3-mini to the list
    assert "claude-3-5-sonnet-latest" in lists[14] and "claude-sonnet-4-5-20250929" in lists[14]
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
    assert len(ids) == len(set(ids))
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
