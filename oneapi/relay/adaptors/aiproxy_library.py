"""Knowledge base: AI Proxy (channel type 21): OpenAI chat completions answered from an AI Proxy
knowledge base ("library") by its `ask` API.

Wire facts (https://docs.aiproxy.io/dev/library, One API's adaptor, AI Proxy's own clients):
- `POST {base}/api/library/ask` with `Authorization: Bearer <key>` (the `ask` call; AI Proxy's library
  management calls take the same key as `Api-Key`, which we send too) and the body
  `{model, query, libraryId, stream}`.
- Non-stream answer: `{success: true, answer, documents: [{title, url}]}`; a failure is
  `{success: false, errCode, message}` (HTTP 200).
- Stream: SSE `data:` events `{content, finish, model, documents}`, the documents arriving with the
  last one; the stream simply ends.
- No token counts are reported.

Where we differ from One API, and why:
- Usage is counted locally (the prompt as usual, the delivered answer with its reference list):
  One API logged zero tokens for this type, so every answer went unbilled.
- `query` is the last *user* message (One API: the last message whatever its role).
- A channel without a knowledge-base id (`other`, or `library_id` in its config) is refused before
  the call, with a clear message; One API sent an empty `libraryId`.
- A stream keeps one id and `created`, puts the role on its first chunk only, and ends with one chunk
  holding the `参考文档：` list (when there are documents) and `finish_reason: stop`; One API made a new
  id per chunk and always sent that last chunk, empty or not.
- Failures (`success: false`) are raised as `aiproxy_library_error` with AI Proxy's `errCode` as code
  and status 500 (One API: status 200, the code's digits as the type).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import (
    STOP,
    Adaptor,
    ChunkStream,
    json_objects,
    last_user_text,
    now,
    openai_style_error,
    parse_json,
)
from oneapi.relay.adaptors.compatible import OPENAI_MODELS
from oneapi.relay.channeltypes import ChannelType, OtherField, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

SPEC = TypeSpec(
    ChannelType.AIPROXY_LIBRARY, Text("知识库：AI Proxy", "Knowledge base: AI Proxy"), frozenset({M.CHAT}),
    models=OPENAI_MODELS,
    base_url="https://api.aiproxy.io",
    other=OtherField("knowledge_id", Text("知识库 ID", "Knowledge base ID"), placeholder="123456"),
)

ERROR_TYPE = "aiproxy_library_error"
DOCUMENTS_HEADING = "\n\n参考文档：\n"


@register(SPEC)
class AIProxyLibraryAdaptor(Adaptor):
    key: ClassVar[str] = "aiproxy_library"

    def request_url(self, ctx: RelayContext) -> str:
        return f"{ctx.base_url}/api/library/ask"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {ctx.key}", "Api-Key": ctx.key, "Content-Type": "application/json"}
        if ctx.stream:
            headers["Accept"] = "text/event-stream"
        return headers

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        library = str(ctx.config.get("library_id") or "").strip()
        if not library:
            raise LocalError(500, "this AI Proxy knowledge-base channel has no knowledge base id",
                             code="convert_request_failed")
        return {"model": ctx.model, "query": last_user_text(body.get("messages") or []), "libraryId": library,
                "stream": ctx.stream}

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        if isinstance(body.get("data"), dict) and "answer" in body["data"]:
            body = body["data"]  # the envelope some AI Proxy deployments answer with
        if body.get("success") is False or body.get("errCode"):
            raise library_error(body)
        content = str(body.get("answer") or "") + documents_markdown(body.get("documents"))
        completion = {
            "id": f"chatcmpl-{ctx.request_id}", "object": "chat.completion", "created": now(),
            "model": ctx.original_model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": STOP}],
        }
        return completion, None  # no token counts: the pipeline counts them.

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        return LibraryStream(ctx, state).run(events)

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        parsed = parse_json(body)
        if isinstance(parsed, dict) and parsed.get("errCode") and parsed.get("message"):
            return UpstreamError(status, str(parsed["message"]), ERROR_TYPE, parsed["errCode"])
        return openai_style_error(status, body)


def documents_markdown(documents: Any) -> str:
    """One API's reference list: a heading and a numbered list of markdown links."""
    documents = [d for d in documents or [] if isinstance(d, dict)]
    if not documents:
        return ""
    items = "".join(f"{i}. [{d.get('title') or ''}]({d.get('url') or ''})\n" for i, d in enumerate(documents, 1))
    return DOCUMENTS_HEADING + items


def library_error(body: dict[str, Any]) -> UpstreamError:
    code = body.get("errCode") or ""
    return UpstreamError(500, str(body.get("message") or f"AI Proxy library error {code}"), ERROR_TYPE, code)


class LibraryStream(ChunkStream):
    """`{content, finish, model, documents}` events → OpenAI chunks, the documents last."""

    def __init__(self, ctx: RelayContext, state: StreamState) -> None:
        super().__init__(state, f"chatcmpl-{ctx.request_id}", ctx.original_model, now())
        self.ctx = ctx
        self.documents: list[Any] = []

    def run(self, events: Iterable[SSEEvent]) -> Iterator[dict[str, Any]]:
        for _event, data in json_objects(events):
            if data.get("success") is False or data.get("errCode"):
                raise library_error(data)
            if data.get("documents"):
                self.documents = data["documents"]
            if isinstance(data.get("content"), str) and data["content"]:
                self.state.add_text(data["content"])
                yield self.chunk({"content": data["content"]})
        references = documents_markdown(self.documents)
        self.state.add_text(references)
        self.state.finish_reason = STOP
        yield self.chunk({"content": references} if references else {}, STOP)

