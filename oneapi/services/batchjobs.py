"""Long admin actions run in the background (the batch channel test, updating every balance) and the
progress the console polls: how many of how many are done, kept per process as One API kept its lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from flask import Flask

from oneapi.extensions import db


@dataclass
class Progress:
    done: int = 0
    total: int = 0
    failed: int = 0
    running: bool = False

    def start(self, total: int) -> None:
        self.done, self.total, self.failed, self.running = 0, total, 0, True

    def step(self, ok: bool = True) -> None:
        self.done += 1
        self.failed += 0 if ok else 1

    def finish(self) -> None:
        self.running = False

    def snapshot(self) -> Progress:
        """A copy: the background job keeps counting while the page renders."""
        return replace(self)


def spawn(work: Callable[..., None], *args: Any) -> None:
    """A greenlet when gevent patched the process (the server), else a daemon thread (tests, flask run)."""
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        import gevent

        gevent.spawn(work, *args)
    else:
        threading.Thread(target=work, args=args, daemon=True, name="batch-job").start()


def in_app(app: Flask, work: Callable[..., None], *args: Any) -> None:
    """Run `work` inside an app context of its own, returning its database connection afterwards."""
    with app.app_context():
        try:
            work(*args)
        finally:
            db.session.remove()
