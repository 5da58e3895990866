"""The real server process: command-line flags, `.env`, the request log, and gevent concurrency."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest
import requests
import sqlalchemy as sa

from oneapi import __version__
from tests.dbservers import SERVER_URLS, create_database, drop_database, sqlalchemy_url
from tests.liveserver import ROOT, free_port, live_server

pytestmark = pytest.mark.server
ACCESS_TOKEN = "0123456789abcdef0123456789abcdef"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oneapi", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_help_lists_one_apis_flags():
    result = run_cli("--help")
    assert result.returncode == 0
    for flag in ("--port", "--log-dir", "--version", "--help"):
        assert flag in result.stdout


def test_version_prints_the_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == __version__


def test_each_request_is_logged_to_stdout_and_the_daily_file(tmp_path):
    with live_server({"SQLITE_PATH": str(tmp_path / "db.sqlite")}, tmp_path) as base:
        response = requests.get(f"{base}/api/notice?x=1")
        request_id = response.headers["X-Oneapi-Request-Id"]
    assert re.fullmatch(r"\d{14}\d{1,9}\d{8}", request_id)
    daily = tmp_path / "logs" / f"oneapi-{datetime.now():%Y%m%d}.log"
    line = next(x for x in daily.read_text().splitlines() if request_id in x)
    assert "GET /api/notice?x=1" in line and "| 200 |" in line and "ms" in line
    assert request_id in (tmp_path / "server.out").read_text()


def test_dotenv_in_the_working_directory_is_read(tmp_path):
    (tmp_path / ".env").write_text("SQLITE_PATH=from-dotenv.db\nSESSION_SECRET=dotenv-session-secret-5e8b1\n")
    with live_server({}, tmp_path) as base:
        assert requests.get(f"{base}/api/status").json()["success"]
    assert (tmp_path / "from-dotenv.db").exists()


def test_port_environment_variable_wins_over_the_flag(tmp_path):
    port = free_port()
    env = {"PORT": str(port), "SQLITE_PATH": str(tmp_path / "db.sqlite"), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "oneapi", "--port", "1", "--log-dir", str(tmp_path)],
                               cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                assert requests.get(f"http://127.0.0.1:{port}/api/status", timeout=1).ok
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not listen on PORT")
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(params=["postgres", "mysql"])
def network_database(request):
    """A fresh database on the PostgreSQL or MariaDB server (drivers that must yield to gevent)."""
    dsn = create_database(SERVER_URLS[request.param], "oneapi_gevent")
    url = sqlalchemy_url(dsn)
    yield request.param, dsn, url
    drop_database(SERVER_URLS[request.param], "oneapi_gevent")


def test_a_request_waiting_on_the_database_does_not_block_the_others(network_database, tmp_path):
    """While requests wait on a row lock held elsewhere, the same process answers other requests at
    once; with a driver that blocks the process, the other request would wait for the lock too."""
    engine_name, dsn, url = network_database
    if engine_name == "mysql":
        dsn = dsn.replace("mysql+pymysql://", "mysql://")
    env = {"SQL_DSN": dsn, "INITIAL_ROOT_ACCESS_TOKEN": ACCESS_TOKEN}
    headers = {"Authorization": ACCESS_TOKEN}
    with live_server(env, tmp_path) as base:
        locker = sa.create_engine(url)
        blocked: list[float] = []
        with locker.connect() as conn:
            transaction = conn.begin()
            conn.execute(sa.text("SELECT id FROM users WHERE id = 1 FOR UPDATE"))
            started = time.monotonic()

            def rename(i: int) -> None:
                requests.put(f"{base}/api/user/self", json={"display_name": f"n{i}"}, headers=headers, timeout=30)
                blocked.append(time.monotonic() - started)

            writers = [threading.Thread(target=rename, args=(i,)) for i in range(4)]
            for w in writers:
                w.start()
            time.sleep(0.5)
            t0 = time.monotonic()
            answer = requests.get(f"{base}/api/user/self", headers=headers, timeout=30)
            waited = time.monotonic() - t0
            time.sleep(1.5)
            assert blocked == [], "the writers must still be waiting on the row lock"
            transaction.rollback()
        for w in writers:
            w.join(30)
        locker.dispose()
    assert answer.json()["success"]
    assert waited < 1.0, f"a free request waited {waited:.2f}s behind requests blocked in the database driver"
    assert len(blocked) == 4 and min(blocked) >= 2.0


@pytest.mark.parametrize("entry", ["server", "wsgi"])
def test_objects_loaded_at_start_are_frozen_out_of_the_collector(tmp_path, entry):
    """Both entry points freeze what start-up loaded, so busy streams do not walk it on every collection."""
    if entry == "server":
        code = ("import gc; from unittest import mock; import gevent.pywsgi as w; from oneapi import server; "
                "from oneapi.config import Config; "
                "mock.patch.object(w.WSGIServer, 'serve_forever', lambda self: None).start(); "
                "server.serve(Config.from_env(log_dir='./logs'), '127.0.0.1', 0); print(gc.get_freeze_count())")
    else:
        code = "import gc, wsgi; print(gc.get_freeze_count())"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "SQLITE_PATH": str(tmp_path / "one-api.db")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.strip().splitlines()[-1]) > 10_000
