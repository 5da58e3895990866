"""The benchmark's Markdown report: the machine, the table of cells, the held streams and the targets.
`run_bench.py` calls it after a run, and again with `--render` on a saved results JSON."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
CORES = "Gateway pinned to core 0; mock upstream and load generator on core 1."


def machine() -> dict:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as info:
        mem_kib = int(info.readline().split()[1])
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "oneapi"], capture_output=True, text=True).stdout
    return {"nproc": os.cpu_count(), "cpu": model, "memory_gib": round(mem_kib / 1024 / 1024, 1),
            "python": platform.python_version(), "kernel": platform.release(),
            "date": datetime.date.today().isoformat(),
            "commit": commit + (f" + {len(changed.splitlines())} uncommitted files in oneapi/" if changed else "")}


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def report(cells: list[Any], held: dict, idle: dict, info: dict, plan: Any, reruns: list[str]) -> str:
    lines = [f"# Relay benchmark results ({plan.name} run, {info['date']})", "",
             f"Machine: {info['nproc']} cores, {info['cpu']}, {info['memory_gib']} GiB, Python {info['python']}, "
             f"Linux {info['kernel']}; code at {info['commit']}. {CORES} {plan.seconds:g} s measured per cell "
             f"after {plan.warmup:g} s warm-up.", "",
             "| mode | conc. | mock req/s | gateway req/s | mock p50 / p99 ms | gateway p50 / p90 / p99 ms "
             "| added p50 ms | added TTFB p50 ms | added TTFT p50 ms | gateway CPU | gateway CPU ms/req | mock CPU "
             "| errors |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in cells:
        d, g = c.direct, c.gateway
        ttfb = fmt(c.added("ttfb_ms"), 3) if c.stream else "–"
        ttft = fmt(c.added("ttft_ms"), 3) if c.stream else "–"
        lines.append(
            f"| {'stream' if c.stream else 'non-stream'} | {c.concurrency} | {fmt(d['rps'], 0)} | {fmt(g['rps'], 0)} "
            f"| {fmt(d['latency_ms']['p50'])} / {fmt(d['latency_ms']['p99'])} "
            f"| {fmt(g['latency_ms']['p50'])} / {fmt(g['latency_ms']['p90'])} / {fmt(g['latency_ms']['p99'])} "
            f"| {fmt(c.added(), 3)} | {ttfb} | {ttft} | {c.gateway_cpu:.0%} | {fmt(c.cpu_ms_per_request, 3)} "
            f"| {c.mock_cpu:.0%} | {d['errors']} / {g['errors']} |")
    lines += ["", "Errors are mock / gateway. CPU is the share of one core used over the gateway run. Streams: "
              "22 chunks (role, 20 content, finish) + usage chunk + `[DONE]`; latency is the whole stream. "
              "TTFB is the first body byte, TTFT the first content token.",
              ""]
    if reruns:
        lines += [f"Cells rerun because the first try looked disturbed: {', '.join(reruns)}.", ""]
    if held:
        lines += held_section(held, idle, plan)
    lines += targets_section(cells, held, plan)
    return "\n".join(lines) + "\n"


def held_section(held: dict, idle: dict, plan: Any) -> list[str]:
    lat, ttfb = held["latency_ms"], held["ttfb_ms"]
    return ["## Held streams", "",
            "| streams started | ramp s | peak in flight | peak streaming at once | completed | errors "
            "| stream duration p50 / p99 s | TTFB p50 / p99 s | gateway peak RSS MiB | VmHWM MiB "
            "| idle RSS after start / after the run MiB | gateway CPU |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {plan.held_streams} | {plan.hold_ramp:g} | {held['in_flight_peak']} | {held['open_peak']} "
            f"| {held['ok']} | {held['errors']} | {lat.get('p50', 0) / 1000:.1f} / {lat.get('p99', 0) / 1000:.1f} "
            f"| {ttfb.get('p50', 0) / 1000:.2f} / {ttfb.get('p99', 0) / 1000:.2f} | {held['rss_peak_mib']} "
            f"| {held['hwm_mib']} | {idle['start_mib']} / {idle['end_mib']} | {held['gateway_cpu']:.0%} |", "",
            "Each stream: a role chunk at once, then 20 content chunks 0.5 s apart (10 s nominal), finish, usage, "
            f"`[DONE]`; one stream per client connection, the {plan.held_streams} starts spread evenly over "
            f"{plan.hold_ramp:g} s. *In flight*: request sent, answer not finished; *streaming*: the first chunk "
            f"arrived and the stream has not ended. Error samples: {held['error_samples'][:3]}", "",
            "Timeline (seconds from the first start: in flight / streaming): "
            + ", ".join(f"{t:g} s: {f}/{o}" for t, f, o in held["timeline"][::4]), ""]


def targets_section(cells: list[Any], held: dict, plan: Any) -> list[str]:
    by = {(c.stream, c.concurrency): c for c in cells}
    rows = []

    def row(name: str, goal: str, value: str, met: bool) -> None:
        rows.append(f"| {name} | {goal} | {value} | {'met' if met else '**missed**'} |")

    if (False, 64) in by:
        rps = by[(False, 64)].gateway["rps"]
        row("non-stream req/s at concurrency 64", "≥ 1,000", fmt(rps, 0), rps >= 1000)
    if (True, 64) in by or (True, 256) in by:
        best = max(by[k].gateway["rps"] for k in ((True, 16), (True, 64), (True, 256)) if k in by)
        row("streams/s (best of 16/64/256)", "≥ 400", fmt(best, 0), best >= 400)
    if (False, 1) in by:
        added = by[(False, 1)].added()
        row("added latency p50, concurrency 1", "≤ 1 ms", f"{fmt(added, 3)} ms", added <= 1)
    if (True, 1) in by:
        added = by[(True, 1)].added("ttft_ms")
        row("added time to first token p50, concurrency 1", "≤ 1 ms", f"{fmt(added, 3)} ms", added <= 1)
    if not held:
        return ["## Targets", "", "| target | goal | measured | |", "| --- | --- | --- | --- |", *rows]
    held_ok = held["open_peak"] >= plan.held_streams and held["errors"] == 0
    row(f"{plan.held_streams} concurrent 10 s streams, no error", f"{plan.held_streams} streaming at once, 0 errors",
        f"{held['open_peak']} streaming at once ({held['in_flight_peak']} in flight), {held['errors']} errors",
        held_ok)
    row("gateway RSS while holding them", "< 300 MB", f"{held['rss_peak_mib']} MiB",
        held["rss_peak_mib"] * 1.048576 < 300)
    return ["## Targets", "", "| target | goal | measured | |", "| --- | --- | --- | --- |", *rows]
