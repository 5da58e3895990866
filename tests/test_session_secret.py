"""SESSION_SECRET: a guessable key stops the start (anyone knowing it forges any user's cookie); an unset
one gives a random key per start, with a warning."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oneapi.app import create_app
from oneapi.config import Config, InsecureSecret
from tests.conftest import make_config
from tests.liveserver import ROOT, free_port

PLACEHOLDERS = ["random_string", "change-me", "changeme", "change-me-to-a-long-random-string", "secret",
                "session_secret", "your_secret", "123456", "password", "oneapi", "one-api", "default", "test",
                "RANDOM_STRING", "Change-Me", "CHANGE_ME_TO_A_LONG_RANDOM_STRING", "Your-Secret"]


@pytest.mark.parametrize("secret", PLACEHOLDERS)
def test_a_well_known_placeholder_is_refused(secret):
    with pytest.raises(InsecureSecret, match="SESSION_SECRET.*placeholder.*openssl rand -hex 32"):
        Config.from_env({"SESSION_SECRET": secret}).session_secret_value()


@pytest.mark.parametrize("secret", ["s3cret", "abc", "x" * 15, "0123456789abcde"])
def test_a_secret_shorter_than_16_characters_is_refused(secret):
    with pytest.raises(InsecureSecret, match="SESSION_SECRET is shorter than 16 characters.*openssl rand -hex 32"):
        Config.from_env({"SESSION_SECRET": secret}).session_secret_value()


def test_a_long_random_secret_is_accepted():
    secret = "c0ffee" * 6
    assert Config.from_env({"SESSION_SECRET": secret}).session_secret_value() == secret


def test_an_unset_secret_is_random_per_start_and_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="oneapi"):
        first = Config.from_env({}).session_secret_value()
        second = Config.from_env({}).session_secret_value()
    assert first != second and len(first) == 64
    warning = next(r for r in caplog.records if "SESSION_SECRET" in r.getMessage())
    assert warning.levelno == logging.WARNING
    assert "every restart" in warning.getMessage() and "workers or nodes" in warning.getMessage()


def test_create_app_refuses_a_placeholder(tmp_path):
    with pytest.raises(InsecureSecret):
        create_app(make_config("sqlite", tmp_path, SESSION_SECRET="random_string"))


@pytest.mark.parametrize("secret, reason", [("change-me", "placeholder"), ("short-one", "shorter than 16")])
def test_the_server_will_not_start_on_a_guessable_secret(tmp_path, secret, reason):
    """`python -m oneapi` exits 1 with "cannot start" and a message naming SESSION_SECRET."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "LOG_SQL", "SQLITE", "REDIS"))}
    env.update(SESSION_SECRET=secret, SQLITE_PATH=str(tmp_path / "db.sqlite"), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "oneapi", "--port", str(free_port()), "--log-dir",
                             str(tmp_path / "logs")], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "cannot start" in output and "SESSION_SECRET" in output and reason in output
    assert "openssl rand -hex 32" in output


def test_docker_compose_ships_no_secret():
    """Compose stops with the message unless SESSION_SECRET is set (in the environment or `.env`)."""
    lines = [line.strip() for line in (Path(ROOT) / "docker-compose.yml").read_text().splitlines()]
    setting = [line for line in lines if line.startswith("- SESSION_SECRET=")]
    assert setting == [next(line for line in setting if line.startswith("- SESSION_SECRET=${SESSION_SECRET:?"))]
    assert "openssl rand -hex 32" in setting[0]
