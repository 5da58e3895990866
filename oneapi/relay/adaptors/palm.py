"""PaLM 2 (channel type 11): OpenAI chat completions over the Generative Language API's v1beta2
`generateMessage` (chat-bison-001).

Wire facts (ai.google.dev/api/rest/v1beta/models/generateMessage, the v1beta2 discuss_service protos):
- `POST {base}/v1beta2/models/chat-bison-001:generateMessage`, the key in `x-goog-api-key`.
- Body `{prompt: {context, examples, messages[{author, content}]}, temperature [0, 1], candidateCount
  [1, 8], topP, topK}`; messages alternate between two authors. There is no output-length parameter.
- Answer `{candidates[{author, content, citationMetadata}], messages[...the history...], filters[{reason,
  message}]}`; a blocked prompt or answer has no candidates and a filter. No token counts, no stream.
- Errors are Google's envelope `{"error": {code, message, status}}` (400 INVALID_ARGUMENT for a bad
  key, 403 PERMISSION_DENIED without one, 429 RESOURCE_EXHAUSTED, 404 NOT_FOUND for a retired model).

PaLM cannot stream: a stream request is served from the one JSON answer (`stream_format = "json"`,
`upstream_stream` False): one chunk with the text, then a finish chunk. Usage is counted locally: the
prompt as the pipeline counted it, the answer with the same tokenizer (source `counted`), and the
non-stream answer carries it in `usage` as One API's did; a stream leaves it to the pipeline.

Where we differ from One API (relay/adaptor/palm) and why:
- System messages go to `prompt.context`, PaLM's place for them (One API sent them as the model's turn);
  consecutive messages of one author are merged (PaLM wants them alternating).
- `topK` is the request's `top_k` (One API sent `max_tokens` as topK, a bug); `temperature` is clamped to
  PaLM's [0, 1] and `n` to candidateCount's [1, 8]; `max_tokens` has no PaLM equivalent and is dropped.
- A model named like a PaLM chat model (`chat-bison-*`, `models/...`) is called by that name; any other
  (One API's `PaLM-2`) calls chat-bison-001, as One API always did.
- Every candidate becomes a choice (One API kept them all too, but ids were random per chunk); a blocked
  answer is an empty `content_filter` choice, not an error; the answer carries the client's model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import (
    CONTENT_FILTER,
    STOP,
    Adaptor,
    now,
    openai_style_error,
    parse_json,
    random_hex,
    text_of,
)
from oneapi.relay.adaptors.gemini.response import gemini_error
from oneapi.relay.channeltypes import ChannelType, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent
from oneapi.relay.tokenizer import count_text
from oneapi.relay.usage import StreamState, Usage

MODELS = (
    "PaLM-2",
)

SPEC = TypeSpec(
    ChannelType.PALM, Text("PaLM2", "PaLM2"), frozenset({RelayMode.CHAT}),
    models=MODELS, owner="google palm",
    base_url="https://generativelanguage.googleapis.com",
)

API_VERSION = "v1beta2"
DEFAULT_MODEL = "chat-bison-001"
USER, MODEL = "0", "1"
MAX_CANDIDATES = 8


@register(SPEC)
class PaLMAdaptor(Adaptor):
    key = "palm"
    stream_format: ClassVar[str] = "json"

    def request_url(self, ctx: RelayContext) -> str:
        return f"{ctx.base_url}/{API_VERSION}/models/{model_name(ctx.model)}:generateMessage"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        return {"x-goog-api-key": ctx.key, "Content-Type": "application/json"}

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        return message_request(body)

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        if isinstance(body, dict) and "error" in body:
            raise gemini_error(0, body) or UpstreamError(500, str(body["error"]))
        answer = completion(body, ctx.original_model)
        # PaLM counts nothing: the local count (the pipeline's own rule), also in the body, as One API did.
        usage = Usage(ctx.prompt_tokens, count_text("".join(c["message"]["content"] for c in answer["choices"])),
                      "counted")
        answer["usage"] = usage.as_openai()
        return answer, usage

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        for event in events:
            try:
                body = event.json()
            except ValueError:
                raise UpstreamError(502, "PaLM answered invalid JSON", code="unmarshal_response_body_failed",
                                    connection=True) from None
            if not isinstance(body, dict):
                continue
            if "error" in body:
                raise gemini_error(0, body) or UpstreamError(500, str(body["error"]))
            yield from stream_chunks(completion(body, ctx.original_model), state)

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        parsed = parse_json(body)
        return gemini_error(status, parsed) or openai_style_error(status, body)


def model_name(model: str) -> str:
    name = model.removeprefix("models/")
    return name if model.startswith("models/") or name.startswith("chat-bison") else DEFAULT_MODEL


def message_request(body: dict[str, Any]) -> dict[str, Any]:
    context: list[str] = []
    messages: list[dict[str, str]] = []
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        text = text_of(message.get("content"))
        if message.get("role") in ("system", "developer"):
            if text:
                context.append(text)
            continue
        author = USER if message.get("role") in ("user", "tool", "function") else MODEL
        if messages and messages[-1]["author"] == author:
            messages[-1]["content"] = "\n".join(t for t in (messages[-1]["content"], text) if t)
        else:
            messages.append({"author": author, "content": text})
    prompt: dict[str, Any] = {"messages": messages}
    if context:
        prompt["context"] = "\n".join(context)
    out: dict[str, Any] = {"prompt": prompt}
    if _number(body.get("temperature")):
        out["temperature"] = min(max(float(body["temperature"]), 0.0), 1.0)
    if _number(body.get("n")) and body["n"] > 1:
        out["candidateCount"] = min(int(body["n"]), MAX_CANDIDATES)
    if _number(body.get("top_p")):
        out["topP"] = body["top_p"]
    if _number(body.get("top_k")):
        out["topK"] = int(body["top_k"])
    return out


def completion(body: dict[str, Any], model: str) -> dict[str, Any]:
    candidates = [c for c in body.get("candidates") or [] if isinstance(c, dict)]
    choices = [{"index": i, "message": {"role": "assistant", "content": c.get("content") or ""},
                "finish_reason": STOP} for i, c in enumerate(candidates)]
    if not choices:
        # Blocked by PaLM's safety filters (`filters` says why): an empty, filtered answer.
        choices = [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": CONTENT_FILTER}]
    return {"id": f"chatcmpl-{random_hex()}", "object": "chat.completion", "created": now(), "model": model,
            "choices": choices}


def stream_chunks(answer: dict[str, Any], state: StreamState) -> Iterator[dict[str, Any]]:
    """The answer as a stream: per choice a chunk with the role and the whole text, then one chunk
    with every choice's finish reason."""
    base = {"id": answer["id"], "object": "chat.completion.chunk", "created": answer["created"],
            "model": answer["model"]}
    for choice in answer["choices"]:
        text = choice["message"]["content"]
        state.add_text(text)
        yield {**base, "choices": [{"index": choice["index"], "delta": {"role": "assistant", "content": text},
                                    "finish_reason": None}]}
    state.finish_reason = answer["choices"][0]["finish_reason"]
    yield {**base, "choices": [{"index": c["index"], "delta": {}, "finish_reason": c["finish_reason"]}
                               for c in answer["choices"]]}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
