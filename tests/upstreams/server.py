"""Run a WSGI app (a mock provider) on 127.0.0.1 in a background thread, on a free port."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server


class KeepAliveHandler(WSGIRequestHandler):
    # HTTP/1.1 keeps connections open between requests, as real providers do.
    protocol_version = "HTTP/1.1"


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Yield the base URL (`http://127.0.0.1:<port>`) while `app` serves; shut it down afterwards."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=KeepAliveHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
