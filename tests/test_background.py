"""The periodic job loop keeps running after a failing round."""

from __future__ import annotations

import gevent

from oneapi.background import every


def test_a_failing_round_is_logged_and_the_next_round_runs(app, caplog):
    rounds: list[int] = []

    def job() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("first round fails")

    loop = gevent.spawn(every, app, 0.01, job, "test job")
    try:
        gevent.sleep(0.2)
    finally:
        loop.kill()
    assert len(rounds) >= 3
    assert "test job failed" in caplog.text
