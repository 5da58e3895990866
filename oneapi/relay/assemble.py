"""OpenAI stream chunks folded back into the non-stream answer, for a request the relay metered by
asking the upstream for a stream (a payer who cannot hold the price of a whole answer).

The answer has what a non-stream answer has: per choice the role, the joined content and reasoning,
tool calls merged by index, the last finish reason and logprobs; the id, model, `created` and
`system_fingerprint` of the chunks; the usage, given by the caller.
"""

from __future__ import annotations

import json
from typing import Any

from oneapi.relay.modes import RelayMode


def parse_chunk(item: dict[str, Any] | bytes | str) -> dict[str, Any] | None:
    """An adaptor's stream item (a dict, or ready JSON) as a dict; None for anything else."""
    if isinstance(item, dict):
        return item
    try:
        parsed = json.loads(item)
    except (ValueError, TypeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def assemble(chunks: list[dict[str, Any]], mode: RelayMode, usage: dict[str, int], model: str) -> dict[str, Any]:
    first = chunks[0] if chunks else {}
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict):
                _fold(choices.setdefault(int(choice.get("index") or 0), {}), choice, mode)
    completion = mode == RelayMode.COMPLETIONS
    answer: dict[str, Any] = {
        "id": first.get("id") or "", "object": "text_completion" if completion else "chat.completion",
        "created": first.get("created") or 0, "model": first.get("model") or model,
        "choices": [_finish(index, folded, mode) for index, folded in sorted(choices.items())],
        "usage": usage,
    }
    fingerprint = next((c["system_fingerprint"] for c in chunks if c.get("system_fingerprint")), None)
    if fingerprint:
        answer["system_fingerprint"] = fingerprint
    return answer


def _fold(folded: dict[str, Any], choice: dict[str, Any], mode: RelayMode) -> None:
    if choice.get("finish_reason"):
        folded["finish_reason"] = choice["finish_reason"]
    if choice.get("logprobs"):
        folded.setdefault("logprobs", []).append(choice["logprobs"])
    if mode == RelayMode.COMPLETIONS:
        folded["text"] = folded.get("text", "") + str(choice.get("text") or "")
        return
    delta = choice.get("delta") or {}
    for name in ("content", "reasoning_content", "refusal"):
        if isinstance(delta.get(name), str):
            folded[name] = folded.get(name, "") + delta[name]
    for call in delta.get("tool_calls") or []:
        if isinstance(call, dict):
            _fold_call(folded.setdefault("tool_calls", {}), call)


def _fold_call(calls: dict[int, dict[str, Any]], call: dict[str, Any]) -> None:
    merged = calls.setdefault(int(call.get("index") or 0), {"id": "", "type": "function",
                                                            "function": {"name": "", "arguments": ""}})
    if call.get("id"):
        merged["id"] = call["id"]
    function = call.get("function") or {}
    for name in ("name", "arguments"):
        if isinstance(function.get(name), str):
            merged["function"][name] += function[name]


def _finish(index: int, folded: dict[str, Any], mode: RelayMode) -> dict[str, Any]:
    logprobs = _logprobs(folded.get("logprobs"))
    if mode == RelayMode.COMPLETIONS:
        return {"index": index, "text": folded.get("text", ""), "logprobs": logprobs,
                "finish_reason": folded.get("finish_reason")}
    calls = [call for _, call in sorted((folded.get("tool_calls") or {}).items())]
    message: dict[str, Any] = {"role": "assistant", "content": folded.get("content", None if calls else "")}
    for name in ("reasoning_content", "refusal"):
        if name in folded:
            message[name] = folded[name]
    if calls:
        message["tool_calls"] = calls
    return {"index": index, "message": message, "logprobs": logprobs, "finish_reason": folded.get("finish_reason")}


def _logprobs(parts: list[Any] | None) -> Any:
    """Chat logprobs arrive as `{content: [...]}` per chunk; they are joined into one list."""
    if not parts:
        return None
    if all(isinstance(p, dict) and isinstance(p.get("content"), list) for p in parts):
        return {"content": [entry for p in parts for entry in p["content"]]}
    return parts[-1]
