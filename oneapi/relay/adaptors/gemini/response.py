"""Gemini `GenerateContentResponse` objects → OpenAI chat completions, chunks and embedding lists.

A response carries `candidates[{content{role, parts}, finishReason, index}]`, `usageMetadata` and, when
the prompt itself was refused, `promptFeedback{blockReason}` with no candidates. A stream (alt=sse) sends
the same object once per event; usageMetadata is cumulative, the last one holds the totals.
https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from oneapi.relay.adaptors.base import CONTENT_FILTER, LENGTH, STOP, TOOL_CALLS, json_objects, now
from oneapi.relay.errors import UpstreamError
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

FINISH_REASONS = {
    "STOP": STOP, "MAX_TOKENS": LENGTH,
    **dict.fromkeys(("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                     "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"), CONTENT_FILTER),
}


def random_hex() -> str:
    """Source of generated ids (tool calls, responses without a responseId); tests replace it."""
    return uuid.uuid4().hex[:24]


def gemini_error(status: int, body: Any) -> UpstreamError | None:
    """Google's error envelope `{"error": {code, message, status}}` (wrapped in a JSON array when a stream
    was asked for without alt=sse): status → type, code → code. None when the body is not one."""
    if isinstance(body, list) and body:
        body = body[0]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not error.get("message"):
        return None
    code = error.get("code") if isinstance(error.get("code"), int) else status
    return UpstreamError(status or code or 500, str(error["message"]), str(error.get("status") or "gemini_error"),
                         code or status)


def usage_of(metadata: Any) -> Usage | None:
    """Gemini's own counts, which we bill: thinking tokens are output tokens, tool-use prompt tokens
    (grounding) are input tokens. https://ai.google.dev/api/generate-content#UsageMetadata"""
    if not isinstance(metadata, dict) or "promptTokenCount" not in metadata:
        return None
    prompt = metadata.get("promptTokenCount", 0) + metadata.get("toolUsePromptTokenCount", 0)
    completion = metadata.get("candidatesTokenCount", 0) + metadata.get("thoughtsTokenCount", 0)
    return Usage(prompt, completion)


def openai_usage(usage: Usage, metadata: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = usage.as_openai()
    if metadata.get("thoughtsTokenCount"):
        out["completion_tokens_details"] = {"reasoning_tokens": metadata["thoughtsTokenCount"]}
    return out


def finish_reason(reason: str | None, called: bool) -> str | None:
    if not reason:
        return None
    mapped = FINISH_REASONS.get(reason, STOP)
    # Gemini ends a function-calling turn with STOP; OpenAI clients look for tool_calls.
    return TOOL_CALLS if called and mapped == STOP else mapped


def split_parts(parts: list[dict[str, Any]], first_call: int = 0) -> tuple[str, str, list[dict[str, Any]]]:
    """Answer text, thought text (parts flagged `thought`) and OpenAI tool calls of a candidate's parts."""
    text, thoughts, calls = [], [], []
    for part in parts:
        if "functionCall" in part:
            calls.append(_tool_call(part, first_call + len(calls)))
        elif part.get("thought"):
            thoughts.append(part.get("text", ""))
        elif "text" in part:
            text.append(part["text"])
    return "".join(text), "".join(thoughts), calls


def _tool_call(part: dict[str, Any], index: int) -> dict[str, Any]:
    call = part["functionCall"]
    arguments = json.dumps(call.get("args") or {}, ensure_ascii=False, separators=(",", ":"))
    out: dict[str, Any] = {"index": index, "id": f"call_{random_hex()}", "type": "function",
                           "function": {"name": call.get("name", ""), "arguments": arguments}}
    if part.get("thoughtSignature"):
        # Where Gemini's own OpenAI endpoint puts it, so clients that echo tool calls back keep it.
        out["extra_content"] = {"google": {"thought_signature": part["thoughtSignature"]}}
    return out


def completion(body: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    """The chat.completion for a generateContent response; a refused prompt is an empty, filtered answer."""
    candidates = body.get("candidates") or []
    choices = [_choice(c, i) for i, c in enumerate(candidates)] or [
        {"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": CONTENT_FILTER}]
    out = {"id": f"chatcmpl-{body.get('responseId') or random_hex()}", "object": "chat.completion",
           "created": now(), "model": model, "choices": choices}
    usage = usage_of(body.get("usageMetadata"))
    if usage:
        out["usage"] = openai_usage(usage, body["usageMetadata"])
    return out, usage


def _choice(candidate: dict[str, Any], position: int) -> dict[str, Any]:
    text, thoughts, calls = split_parts((candidate.get("content") or {}).get("parts") or [])
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if thoughts:
        message["reasoning_content"] = thoughts
    if calls:
        message["tool_calls"] = [{k: v for k, v in call.items() if k != "index"} for call in calls]
    return {"index": candidate.get("index", position), "message": message,
            "finish_reason": finish_reason(candidate.get("finishReason") or "STOP", bool(calls))}


def chunks(events: Iterable[SSEEvent], model: str, state: StreamState,
           wants_usage: bool = False) -> Iterator[dict[str, Any]]:
    """chat.completion.chunk dicts for an alt=sse stream: one id throughout, role on each choice's first
    delta, the finish reason on the chunk whose event carried it and, when the client asked for it
    (stream_options.include_usage), a last chunk with Gemini's usage and no choices, as OpenAI sends."""
    stream = _Stream(model)
    for _event, data in json_objects(events):
        if "error" in data:
            raise gemini_error(0, data) or UpstreamError(500, str(data["error"]))
        if usage_of(data.get("usageMetadata")):
            state.usage, stream.metadata = usage_of(data["usageMetadata"]), data["usageMetadata"]
        yield from stream.translate(data, state)
    if wants_usage and state.usage is not None:
        state.usage_forwarded = True
        yield {**stream.chunk_base(), "choices": [], "usage": openai_usage(state.usage, stream.metadata)}


class _Stream:
    def __init__(self, model: str) -> None:
        self.model, self.id, self.created = model, "", now()
        self.opened: set[int] = set()
        self.calls: dict[int, int] = {}
        self.metadata: dict[str, Any] = {}

    def translate(self, data: dict[str, Any], state: StreamState) -> Iterator[dict[str, Any]]:
        self.id = self.id or f"chatcmpl-{data.get('responseId') or random_hex()}"
        candidates = data.get("candidates") or []
        if not candidates and (data.get("promptFeedback") or {}).get("blockReason"):
            state.finish_reason = CONTENT_FILTER
            yield self._chunk(0, {}, CONTENT_FILTER)
        for position, candidate in enumerate(candidates):
            chunk = self._candidate(candidate, candidate.get("index", position), state)
            if chunk:
                yield chunk

    def _candidate(self, candidate: dict[str, Any], index: int, state: StreamState) -> dict[str, Any] | None:
        parts = (candidate.get("content") or {}).get("parts") or []
        text, thoughts, calls = split_parts(parts, self.calls.get(index, 0))
        self.calls[index] = self.calls.get(index, 0) + len(calls)
        delta: dict[str, Any] = {}
        if text:
            delta["content"] = text
        if thoughts:
            delta["reasoning_content"] = thoughts
        if calls:
            delta["tool_calls"] = calls
        for piece in (thoughts, text, *(c["function"]["arguments"] for c in calls)):
            state.add_text(piece)
        reason = finish_reason(candidate.get("finishReason"), self.calls[index] > 0)
        if not delta and not reason:
            return None
        state.finish_reason = reason or state.finish_reason
        return self._chunk(index, delta, reason)

    def _chunk(self, index: int, delta: dict[str, Any], reason: str | None) -> dict[str, Any]:
        if index not in self.opened:
            self.opened.add(index)
            delta = {"role": "assistant", **delta}
        return {**self.chunk_base(), "choices": [{"index": index, "delta": delta, "finish_reason": reason}]}

    def chunk_base(self) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model}


def embeddings(body: dict[str, Any], model: str, prompt_tokens: int) -> dict[str, Any]:
    """batchEmbedContents answers `embeddings[{values}]` in input order and no token counts."""
    data = [{"object": "embedding", "index": i, "embedding": e.get("values", [])}
            for i, e in enumerate(body.get("embeddings") or [])]
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}
