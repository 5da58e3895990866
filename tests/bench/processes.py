"""Child processes of the benchmark, and what /proc says about them: start and stop by pid, pin to a
core, wait for a port, resident memory and CPU time."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Processes:
    """Every child started by this run, stopped by pid on exit whatever happened."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []

    def start(self, command: list[str], **kwargs) -> subprocess.Popen:
        child = subprocess.Popen(command, **kwargs)
        self.children.append(child)
        return child

    def stop(self, child: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, sig)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
                child.wait(5)
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            self.stop(child)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, child: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{what} exited with {child.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def pinned(cpu: int | None):
    """preexec_fn for a child: its own CPU and the hard file-descriptor limit as its soft one."""

    def setup() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    return setup


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in KiB."""
    values = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1])
    return values


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class RssWatch:
    """Samples a process's resident memory in a thread while a test runs."""

    pid: int
    every: float = 0.2
    peak_kib: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        began = time.monotonic()
        while not self._stop.wait(self.every):
            rss = proc_status(self.pid).get("VmRSS", 0)
            self.peak_kib = max(self.peak_kib, rss)
            self.samples.append((round(time.monotonic() - began, 1), rss))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
