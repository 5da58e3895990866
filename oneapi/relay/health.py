"""Channel health after each relay attempt: the errors that prove a channel dead, the ENABLE_METRIC
success-rate window, and the automatic disable/enable they lead to.

Every automatic status change is written as a system log row (type 4) naming the channel, so the
reason survives restarts without adding a column to One API's `channels` table.

An error proves the channel dead only by its HTTP status and the provider's own error type or code,
never by its message: providers echo the client's input in messages ("Invalid value for 'user':
…my credit balance…"), and One API's phrases ("credit", "balance", …) let any user disable a channel
for everyone. The statuses a client's own bad request earns (400, 404, 413, 422) never disable,
whatever type they carry, nor do 5xx, timeouts and connection failures (the next call may work).

    status  disables when                       what the providers send for a dead key or account
    401     always                              OpenAI invalid_api_key / "Incorrect API key provided";
                                                Anthropic authentication_error; DeepSeek "Authentication
                                                Fails"; every OpenAI-compatible vendor's bad key
    402     always                              DeepSeek "Insufficient Balance"; Anthropic billing_error;
                                                OpenRouter's "insufficient credits" (Payment Required)
    403     type or code in DEAD_403            Anthropic permission_error; Gemini PERMISSION_DENIED;
                                                OpenAI account_deactivated, unsupported_country_region_territory
    429     type or code in DEAD_429            OpenAI insufficient_quota ("You exceeded your current quota")
    other   never

A bare 403 (a proxy's or a WAF's page, which the client's content can trigger) and a 429 rate limit
(`rate_limit_exceeded`, Gemini's RESOURCE_EXHAUSTED) leave the channel alone. Left out on purpose,
because they come as 400: OpenAI's `billing_hard_limit_reached`, Anthropic's older "credit balance is
too low" invalid_request_error, and Gemini's "API key not valid" (INVALID_ARGUMENT, reason
API_KEY_INVALID); the channel test shows such a channel failing. For the same reason the client's own
errors (CLIENT_STATUSES) do not count as failures in the success-rate window either: a user sending
bad requests must not push a channel below the threshold for everyone.

Sources: https://platform.openai.com/docs/guides/error-codes,
https://docs.anthropic.com/en/api/errors (and the SDKs' ErrorType list, which has billing_error),
https://ai.google.dev/gemini-api/docs/troubleshooting, https://api-docs.deepseek.com/quick_start/error_codes,
https://openrouter.ai/docs/api-reference/errors.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

import sqlalchemy as sa
from flask import current_app

from oneapi.extensions import db
from oneapi.models import Channel, ChannelStatus, Log, LogType
from oneapi.relay.errors import UpstreamError
from oneapi.services import channels, logs, options

log = logging.getLogger("oneapi.health")

DEAD_STATUSES = frozenset({401, 402})
DEAD_403 = frozenset({"permission_error", "PERMISSION_DENIED", "authentication_error", "forbidden",
                      "account_deactivated", "invalid_api_key", "billing_error", "insufficient_quota",
                      "unsupported_country_region_territory"})
DEAD_429 = frozenset({"insufficient_quota"})
CLIENT_STATUSES = frozenset({400, 404, 413, 422})
DISABLED_MARK = "已被禁用，原因："


def should_disable(error: UpstreamError) -> bool:
    """Whether the error says the channel's account or key is unusable, not just busy, broken, or
    refusing this one request (the rule table is in the module docstring).

    Only the rules: whether to act on them is `AutomaticDisableChannelEnabled`'s call.
    """
    if error.connection:
        return False
    if error.status in DEAD_STATUSES:
        return True
    kinds = {value for value in (error.type, error.code) if isinstance(value, str)}
    if error.status == 403:
        return not kinds.isdisjoint(DEAD_403)
    if error.status == 429:
        return not kinds.isdisjoint(DEAD_429)
    return False


class SuccessWindow:
    """The last outcomes of each channel, shared by every relay thread or greenlet of the process.

    One API kept this map in two goroutines without a lock; ours is guarded.
    """

    def __init__(self) -> None:
        self._outcomes: dict[int, deque[bool]] = {}
        self._lock = threading.Lock()

    def add(self, channel_id: int, success: bool, size: int, threshold: float) -> float | None:
        """Record one outcome. After a failure that leaves a full window below `threshold`, the
        window is emptied and its success rate returned; otherwise None."""
        with self._lock:
            window = self._outcomes.get(channel_id)
            if window is None or window.maxlen != size:
                window = self._outcomes[channel_id] = deque(window or (), maxlen=size)
            window.append(success)
            if success or len(window) < size:
                return None
            rate = sum(window) / len(window)
            if rate >= threshold:
                return None
            window.clear()
            return rate

    def forget(self, channel_id: int | None = None) -> None:
        with self._lock:
            if channel_id is None:
                self._outcomes.clear()
            else:
                self._outcomes.pop(channel_id, None)


_window = SuccessWindow()


def record_success(channel_id: int) -> None:
    """A first relay attempt on the channel succeeded (One API counts only first attempts)."""
    try:
        _count(channel_id, True)
    except Exception:
        log.exception("recording the success of channel #%s failed", channel_id)


def record_failure(channel_id: int, error: UpstreamError) -> None:
    """A relay attempt on the channel failed: disable the channel when the error proves it dead and
    the admin allows automatic disabling, otherwise count the failure in the success-rate window.

    Never raises: the client's answer must not depend on bookkeeping.
    """
    try:
        if should_disable(error) and options.get_bool("AutomaticDisableChannelEnabled"):
            disable_channel(channel_id, error.message or f"status code {error.status}")
            return
        if error.status in CLIENT_STATUSES and not error.connection:
            return  # the request's fault, not the channel's
        _count(channel_id, False)
    except Exception:
        log.exception("recording the failure of channel #%s failed", channel_id)
        db.session.rollback()


def _count(channel_id: int, success: bool) -> None:
    config = current_app.config["ONEAPI"]
    if not config.enable_metric:
        return
    size = max(config.metric_queue_size, 1)
    threshold = config.metric_success_rate_threshold
    rate = _window.add(channel_id, success, size, threshold)
    if rate is None:
        return
    reason = (f"该渠道（#{channel_id}）在最近 {size} 次调用中成功率为 {rate * 100:.2f}%，"
              f"低于阈值 {threshold * 100:.2f}%")
    # Unlike One API, the success rate obeys the admin's switch like every other automatic disable.
    if options.get_bool("AutomaticDisableChannelEnabled"):
        disable_channel(channel_id, reason)
    else:
        log.warning("channel #%s not disabled (AutomaticDisableChannelEnabled is off): %s", channel_id, reason)


def disable_channel(channel_id: int, reason: str) -> bool:
    """Auto-disable (status 3) a channel that is still enabled, with its reason as a system log row in
    the same commit. A channel an admin disabled by hand stays manually disabled, so that automatic
    re-enabling can never undo the admin's decision. Returns whether the status changed."""
    return _switch(channel_id, ChannelStatus.ENABLED, ChannelStatus.AUTO_DISABLED, f"{DISABLED_MARK}{reason}")


def enable_channel(channel_id: int) -> bool:
    """Re-enable a channel that was disabled automatically (status 3 only), logged like a disable."""
    return _switch(channel_id, ChannelStatus.AUTO_DISABLED, ChannelStatus.ENABLED, "已被启用")


def _switch(channel_id: int, expected: ChannelStatus, new: ChannelStatus, what: str) -> bool:
    """Move a channel from `expected` to `new` status with a system log row saying `what`."""
    channel = db.session.get(Channel, channel_id, populate_existing=True)
    if channel is None or channel.status != expected:
        return False
    content = f"渠道「{channel.name}」（#{channel.id}）{what}"
    logs.record(0, LogType.SYSTEM, content, username="", channel_id=channel.id)
    channels.set_status(channel.id, new)
    _window.forget(channel_id)
    log.warning("%s (notification emails are not sent)", content)
    return True


def last_disable_reason(channel_id: int) -> str | None:
    """Why the channel was last disabled automatically, from its newest disable log row; None if never."""
    marker = f"（#{channel_id}）{DISABLED_MARK}"
    content = db.session.scalar(
        sa.select(Log.content)
        .where(Log.type == LogType.SYSTEM, Log.channel_id == channel_id, Log.content.contains(marker, autoescape=True))
        .order_by(Log.id.desc()).limit(1))
    return content.partition(marker)[2] if content else None


def forget_metrics() -> None:
    """Empty every channel's success-rate window (tests; a fresh start)."""
    _window.forget()
