"""Meta Llama 3 on Bedrock (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-meta.html).

- Request `{prompt, temperature, top_p, max_gen_len}`: the conversation rendered with Llama 3's chat
  template (https://www.llama.com/docs/model-cards-and-prompt-formats/meta-llama-3/):
  `<|begin_of_text|>` then per message `<|start_header_id|>{role}<|end_header_id|>\\n\\n{text}<|eot_id|>`,
  then an open `<|start_header_id|>assistant<|end_header_id|>\\n\\n` for the model to complete.
  `max_gen_len` is at most 2048 on Bedrock.
- Answer `{generation, prompt_token_count, generation_token_count, stop_reason}` with `stop_reason` `stop`
  or `length`; a stream sends the same fields per chunk (the prompt count on the first chunk only, the
  generation count so far, the stop reason on the last) and the last chunk also carries Bedrock's
  `amazon-bedrock-invocationMetrics` {inputTokenCount, outputTokenCount}.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from oneapi.relay.adaptors.base import LENGTH, STOP, now, text_of
from oneapi.relay.usage import StreamState, Usage

DEFAULT_MAX_GEN_LEN = 2048
MAX_GEN_LEN = 2048
FINISH_REASONS = {"stop": STOP, "length": LENGTH}


def random_id() -> str:
    """Llama answers carry no id; tests replace this."""
    return f"chatcmpl-{uuid.uuid4().hex[:29]}"


def render_prompt(messages: list[dict[str, Any]]) -> str:
    """Llama 3's chat template over the messages' text (`developer` is a system message, `tool` results
    are Llama 3.1's `ipython` turns)."""
    parts = ["<|begin_of_text|>"]
    for message in messages:
        role = str(message.get("role") or "user")
        role = {"developer": "system", "tool": "ipython"}.get(role, role)
        parts.append(f"<|start_header_id|>{role}<|end_header_id|>\n\n{text_of(message.get('content'))}<|eot_id|>")
    parts.append("<|start_header_id|>assistant<|end_header_id|>\n\n")
    return "".join(parts)


def request(body: dict[str, Any]) -> dict[str, Any]:
    limit = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_GEN_LEN
    out: dict[str, Any] = {"prompt": render_prompt(body.get("messages") or []),
                           "max_gen_len": min(int(limit), MAX_GEN_LEN)}
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    return out


def usage_of(body: dict[str, Any]) -> Usage | None:
    metrics = body.get("amazon-bedrock-invocationMetrics")
    if isinstance(metrics, dict) and "inputTokenCount" in metrics:
        return Usage(metrics.get("inputTokenCount") or 0, metrics.get("outputTokenCount") or 0)
    if body.get("prompt_token_count") is None and body.get("generation_token_count") is None:
        return None
    return Usage(body.get("prompt_token_count") or 0, body.get("generation_token_count") or 0)


def completion(body: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    usage = usage_of(body)
    answer: dict[str, Any] = {
        "id": random_id(), "object": "chat.completion", "created": now(), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": body.get("generation") or ""},
                     "finish_reason": FINISH_REASONS.get(body.get("stop_reason") or "stop", STOP)}],
    }
    if usage is not None:
        answer["usage"] = usage.as_openai()
    return answer, usage


def chunks(payloads: Iterable[dict[str, Any]], model: str, state: StreamState,
           wants_usage: bool = False) -> Iterator[dict[str, Any]]:
    """OpenAI chunks for Llama's stream chunks: one id and `created`, the role first, the finish last,
    then (when the client asked for it) the usage chunk under the same id."""
    ident, created, role_sent = random_id(), now(), False
    prompt = completion_tokens = 0

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        nonlocal role_sent
        if not role_sent:
            delta, role_sent = {"role": "assistant", **delta}, True
        return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    for payload in payloads:
        prompt = payload.get("prompt_token_count") or prompt
        completion_tokens = payload.get("generation_token_count") or completion_tokens
        state.usage = usage_of({**payload, "prompt_token_count": prompt,
                                "generation_token_count": completion_tokens})
        text = payload.get("generation") or ""
        if text or not role_sent:
            state.add_text(text)
            yield chunk({"content": text})
        if payload.get("stop_reason"):
            finish = FINISH_REASONS.get(payload["stop_reason"], STOP)
            state.finish_reason = finish
            yield chunk({}, finish)
    if wants_usage and state.usage is not None:
        state.usage_forwarded = True
        yield {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [],
               "usage": state.usage.as_openai()}
