"""Replicate (channel type 46): chat and images as predictions, created, polled and (for chat) streamed.

Wire facts (https://replicate.com/docs/reference/http, /docs/topics/predictions/streaming,
/docs/topics/predictions/lifecycle, the models' API pages):
- `POST {base}/v1/models/{owner}/{name}/predictions` runs an official model; `Authorization: Bearer
  <token>`; body `{"input": {...}, "stream": true?}`. The answer (HTTP 201) is the prediction:
  `{id, model, version, input, status, output, error, logs, metrics, created_at, urls: {get, cancel,
  stream?, web?}}`; `status` goes `starting` → `processing` → `succeeded` | `failed` | `canceled`.
- `GET {base}/v1/predictions/{id}` (`urls.get`) is the prediction now; `output` is the model's:
  for image models a URL or a list of URLs, for language models a list of text pieces.
- `urls.stream` (another host, `stream.replicate.com`) is an SSE stream read with `Accept:
  text/event-stream` (and `Cache-Control: no-store`): `event: output` whose data is raw text (not
  JSON; a piece holding newlines comes as several `data:` lines), `event: error` with JSON `{"detail"}`,
  `event: done` with `{}` or `{"reason": "canceled" | "error"}`. Tokens are not counted in it; the
  prediction's `metrics` (`input_token_count`, `output_token_count`) only exist once it is over.
- Errors are problem+json: `{"title": "Unauthenticated", "detail": "You did not pass a valid
  authentication token", "status": 401}`; a bad input is 422 with `invalid_fields`.
- Language models take `prompt`, `system_prompt`, `max_tokens`, `temperature`, `top_p`, `top_k`,
  `presence_penalty`, `frequency_penalty`, `stop_sequences` (comma-separated), `seed`. FLUX models
  take `prompt`, `aspect_ratio` (1:1, 16:9, 9:16, 3:2, 2:3, 4:5, 5:4, 3:4, 4:3 …), `seed`,
  `output_format` (webp, jpg, png); schnell and dev (and their LoRA variants) also `num_outputs` 1–4.

Where we differ from One API, and why:
- The URL is built from the channel's base URL (One API hard-coded api.replicate.com), and polls go to
  `{base}/v1/predictions/{id}` (the documented endpoint, so a mirror stays in the path) rather than to
  the absolute `urls.get`, which is used only when the prediction has no id. The model in the path is
  the mapped model sent upstream (One API used the client's name, which made model mapping useless).
- Chat: non-stream requests are served too, from the stream (`always_streams`; One API refused them),
  and the stream is translated to OpenAI chunks (One API forwarded `data: <raw text>`, which no OpenAI
  client can parse). System messages go to `system_prompt` instead of being `system:` prompt lines.
  The first poll comes after 1 s and polls every 1 s while the prediction is `starting` without a
  stream (One API waited 3 s between polls); `stop` and `seed` are passed on. A finished prediction
  without a stream URL (a model that cannot stream) is answered from its `output`.
- Usage is counted locally (None / no `state.usage`), as One API did: the stream reports no tokens.
- Images: `aspect_ratio` follows the requested size and `num_outputs` follows `n` where the model
  can make several images (for others n > 1 is refused with 400, not billed for images never made);
  `output_format` is PNG for FLUX and Stable Diffusion (OpenAI's images are PNG). The answer carries
  the output URLs (`data: [{"url"}]`); for `response_format: b64_json` the pipeline fetches them and
  answers them inline (`media.ImageRelay`), as One API did.
- A failed or canceled prediction, and an `error` event in a stream, are errors of type
  `replicate_error` with the prediction's message (One API answered them with a generic failure).
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import STOP, Adaptor, Call, openai_style_error, text_of
from oneapi.relay.channeltypes import ChannelType, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

MODELS = (
    "black-forest-labs/flux-1.1-pro",
    "black-forest-labs/flux-1.1-pro-ultra",
    "black-forest-labs/flux-canny-dev",
    "black-forest-labs/flux-canny-pro",
    "black-forest-labs/flux-depth-dev",
    "black-forest-labs/flux-depth-pro",
    "black-forest-labs/flux-dev",
    "black-forest-labs/flux-dev-lora",
    "black-forest-labs/flux-fill-dev",
    "black-forest-labs/flux-fill-pro",
    "black-forest-labs/flux-pro",
    "black-forest-labs/flux-redux-dev",
    "black-forest-labs/flux-redux-schnell",
    "black-forest-labs/flux-schnell",
    "black-forest-labs/flux-schnell-lora",
    "ideogram-ai/ideogram-v2",
    "ideogram-ai/ideogram-v2-turbo",
    "recraft-ai/recraft-v3",
    "recraft-ai/recraft-v3-svg",
    "stability-ai/stable-diffusion-3",
    "stability-ai/stable-diffusion-3.5-large",
    "stability-ai/stable-diffusion-3.5-large-turbo",
    "stability-ai/stable-diffusion-3.5-medium",
    "ibm-granite/granite-20b-code-instruct-8k",
    "ibm-granite/granite-3.0-2b-instruct",
    "ibm-granite/granite-3.0-8b-instruct",
    "ibm-granite/granite-8b-code-instruct-128k",
    "meta/llama-2-13b",
    "meta/llama-2-13b-chat",
    "meta/llama-2-70b",
    "meta/llama-2-70b-chat",
    "meta/llama-2-7b",
    "meta/llama-2-7b-chat",
    "meta/meta-llama-3.1-405b-instruct",
    "meta/meta-llama-3-70b",
    "meta/meta-llama-3-70b-instruct",
    "meta/meta-llama-3-8b",
    "meta/meta-llama-3-8b-instruct",
    "mistralai/mistral-7b-instruct-v0.2",
    "mistralai/mistral-7b-v0.1",
    "mistralai/mixtral-8x7b-instruct-v0.1",
)

SPEC = TypeSpec(
    ChannelType.REPLICATE, Text("Replicate", "Replicate"), frozenset({M.CHAT, M.IMAGES}),
    models=MODELS, owner="replicate",
    base_url="https://api.replicate.com",
    key_hint=Text("Replicate API 令牌（r8_…）", "Replicate API token (r8_…)"),
    notice=Text("Replicate：模型名为官方模型的 owner/name，"
                "例如 meta/meta-llama-3-8b-instruct、black-forest-labs/flux-schnell。",
                "Replicate: the model name is the official model's owner/name, e.g. meta/meta-llama-3-8b-instruct "
                "or black-forest-labs/flux-schnell."),
)

DEFAULT_MAX_TOKENS = 500  # One API's default
POLL_DELAY = 1.0
"""Seconds between polls of a prediction (One API: 3 s; Replicate's own clients poll every 0.5–1 s)."""
TERMINAL = ("succeeded", "failed", "canceled")
CHAT_PARAMETERS = ("temperature", "top_p", "top_k", "presence_penalty", "frequency_penalty", "seed")
ASPECT_RATIOS = ("1:1", "16:9", "9:16", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3")
"""The ratios every FLUX model accepts (schnell/dev add 21:9 and 9:21, pro adds `custom`)."""
MULTI_OUTPUT_MODELS = ("black-forest-labs/flux-schnell", "black-forest-labs/flux-dev",
                       "black-forest-labs/flux-schnell-lora", "black-forest-labs/flux-dev-lora")
"""Models with `num_outputs` (1–4); the others make one image per prediction."""
MAX_OUTPUTS = 4
PNG_FAMILIES = ("black-forest-labs/", "stability-ai/")
"""Models whose `output_format` takes `png`."""


def now() -> int:
    """The `created` timestamp; a module function so that tests can pin the clock."""
    return int(time.time())


@register(SPEC)
class ReplicateAdaptor(Adaptor):
    key: ClassVar[str] = "replicate"
    image_urls_only = True
    always_streams: ClassVar[bool] = True
    """Chat is always read from the prediction's stream; images never stream (`upstream_stream`)."""

    def upstream_stream(self, ctx: RelayContext) -> bool:
        # The first answer is always the prediction JSON; the stream is a follow-up call.
        return False

    def request_url(self, ctx: RelayContext) -> str:
        return f"{ctx.base_url}/v1/models/{ctx.model}/predictions"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.key}", "Content-Type": "application/json"}

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        if ctx.mode == M.IMAGES:
            return {"input": image_input(body, ctx.model)}
        return {"input": chat_input(body), "stream": True}

    def follow_up(self, ctx: RelayContext, body: Any, step: int) -> Call | None:
        """Chat: the stream once it is there and the prediction has left `starting`; images: polls
        until the prediction is over. A failed or canceled prediction is an error."""
        if not isinstance(body, dict):
            raise UpstreamError(502, "Replicate answered something that is not a prediction",
                                "replicate_error", "bad_prediction")
        status = body.get("status")
        if status in ("failed", "canceled"):
            raise prediction_error(body)
        urls = body.get("urls") if isinstance(body.get("urls"), dict) else {}
        if ctx.mode != M.IMAGES and urls.get("stream") and status != "starting":
            return Call("GET", str(urls["stream"]), headers=self.stream_headers(ctx), stream=True)
        if status == "succeeded":
            return None
        return Call("GET", self.poll_url(ctx, body), headers={"Authorization": f"Bearer {ctx.key}"},
                    delay=POLL_DELAY)

    def stream_headers(self, ctx: RelayContext) -> dict[str, str]:
        return {"Accept": "text/event-stream", "Cache-Control": "no-store", "Authorization": f"Bearer {ctx.key}"}

    def poll_url(self, ctx: RelayContext, prediction: dict[str, Any]) -> str:
        if prediction.get("id"):
            return f"{ctx.base_url}/v1/predictions/{prediction['id']}"
        url = (prediction.get("urls") or {}).get("get")
        if not url:
            raise UpstreamError(502, "Replicate's prediction has neither an id nor a URL to poll",
                                "replicate_error", "bad_prediction")
        return str(url)

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        """A succeeded prediction: images, or the whole text of a language model that cannot stream."""
        if body.get("status") in ("failed", "canceled"):
            raise prediction_error(body)
        if ctx.mode == M.IMAGES:
            return images_response(body.get("output")), None
        text = output_text(body.get("output"))
        return {
            "id": completion_id(ctx), "object": "chat.completion", "created": now(), "model": ctx.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": STOP}],
        }, None

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        chunk_id, created, role_sent = completion_id(ctx), now(), False

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            nonlocal role_sent
            if not role_sent:
                delta, role_sent = {"role": "assistant", **delta}, True
            return {"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": ctx.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        for event in events:
            if event.event == "output":
                if event.data:
                    state.add_text(event.data)
                    yield chunk({"content": event.data})
            elif event.event == "error":
                raise stream_error(event.data)
            elif event.event == "done":
                reason = done_reason(event.data)
                if reason == "canceled":
                    raise UpstreamError(500, "the prediction was canceled", "replicate_error", "prediction_canceled")
                if reason == "error":
                    raise UpstreamError(500, "the prediction failed", "replicate_error", "prediction_failed")
                state.finish_reason = STOP
                yield chunk({} if role_sent else {"content": ""}, STOP)
                return

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        """Replicate's problem+json: `detail` is the message, the title (snake-cased) the code."""
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and (parsed.get("detail") or parsed.get("title")) and "error" not in parsed:
            message = str(parsed.get("detail") or parsed.get("title"))
            fields = [f.get("description") for f in parsed.get("invalid_fields") or []
                      if isinstance(f, dict) and f.get("description")]
            if fields and not parsed.get("detail"):
                message = "; ".join(str(f) for f in fields)
            code = re.sub(r"[^a-z0-9]+", "_", str(parsed.get("title") or "").lower()).strip("_")
            return UpstreamError(status, message, "replicate_error", code or "bad_response_status_code",
                                 str(status))
        return openai_style_error(status, body)

    def models(self) -> list[str]:
        return list(MODELS)


# -- chat -----------------------------------------------------------------------------------------

def chat_input(body: dict[str, Any]) -> dict[str, Any]:
    system, prompt = chat_prompt(body.get("messages") or [])
    out: dict[str, Any] = {"prompt": prompt,
                           "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens")
                           or DEFAULT_MAX_TOKENS}
    if system:
        out["system_prompt"] = system
    for name in CHAT_PARAMETERS:
        if body.get(name) is not None:
            out[name] = body[name]
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    stops = [s for s in stops if isinstance(s, str) and s]
    if stops:
        out["stop_sequences"] = ",".join(stops)
    return out


def chat_prompt(messages: list[Any]) -> tuple[str, str]:
    """The system prompt, and the conversation: the user's text when it is a single user message,
    else one `role: content` line per message (One API's rendering)."""
    system: list[str] = []
    turns: list[tuple[str, str]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role, text = str(message.get("role") or "user"), text_of(message.get("content"))
        if role in ("system", "developer"):
            if text:
                system.append(text)
        elif text:
            turns.append((role, text))
    if len(turns) == 1 and turns[0][0] == "user":
        return "\n".join(system), turns[0][1]
    return "\n".join(system), "\n".join(f"{role}: {text}" for role, text in turns)


def completion_id(ctx: RelayContext) -> str:
    return f"chatcmpl-{ctx.request_id or uuid.uuid4().hex}"


def output_text(output: Any) -> str:
    if isinstance(output, list):
        return "".join(str(piece) for piece in output if piece is not None)
    return "" if output is None else str(output)


def done_reason(data: str) -> str:
    try:
        parsed = json.loads(data) if data.strip() else {}
    except ValueError:
        return ""
    return str(parsed.get("reason") or "") if isinstance(parsed, dict) else ""


def stream_error(data: str) -> UpstreamError:
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    message = str(parsed.get("detail") or parsed.get("error") or data) if isinstance(parsed, dict) else data
    return UpstreamError(500, message or "the prediction failed", "replicate_error", "prediction_failed")


def prediction_error(prediction: dict[str, Any]) -> UpstreamError:
    status = prediction.get("status")
    if status == "canceled":
        return UpstreamError(500, "the prediction was canceled", "replicate_error", "prediction_canceled")
    error = prediction.get("error")
    message = error.get("detail") or json.dumps(error) if isinstance(error, dict) else str(error or "")
    return UpstreamError(500, message or "the prediction failed", "replicate_error", "prediction_failed")


# -- images ---------------------------------------------------------------------------------------

def image_input(body: dict[str, Any], model: str) -> dict[str, Any]:
    n = 1 if body.get("n") is None else body["n"]
    out: dict[str, Any] = {"prompt": body.get("prompt") or "", "aspect_ratio": aspect_ratio(body.get("size"))}
    if model in MULTI_OUTPUT_MODELS:
        if not 1 <= n <= MAX_OUTPUTS:
            raise LocalError(400, f"n must be between 1 and {MAX_OUTPUTS} for {model}", code="n_not_within_range")
        out["num_outputs"] = n
    elif n != 1:
        raise LocalError(400, f"{model} makes one image per request: n must be 1", code="n_not_within_range")
    if body.get("seed") is not None:
        out["seed"] = body["seed"]
    if model.startswith(PNG_FAMILIES):
        out["output_format"] = "png"
    return out


def aspect_ratio(size: Any) -> str:
    """The supported aspect ratio nearest to `WIDTHxHEIGHT` (compared on a log scale); 1:1 without one."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", size) if isinstance(size, str) else None
    if not match or not int(match[1]) or not int(match[2]):
        return "1:1"
    wanted = math.log(int(match[1]) / int(match[2]))

    def distance(ratio: str) -> float:
        width, height = ratio.split(":")
        return abs(math.log(int(width) / int(height)) - wanted)

    return min(ASPECT_RATIOS, key=distance)


def images_response(output: Any) -> dict[str, Any]:
    urls = output if isinstance(output, list) else [output] if output else []
    return {"created": now(), "data": [{"url": str(url)} for url in urls if url]}
