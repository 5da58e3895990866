"""A fast mock OpenAI upstream for the benchmark: a raw gevent StreamServer speaking HTTP/1.1
keep-alive, answering `POST …/chat/completions` with a fixed JSON body (with usage) or, for
`"stream": true`, 22 SSE chunks (role, 20 content, finish), a usage chunk when asked, and `[DONE]`.

A model whose name contains `hold` streams its 20 content chunks `--hold-delay` seconds apart (a
10-second stream by default), for the held-streams test. Run it as its own process, on its own core:

    python tests/bench/mock_upstream.py --port 9100 --cpu 1
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from gevent.server import StreamServer  # noqa: E402

CONTENT_CHUNKS = 20
PROMPT_TOKENS, COMPLETION_TOKENS = 10, CONTENT_CHUNKS
MAX_HEAD = 64 * 1024
REPLY = "".join(f"tok{i} " for i in range(CONTENT_CHUNKS))


def _json(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class Answers:
    """Ready-made response bytes per model name, built once."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, bool], tuple[bytes, list[bytes]]] = {}

    def get(self, model: str, usage: bool) -> tuple[bytes, list[bytes]]:
        key = (model, usage)
        if key not in self.cache:
            if len(self.cache) > 64:
                self.cache.clear()
            self.cache[key] = (self._complete(model), self._stream(model, usage))
        return self.cache[key]

    @staticmethod
    def _complete(model: str) -> bytes:
        body = _json({"id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": model,
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY},
                                   "finish_reason": "stop"}],
                      "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                                "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}})
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: keep-alive\r\n\r\n").encode()
        return head + body

    @staticmethod
    def _stream(model: str, usage: bool) -> list[bytes]:
        """HTTP chunks of the SSE stream: [role, content × 20, finish, (usage), DONE + terminator]."""
        base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": model}

        def chunk(delta: dict, finish: str | None = None) -> dict:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": f"tok{i} "}) for i in range(CONTENT_CHUNKS)]
        events.append(chunk({}, "stop"))
        if usage:
            events.append({**base, "choices": [], "usage": {"prompt_tokens": PROMPT_TOKENS,
                                                            "completion_tokens": COMPLETION_TOKENS,
                                                            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}})
        parts = [_http_chunk(b"data: " + _json(e) + b"\n\n") for e in events]
        parts[-1] += _http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"
        return parts


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


STREAM_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n")
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Mock:
    def __init__(self, hold_delay: float) -> None:
        self.hold_delay = hold_delay
        self.answers = Answers()
        self.requests = 0

    def handle(self, sock: socket.socket, _address) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        try:
            while True:
                request = self._read_request(sock, buffer)
                if request is None:
                    return
                path, body, keep_alive, buffer = request
                self.requests += 1
                self._answer(sock, path, body)
                if not keep_alive:
                    return
        except OSError:
            return
        finally:
            sock.close()

    @staticmethod
    def _read_request(sock: socket.socket, buffer: bytes):
        while b"\r\n\r\n" not in buffer:
            data = sock.recv(65536)
            if not data or len(buffer) > MAX_HEAD:
                return None
            buffer += data
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        path = lines[0].split(b" ")[1] if b" " in lines[0] else b"/"
        length, keep_alive = 0, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep_alive = False
        while len(buffer) < length:
            data = sock.recv(max(65536, length - len(buffer)))
            if not data:
                return None
            buffer += data
        return path, buffer[:length], keep_alive, buffer[length:]

    def _answer(self, sock: socket.socket, path: bytes, body: bytes) -> None:
        if not path.split(b"?")[0].endswith(b"/chat/completions"):
            sock.sendall(NOT_FOUND)
            return
        try:
            request = json.loads(body)
        except ValueError:
            request = {}
        model = str(request.get("model") or "gpt-4o-mini")
        options = request.get("stream_options") or {}
        usage = isinstance(options, dict) and options.get("include_usage") is True
        complete, stream = self.answers.get(model, usage)
        if request.get("stream") is not True:
            sock.sendall(complete)
            return
        delay = self.hold_delay if "hold" in model else 0.0
        sock.sendall(STREAM_HEAD + stream[0])
        for index, part in enumerate(stream[1:], start=1):
            if delay and index <= CONTENT_CHUNKS:
                gevent.sleep(delay)
            sock.sendall(part)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument("--hold-delay", type=float, default=0.5, help="seconds between content chunks of `hold` models")
    parser.add_argument("--max-seconds", type=float, default=3600, help="exit by itself after this long")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    mock = Mock(args.hold_delay)
    server = StreamServer((args.host, args.port), mock.handle, backlog=4096)
    server.max_accept = 500
    server.start()
    print(f"mock upstream on http://{args.host}:{server.server_port}", flush=True)
    gevent.signal_handler(signal.SIGTERM, server.stop, 1)
    deadline = time.monotonic() + args.max_seconds
    while server.started and time.monotonic() < deadline:
        gevent.sleep(0.5)
    server.stop(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
