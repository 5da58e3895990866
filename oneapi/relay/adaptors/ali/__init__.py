"""Alibaba DashScope / Tongyi Qianwen (channel type 17): OpenAI chat, embeddings and images over
DashScope's native API.

Wire facts (https://help.aliyun.com/zh/model-studio/use-qwen-by-calling-api, …/text-embedding-synchronous-api,
…/text-to-image-api-reference, …/error-code):
- Chat `POST {base}/api/v1/services/aigc/text-generation/generation`; the Qwen-VL / QVQ models
  `POST {base}/api/v1/services/aigc/multimodal-generation/generation` (content as `{"text"}` /
  `{"image"}` items). Body `{model, input: {messages}, parameters: {result_format: "message", …}}`.
- Auth `Authorization: Bearer <key>`. A stream is asked for with `X-DashScope-SSE: enable` (and
  `Accept: text/event-stream`) plus `parameters.incremental_output: true`; its events are
  `id:<n>` / `event:result` / `:HTTP_STATUS/200` / `data:<json>`, an `event:error` carrying the error
  envelope. `X-DashScope-Plugin` carries the channel's plugin setting.
- Answers `output.choices[{message, finish_reason}]` (finish_reason the string "null" while a stream
  runs), `usage.input_tokens` / `output_tokens`, `request_id`.
- Embeddings `POST {base}/api/v1/services/embeddings/text-embedding/text-embedding` `{model, input: {texts}}`.
- Images `POST {base}/api/v1/services/aigc/text2image/image-synthesis` with `X-DashScope-Async: enable`,
  body `{model, input: {prompt}, parameters: {size: "W*H", n}}`; then `GET {base}/api/v1/tasks/{task_id}`
  until `output.task_status` is SUCCEEDED (`output.results[].url`) or FAILED / CANCELED / UNKNOWN.
- Errors `{"code", "message", "request_id"}` with the HTTP status (401 InvalidApiKey, 429 Throttling…).

Where we differ from One API, and why:
- Every URL, the task poll included, is built from the channel's base URL (One API polled
  dashscope.aliyuncs.com whatever the channel said), so mirrors and the international endpoint work.
- Images are answered as URLs; for `b64_json` the pipeline fetches them and answers them inline, as
  One API did; the poll runs every 2 s within the pipeline's time bound (One API: 20 polls).
- Embeddings are sent with the requested (mapped) model and answered with the client's model name;
  One API always sent and answered `text-embedding-v1`. `dimensions` becomes `parameters.dimension`.
- Answers carry the client's model name, not One API's fixed `qwen`; a stream keeps one id and
  `created`, puts the role on its first chunk only and the finish reason on its last, and streams
  `reasoning_content` and tool calls; a non-stream answer keeps `reasoning_content` too.
- Messages keep their images for the VL models (routed to the multimodal endpoint; One API sent them
  to the text endpoint as flattened text) and their tool-call fields; `stop`, `presence_penalty`,
  `response_format`, `tool_choice`, `n` and Qwen3's `enable_thinking` are passed on, which One API dropped.
- An `event:error` inside a stream becomes an error event for the client (One API dropped it silently).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.ali import chat, common, media
from oneapi.relay.adaptors.base import Adaptor, Call
from oneapi.relay.channeltypes import ChannelType, OtherField, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

POLL_INTERVAL = 2.0
PATHS = {
    M.CHAT: "/api/v1/services/aigc/text-generation/generation",
    M.EMBEDDINGS: "/api/v1/services/embeddings/text-embedding/text-embedding",
    M.IMAGES: "/api/v1/services/aigc/text2image/image-synthesis",
}
MULTIMODAL_PATH = "/api/v1/services/aigc/multimodal-generation/generation"

MODELS = (
    # One API's list (relay/adaptor/ali/constants.go).
    "qwen-turbo",
    "qwen-turbo-latest",
    "qwen-plus",
    "qwen-plus-latest",
    "qwen-max",
    "qwen-max-latest",
    "qwen-max-longcontext",
    "qwen-vl-max",
    "qwen-vl-max-latest",
    "qwen-vl-plus",
    "qwen-vl-plus-latest",
    "qwen-vl-ocr",
    "qwen-vl-ocr-latest",
    "qwen-audio-turbo",
    "qwen-math-plus",
    "qwen-math-plus-latest",
    "qwen-math-turbo",
    "qwen-math-turbo-latest",
    "qwen-coder-plus",
    "qwen-coder-plus-latest",
    "qwen-coder-turbo",
    "qwen-coder-turbo-latest",
    "qwq-32b-preview",
    "qwen2.5-72b-instruct",
    "qwen2.5-32b-instruct",
    "qwen2.5-14b-instruct",
    "qwen2.5-7b-instruct",
    "qwen2.5-3b-instruct",
    "qwen2.5-1.5b-instruct",
    "qwen2.5-0.5b-instruct",
    "qwen2-72b-instruct",
    "qwen2-57b-a14b-instruct",
    "qwen2-7b-instruct",
    "qwen2-1.5b-instruct",
    "qwen2-0.5b-instruct",
    "qwen1.5-110b-chat",
    "qwen1.5-72b-chat",
    "qwen1.5-32b-chat",
    "qwen1.5-14b-chat",
    "qwen1.5-7b-chat",
    "qwen1.5-1.8b-chat",
    "qwen1.5-0.5b-chat",
    "qwen-72b-chat",
    "qwen-14b-chat",
    "qwen-7b-chat",
    "qwen-1.8b-chat",
    "qwen-1.8b-longcontext-chat",
    "qvq-72b-preview",
    "qwen2.5-vl-72b-instruct",
    "qwen2.5-vl-7b-instruct",
    "qwen2.5-vl-2b-instruct",
    "qwen2.5-vl-1b-instruct",
    "qwen2.5-vl-0.5b-instruct",
    "qwen2-vl-7b-instruct",
    "qwen2-vl-2b-instruct",
    "qwen-vl-v1",
    "qwen-vl-chat-v1",
    "qwen2-audio-instruct",
    "qwen-audio-chat",
    "qwen2.5-math-72b-instruct",
    "qwen2.5-math-7b-instruct",
    "qwen2.5-math-1.5b-instruct",
    "qwen2-math-72b-instruct",
    "qwen2-math-7b-instruct",
    "qwen2-math-1.5b-instruct",
    "qwen2.5-coder-32b-instruct",
    "qwen2.5-coder-14b-instruct",
    "qwen2.5-coder-7b-instruct",
    "qwen2.5-coder-3b-instruct",
    "qwen2.5-coder-1.5b-instruct",
    "qwen2.5-coder-0.5b-instruct",
    "text-embedding-v1",
    "text-embedding-v3",
    "text-embedding-v2",
    "text-embedding-async-v2",
    "text-embedding-async-v1",
    "ali-stable-diffusion-xl",
    "ali-stable-diffusion-v1.5",
    "wanx-v1",
    "qwen-mt-plus",
    "qwen-mt-turbo",
    "deepseek-r1",
    "deepseek-v3",
    "deepseek-r1-distill-qwen-1.5b",
    "deepseek-r1-distill-qwen-7b",
    "deepseek-r1-distill-qwen-14b",
    "deepseek-r1-distill-qwen-32b",
    "deepseek-r1-distill-llama-8b",
    "deepseek-r1-distill-llama-70b",
    # Later models (https://help.aliyun.com/zh/model-studio/models).
    "qwen3-max",
    "qwen3-235b-a22b",
    "qwen3-32b",
    "qwen3-30b-a3b",
    "qwen3-coder-plus",
    "qwq-plus",
    "text-embedding-v4",
    "wanx2.1-t2i-turbo",
    "wanx2.1-t2i-plus",
)

SPEC = TypeSpec(
    ChannelType.ALI, Text("阿里通义千问", "Alibaba Tongyi Qianwen"), frozenset({M.CHAT, M.EMBEDDINGS, M.IMAGES}),
    models=MODELS, owner="ali",
    base_url="https://dashscope.aliyuncs.com",
    key_hint=Text("DashScope API Key（sk-...）", "DashScope API key (sk-...)"),
    other=OtherField("plugin", Text("插件参数", "Plugin"), placeholder="",
                     hint=Text("可选，作为 X-DashScope-Plugin 请求头发送。",
                               "Optional; sent as the X-DashScope-Plugin header.")),
)


@register(SPEC)
class AliAdaptor(Adaptor):
    key = "ali"
    image_urls_only = True

    def request_url(self, ctx: RelayContext) -> str:
        if ctx.mode == M.CHAT and chat.is_multimodal(chat.upstream_model(ctx.model)[0]):
            return ctx.base_url + MULTIMODAL_PATH
        return ctx.base_url + PATHS.get(ctx.mode, PATHS[M.CHAT])

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {ctx.key}", "Content-Type": "application/json"}
        if self.upstream_stream(ctx):
            headers.update({"Accept": "text/event-stream", "X-DashScope-SSE": "enable"})
        if ctx.mode == M.IMAGES:
            headers["X-DashScope-Async"] = "enable"
        if ctx.config.get("plugin"):
            headers["X-DashScope-Plugin"] = str(ctx.config["plugin"])
        return headers

    def upstream_stream(self, ctx: RelayContext) -> bool:
        return ctx.stream and ctx.mode == M.CHAT

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        if ctx.mode == M.EMBEDDINGS:
            return media.embedding_request(body, ctx.model)
        if ctx.mode == M.IMAGES:
            return media.image_request(body, ctx.model)
        return chat.chat_request(body, ctx.model, self.upstream_stream(ctx))

    def follow_up(self, ctx: RelayContext, body: Any, step: int) -> Call | None:
        """An image task is polled until it is done; a failed one raises its error."""
        if ctx.mode != M.IMAGES:
            return None
        task_id, status = media.task_of(body)
        if status == media.TASK_DONE:
            return None
        return Call("GET", f"{ctx.base_url}/api/v1/tasks/{task_id}", {"Authorization": f"Bearer {ctx.key}"},
                    delay=POLL_INTERVAL)

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        if ctx.mode == M.EMBEDDINGS:
            return media.embeddings(body, ctx.original_model)
        if ctx.mode == M.IMAGES:
            media.task_of(body)
            return media.images(body), None
        return chat.completion(body, ctx)

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        return chat.chunks(events, ctx, state)

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        return common.convert_error(status, body)
