"""A failed login does not tell which usernames exist: the same message, and the same bcrypt work (one
check at the hashes' cost) whether the name is unknown or the password wrong."""

from __future__ import annotations

import statistics
import time

import bcrypt
import pytest

from oneapi.services import passwords
from tests import factories

BAD_LOGIN = "用户名或密码错误，或用户已被封禁"


@pytest.fixture
def checks(monkeypatch):
    """The cost of every bcrypt check made, in order."""
    made: list[int] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        made.append(int(hashed.split(b"$")[2]))
        return real(password, hashed)

    monkeypatch.setattr(passwords.bcrypt, "checkpw", counting)
    return made


def login(client, username: str, password: str):
    return client.post("/api/user/login", json={"username": username, "password": password}).json


def test_an_unknown_user_costs_one_check_at_the_same_cost_as_a_wrong_password(client, user, checks):
    assert login(client, "alice", "wrong-password")["message"] == BAD_LOGIN
    known = list(checks)
    checks.clear()
    assert login(client, "nobody-here", "wrong-password")["message"] == BAD_LOGIN
    assert checks == known and len(known) == 1


def test_an_unknown_email_costs_the_same_too(client, user, checks):
    assert login(client, "ghost@example.com", "wrong-password")["message"] == BAD_LOGIN
    assert len(checks) == 1


def test_a_disabled_user_is_checked_and_answered_alike(client, checks):
    factories.make_user("banned", status=2)
    assert login(client, "banned", factories.PASSWORD)["message"] == BAD_LOGIN
    assert len(checks) == 1


def _median_seconds(client, username: str, runs: int = 5) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        assert login(client, username, "wrong-password")["success"] is False
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def test_at_one_apis_real_cost_an_unknown_name_takes_as_long_as_a_wrong_password(client, monkeypatch):
    """With cost 10 (One API's), a wrong password takes tens of milliseconds; an unknown name must too
    (before the fix it answered in about one)."""
    monkeypatch.setattr(passwords, "COST", 10)
    monkeypatch.setattr(passwords, "_DUMMY", {})
    factories.make_user("slowhash")
    login(client, "nobody-at-all", "warm-up")
    known, unknown = _median_seconds(client, "slowhash"), _median_seconds(client, "nobody-at-all")
    assert known > 0.005, "cost 10 should take milliseconds"
    assert 0.5 < unknown / known < 2, (known, unknown)
