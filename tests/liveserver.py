"""Start the real gateway (`python -m oneapi`) as a subprocess on a free port, for server tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(env: dict[str, str], workdir: Path, args: tuple[str, ...] = (),
                timeout: float = 30) -> Iterator[str]:
    """Yield the base URL of a running server; stop it (by its own pid) afterwards."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "LOG_SQL", "SQLITE", "REDIS"))}
    full_env.update({"GLOBAL_API_RATE_LIMIT": "0", "CRITICAL_RATE_LIMIT": "0", "PYTHONPATH": str(ROOT)}, **env)
    command = [sys.executable, "-m", "oneapi", "--port", str(port), "--log-dir", str(workdir / "logs"), *args]
    out = open(workdir / "server.out", "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(command, cwd=workdir, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process, timeout, workdir)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        out.close()


def _wait_ready(base: str, process: subprocess.Popen, timeout: float, workdir: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {(workdir / 'server.out').read_text(errors='replace')}")
        try:
            if requests.get(f"{base}/api/status", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer in {timeout}s: {(workdir / 'server.out').read_text(errors='replace')}")


@contextlib.contextmanager
def gateway_on(engine: str, workdir: Path, database: str, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """A live gateway on `engine` (sqlite, postgres or mysql), on a database of its own named
    `database` on the server engines; yields (base URL, SQLAlchemy URL of that database)."""
    from tests.dbservers import SERVER_URLS, create_database, drop_database, sqlalchemy_url

    env = dict(env)
    if engine == "sqlite":
        env["SQLITE_PATH"] = str(workdir / "one-api.db")
        db_url = f"sqlite:///{workdir / 'one-api.db'}"
    else:
        dsn = create_database(SERVER_URLS[engine], database)
        env["SQL_DSN"] = dsn.replace("mysql+pymysql://", "mysql://")
        db_url = sqlalchemy_url(dsn)
    try:
        with live_server(env, workdir) as base:
            yield base, db_url
    finally:
        if engine != "sqlite":
            drop_database(SERVER_URLS[engine], database)


def api(base: str, access_token: str, method: str, path: str, body: dict | None = None) -> dict:
    """A management API call with an access token; asserts the envelope says success."""
    answer = requests.request(method, base + path, json=body, headers={"Authorization": access_token}, timeout=30)
    data = answer.json()
    assert data["success"], data
    return data
