"""The websocket transport (Xunfei Spark): one text message out, every message received back as one
chunk of the answer. `websocket-client` is a synchronous library on the standard socket and ssl
modules, so under gevent's monkey patching it yields like every other upstream connection.

Upstream proxies (RELAY_PROXY) are not applied to websockets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import websocket

from oneapi.relay.errors import UpstreamError

CONNECT_SECONDS = 30


class SocketAnswer:
    """A websocket exchange shaped like the `requests.Response` the pipeline reads."""

    reusable = False
    headers = {"Content-Type": "text/event-stream"}

    def __init__(self, ws: Any, status: int = 200, content: bytes = b"") -> None:
        self.ws = ws
        self.status_code = status
        self._content = content
        self.raw = self

    def iter_content(self, chunk_size: int | None = None) -> Iterator[bytes]:
        while self.ws is not None:
            try:
                message = self.ws.recv()
            except (websocket.WebSocketConnectionClosedException, OSError):
                return
            except websocket.WebSocketTimeoutException:
                raise UpstreamError(504, "upstream timed out", code="upstream_timeout") from None
            if not message:
                return
            yield message.encode() if isinstance(message, str) else message

    @property
    def content(self) -> bytes:
        if self.ws is not None and not self._content:
            self._content = b"\n".join(self.iter_content())
        return self._content

    def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):  # the peer may have closed already
                self.ws.close(timeout=1)
            self.ws.shutdown()
            self.ws = None

    release_conn = close


def open_socket(config: Any, url: str, message: bytes, headers: dict[str, str]) -> SocketAnswer:
    """Connect, send the message; a refused handshake is an answer with the upstream's status."""
    extra = [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("content-type", "accept")]
    try:
        ws = _connect(config, url, extra)
        ws.send(message.decode("utf-8"))
    except websocket.WebSocketBadStatusException as exc:
        body = exc.resp_body if isinstance(exc.resp_body, bytes) else str(exc.resp_body or "").encode()
        return SocketAnswer(None, exc.status_code or 502, body)
    except websocket.WebSocketTimeoutException:
        raise UpstreamError(504, "upstream timed out", code="upstream_timeout", connection=True) from None
    except (websocket.WebSocketException, OSError) as exc:
        raise UpstreamError(502, f"upstream connection failed: {type(exc).__name__}", code="do_request_failed",
                            connection=True) from None
    return SocketAnswer(ws)


def _connect(config: Any, url: str, headers: list[str]) -> websocket.WebSocket:
    ws = websocket.WebSocket()
    try:
        ws.connect(url, timeout=CONNECT_SECONDS, header=headers)
        ws.settimeout(config.relay_timeout or None)
    except BaseException:
        # The library leaves the socket of a refused handshake open.
        ws.shutdown()
        raise
    return ws
