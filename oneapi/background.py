"""Background work of a serving process: periodic option sync, batched usage writes, retries of
parked settlements and, with CHANNEL_TEST_FREQUENCY, channel tests. Each job runs in its own greenlet
inside an app context. `finish_pending` writes what is still in memory when the process stops."""

from __future__ import annotations

import logging
from collections.abc import Callable

import gevent
from flask import Flask

log = logging.getLogger("oneapi")


SETTLEMENT_RETRY_SECONDS = 5


def start_background_tasks(app: Flask) -> None:
    from oneapi.services import options, settlement, usage_batch

    config = app.config["ONEAPI"]
    gevent.spawn(every, app, max(config.sync_frequency, 1), options.load, "option sync")
    gevent.spawn(every, app, SETTLEMENT_RETRY_SECONDS, settlement.retry_parked, "parked settlement retry")
    if config.batch_update_enabled:
        gevent.spawn(every, app, max(config.batch_update_interval, 1), usage_batch.flush, "batched usage write")
    if config.channel_test_frequency > 0:
        gevent.spawn(every, app, config.channel_test_frequency * 60, _test_channels, "channel test")


def every(app: Flask, seconds: float, job: Callable[[], object], name: str) -> None:
    """Run `job` every `seconds` forever; a failure is logged and the next round still runs."""
    from oneapi.extensions import db

    while True:
        gevent.sleep(seconds)
        with app.app_context():
            try:
                job()
            except Exception:
                log.exception("%s failed", name)
                db.session.rollback()
            finally:
                db.session.remove()


def _test_channels() -> None:
    """Test all channels (One API's AutomaticallyTestChannels)."""
    from oneapi.errors import Conflict
    from oneapi.services import channeltests

    try:
        log.info("testing all channels")
        channeltests.test_all("all", wait=True)
        log.info("channel test finished")
    except Conflict:
        log.info("channel test skipped: a batch test is already running")


def finish_pending(app: Flask) -> None:
    """At shutdown: write the batched usage counters and retry parked settlements once more, so a
    SIGTERM (a deploy, `docker stop`) loses neither."""
    from oneapi.extensions import db
    from oneapi.services import settlement, usage_batch

    with app.app_context():
        for job, name in ((usage_batch.flush, "batched usage write"), (settlement.retry_parked, "settlement retry")):
            try:
                job()
            except Exception:
                log.exception("%s at shutdown failed", name)
                db.session.rollback()
        db.session.remove()
