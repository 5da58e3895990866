"""Gemini (channel type 24): OpenAI chat completions and embeddings over Google's Generative Language API.

Wire facts (https://ai.google.dev/api, https://ai.google.dev/gemini-api/docs/troubleshooting):
- `POST {base}/{version}/models/{model}:generateContent`, `:streamGenerateContent?alt=sse` and
  `:batchEmbedContents`; the key goes in `x-goog-api-key` (no Authorization header).
- The stream is SSE: `data: <GenerateContentResponse>` events separated by `\\r\\n\\r\\n`, no `[DONE]`; the
  stream simply ends.
- Errors are `{"error": {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED"}}`; an invalid key
  is 400 INVALID_ARGUMENT (reason API_KEY_INVALID), a missing one 403 PERMISSION_DENIED.

Where we differ from One API: the version is the channel's `api_version`, else `v1beta` for every model
(v1beta serves all current models, systemInstruction, tools, responseSchema and thinking; One API fell back
to GEMINI_VERSION, default v1, outside gemini-1.5/2.0 names; here GEMINI_VERSION is used only when it is
set, as `ctx.config["gemini_version"]`); system
messages always go to systemInstruction, with no dummy "Okay" turn; Gemini's usageMetadata is billed; a
stream keeps one id and carries finish reasons; a refused prompt is an empty `content_filter` answer, not an
error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import Adaptor, openai_style_error, parse_json
from oneapi.relay.adaptors.gemini import request, response
from oneapi.relay.channeltypes import ChannelType, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

DEFAULT_VERSION = "v1beta"
DEFAULT_SAFETY_THRESHOLD = "BLOCK_NONE"

# One API's list (relay/adaptor/gemini/constants.go), then current ones.
MODELS = [
    "gemini-pro", "gemini-1.0-pro", "gemini-1.5-flash", "gemini-1.5-flash-8b", "gemini-1.5-pro",
    "gemini-1.5-pro-experimental", "text-embedding-004", "aqa", "gemini-2.0-flash", "gemini-2.0-flash-exp",
    "gemini-2.0-flash-lite-preview-02-05", "gemini-2.0-flash-thinking-exp-01-21", "gemini-2.0-pro-exp-02-05",
    # Current models (https://ai.google.dev/gemini-api/docs/models).
    "gemini-2.0-flash-thinking-exp", "gemini-2.0-flash-lite", "gemini-2.5-pro", "gemini-2.5-flash",
    "gemini-2.5-flash-lite", "gemini-3-pro-preview", "gemini-3-flash-preview", "gemini-embedding-001",
]


BASE_URL = "https://generativelanguage.googleapis.com"
SPEC = TypeSpec(ChannelType.GEMINI, Text("Gemini", "Gemini"), frozenset({RelayMode.CHAT, RelayMode.EMBEDDINGS}),
                models=tuple(MODELS), owner="google gemini", base_url=BASE_URL)


@register(SPEC)
class GeminiAdaptor(Adaptor):
    key = "gemini"

    def request_url(self, ctx: RelayContext) -> str:
        base = (ctx.base_url or BASE_URL).rstrip("/")
        version = ctx.config.get("api_version") or ctx.config.get("gemini_version") or DEFAULT_VERSION
        return f"{base}/{version}/models/{_model_name(ctx.model)}:{_method(ctx)}"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        return {"x-goog-api-key": ctx.key, "Content-Type": "application/json"}

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        if ctx.mode == RelayMode.EMBEDDINGS:
            return request.embedding_request(body, ctx.model)
        threshold = ctx.config.get("gemini_safety_setting") or DEFAULT_SAFETY_THRESHOLD
        return request.chat_request(body, ctx.model, threshold)

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        if ctx.mode == RelayMode.EMBEDDINGS:
            # No token counts in batchEmbedContents: the pipeline counts the input itself.
            return response.embeddings(body, ctx.original_model, ctx.prompt_tokens), None
        return response.completion(body, ctx.original_model)

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        return response.chunks(events, ctx.original_model, state, ctx.client_wants_usage)

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        parsed = parse_json(body)
        return response.gemini_error(status, parsed) or openai_style_error(status, body)


def _model_name(model: str) -> str:
    return model.removeprefix("models/")


def _method(ctx: RelayContext) -> str:
    if ctx.mode == RelayMode.EMBEDDINGS:
        return "batchEmbedContents"
    return "streamGenerateContent?alt=sse" if ctx.stream else "generateContent"
