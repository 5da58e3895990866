"""The server's own log: one line per request (method, path, status, duration, request id) to
stdout and to a daily file `oneapi-YYYYMMDD.log` in `--log-dir` (`oneapi.log` with
`ONLY_ONE_LOG_FILE`). Every response carries the request id in `X-Oneapi-Request-Id`."""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from datetime import datetime

from flask import Flask, Response, g, request

log = logging.getLogger("oneapi")
access = logging.getLogger("oneapi.access")


class DailyFileHandler(logging.Handler):
    """Appends to the file named for the current day, switching files at midnight."""

    def __init__(self, directory: str, single_file: bool = False) -> None:
        super().__init__()
        self.directory = directory
        self.single_file = single_file
        self.current_name = ""
        self.stream = None

    def _filename(self) -> str:
        if self.single_file:
            return "oneapi.log"
        return f"oneapi-{datetime.now():%Y%m%d}.log"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            name = self._filename()
            if name != self.current_name or self.stream is None:
                if self.stream is not None:
                    self.stream.close()
                self.stream = open(os.path.join(self.directory, name), "a", encoding="utf-8")  # noqa: SIM115
                self.current_name = name
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        super().close()


def setup_logging(log_dir: str | None, *, debug: bool = False, single_file: bool = False) -> None:
    """Route the `oneapi` loggers to stdout and, when `log_dir` is given, to the daily file."""
    formatter = logging.Formatter("[%(levelname)s] %(asctime)s | %(message)s", "%Y/%m/%d - %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if log_dir:
        os.makedirs(log_dir, exist_ok=True)
        handlers.append(DailyFileHandler(os.path.abspath(log_dir), single_file))
    root = logging.getLogger("oneapi")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False


_stamp_second, _stamp_text = -1, ""


def new_request_id() -> str:
    """One API's format: YYYYMMDDhhmmss + nanoseconds mod 1e9 + 8 random digits."""
    global _stamp_second, _stamp_text
    now = time.time_ns()
    second = now // 1_000_000_000
    if second != _stamp_second:
        # Formatting the date is the costly part; it changes once a second.
        _stamp_second, _stamp_text = second, datetime.fromtimestamp(second).strftime("%Y%m%d%H%M%S")
    return f"{_stamp_text}{now % 1_000_000_000}{random.getrandbits(26) % 100_000_000:08d}"


def init_request_log(app: Flask) -> None:
    @app.before_request
    def start_request() -> None:
        g.request_id = new_request_id()
        g.started = time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id", "")
        response.headers["X-Oneapi-Request-Id"] = request_id
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        access.info("%s | %3d | %8.2fms | %s | %s %s", request_id, response.status_code, elapsed,
                    request.remote_addr or "-", request.method, request.full_path.rstrip("?"))
        return response
