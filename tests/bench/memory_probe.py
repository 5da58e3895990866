"""Where a held stream's memory goes: the gateway app (as `python -m oneapi` builds it) served in this
process under tracemalloc while the load generator holds N long streams through it; compares the
heap with and without them, by source file, and sums the C stacks gevent saved for the greenlets.

    .venv/bin/python tests/bench/memory_probe.py --streams 2000

Prints a Markdown summary. The streams last `--hold-delay` × 20 seconds (40 s by default) so that all
of them are open at the moment of the snapshot; the run stops by itself.
"""

from oneapi.green import patch

patch()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import greenlet  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run_bench as bench  # noqa: E402


def rss_mib() -> float:
    return round(bench.proc_status(os.getpid()).get("VmRSS", 0) / 1024, 1)


def greenlet_stacks() -> tuple[int, int]:
    found = [o for o in gc.get_objects() if isinstance(o, greenlet.greenlet)]
    return len(found), sum(getattr(g, "_stack_saved", 0) for g in found)


def start_app(workdir: Path):
    from gevent.pywsgi import WSGIServer

    from oneapi.app import create_app
    from oneapi.config import Config

    os.environ.update(SQLITE_PATH=str(workdir / "one-api.db"), INITIAL_ROOT_TOKEN=bench.ROOT_KEY,
                      INITIAL_ROOT_ACCESS_TOKEN=bench.ROOT_ACCESS, MEMORY_CACHE_ENABLED="true", SYNC_FREQUENCY="600",
                      GLOBAL_API_RATE_LIMIT="0", CRITICAL_RATE_LIMIT="0", DEBUG="false")
    for name in [k for k in os.environ if k.startswith(("SQL_", "LOG_SQL", "REDIS"))]:
        del os.environ[name]
    app = create_app(Config.from_env(log_dir=str(workdir / "logs")))
    server = WSGIServer(("127.0.0.1", 0), app, log=None, backlog=4096)
    server.start()
    return server


def top_allocations(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, streams: int, limit: int,
                    key: str) -> list[str]:
    rows = [f"| allocated in ({key}) | MiB | bytes per stream |", "| --- | ---: | ---: |"]
    for stat in after.compare_to(before, key)[:limit]:
        frame = stat.traceback[0]
        name = frame.filename.split("site-packages/")[-1].split("/lib/python3")[-1].replace(str(bench.ROOT) + "/", "")
        where = f"{name}:{frame.lineno}" if key == "lineno" else name
        rows.append(f"| `{where}` | {stat.size_diff / 2**20:.1f} | {stat.size_diff // streams:,} |")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--hold-delay", type=float, default=2.0, help="seconds between the mock's content chunks")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    multi = (os.cpu_count() or 1) > 1
    if multi:
        os.sched_setaffinity(0, {bench.GATEWAY_CPU})
    procs = bench.Processes()
    workdir = Path(tempfile.mkdtemp(prefix="oneapi-memprobe-"))
    try:
        port = bench.free_port()
        mock = procs.start([sys.executable, str(HERE / "mock_upstream.py"), "--port", str(port), "--max-seconds",
                            "900", "--hold-delay", str(args.hold_delay)] + (["--cpu", "1"] if multi else []),
                           stdout=subprocess.DEVNULL)
        bench.wait_port(port, mock, 15, "mock upstream")
        server = start_app(workdir)
        base = f"http://127.0.0.1:{server.server_port}"
        key = bench.set_up_gateway(base, port)
        url = f"{base}/v1/chat/completions"
        print(summary(procs, url, key, args), flush=True)
        server.stop(timeout=1)
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


def summary(procs: bench.Processes, url: str, key: str, args: argparse.Namespace) -> str:
    warm = procs.start([sys.executable, str(HERE / "loadgen.py"), "--url", url, "--key", key, "--stream",
                        "--concurrency", "16", "--duration", "2", "--warmup", "0"], stdout=subprocess.DEVNULL)
    while warm.poll() is None:
        gevent.sleep(0.2)
    gc.collect()
    idle_rss = rss_mib()
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    idle_greenlets = greenlet_stacks()
    ramp = max(2.0, args.streams / 100)
    command = [sys.executable, str(HERE / "loadgen.py"), "--url", url, "--key", key, "--stream", "--model",
               bench.HOLD_MODEL, "--concurrency", str(args.streams), "--max-requests", str(args.streams),
               "--ramp", str(ramp), "--duration", "1", "--warmup", "0", "--timeout", "120"]
    if (os.cpu_count() or 1) > 1:
        command += ["--cpu", "1"]
    load = procs.start(command, stdout=subprocess.PIPE)
    gevent.sleep(ramp + 12)
    held_rss = rss_mib()
    after = tracemalloc.take_snapshot()
    count, saved = greenlet_stacks()
    traced = sum(s.size for s in after.statistics("filename")) - sum(s.size for s in before.statistics("filename"))
    tracemalloc.stop()
    out = b""
    deadline = time.monotonic() + 20 * args.hold_delay + ramp + 120
    while load.poll() is None and time.monotonic() < deadline:
        gevent.sleep(0.5)
    if load.poll() is not None:
        out = load.stdout.read()
    result = json.loads(out) if out else {}
    n = args.streams
    lines = [f"### Memory of {n} held streams (in-process probe)", "",
             f"RSS idle {idle_rss} MiB, holding {held_rss} MiB (tracemalloc on): "
             f"{(held_rss - idle_rss) * 2**20 / n / 1024:.0f} KiB per stream.", "",
             f"- Python heap (tracemalloc) grew {traced / 2**20:.1f} MiB: {traced // n:,} bytes per stream.",
             f"- greenlets: {idle_greenlets[0]} idle, {count} holding; their saved C stacks "
             f"{saved / 2**20:.1f} MiB ({saved // max(count, 1):,} bytes each).",
             "- the rest of the RSS growth is allocator overhead and fragmentation, sockets' user-space buffers "
             "and native memory of C extensions (not traced).",
             f"- load generator: {result.get('ok', '?')} streams completed, {result.get('errors', '?')} errors, "
             f"peak streaming at once {result.get('open_peak', '?')}.", "",
             *top_allocations(before, after, n, args.top, "filename"), "",
             *top_allocations(before, after, n, args.top, "lineno")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
