"""The client's request, read once: JSON body, model (with One API's per-route defaults), stream
flag, the prompt's local token count and the reservation inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request

from oneapi import jsonbody
from oneapi.relay.errors import LocalError
from oneapi.relay.modes import RelayMode
from oneapi.relay.tokenizer import count_input, count_messages, count_text

DEFAULT_MODELS = {
    RelayMode.MODERATIONS: "text-moderation-latest",
    RelayMode.IMAGES: "dall-e-2",
    RelayMode.AUDIO_TRANSCRIPTION: "whisper-1",
    RelayMode.AUDIO_TRANSLATION: "whisper-1",
}
MAX_TOKENS_LIMIT = (1 << 31) // 2
MAX_CHOICES = 128
"""OpenAI's limit on `n`; a larger `n` would also take holds past what a balance column can hold."""


@dataclass
class Inbound:
    mode: RelayMode
    body: dict[str, Any]
    model: str
    stream: bool
    max_tokens: int
    wants_usage: bool
    choices: int = 1
    """`n` of a chat or completions request: each choice can be `max_tokens` long."""

    def prompt_tokens(self, approximate: bool = False) -> int:
        body = self.body
        if self.mode == RelayMode.CHAT:
            return count_messages(body.get("messages") or [], self.model, approximate)
        if self.mode == RelayMode.COMPLETIONS:
            return count_input(body.get("prompt"), approximate)
        if self.mode in (RelayMode.MODERATIONS, RelayMode.EMBEDDINGS):
            return count_input(body.get("input"), approximate)
        if self.mode == RelayMode.EDITS:
            instruction = count_text(str(body.get("instruction") or ""), approximate)
            return instruction + count_input(body.get("input"), approximate)
        return 0


def invalid(message: str) -> LocalError:
    return LocalError(400, message, code="invalid_text_request")


def read_json(mode: RelayMode, path_model: str = "") -> Inbound:
    """Parse and validate a JSON relay request (chat, completions, embeddings, moderations, edits)."""
    try:
        body = jsonbody.parse(request.get_data(cache=True) or b"{}")
    except ValueError as exc:
        raise invalid(str(exc)) from None
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    model = body.get("model") or path_model or DEFAULT_MODELS.get(mode, "")
    if not isinstance(model, str):
        raise invalid("field model must be a string")
    if not model:
        raise invalid("field model is required")
    _validate(mode, body)
    max_tokens = _max_tokens(body)
    stream = body.get("stream") is True
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        # Adaptors add include_usage to it; a string or a list there was a server error.
        raise invalid("field stream_options must be an object")
    wants_usage = stream and options is not None and options.get("include_usage") is True
    return Inbound(mode, body, model, stream, max_tokens, wants_usage, _choices(mode, body))


def _validate(mode: RelayMode, body: dict[str, Any]) -> None:
    required = {RelayMode.CHAT: "messages", RelayMode.COMPLETIONS: "prompt", RelayMode.MODERATIONS: "input",
                RelayMode.EMBEDDINGS: "input", RelayMode.EDITS: "instruction"}.get(mode)
    if required and body.get(required) in (None, "", []):
        raise invalid(f"field {required} is required")
    if mode == RelayMode.CHAT and not isinstance(body.get("messages"), list):
        raise invalid("field messages must be an array")


def _max_tokens(body: dict[str, Any]) -> int:
    """The larger of `max_completion_tokens` and `max_tokens`: the request is held for the longest
    answer it may get, and a vendor that knows only one of the two fields reads that one."""
    largest = 0
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS_LIMIT:
            raise invalid(f"field {name} is invalid")
        largest = max(largest, value)
    return largest


def _choices(mode: RelayMode, body: dict[str, Any]) -> int:
    if mode not in (RelayMode.CHAT, RelayMode.COMPLETIONS) or body.get("n") is None:
        return 1
    value = body["n"]
    # 0 is passed on as sent (the upstream says what it makes of it) and held as one choice.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CHOICES:
        raise invalid(f"field n must be an integer from 1 to {MAX_CHOICES}")
    return max(value, 1)
