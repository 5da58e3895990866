"""Background work of a serving process: periodic option sync and, with CHANNEL_TEST_FREQUENCY, channel tests."""

from __future__ import annotations

import logging

import gevent
from flask import Flask

log = logging.getLogger("oneapi")


def start_background_tasks(app: Flask) -> None:
    config = app.config["ONEAPI"]
    gevent.spawn(_sync_options, app, max(config.sync_frequency, 1))
    if config.batch_update_enabled:
        gevent.spawn(_flush_usage, app, max(config.batch_update_interval, 1))
    if config.channel_test_frequency > 0:
        gevent.spawn(_test_channels, app, config.channel_test_frequency * 60)


def _sync_options(app: Flask, every: int) -> None:
    from oneapi.extensions import db
    from oneapi.services import options

    while True:
        gevent.sleep(every)
        with app.app_context():
            try:
                options.load()
            except Exception:
                log.exception("option sync failed")
            finally:
                db.session.remove()


def _test_channels(app: Flask, every: int) -> None:
    """Every CHANNEL_TEST_FREQUENCY minutes, test all channels (One API's AutomaticallyTestChannels)."""
    from oneapi.errors import Conflict
    from oneapi.extensions import db
    from oneapi.services import channeltests

    while True:
        gevent.sleep(every)
        with app.app_context():
            try:
                log.info("testing all channels")
                channeltests.test_all("all", wait=True)
                log.info("channel test finished")
            except Conflict:
                log.info("channel test skipped: a batch test is already running")
            except Exception:
                log.exception("channel test failed")
            finally:
                db.session.remove()


def _flush_usage(app: Flask, every: int) -> None:
    """BATCH_UPDATE_ENABLED: write the gathered usage counters every BATCH_UPDATE_INTERVAL seconds."""
    from oneapi.extensions import db
    from oneapi.services import usage_batch

    while True:
        gevent.sleep(every)
        with app.app_context():
            try:
                usage_batch.flush()
            except Exception:
                log.exception("writing batched usage failed")
                db.session.rollback()
            finally:
                db.session.remove()
