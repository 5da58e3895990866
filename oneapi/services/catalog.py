"""The built-in model catalogue: default model lists per channel type (`/api/models`, "fill models")
and the static model objects of `/api/channel/models`.

Only the first-party providers are listed so far; each relay adaptor adds its own list.
"""

from __future__ import annotations

from typing import Any

OPENAI = [
    "gpt-3.5-turbo", "gpt-3.5-turbo-0125", "gpt-3.5-turbo-16k", "gpt-3.5-turbo-instruct", "gpt-4",
    "gpt-4-turbo", "gpt-4-turbo-2024-04-09", "gpt-4-32k", "gpt-4o", "gpt-4o-2024-05-13", "gpt-4o-2024-08-06",
    "gpt-4o-2024-11-20", "chatgpt-4o-latest", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "o1", "o1-mini",
    "o1-preview", "o3-mini", "text-embedding-ada-002", "text-embedding-3-small", "text-embedding-3-large",
    "text-moderation-latest", "text-moderation-stable", "dall-e-2", "dall-e-3", "whisper-1", "tts-1",
    "tts-1-1106", "tts-1-hd", "tts-1-hd-1106",
]
ANTHROPIC = [
    "claude-instant-1.2", "claude-2.0", "claude-2.1", "claude-3-haiku-20240307", "claude-3-5-haiku-20241022",
    "claude-3-sonnet-20240229", "claude-3-opus-20240229", "claude-3-5-sonnet-20240620",
    "claude-3-5-sonnet-20241022", "claude-3-5-sonnet-latest",
]
GEMINI = [
    "gemini-pro", "gemini-1.0-pro", "gemini-1.5-flash", "gemini-1.5-pro", "text-embedding-004", "aqa",
    "gemini-2.0-flash-exp", "gemini-2.0-flash-thinking-exp", "gemini-2.0-flash-thinking-exp-01-21",
    "gemini-2.0-flash", "gemini-2.0-flash-lite-preview-02-05",
]
OPENAI_LIKE_TYPES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 22, 50)

BY_CHANNEL_TYPE: dict[int, list[str]] = {
    **{t: OPENAI for t in OPENAI_LIKE_TYPES},
    14: ANTHROPIC,
    24: GEMINI,
    51: GEMINI,
}
OWNERS = {"openai": OPENAI, "anthropic": ANTHROPIC, "google gemini": GEMINI}
PERMISSION_ID = "modelperm-LwHkVFn8AcMItP432fKKDIKJ"


def models_by_channel_type() -> dict[int, list[str]]:
    return BY_CHANNEL_TYPE


def openai_models() -> list[dict[str, Any]]:
    """Model objects in OpenAI's format, as One API's static catalogue builds them."""
    out = []
    for owner, names in OWNERS.items():
        for name in names:
            out.append({"id": name, "object": "model", "created": 1626777600, "owned_by": owner,
                        "permission": [{"id": PERMISSION_ID, "object": "model_permission", "created": 1626777600,
                                        "allow_create_engine": True, "allow_sampling": True, "allow_logprobs": True,
                                        "allow_search_indices": False, "allow_view": True,
                                        "allow_fine_tuning": False, "organization": "*", "group": None,
                                        "is_blocking": False}],
                        "root": name, "parent": None})
    return out
