"""Channel tests (One API's controller/channel-test.go): one short chat request through the channel's own
adaptor, recorded as a test log row and as the channel's response time; and the batch test of many
channels that disables slow or dead ones and re-enables recovered ones.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from oneapi.errors import Conflict, Invalid, NotFound
from oneapi.extensions import db
from oneapi.models import Channel, ChannelStatus, LogType
from oneapi.relay import cache, channeltypes, health, upstream
from oneapi.relay.adaptors import get_adaptor
from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.context import RelayContext, channel_config
from oneapi.relay.errors import RelayError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.scrub import Scrubber
from oneapi.relay.sse import reader
from oneapi.relay.usage import StreamState
from oneapi.services import channels, logs, options
from oneapi.services.batchjobs import Progress, in_app, spawn

log = logging.getLogger("oneapi.channeltests")

FALLBACK_MODEL = "gpt-3.5-turbo"
SCOPES = {"all": None, "disabled": (ChannelStatus.MANUALLY_DISABLED, ChannelStatus.AUTO_DISABLED)}
# Held while a batch runs, whichever thread or greenlet runs it: one batch per process, as in One API.
_batch = threading.Lock()
# How far the current (or last) batch got, for the console's progress bar.
_progress = Progress()


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class

    success: bool
    message: str
    """The model's reply, or why the test failed."""
    seconds: float
    model: str
    """The model sent upstream (after the channel's model mapping)."""
    error: UpstreamError | None = None
    """The upstream's error, for the batch's fatal-error check."""


class _Failed(Exception):
    def __init__(self, message: str, error: UpstreamError | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error = error


def test_channel(channel_id: int, model: str = "") -> TestResult:
    """Send the test prompt to the channel and record the outcome; the channel's status is left alone.

    The model is `model` when the channel lists it exactly (One API matched substrings, so "gpt-4"
    passed for a channel of "gpt-4o"), else the channel's first model; then the model mapping applies.
    """
    row = channels.get_channel(channel_id)
    # The relay's view of the channel, as for a request pinned to it.
    state = cache.channel_by_id(row.id)
    if state is None:
        raise NotFound("渠道不存在")
    listed = channels.split_list(row.models)
    chosen = model if model in listed else (listed[0] if listed else model or FALLBACK_MODEL)
    ctx = _context(state, state.model_mapping.get(chosen) or chosen, chosen)
    # The upstream may take a while: no database connection is held meanwhile.
    db.session.commit()
    started = time.monotonic()
    success, message, error = _outcome(ctx)
    # The result is logged and shown: never with the key an upstream echoed back.
    message = Scrubber(ctx.key, ctx.base_url, hide_host=False).without_key(message)
    result = TestResult(success, message, time.monotonic() - started, ctx.model, error)
    _record(state, result)
    return result


def _outcome(ctx: RelayContext) -> tuple[bool, str, UpstreamError | None]:
    try:
        return True, _ask(ctx), None
    except _Failed as exc:
        return False, exc.message, exc.error
    except RelayError as exc:
        return False, exc.message, exc if isinstance(exc, UpstreamError) else None
    except Exception as exc:
        # An adaptor choking on an odd answer is a failed test, not a failed admin request.
        log.exception("testing channel #%s crashed", ctx.channel_id)
        return False, f"{type(exc).__name__}: {exc}", None


def _context(state: cache.ChannelState, model: str, original: str) -> RelayContext:
    return RelayContext(
        mode=RelayMode.CHAT, channel_id=state.id, channel_type=state.type, channel_name=state.name,
        base_url=channeltypes.base_url(state.type, state.base_url), key=state.key, model=model,
        original_model=original, config=channel_config(state.config, state.other, current_app.config["ONEAPI"]),
        path="/v1/chat/completions")


def _ask(ctx: RelayContext) -> str:
    """The model's reply to the test prompt, through the channel's adaptor and every transport step
    it asks for (`upstream.exchange`), as the relay sends it; a provider that only streams is read
    from its stream."""
    adaptor = get_adaptor(ctx.channel_type)
    if not adaptor.supports(ctx.channel_type, RelayMode.CHAT):
        raise _Failed(adaptor.refusal(ctx.channel_type, RelayMode.CHAT).message)
    config = current_app.config["ONEAPI"]
    ctx = upstream.with_credential(config, adaptor, ctx)
    prompt = config.test_prompt
    body = adaptor.convert_request({"model": ctx.model, "messages": [{"role": "user", "content": prompt}]}, ctx)
    data = json.dumps(body, ensure_ascii=False).encode()
    try:
        response, streamed = upstream.exchange(config, adaptor, ctx, data, adaptor.request_headers(ctx))
    except UpstreamError as exc:
        if exc.connection:
            raise
        raise _Failed(f"http status code: {exc.status}, error message: {exc.message}", exc) from None
    try:
        if streamed:
            return _streamed_reply(adaptor, ctx, response)
        try:
            parsed = json.loads(response.content)
        except ValueError:
            raise _Failed("upstream answered invalid JSON") from None
    finally:
        response.close()
    converted, _usage = adaptor.convert_response(parsed, ctx)
    return _reply(converted)


def _streamed_reply(adaptor: Adaptor, ctx: RelayContext, response: Any) -> str:
    state = StreamState()
    events = reader(adaptor.stream_format)(response.iter_content(chunk_size=None))
    for _chunk in adaptor.convert_stream(events, ctx, state):
        pass
    return state.text


def _reply(body: dict[str, Any]) -> str:
    choices = body.get("choices") if isinstance(body, dict) else None
    if not choices or not isinstance(choices, list):
        raise _Failed("response has no choices")
    content = ((choices[0] or {}).get("message") or {}).get("content")
    if not isinstance(content, str):
        raise _Failed("response is not string")
    return content


def _record(state: cache.ChannelState, result: TestResult) -> None:
    """The test log row (type 5) and the channel's response time (0 after a failure) and test time."""
    verdict = "测试成功，响应：" if result.success else "测试失败，错误："
    milliseconds = int(result.seconds * 1000)
    logs.record(0, LogType.TEST, f"渠道 {state.name} {verdict}{result.message}", username="",
                channel_id=state.id, model_name=result.model, elapsed_time=milliseconds)
    db.session.execute(sa.update(Channel).where(Channel.id == state.id).values(
        response_time=milliseconds if result.success else 0, test_time=int(time.time())))
    db.session.commit()


# -- the batch test --------------------------------------------------------------------------------

def test_all(scope: str = "all", *, wait: bool = False) -> int:
    """Test every channel of `scope` (all | disabled) one at a time, POLLING_INTERVAL seconds apart.

    Returns at once with the number of channels to test; the batch runs in a greenlet under the
    gevent server (a thread elsewhere), or in the caller when `wait`. One batch runs at a time.
    """
    if scope not in SCOPES:
        raise Invalid("无效的参数")
    if not _batch.acquire(blocking=False):
        raise Conflict("测试已在运行中")
    try:
        ids = _channel_ids(SCOPES[scope])
    except BaseException:
        _batch.release()
        raise
    _progress.start(len(ids))
    if wait or not ids:
        _run_batch(ids)
        return len(ids)
    try:
        spawn(in_app, current_app._get_current_object(), _run_batch, ids)
    except BaseException:
        _batch.release()
        raise
    return len(ids)


def batch_running() -> bool:
    """Whether a batch test is under way in this process."""
    return _batch.locked()


def batch_progress() -> Progress:
    """Channels tested so far of the current (or last) batch in this process."""
    return _progress.snapshot()


def _channel_ids(statuses: tuple[int, ...] | None) -> list[int]:
    query = sa.select(Channel.id).order_by(Channel.id.desc())
    if statuses is not None:
        query = query.where(Channel.status.in_(statuses))
    ids = list(db.session.scalars(query))
    db.session.commit()
    return ids


def _run_batch(ids: list[int]) -> None:
    """Test each channel in turn (releases the batch lock when done); one failing channel does not
    stop the others."""
    try:
        interval = current_app.config["ONEAPI"].polling_interval
        for index, channel_id in enumerate(ids):
            if index and interval > 0:
                time.sleep(interval)
            try:
                ok = _test_and_judge(channel_id)
            except Exception:
                log.exception("testing channel #%s failed", channel_id)
                db.session.rollback()
                ok = False
            _progress.step(ok)
    finally:
        _progress.finish()
        _batch.release()


def _test_and_judge(channel_id: int) -> bool:
    """Test one channel of the batch and act on the outcome; returns whether the test succeeded."""
    status = db.session.scalar(sa.select(Channel.status).where(Channel.id == channel_id))
    if status is None:
        return True  # deleted since the batch started
    result = test_channel(channel_id)
    if status == ChannelStatus.ENABLED:
        _judge_enabled(channel_id, result)
    elif (status == ChannelStatus.AUTO_DISABLED and result.success
          and options.get_bool("AutomaticEnableChannelEnabled")):
        # Only channels the system disabled: an admin's manual disable (status 2) stands.
        health.enable_channel(channel_id)
    return result.success


def _judge_enabled(channel_id: int, result: TestResult) -> None:
    """Disable an enabled channel that answered slower than ChannelDisableThreshold seconds (0 = no
    limit) or with an error proving it dead, when the admin allows automatic disabling."""
    threshold = options.get_float("ChannelDisableThreshold")
    slow = threshold > 0 and result.seconds > threshold
    reason = f"响应时间 {result.seconds:.2f}s 超过阈值 {threshold:.2f}s" if slow else result.message
    fatal = result.error is not None and health.should_disable(result.error)
    if not (slow or fatal):
        return
    if options.get_bool("AutomaticDisableChannelEnabled"):
        health.disable_channel(channel_id, reason)
    else:
        log.warning("channel #%s not disabled (AutomaticDisableChannelEnabled is off): %s", channel_id, reason)
