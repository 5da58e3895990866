"""The built-in server: One API's command-line flags, `.env`, logging, and gevent's WSGI server."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time

from oneapi import __version__

log = logging.getLogger("oneapi")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="oneapi",
        description="One API for Python: an OpenAI-format gateway to every large-model provider.",
        epilog="Settings come from environment variables and .env in the working directory (see README).",
    )
    parser.add_argument("--port", type=int, default=3000, help="listen port (default 3000; PORT wins)")
    parser.add_argument("--host", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    parser.add_argument("--log-dir", default="./logs", help="directory of the daily log files (default ./logs)")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.version:
        print(__version__)
        return
    from dotenv import load_dotenv

    load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)
    from oneapi.config import Config
    from oneapi.requestlog import setup_logging

    config = Config.from_env(log_dir=args.log_dir)
    setup_logging(args.log_dir, debug=config.debug or config.gin_mode == "debug",
                  single_file=config.only_one_log_file)
    port = config.port if "port" in config.explicitly_set else args.port
    serve(config, args.host, port)


def listener(host: str, port: int):
    """The listening socket, with TCP_NODELAY (accepted sockets inherit it): pywsgi writes a response's
    head and body separately, and Nagle's algorithm would hold the body until the client acknowledged
    the head, which clients delay by up to 40 ms."""
    from gevent import socket

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def freeze_startup_objects() -> None:
    """Move everything loaded at start (modules, compiled templates, ratio tables) out of the cyclic
    collector's sight: it lives as long as the process, and walking it on every collection that a busy
    stream triggers cost ~15% of streams/s once the console's modules were loaded (tests/bench)."""
    gc.collect()
    gc.freeze()


def _handler_class():
    from gevent.pywsgi import WSGIHandler

    class Handler(WSGIHandler):
        """Puts the client's socket in the environ, so that the relay can tell while it waits on a
        provider's asynchronous task whether the client is still there."""

        def get_environ(self):
            environ = super().get_environ()
            environ["oneapi.client_socket"] = self.socket
            return environ

    return Handler


def serve(config, host: str, port: int) -> None:
    from gevent.pywsgi import WSGIServer

    from oneapi.app import create_app
    from oneapi.background import start_background_tasks

    try:
        app = create_app(config)
    except Exception as exc:
        log.error("cannot start: %s", exc)
        sys.exit(1)
    app.config["ONEAPI_START_TIME"] = int(time.time())
    start_background_tasks(app)
    freeze_startup_objects()
    server = WSGIServer(listener(host, port), app, log=None, error_log=logging.getLogger("oneapi.wsgi"),
                        handler_class=_handler_class())
    stop_on_signals(server, app)
    log.info("One API for Python %s listening on http://%s:%d", __version__, host, port)
    server.serve_forever()


SHUTDOWN_GRACE_SECONDS = 10


def stop_on_signals(server, app) -> None:
    """SIGTERM and SIGINT stop accepting connections, give requests in flight a few seconds, then
    write what is still held in memory (batched counters, parked settlements) before the exit."""
    import signal

    import gevent

    def stop() -> None:
        log.info("stopping: finishing requests in flight and pending writes")
        server.stop(timeout=SHUTDOWN_GRACE_SECONDS)
        from oneapi.background import finish_pending

        finish_pending(app)

    for number in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(number, lambda: gevent.spawn(stop))
