"""Background work of a serving process: periodic option sync (and, later, channel tests)."""

from __future__ import annotations

import logging

import gevent
from flask import Flask

log = logging.getLogger("oneapi")


def start_background_tasks(app: Flask) -> None:
    config = app.config["ONEAPI"]
    gevent.spawn(_sync_options, app, max(config.sync_frequency, 1))


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
