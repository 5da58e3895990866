"""Cohere (channel type 35): OpenAI chat completions over Cohere's v1 Chat API.

Wire facts (https://docs.cohere.com/v1/reference/chat, https://docs.cohere.com/v1/docs/streaming,
https://docs.cohere.com/reference/errors):
- `POST {base}/v1/chat` with `Authorization: Bearer <key>` and `{message (required), model,
  preamble, chat_history[{role: USER | CHATBOT | SYSTEM, message}], connectors[{id}], temperature,
  max_tokens, k, p, seed, stop_sequences, frequency_penalty, presence_penalty, response_format, stream}`.
- The answer is `{response_id, text, generation_id, chat_history, finish_reason, meta{api_version,
  billed_units{input_tokens, output_tokens}, tokens{input_tokens, output_tokens}}}`; finish reasons
  are COMPLETE, STOP_SEQUENCE, MAX_TOKENS, ERROR_LIMIT (context length), ERROR_TOXIC, ERROR, USER_CANCEL.
- A stream (`application/stream+json`) is one JSON object per line, `{is_finished, event_type, ...}`:
  `stream-start` (generation_id), `text-generation` (text), search/citation/tool events, and
  `stream-end` (finish_reason, `response` = the whole non-stream answer, with its `meta`).
- Errors are `{"message": "..."}` with the HTTP status (400, 401 `invalid api token`, 404 unknown
  model, 429 rate limit, 500).

Where we differ from One API:
- Every message but the last user one goes to `chat_history` in order (One API dropped earlier user
  turns and kept only the last); text parts of a list content are joined; empty turns are left out.
- A `-internet` model suffix is removed and adds the `web-search` connector, as in One API; `stop`,
  `max_completion_tokens` and `response_format` (json_object / json_schema) are translated too. Tools
  are not (Cohere v1's tool format is its own; One API did not translate them either).
- Usage is Cohere's `meta.tokens` (else `meta.billed_units`) for streams too; chunk ids are
  `chatcmpl-<generation_id>` (One API: `chatcmpl-<unix time>`), one id and `created` per stream, role
  on the first chunk, finish reason on the last; a stream ending with `ERROR` is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import (
    CONTENT_FILTER,
    LENGTH,
    STOP,
    Adaptor,
    ChunkStream,
    feed_objects,
    now,
    openai_style_error,
    text_of,
)
from oneapi.relay.channeltypes import ChannelType, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

MODELS = (
    "command",
    "command-nightly",
    "command-light",
    "command-light-nightly",
    "command-r",
    "command-r-plus",
    "command-internet",
    "command-nightly-internet",
    "command-light-internet",
    "command-light-nightly-internet",
    "command-r-internet",
    "command-r-plus-internet",
    # Later models (https://docs.cohere.com/docs/models).
    "command-r-08-2024",
    "command-r-plus-08-2024",
    "command-r7b-12-2024",
    "command-a-03-2025",
)

SPEC = TypeSpec(
    ChannelType.COHERE, Text("Cohere", "Cohere"), frozenset({M.CHAT}),
    models=MODELS, owner="Cohere",
    base_url="https://api.cohere.ai",
)

DEFAULT_MODEL = "command-r"
INTERNET_SUFFIX = "-internet"
ROLES = {"assistant": "CHATBOT", "system": "SYSTEM", "developer": "SYSTEM"}
FINISH_REASONS = {"COMPLETE": STOP, "STOP_SEQUENCE": STOP, "USER_CANCEL": STOP, "MAX_TOKENS": LENGTH,
                  "ERROR_LIMIT": LENGTH, "ERROR_TOXIC": CONTENT_FILTER}


@register(SPEC)
class CohereAdaptor(Adaptor):
    key: ClassVar[str] = "cohere"
    stream_format: ClassVar[str] = "ndjson"

    def request_url(self, ctx: RelayContext) -> str:
        return f"{ctx.base_url}/v1/chat"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.key}", "Content-Type": "application/json"}

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        return chat_request(body, ctx.model, ctx.stream)

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        return completion(body, ctx.model)

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        return feed_objects(events, StreamTranslator(ctx.model, state), ctx, state)

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        """Cohere's `{"message"}` read as One API reads any upstream error: type `upstream_error`."""
        return openai_style_error(status, body)


# -- requests ---------------------------------------------------------------------------------------

def chat_request(body: dict[str, Any], model: str, stream: bool) -> dict[str, Any]:
    model = model or DEFAULT_MODEL
    out: dict[str, Any] = {}
    if model.endswith(INTERNET_SUFFIX):
        model = model.removesuffix(INTERNET_SUFFIX)
        out["connectors"] = [{"id": "web-search"}]
    message, history = split_messages(body.get("messages") or [])
    out = {"model": model, "message": message, **out}
    if history:
        out["chat_history"] = history
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit:
        out["max_tokens"] = limit
    for source, target in (("temperature", "temperature"), ("top_p", "p"), ("top_k", "k"), ("seed", "seed"),
                           ("frequency_penalty", "frequency_penalty"), ("presence_penalty", "presence_penalty")):
        if body.get(source) is not None:
            out[target] = body[source]
    stops = [body["stop"]] if isinstance(body.get("stop"), str) else body.get("stop")
    if isinstance(stops, list) and stops:
        out["stop_sequences"] = stops
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        out["response_format"] = {"type": "json_object"}
    elif response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        out["response_format"] = {"type": "json_object", **({"schema": schema} if schema else {})}
    out["stream"] = bool(stream)
    return out


def split_messages(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """The last user message's text, and every other non-empty turn in order as chat history."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    history = []
    for index, message in enumerate(messages):
        text = text_of(message.get("content"))
        if index == last_user or not text:
            continue
        history.append({"role": ROLES.get(message.get("role") or "", "USER"), "message": text})
    message = text_of(messages[last_user].get("content")) if last_user >= 0 else ""
    return message, history


# -- answers ----------------------------------------------------------------------------------------

def usage_of(meta: Any) -> Usage | None:
    """Cohere's token counts: `tokens`, else `billed_units` (counts may be sent as floats)."""
    if not isinstance(meta, dict):
        return None
    for name in ("tokens", "billed_units"):
        counts = meta.get(name)
        if isinstance(counts, dict) and ("input_tokens" in counts or "output_tokens" in counts):
            return Usage(int(counts.get("input_tokens") or 0), int(counts.get("output_tokens") or 0))
    return None


def finish_reason(reason: Any) -> str:
    if reason == "ERROR":
        raise UpstreamError(500, "Cohere failed while generating the reply (finish_reason ERROR)")
    return FINISH_REASONS.get(reason, STOP)


def completion(body: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    usage = usage_of(body.get("meta"))
    out = {"id": f"chatcmpl-{body.get('generation_id') or body.get('response_id') or ''}",
           "object": "chat.completion", "created": now(), "model": model,
           "choices": [{"index": 0, "message": {"role": "assistant", "content": body.get("text") or ""},
                        "finish_reason": finish_reason(body.get("finish_reason"))}]}
    if usage is not None:
        out["usage"] = usage.as_openai()
    return out, usage


class StreamTranslator(ChunkStream):
    """Cohere's stream events in, OpenAI chunks out."""

    def __init__(self, model: str, state: StreamState) -> None:
        self.model, self.state = model, state
        self.id = "chatcmpl-"
        self.created = now()
        self.role_sent = False

    def feed(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        kind = data.get("event_type")
        if kind == "stream-start":
            self.id = f"chatcmpl-{data.get('generation_id') or ''}"
            yield self.chunk({"content": ""})
        elif kind == "text-generation" and data.get("text"):
            self.state.add_text(data["text"])
            yield self.chunk({"content": data["text"]})
        elif kind == "stream-end":
            response = data.get("response") or {}
            usage = usage_of(response.get("meta"))
            if usage is not None:
                self.state.usage = usage
            reason = finish_reason(data.get("finish_reason") or response.get("finish_reason"))
            self.state.finish_reason = reason
            yield self.chunk({}, reason)
