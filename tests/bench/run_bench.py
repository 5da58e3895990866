"""Run the relay benchmark: the mock upstream (core 1), the gateway (`python -m oneapi`, core 0, SQLite,
memory cache on) and the load generator (core 1) as separate processes; requests/s and latency of
plain and streamed chat completions at concurrency 1/16/64/256 against the mock directly and through
the gateway; then thousands of held 10-second streams with the gateway's memory. Prints a Markdown
report and writes it to tests/bench/results.md (raw figures in results.json).

    .venv/bin/python tests/bench/run_bench.py            # the full run, about 7 minutes
    .venv/bin/python tests/bench/run_bench.py --quick    # a smoke run, about 1 minute
    .venv/bin/python tests/bench/run_bench.py --profile  # also py-spy profiles of the gateway

Only 127.0.0.1 is used; every process started here is stopped here, by its pid.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from processes import Processes, RssWatch, cpu_seconds, free_port, pinned, proc_status, wait_port
from report import machine, report

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PY = sys.executable
ROOT_KEY = "b" * 48
ROOT_ACCESS = "c" * 32
FAST_MODEL, HOLD_MODEL = "gpt-4o-mini", "gpt-4o-mini-hold"
CONCURRENCIES = (1, 16, 64, 256)
GATEWAY_CPU, HARNESS_CPU = 0, 1


@dataclass
class Plan:
    seconds: float
    warmup: float
    held_streams: int
    hold_ramp: float
    hold_seconds: float
    profile: bool
    cells: tuple[int, ...] = CONCURRENCIES
    held: bool = True
    name: str = "full"


FULL = Plan(seconds=10, warmup=2, held_streams=5000, hold_ramp=8, hold_seconds=12, profile=False)
QUICK = Plan(seconds=2, warmup=1, held_streams=500, hold_ramp=2, hold_seconds=4, profile=False, name="quick")


def start_mock(procs: Processes, workdir: Path, cpu: int | None, max_seconds: float) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [PY, str(HERE / "mock_upstream.py"), "--port", str(port), "--max-seconds", str(int(max_seconds))]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    out = open(workdir / "mock.out", "wb")  # noqa: SIM115 - lives as long as the child
    child = procs.start(command, stdout=out, stderr=subprocess.STDOUT)
    wait_port(port, child, 15, "mock upstream")
    return child, port


def start_gateway(procs: Processes, workdir: Path, cpu: int | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "LOG_SQL", "SQLITE", "REDIS"))}
    env.update(PYTHONPATH=str(ROOT), SQLITE_PATH=str(workdir / "one-api.db"), INITIAL_ROOT_TOKEN=ROOT_KEY,
               INITIAL_ROOT_ACCESS_TOKEN=ROOT_ACCESS, MEMORY_CACHE_ENABLED="true", SYNC_FREQUENCY="600",
               GLOBAL_API_RATE_LIMIT="0", CRITICAL_RATE_LIMIT="0", DEBUG="false", GIN_MODE="release")
    command = [PY, "-m", "oneapi", "--host", "127.0.0.1", "--port", str(port), "--log-dir", str(workdir / "logs")]
    out = open(workdir / "gateway.out", "wb")  # noqa: SIM115 - lives as long as the child
    child = procs.start(command, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                        preexec_fn=pinned(cpu))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"gateway exited: {(workdir / 'gateway.out').read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/api/status", timeout=1).ok:
                return child, base
        time.sleep(0.2)
    raise RuntimeError("gateway did not answer within 60s")


def admin(base: str, method: str, path: str, body: dict | None = None) -> dict:
    answer = requests.request(method, base + path, json=body, headers={"Authorization": ROOT_ACCESS}, timeout=30)
    data = answer.json()
    if not data.get("success"):
        raise RuntimeError(f"{method} {path}: {data}")
    return data


def set_up_gateway(base: str, mock_port: int) -> str:
    """A channel to the mock and an unlimited key; returns the key as clients send it."""
    admin(base, "POST", "/api/channel/", {"name": "bench-mock", "type": 1, "key": "sk-mock",
                                          "base_url": f"http://127.0.0.1:{mock_port}",
                                          "models": f"{FAST_MODEL},{HOLD_MODEL}", "group": "default"})
    token = admin(base, "POST", "/api/token/", {"name": "bench", "unlimited_quota": True, "remain_quota": 0,
                                                "expired_time": -1})["data"]
    key = token.get("key") or ROOT_KEY
    return f"sk-{key}"


# -- load ------------------------------------------------------------------------------------------------
def run_load(procs: Processes, url: str, key: str, *, concurrency: int, stream: bool, seconds: float,
             warmup: float, model: str = FAST_MODEL, ramp: float = 0.0, timeout: float = 30.0,
             max_requests: int = 0, watch_pids: tuple[int, ...] = ()) -> dict:
    command = [PY, str(HERE / "loadgen.py"), "--url", url, "--key", key, "--model", model,
               "--concurrency", str(concurrency), "--duration", str(seconds), "--warmup", str(warmup),
               "--ramp", str(ramp), "--timeout", str(timeout)]
    if max_requests:
        command += ["--max-requests", str(max_requests)]
    if HARNESS_CPU is not None and os.cpu_count() and os.cpu_count() > 1:
        command += ["--cpu", str(HARNESS_CPU)]
    if stream:
        command.append("--stream")
    before = {pid: cpu_seconds(pid) for pid in watch_pids}
    child = procs.start(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = child.communicate(timeout=warmup + ramp + seconds + timeout + 60)
    finally:
        procs.stop(child)
    if child.returncode != 0:
        raise RuntimeError(f"load generator failed: {err.decode(errors='replace')[-2000:]}")
    result = json.loads(out)
    wall = result["seconds"] + warmup
    result["cpu"] = {pid: round((cpu_seconds(pid) - before[pid]) / wall, 3) for pid in watch_pids}
    return result


@dataclass
class Cell:
    stream: bool
    concurrency: int
    direct: dict
    gateway: dict
    gateway_cpu: float
    mock_cpu: float

    def added(self, metric: str = "latency_ms", q: str = "p50") -> float:
        return round(self.gateway[metric][q] - self.direct[metric][q], 3)

    @property
    def cpu_ms_per_request(self) -> float:
        return round(self.gateway_cpu * 1000 / self.gateway["rps"], 3) if self.gateway["rps"] else 0.0


def measure_cell(procs: Processes, plan: Plan, mock_url: str, gw_url: str, key: str, gw_pid: int, mock_pid: int,
                 stream: bool, concurrency: int) -> Cell:
    common = {"concurrency": concurrency, "stream": stream, "seconds": plan.seconds, "warmup": plan.warmup}
    direct = run_load(procs, mock_url, "sk-mock", **common)
    gateway = run_load(procs, gw_url, key, watch_pids=(gw_pid, mock_pid), **common)
    return Cell(stream, concurrency, direct, gateway, gateway["cpu"][gw_pid], gateway["cpu"][mock_pid])


def disturbed(cell: Cell) -> bool:
    """A cell whose gateway was starved (CPU far from busy while clients waited) or that saw errors."""
    busy_enough = cell.concurrency == 1 or cell.gateway_cpu > 0.85
    return cell.gateway["errors"] > 0 or cell.direct["errors"] > 0 or not busy_enough


def held_streams(procs: Processes, plan: Plan, gw_url: str, key: str, gw_pid: int) -> dict:
    """One 10-second stream per worker, the workers' starts spread over the ramp."""
    with RssWatch(gw_pid) as watch:
        result = run_load(procs, gw_url, key, concurrency=plan.held_streams, stream=True, seconds=plan.hold_seconds,
                          warmup=0.0, model=HOLD_MODEL, ramp=plan.hold_ramp, timeout=90.0,
                          max_requests=plan.held_streams, watch_pids=(gw_pid,))
    result["rss_peak_mib"] = round(watch.peak_kib / 1024, 1)
    result["rss_timeline"] = watch.samples[::5]
    result["hwm_mib"] = round(proc_status(gw_pid).get("VmHWM", 0) / 1024, 1)
    result["gateway_cpu"] = result["cpu"][gw_pid]
    return result


# -- profiling -------------------------------------------------------------------------------------------
def py_spy() -> str:
    """The py-spy executable, installed into this venv on first use (a benchmark-only tool)."""
    found = shutil.which("py-spy", path=str(Path(PY).parent)) or shutil.which("py-spy")
    if found:
        return found
    subprocess.run([PY, "-m", "pip", "install", "--quiet", "py-spy"], check=True)
    return shutil.which("py-spy", path=str(Path(PY).parent)) or "py-spy"


def profile_cell(procs: Processes, plan: Plan, gw_url: str, key: str, gw_pid: int, stream: bool,
                 out: Path) -> Path:
    """py-spy samples the gateway's CPU while it serves concurrency 64: raw collapsed stacks plus a
    Markdown summary (tests/bench/profiles.py)."""
    from profiles import Profile

    name = "stream" if stream else "nonstream"
    seconds = max(5, int(plan.seconds))
    raw = out / f"profile-{name}.txt"
    spy = procs.start([py_spy(), "record", "--pid", str(gw_pid), "--duration", str(seconds), "--rate", "200",
                       "--format", "raw", "--output", str(raw), "--nonblocking"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    run_load(procs, gw_url, key, concurrency=64, stream=stream, seconds=seconds + 1, warmup=0.5)
    try:
        spy.wait(seconds + 30)
    finally:
        procs.stop(spy)
    summary = out / f"profile-{name}.md"
    summary.write_text(Profile.load(raw).markdown(f"Gateway CPU profile, {name}, concurrency 64"))
    return summary


# -- the run ---------------------------------------------------------------------------------------------
def run(plan: Plan, workdir: Path, out_dir: Path) -> tuple[str, dict]:
    procs = Processes()
    multi = (os.cpu_count() or 1) > 1
    gw_cpu, harness_cpu = (GATEWAY_CPU, HARNESS_CPU) if multi else (None, None)
    if harness_cpu is not None:
        os.sched_setaffinity(0, {harness_cpu})
    try:
        mock, mock_port = start_mock(procs, workdir, harness_cpu, max_seconds=3600)
        gateway, gw_base = start_gateway(procs, workdir, gw_cpu)
        key = set_up_gateway(gw_base, mock_port)
        mock_url = f"http://127.0.0.1:{mock_port}/v1/chat/completions"
        gw_url = f"{gw_base}/v1/chat/completions"
        time.sleep(1)
        idle = {"start_mib": round(proc_status(gateway.pid).get("VmRSS", 0) / 1024, 1)}
        print(f"gateway pid {gateway.pid} idle RSS {idle['start_mib']} MiB; mock pid {mock.pid}", flush=True)
        for stream in (False, True):
            run_load(procs, gw_url, key, concurrency=16, stream=stream, seconds=plan.warmup * 2, warmup=0.5)
        cells, reruns = [], []
        for stream in (False, True):
            for concurrency in plan.cells:
                cell = measure_cell(procs, plan, mock_url, gw_url, key, gateway.pid, mock.pid, stream, concurrency)
                if disturbed(cell):
                    reruns.append(f"{'stream' if stream else 'non-stream'} c={concurrency}")
                    cell = measure_cell(procs, plan, mock_url, gw_url, key, gateway.pid, mock.pid, stream,
                                        concurrency)
                cells.append(cell)
                print(summary_line(cell), flush=True)
        held = held_streams(procs, plan, gw_url, key, gateway.pid) if plan.held else {}
        if held:
            print(f"held streams: peak streaming {held['open_peak']}, in flight {held['in_flight_peak']}, "
                  f"ok {held['ok']}, errors {held['errors']}, peak RSS {held['rss_peak_mib']} MiB", flush=True)
        time.sleep(3)
        idle["end_mib"] = round(proc_status(gateway.pid).get("VmRSS", 0) / 1024, 1)
        if plan.profile:
            for stream in (False, True):
                print(profile_cell(procs, plan, gw_url, key, gateway.pid, stream, out_dir).read_text(), flush=True)
        info = machine()
        text = report(cells, held, idle, info, plan, reruns)
        raw = {"machine": info, "plan": plan.__dict__, "idle": idle, "held": held,
               "cells": [c.__dict__ for c in cells], "reruns": reruns}
        return text, raw
    finally:
        procs.stop_all()


def summary_line(cell: Cell) -> str:
    g = cell.gateway
    return (f"{'stream' if cell.stream else 'non-stream'} c={cell.concurrency}: mock {cell.direct['rps']:.0f} req/s, "
            f"gateway {g['rps']:.0f} req/s p50 {g['latency_ms']['p50']:.2f} ms, added p50 {cell.added():.3f} ms, "
            f"gateway CPU {cell.gateway_cpu:.0%}, errors {cell.direct['errors']}/{g['errors']}")


def render(path: Path) -> str:
    """The Markdown report of an earlier run, from its JSON (after a change to the report layout)."""
    raw = json.loads(path.read_text())
    known = set(Plan.__dataclass_fields__)
    plan = Plan(**{k: tuple(v) if k == "cells" else v for k, v in raw["plan"].items() if k in known})
    cells = [Cell(**c) for c in raw["cells"]]
    for cell in cells:
        cell.gateway["cpu"] = {int(k): v for k, v in cell.gateway["cpu"].items()}
    text = report(cells, raw["held"], raw["idle"], raw["machine"], plan, raw["reruns"])
    path.with_suffix(".md").write_text(text)
    return text


def _interrupted(_signum, _frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds per cell and 500 held streams")
    parser.add_argument("--profile", action="store_true", help="py-spy profiles of the gateway at concurrency 64")
    parser.add_argument("--held", type=int, default=None, help="number of held streams (default 5000, quick 500)")
    parser.add_argument("--no-held", action="store_true", help="skip the held-streams test")
    parser.add_argument("--cells", default=",".join(map(str, CONCURRENCIES)), help="concurrencies to measure")
    parser.add_argument("--render", type=Path, help="only re-render the report of a results JSON file")
    parser.add_argument("--output", type=Path, default=HERE, help="directory for results.md/results.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, logs)")
    args = parser.parse_args(argv)
    if args.render:
        print(render(args.render))
        return
    plan = QUICK if args.quick else FULL
    plan.profile, plan.held = args.profile, not args.no_held
    plan.cells = tuple(int(c) for c in args.cells.split(","))
    if args.held:
        plan.held_streams = args.held
    signal.signal(signal.SIGTERM, _interrupted)
    workdir = Path(tempfile.mkdtemp(prefix="oneapi-bench-"))
    args.output.mkdir(parents=True, exist_ok=True)
    try:
        text, raw = run(plan, workdir, args.output)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(text)
    suffix = "-quick" if args.quick else ""
    (args.output / f"results{suffix}.md").write_text(text)
    (args.output / f"results{suffix}.json").write_text(json.dumps(raw, indent=1, default=str))


if __name__ == "__main__":
    main()
