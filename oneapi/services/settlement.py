"""Settling a billed request exactly once: the hold it took, its final charge, its consume log row.

Every billed route (chat and the other JSON modes, images, audio, the channel proxy) opens a `Hold`
before its upstream call and ends it once: `settle` (charge the cost and write the log row) or
`release` (a failed request gets its hold back). A second end of the same hold is a no-op, so a
retry or an error handler can never charge or refund twice.

Transient database failures are retried. With the logs in the main database, the charge and its log
row are one transaction; with LOG_SQL_DSN they are two, the charge first, and a retry redoes only the
part that did not commit. A settlement that still fails is parked and retried in the background
(and once more at shutdown) rather than lost; each attempt that gives up is written to the server
log with every figure of the charge.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from oneapi.extensions import db
from oneapi.models import Log, LogType
from oneapi.services import charging, logs, options
from oneapi.services.charging import InsufficientQuota, Payer

log = logging.getLogger("oneapi.settlement")
RETRY_DELAYS = (0.05, 0.25, 1.0)
MAX_PARKED_ROUNDS = 60


@dataclass(frozen=True)
class ConsumeRecord:
    """The consume log row of a settled request, less its quota (the charge fills it in)."""

    user_id: int
    username: str
    token_name: str
    model_name: str
    content: str
    prompt_tokens: int
    completion_tokens: int
    channel_id: int
    request_id: str
    is_stream: bool = False
    elapsed_time: int = 0
    system_prompt_reset: bool = False

    def row(self, quota: int) -> dict[str, Any]:
        fields = {k: v for k, v in self.__dict__.items() if k not in ("user_id", "username", "content")}
        return {**fields, "quota": quota}


@dataclass
class Hold:
    """The quota one request holds, from before its upstream call until it is settled or released."""

    payer: Payer
    request_id: str = ""
    held: int = 0
    ended: str = ""
    """`settled` or `released` once the hold is over."""
    charged: int = 0
    _money_done: bool = field(default=False, repr=False)

    def take(self, amount: int) -> None:
        """The first hold (raises InsufficientQuota); a payer without balance is refused even at 0."""
        self.held += charging.reserve(self.payer, max(amount, 0))

    def extend(self, amount: int) -> int:
        """Hold up to `amount` more while the request runs, as much as the payer has; returns it."""
        if self.ended:
            return 0
        taken = charging.extend(self.payer, amount)
        self.held += taken
        return taken

    def release(self) -> None:
        """Give the whole hold back (the request failed), exactly once; nothing happens once the hold
        has ended. A refund the database refuses is parked and retried like a settlement."""
        if self.ended:
            return
        db.session.rollback()
        self.ended = "released"
        if not _attempt(self, None):
            _park(self, None)

    def settle(self, cost: int, record: ConsumeRecord | None) -> int:
        """Charge `cost` in full and write the consume log row, exactly once; returns the charge.

        Never raises for a database failure: the settlement is then parked and retried later.
        """
        if self.ended:
            return self.charged
        self.ended, self.charged = "settled", max(cost, 0)
        if not _attempt(self, record):
            _park(self, record)
        return self.charged


def require_funds(payer: Payer, cached_quota: int | None) -> None:
    """Refuse a user without balance before any work is done for the request (the prompt is not even
    counted). `cached_quota` is the relay cache's possibly stale view; only a balance it shows at or
    below zero is confirmed in the database, so a user who just topped up is never refused."""
    if cached_quota is not None and cached_quota > 0:
        return
    if charging.user_quota(payer.user_id) <= 0:
        db.session.rollback()
        raise InsufficientQuota("user")


def _attempt(hold: Hold, record: ConsumeRecord | None) -> bool:
    for delay in (*RETRY_DELAYS, None):
        try:
            _write(hold, record)
            return True
        except sa_exc.SQLAlchemyError as exc:
            db.session.rollback()
            if _already_written(hold, record):
                return True
            log.warning("settling request %s failed (%s)", hold.request_id, type(exc).__name__)
            if delay is None or not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
                return False
            time.sleep(delay)
    return False


def _write(hold: Hold, record: ConsumeRecord | None) -> None:
    if hold.ended == "released":
        if not hold._money_done:
            charging.refund(hold.payer, hold.held)
        hold._money_done = True
        return
    logged = record is not None and options.get_bool("LogConsumeEnabled")
    shared = _logs_share_main()
    if not hold._money_done:
        charging.charge(hold.payer, hold.held, hold.charged, record.channel_id if record else 0)
        if logged and shared:
            _insert_log(record, hold.charged)
        db.session.commit()
        hold._money_done = True
        if not logged or shared:
            return
    _insert_log(record, hold.charged)
    db.session.commit()


def _insert_log(record: ConsumeRecord, quota: int) -> None:
    logs.record(record.user_id, LogType.CONSUME, record.content, username=record.username, **record.row(quota))


def _logs_share_main() -> bool:
    engines = db.engines
    return engines.get("logs") is engines.get(None)


def _already_written(hold: Hold, record: ConsumeRecord | None) -> bool:
    """After a failed commit whose outcome is unknown (the connection dropped during COMMIT): did the
    transaction land? Only the log row, in the same transaction as the charge, can tell; without one
    (logging off, or logs in another database) the charge is assumed not to have landed."""
    if hold._money_done or record is None or not record.request_id or not _logs_share_main():
        return False
    if not options.get_bool("LogConsumeEnabled"):
        return False
    try:
        found = db.session.scalar(sa.select(Log.id).where(
            Log.request_id == record.request_id, Log.type == LogType.CONSUME, Log.user_id == record.user_id).limit(1))
        db.session.rollback()
    except sa_exc.SQLAlchemyError:
        db.session.rollback()
        return False
    if found is not None:
        hold._money_done = True
    return found is not None


_parked: list[tuple[Hold, ConsumeRecord | None, int]] = []
_parked_lock = threading.Lock()


def _park(hold: Hold, record: ConsumeRecord | None) -> None:
    log.error("settlement of request %s parked for retry: user #%s key #%s held %s cost %s (%s)",
              hold.request_id, hold.payer.user_id, hold.payer.token_id, hold.held, hold.charged, record)
    with _parked_lock:
        _parked.append((hold, record, 0))


def retry_parked() -> int:
    """Retry parked settlements (inside an app context); returns how many are still parked. One that
    keeps failing is given up after MAX_PARKED_ROUNDS rounds, with its figures in the server log."""
    with _parked_lock:
        waiting = list(_parked)
        _parked.clear()
    still = []
    for hold, record, rounds in waiting:
        if _attempt(hold, record):
            continue
        if rounds + 1 >= MAX_PARKED_ROUNDS:
            log.critical("settlement of request %s abandoned: user #%s key #%s held %s cost %s (%s)",
                         hold.request_id, hold.payer.user_id, hold.payer.token_id, hold.held, hold.charged, record)
        else:
            still.append((hold, record, rounds + 1))
    with _parked_lock:
        _parked.extend(still)
        return len(_parked)


def parked_count() -> int:
    with _parked_lock:
        return len(_parked)
