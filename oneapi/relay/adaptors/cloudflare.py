"""Cloudflare Workers AI (channel type 37): chat and embeddings through its OpenAI-compatible
endpoints, text completions through its native `run` endpoint.

Wire facts (https://developers.cloudflare.com/workers-ai/configuration/open-ai-compatibility/,
https://developers.cloudflare.com/api/resources/ai/methods/run/,
https://developers.cloudflare.com/ai-gateway/providers/workersai/):
- Prefix `{base}/client/v4/accounts/{account id}/ai`; through AI Gateway the base itself
  (`https://gateway.ai.cloudflare.com/v1/{account}/{gateway}/workers-ai`). Auth `Authorization: Bearer <API token>`.
- `POST {prefix}/v1/chat/completions` and `{prefix}/v1/embeddings` take and answer OpenAI's bodies;
  streams are OpenAI chunks ending `data: [DONE]`, the usage on the finishing chunk.
- `POST {prefix}/run/{model}` (AI Gateway: `{base}/{model}`) takes `{prompt, max_tokens, stream,
  temperature, top_p, top_k, seed, frequency_penalty, presence_penalty}` and answers
  `{"result": {"response": "...", "usage": {...}}, "success": true, "errors": [], "messages": []}`;
  its stream is `data: {"response": "..."}` events, the last with `usage`, then `data: [DONE]`.
- Errors `{"success": false, "errors": [{"code": 10000, "message": "Authentication error"}], ...}`
  (the OpenAI endpoints may answer OpenAI's `{"error": {...}}` instead).

Where we differ from One API, and why:
- Usage is Workers AI's own when it reports it (it now does); One API always counted it locally.
- `run` answers are translated to `text_completion` objects and chunks (One API parsed them as chat
  completions and answered empty choices), and embeddings answers are passed on as they come (One API
  parsed them as chat completions too and lost the vectors).
- Chat chunks keep one id (`chatcmpl-<Workers AI id>`) and `created`, the role only on the first chunk,
  and the usage in a chunk of its own for clients that asked (`stream_options.include_usage`), as OpenAI
  sends it; answers carry the client's model name, as One API's streams did.
- A channel without an account id is refused before any call (One API sent `accounts//ai`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import STOP, Adaptor, now, openai_style_error, parse_json
from oneapi.relay.channeltypes import ChannelType, ConfigField, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

GATEWAY_HOST = "gateway.ai.cloudflare.com"
RUN_FIELDS = ("max_tokens", "temperature", "top_p", "top_k", "seed", "frequency_penalty", "presence_penalty")

MODELS = (
    # One API's list (relay/adaptor/cloudflare/constant.go).
    "@cf/meta/llama-3.1-8b-instruct",
    "@cf/meta/llama-2-7b-chat-fp16",
    "@cf/meta/llama-2-7b-chat-int8",
    "@cf/mistral/mistral-7b-instruct-v0.1",
    "@hf/thebloke/deepseek-coder-6.7b-base-awq",
    "@hf/thebloke/deepseek-coder-6.7b-instruct-awq",
    "@cf/deepseek-ai/deepseek-math-7b-base",
    "@cf/deepseek-ai/deepseek-math-7b-instruct",
    "@cf/thebloke/discolm-german-7b-v1-awq",
    "@cf/tiiuae/falcon-7b-instruct",
    "@cf/google/gemma-2b-it-lora",
    "@hf/google/gemma-7b-it",
    "@cf/google/gemma-7b-it-lora",
    "@hf/nousresearch/hermes-2-pro-mistral-7b",
    "@hf/thebloke/llama-2-13b-chat-awq",
    "@cf/meta-llama/llama-2-7b-chat-hf-lora",
    "@cf/meta/llama-3-8b-instruct",
    "@hf/thebloke/llamaguard-7b-awq",
    "@hf/thebloke/mistral-7b-instruct-v0.1-awq",
    "@hf/mistralai/mistral-7b-instruct-v0.2",
    "@cf/mistral/mistral-7b-instruct-v0.2-lora",
    "@hf/thebloke/neural-chat-7b-v3-1-awq",
    "@cf/openchat/openchat-3.5-0106",
    "@hf/thebloke/openhermes-2.5-mistral-7b-awq",
    "@cf/microsoft/phi-2",
    "@cf/qwen/qwen1.5-0.5b-chat",
    "@cf/qwen/qwen1.5-1.8b-chat",
    "@cf/qwen/qwen1.5-14b-chat-awq",
    "@cf/qwen/qwen1.5-7b-chat-awq",
    "@cf/defog/sqlcoder-7b-2",
    "@hf/nexusflow/starling-lm-7b-beta",
    "@cf/tinyllama/tinyllama-1.1b-chat-v1.0",
    "@hf/thebloke/zephyr-7b-beta-awq",
    # Current models (https://developers.cloudflare.com/workers-ai/models/), embeddings included:
    # One API listed none although the type serves embeddings.
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "@cf/meta/llama-3.2-3b-instruct",
    "@cf/meta/llama-4-scout-17b-16e-instruct",
    "@cf/google/gemma-3-12b-it",
    "@cf/mistralai/mistral-small-3.1-24b-instruct",
    "@cf/qwen/qwq-32b",
    "@cf/qwen/qwen2.5-coder-32b-instruct",
    "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",
    "@cf/baai/bge-small-en-v1.5",
    "@cf/baai/bge-base-en-v1.5",
    "@cf/baai/bge-large-en-v1.5",
    "@cf/baai/bge-m3",
)

SPEC = TypeSpec(
    ChannelType.CLOUDFLARE, Text("Cloudflare", "Cloudflare"), frozenset({M.CHAT, M.COMPLETIONS, M.EMBEDDINGS}),
    models=MODELS, owner="cloudflare",
    base_url="https://api.cloudflare.com",
    key_hint=Text("Cloudflare API 令牌（需 Workers AI 权限）", "Cloudflare API token (with Workers AI permission)"),
    config=(ConfigField("user_id", Text("账户 ID", "Account ID"), placeholder="d8d7c61dbc334c32d3ced580e4bf42b4"),),
    notice=Text("使用 AI Gateway 时，代理地址填 https://gateway.ai.cloudflare.com/v1/<账户>/<网关>/workers-ai。",
                "Through AI Gateway, set the base URL to https://gateway.ai.cloudflare.com/v1/<account>/<gateway>/workers-ai."),
)


def is_gateway(base_url: str) -> bool:
    parts = urlsplit(base_url)
    return parts.hostname == GATEWAY_HOST and parts.path.rstrip("/").endswith("/workers-ai")


@register(SPEC)
class CloudflareAdaptor(Adaptor):
    key = "cloudflare"

    def request_url(self, ctx: RelayContext) -> str:
        gateway = is_gateway(ctx.base_url)
        prefix = ctx.base_url if gateway else f"{ctx.base_url}/client/v4/accounts/{account_id(ctx)}/ai"
        if ctx.mode == M.CHAT:
            return f"{prefix}/v1/chat/completions"
        if ctx.mode == M.EMBEDDINGS:
            return f"{prefix}/v1/embeddings"
        return f"{prefix}/{ctx.model}" if gateway else f"{prefix}/run/{ctx.model}"

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        if ctx.mode == M.COMPLETIONS:
            return run_request(body, ctx.stream)
        return {**body, "model": ctx.model}

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        raise_for_failure(body)
        if ctx.mode == M.COMPLETIONS:
            return text_completion(body, ctx)
        usage = usage_of(body.get("usage"))
        if ctx.mode == M.CHAT:
            body = {**body, "id": chat_id(body.get("id")), "model": ctx.original_model}
        return body, usage

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        stream = RunStream(ctx, state) if ctx.mode == M.COMPLETIONS else ChatStream(ctx, state)
        for event in events:
            if event.data.strip() == "[DONE]":
                break
            try:
                data = json.loads(event.data)
            except ValueError:
                continue
            if isinstance(data, dict):
                raise_for_failure(data)
                yield from stream.feed(data)
        yield from stream.finish()

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        parsed = parse_json(body)
        return cloudflare_error(status, parsed) or openai_style_error(status, body)


def account_id(ctx: RelayContext) -> str:
    value = str(ctx.config.get("user_id") or "").strip()
    if not value:
        raise LocalError(500, "the Cloudflare channel has no account ID (config user_id)",
                         code="invalid_channel_config")
    return value


def run_request(body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """The `run` input of a text-generation model; it takes one prompt, not OpenAI's batches."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise LocalError(400, "Workers AI completions take a single string prompt", code="invalid_text_request")
    out: dict[str, Any] = {"prompt": prompt}
    if stream:
        out["stream"] = True
    out.update({name: body[name] for name in RUN_FIELDS if body.get(name) is not None})
    return out


def cloudflare_error(status: int, body: Any) -> UpstreamError | None:
    """Cloudflare's v4 envelope: the first error's message, its numeric code as code."""
    if not isinstance(body, dict) or body.get("success") is not False:
        return None
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    first = errors[0] if errors else {}
    message = "; ".join(str(e.get("message") or "") for e in errors if e.get("message")) or "Workers AI request failed"
    return UpstreamError(status or 500, message, "cloudflare_error", first.get("code") or "", str(status or ""))


def raise_for_failure(body: dict[str, Any]) -> None:
    error = cloudflare_error(0, body)
    if error is None and isinstance(body.get("error"), dict | str) and not body.get("choices"):
        error = openai_style_error(500, json.dumps(body).encode())
    if error is not None:
        raise error


def usage_of(usage: Any) -> Usage | None:
    if not isinstance(usage, dict) or not (usage.get("prompt_tokens") or usage.get("completion_tokens")):
        return None
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


def chat_id(upstream: Any) -> str:
    text = str(upstream or "")
    return text if text.startswith("chatcmpl-") else f"chatcmpl-{text}"


def text_completion(body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
    result = body.get("result") if isinstance(body.get("result"), dict) else body
    usage = usage_of(result.get("usage"))
    answer: dict[str, Any] = {
        "id": f"cmpl-{ctx.request_id}", "object": "text_completion", "created": now(), "model": ctx.original_model,
        "choices": [{"index": 0, "text": str(result.get("response") or ""), "logprobs": None, "finish_reason": STOP}],
    }
    if usage is not None:
        answer["usage"] = usage.as_openai()
    return answer, usage


class ChatStream:
    """Workers AI's OpenAI chunks, normalised: one id and `created`, the role first, nothing after
    the finish reason but the usage, which goes to the client in a chunk of its own."""

    def __init__(self, ctx: RelayContext, state: StreamState) -> None:
        self.ctx, self.state = ctx, state
        self.id, self.created = "", now()
        self.role_sent = self.finished = False

    def base(self) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.ctx.original_model}

    def feed(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        self.id = self.id or chat_id(data.get("id"))
        self.state.usage = usage_of(data.get("usage")) or self.state.usage
        choices = [] if self.finished else [c for c in data.get("choices") or [] if isinstance(c, dict)]
        for choice in choices:
            delta = dict(choice.get("delta") or {})
            delta.pop("role", None)
            for name in ("content", "reasoning_content"):
                if isinstance(delta.get(name), str):
                    self.state.add_text(delta[name])
            for call in delta.get("tool_calls") or []:
                self.state.add_text(((call or {}).get("function") or {}).get("arguments"))
            reason = choice.get("finish_reason") or None
            if not any(delta.values()) and not reason:
                continue
            if not self.role_sent:
                delta, self.role_sent = {"role": "assistant", **delta}, True
            if reason:
                self.finished, self.state.finish_reason = True, reason
            out = {"index": choice.get("index", 0), "delta": delta, "finish_reason": reason}
            if choice.get("logprobs") is not None:
                out["logprobs"] = choice["logprobs"]
            yield {**self.base(), "choices": [out]}

    def finish(self) -> Iterator[dict[str, Any]]:
        if self.role_sent and not self.finished:
            # Some Workers AI models end with [DONE] and no finish reason.
            self.state.finish_reason = STOP
            yield {**self.base(), "choices": [{"index": 0, "delta": {}, "finish_reason": STOP}]}
        if self.ctx.client_wants_usage and self.state.usage is not None:
            self.state.usage_forwarded = True
            yield {**self.base(), "choices": [], "usage": self.state.usage.as_openai()}


class RunStream:
    """A `run` stream (`{"response": "..."}` events) as OpenAI text_completion chunks."""

    def __init__(self, ctx: RelayContext, state: StreamState) -> None:
        self.ctx, self.state = ctx, state
        self.created = now()

    def chunk(self, text: str, reason: str | None) -> dict[str, Any]:
        return {"id": f"cmpl-{self.ctx.request_id}", "object": "text_completion", "created": self.created,
                "model": self.ctx.original_model,
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": reason}]}

    def feed(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        self.state.usage = usage_of(data.get("usage")) or self.state.usage
        text = data.get("response")
        if isinstance(text, str) and text:
            self.state.add_text(text)
            yield self.chunk(text, None)

    def finish(self) -> Iterator[dict[str, Any]]:
        self.state.finish_reason = STOP
        yield self.chunk("", STOP)
        if self.ctx.client_wants_usage and self.state.usage is not None:
            self.state.usage_forwarded = True
            yield {**self.chunk("", None), "choices": [], "usage": self.state.usage.as_openai()}
