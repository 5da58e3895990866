"""The benchmark's load generator: gevent greenlets on raw HTTP/1.1 keep-alive sockets, posting chat
completions (plain or streamed) for a bounded time and count, and printing one JSON summary:
requests/s, latency percentiles, time to first byte and first token, chunk counts, errors, and (with
`--ramp`) how many streams were open at once.

    python tests/bench/loadgen.py --url http://127.0.0.1:3000/v1/chat/completions --key sk-… \
        --concurrency 64 --duration 10 [--stream] [--ramp 10 --model gpt-4o-mini-hold]

Every run stops by itself: after `--duration` seconds (plus `--warmup`) or `--max-requests`
requests, whichever comes first, and in-flight requests are cut after `--timeout` seconds.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import gevent  # noqa: E402

FIRST_TOKEN = re.compile(rb'"content":"[^"]')
MAX_ERROR_SAMPLES = 5


class HTTPError(Exception):
    pass


class Reader:
    """Buffered reads of one HTTP/1.1 response from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise HTTPError("connection closed by the server")
        self.buffer += data

    def until(self, separator: bytes) -> bytes:
        while True:
            index = self.buffer.find(separator)
            if index >= 0:
                found, self.buffer = self.buffer[:index], self.buffer[index + len(separator):]
                return found
            if len(self.buffer) > 1 << 20:
                raise HTTPError("header or chunk line too long")
            self._fill()

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found


@dataclass
class Outcome:
    status: int = 0
    keep_alive: bool = True
    first_byte: float = 0.0
    first_token: float = 0.0
    events: int = 0
    done: bool = False
    error_event: bool = False
    body: bytes = b""


def read_response(reader: Reader, started: float, on_open=None) -> Outcome:
    outcome = Outcome()
    head = reader.until(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    outcome.status = int(lines[0].split(b" ", 2)[1])
    length, chunked = None, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value:
            chunked = True
        elif name == b"connection" and value == b"close":
            outcome.keep_alive = False
    if on_open is not None:
        on_open()
    if chunked:
        _read_chunked(reader, started, outcome)
    elif length is not None:
        outcome.body = reader.exactly(length)
        outcome.first_byte = outcome.first_token = time.perf_counter() - started
    else:
        raise HTTPError("response without length")
    return outcome


def _read_chunked(reader: Reader, started: float, outcome: Outcome) -> None:
    while True:
        size = int(reader.until(b"\r\n").split(b";")[0], 16)
        if size == 0:
            reader.until(b"\r\n")
            return
        piece = reader.exactly(size + 2)[:-2]
        now = time.perf_counter() - started
        if not outcome.first_byte:
            outcome.first_byte = now
        if not outcome.first_token and FIRST_TOKEN.search(piece):
            outcome.first_token = now
        outcome.events += piece.count(b"data:")
        if b"[DONE]" in piece:
            outcome.done = True
        if b'"error"' in piece:
            outcome.error_event = True
            outcome.body = piece[:300]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    first_bytes: list[float] = field(default_factory=list)
    first_tokens: list[float] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    connects: int = 0
    open_now: int = 0
    open_peak: int = 0
    in_flight: int = 0
    in_flight_peak: int = 0
    timeline: list[tuple[float, int]] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(text[:300])

    def opened(self) -> None:
        self.open_now += 1
        self.open_peak = max(self.open_peak, self.open_now)


class Load:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        url = urlsplit(args.url)
        self.address = (url.hostname or "127.0.0.1", url.port or 80)
        body = {"model": args.model, "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}
        if args.stream:
            body.update(stream=True, stream_options={"include_usage": True})
        payload = json.dumps(body).encode()
        path = url.path + (f"?{url.query}" if url.query else "")
        self.request = (f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {args.key}\r\n"
                        f"Content-Type: application/json\r\nAccept: */*\r\nContent-Length: {len(payload)}\r\n\r\n"
                        ).encode() + payload
        self.stats = Stats()
        self.measuring = False
        self.stop_at = 0.0
        self.issued = 0

    def _connect(self) -> tuple[socket.socket, Reader]:
        sock = socket.create_connection(self.address, timeout=self.args.timeout)
        self.stats.connects += 1
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, Reader(sock)

    def worker(self, delay: float) -> None:
        if delay:
            gevent.sleep(delay)
        conn: tuple[socket.socket, Reader] | None = None
        while time.monotonic() < self.stop_at and self.issued < self.args.max_requests:
            self.issued += 1
            measured = self.measuring
            try:
                if conn is None:
                    conn = self._connect()
                keep = self._one(conn, measured)
            except (OSError, HTTPError, ValueError, IndexError) as exc:
                keep = False
                if measured:
                    self.stats.error(f"{type(exc).__name__}: {exc}")
                gevent.sleep(0.05)
            if not keep and conn is not None:
                conn[0].close()
                conn = None
        if conn is not None:
            conn[0].close()

    def _one(self, conn: tuple[socket.socket, Reader], measured: bool) -> bool:
        stats = self.stats
        started = time.perf_counter()
        stats.in_flight += 1
        stats.in_flight_peak = max(stats.in_flight_peak, stats.in_flight)
        opened = [False]

        def on_open() -> None:
            opened[0] = True
            stats.opened()

        try:
            conn[0].sendall(self.request)
            outcome = read_response(conn[1], started, on_open if self.args.stream else None)
        finally:
            stats.in_flight -= 1
            if opened[0]:
                stats.open_now -= 1
        elapsed = time.perf_counter() - started
        if not measured:
            return outcome.keep_alive
        if outcome.status != 200 or outcome.error_event or (self.args.stream and not outcome.done):
            stats.error(f"status {outcome.status} done={outcome.done}: {outcome.body[:300]!r}")
            return outcome.keep_alive
        stats.latencies.append(elapsed)
        stats.first_bytes.append(outcome.first_byte)
        stats.first_tokens.append(outcome.first_token)
        stats.events.append(outcome.events)
        return outcome.keep_alive

    def sample(self, started: float) -> None:
        while True:
            self.stats.timeline.append((round(time.monotonic() - started, 2), self.stats.in_flight,
                                        self.stats.open_now))
            gevent.sleep(self.args.sample_every)

    def run(self) -> dict:
        args = self.args
        began = time.monotonic()
        self.stop_at = began + args.warmup + args.ramp + args.duration
        ramp_step = args.ramp / args.concurrency if args.ramp else 0.0
        workers = [gevent.spawn(self.worker, i * ramp_step) for i in range(args.concurrency)]
        sampler = gevent.spawn(self.sample, began)
        if args.warmup:
            gevent.sleep(args.warmup)
        self.measuring = True
        measure_start = time.monotonic()
        gevent.joinall(workers, timeout=args.warmup + args.ramp + args.duration + args.timeout + 5)
        measured_for = time.monotonic() - measure_start
        gevent.killall(workers, timeout=2)
        sampler.kill()
        return summary(self.stats, measured_for, args)


def percentiles(values: list[float], scale: float = 1000.0) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * scale, 3)

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": round(ordered[-1] * scale, 3),
            "mean": round(sum(ordered) / len(ordered) * scale, 3)}


def summary(stats: Stats, seconds: float, args: argparse.Namespace) -> dict:
    done = len(stats.latencies)
    result = {
        "concurrency": args.concurrency, "stream": args.stream, "seconds": round(seconds, 3), "ok": done,
        "errors": stats.errors, "error_samples": stats.error_samples, "connects": stats.connects,
        "rps": round(done / seconds, 1) if seconds else 0.0,
        "latency_ms": percentiles(stats.latencies),
    }
    if args.stream:
        result.update(ttfb_ms=percentiles(stats.first_bytes), ttft_ms=percentiles(stats.first_tokens),
                      events_min=min(stats.events, default=0), events_max=max(stats.events, default=0),
                      open_peak=stats.open_peak, in_flight_peak=stats.in_flight_peak, timeline=stats.timeline)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", default="sk-bench")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds (after warm-up and ramp)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load first")
    parser.add_argument("--ramp", type=float, default=0.0, help="spread the workers' starts over this many seconds")
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    parser.add_argument("--timeout", type=float, default=30.0, help="socket timeout per request, seconds")
    parser.add_argument("--sample-every", type=float, default=0.5)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.concurrency + 64 > hard:
        sys.exit(f"concurrency {args.concurrency} needs more file descriptors than the limit {hard}")
    json.dump(Load(args).run(), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
