"""Settlement happens exactly once: retries never charge twice, a separate logs database that fails
after the main one committed is retried alone, a settlement that cannot be written is parked and
written later, and a failed request never refunds on an aborted transaction."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from oneapi.app import create_app
from oneapi.extensions import db
from oneapi.models import Log, Token, User
from oneapi.services import charging, settlement
from oneapi.services.charging import InsufficientQuota, Payer
from oneapi.services.settlement import ConsumeRecord, Hold
from tests import factories
from tests.conftest import make_config
from tests.upstreams import openai as mock_openai
from tests.upstreams.server import serve

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
PRICE = math.ceil((10 + 5 * 4) * 2.5)  # the mock's usage at gpt-4o's ratios


def balances(user_id: int, token_id: int) -> tuple[int, int, int]:
    db.session.expire_all()
    token = db.session.get(Token, token_id)
    return db.session.get(User, user_id).quota, token.remain_quota, token.used_quota


def consume_logs() -> list[Log]:
    return list(db.session.scalars(sa.select(Log).where(Log.type == 2)))


def record(user, request_id="req-1") -> ConsumeRecord:
    return ConsumeRecord(user.id, user.username, "key", "gpt-4o", "test", 10, 5, 0, request_id)


@pytest.fixture
def funded(app):
    user = factories.make_user("payer", quota=10_000)
    token = factories.make_token(user, remain_quota=5_000)
    return user, token, Payer(user.id, token.id, False)


def test_a_hold_is_settled_once_however_often_it_is_ended(funded):
    user, token, payer = funded
    hold = Hold(payer, "req-1")
    hold.take(300)
    assert hold.settle(200, record(user)) == 200
    assert hold.settle(999, record(user)) == 200
    hold.release()
    assert balances(user.id, token.id) == (9_800, 4_800, 200)
    assert [row.quota for row in consume_logs()] == [200]


def test_a_released_hold_gives_everything_back_once(funded):
    user, token, payer = funded
    hold = Hold(payer)
    hold.take(300)
    hold.release()
    hold.release()
    assert hold.settle(100, record(user)) == 0
    assert balances(user.id, token.id) == (10_000, 5_000, 0)
    assert consume_logs() == []


def test_the_charge_is_the_cost_even_beyond_the_hold_and_the_balances(funded):
    """Delivered usage is never forgiven: the key's cap and the user's balance go below zero."""
    user, token, payer = funded
    hold = Hold(payer)
    hold.take(4_000)
    assert hold.settle(12_000, record(user)) == 12_000
    assert balances(user.id, token.id) == (-2_000, -7_000, 12_000)
    assert [row.quota for row in consume_logs()] == [12_000]


def test_a_payer_at_or_below_zero_is_refused_even_a_free_hold(funded):
    user, token, payer = funded
    user.quota = 0
    db.session.commit()
    with pytest.raises(InsufficientQuota) as refused:
        Hold(payer).take(0)
    assert refused.value.payer == "user"
    with pytest.raises(InsufficientQuota):
        settlement.require_funds(payer, None)
    user.quota, token.remain_quota = 100, 0
    db.session.commit()
    with pytest.raises(InsufficientQuota) as refused:
        Hold(payer).take(0)
    assert refused.value.payer == "token"
    assert balances(user.id, token.id)[:2] == (100, 0)


def test_require_funds_believes_a_positive_cache_and_checks_a_spent_one(funded):
    user, _, payer = funded
    settlement.require_funds(payer, cached_quota=0)  # the cache is stale; the database has 10,000
    user.quota = -5
    db.session.commit()
    settlement.require_funds(payer, cached_quota=10)  # no query: the hold's guard refuses later
    with pytest.raises(InsufficientQuota):
        settlement.require_funds(payer, cached_quota=-5)


def test_an_extension_takes_what_is_left_and_then_nothing(funded):
    user, token, payer = funded
    hold = Hold(payer)
    hold.take(1_000)
    assert hold.extend(3_000) == 3_000
    assert hold.extend(3_000) == 1_000  # the key's 5,000 are all held now
    assert hold.extend(3_000) == 0
    assert hold.held == 5_000
    assert balances(user.id, token.id) == (5_000, 0, 5_000)


def test_a_transient_failure_is_retried_and_charges_once(funded, monkeypatch):
    user, token, payer = funded
    real, calls = charging.charge, []

    def flaky(*args, **kwargs):
        calls.append(1)
        real(*args, **kwargs)
        if len(calls) == 1:
            raise sa.exc.OperationalError("UPDATE users", {}, Exception("server has gone away"))

    monkeypatch.setattr(charging, "charge", flaky)
    monkeypatch.setattr(settlement, "RETRY_DELAYS", (0.0,))
    hold = Hold(payer, "req-1")
    hold.take(300)
    hold.settle(200, record(user))
    assert len(calls) == 2
    assert balances(user.id, token.id) == (9_800, 4_800, 200)
    assert len(consume_logs()) == 1


def test_a_commit_whose_outcome_is_unknown_is_not_repeated_when_its_log_row_landed(funded, monkeypatch):
    """The connection drops during COMMIT after the server committed: the log row of the same
    transaction shows it, and the retry does not charge again."""
    user, token, payer = funded
    real_commit, failures = db.session.commit, []

    def commit_then_fail():
        real_commit()
        if not failures:
            failures.append(1)
            raise sa.exc.OperationalError("COMMIT", {}, Exception("lost connection during commit"))

    hold = Hold(payer, "req-unknown")
    hold.take(300)
    monkeypatch.setattr(settlement, "RETRY_DELAYS", (0.0,))
    monkeypatch.setattr(db.session, "commit", commit_then_fail)
    hold.settle(200, record(user, "req-unknown"))
    monkeypatch.undo()
    assert failures == [1]
    assert balances(user.id, token.id) == (9_800, 4_800, 200)
    assert len(consume_logs()) == 1


def test_a_settlement_that_keeps_failing_is_parked_and_written_later(funded, monkeypatch):
    user, token, payer = funded
    real, broken = charging.charge, [True]

    def down(*args, **kwargs):
        if broken[0]:
            raise sa.exc.OperationalError("UPDATE users", {}, Exception("database is down"))
        return real(*args, **kwargs)

    monkeypatch.setattr(charging, "charge", down)
    monkeypatch.setattr(settlement, "RETRY_DELAYS", (0.0,))
    hold = Hold(payer, "req-parked")
    hold.take(300)
    assert hold.settle(200, record(user, "req-parked")) == 200
    assert settlement.parked_count() == 1
    assert balances(user.id, token.id) == (9_700, 4_700, 300)  # still held, not lost
    assert settlement.retry_parked() == 1
    broken[0] = False
    assert settlement.retry_parked() == 0
    assert balances(user.id, token.id) == (9_800, 4_800, 200)
    assert [row.request_id for row in consume_logs()] == ["req-parked"]
    hold.settle(200, record(user, "req-parked"))
    assert settlement.retry_parked() == 0 and len(consume_logs()) == 1


def test_a_data_error_in_settlement_does_not_refund_on_an_aborted_transaction(funded, monkeypatch):
    """A non-transient error is not retried; the request's failure path must then not refund what
    was already charged (a refund on PostgreSQL's aborted transaction failed as well)."""
    user, token, payer = funded
    real = charging.charge

    def bad(*args, **kwargs):
        real(*args, **kwargs)
        # A real failing statement: on PostgreSQL it aborts the transaction the charge ran in.
        db.session.execute(sa.text("INSERT INTO users (username, password) VALUES ('x', NULL)"))

    monkeypatch.setattr(charging, "charge", bad)
    hold = Hold(payer, "req-data")
    hold.take(300)
    hold.settle(200, record(user, "req-data"))
    hold.release()  # the pipeline's error path: a no-op, the hold has ended
    monkeypatch.undo()
    assert settlement.parked_count() == 1
    assert settlement.retry_parked() == 0
    assert balances(user.id, token.id) == (9_800, 4_800, 200)


def test_with_a_logs_database_a_failed_log_commit_never_charges_twice(tmp_path):
    """LOG_SQL_DSN: the main database commits the charge, the logs database fails; the retry writes
    the log row only (before, the whole settlement ran again and charged twice)."""
    config = make_config("sqlite", tmp_path, LOG_SQL_DSN=f"sqlite:///{tmp_path / 'logs.db'}")
    application = create_app(config)
    with serve(mock_openai.create_app()) as base, application.app_context():
        user = factories.make_user("payer", quota=10_000)
        token = factories.make_token(user, remain_quota=5_000)
        factories.make_channel(base_url=base)
        ids = user.id, token.id
        logs_engine, failed = db.engines["logs"], []

        def fail_once(_connection):
            if not failed:
                failed.append(1)
                raise sa.exc.OperationalError("COMMIT", {}, Exception("logs database locked"))

        sa.event.listen(logs_engine, "commit", fail_once)
        try:
            answer = application.test_client().post("/v1/chat/completions", json=BODY,
                                                    headers={"Authorization": f"Bearer sk-{token.key}"})
        finally:
            sa.event.remove(logs_engine, "commit", fail_once)
        assert answer.status_code == 200, answer.json
        assert failed == [1]
        assert balances(*ids) == (10_000 - PRICE, 5_000 - PRICE, PRICE)
        assert [row.quota for row in consume_logs()] == [PRICE]
        db.session.remove()
    with application.app_context():
        for engine in set(db.engines.values()):
            engine.dispose()


def test_a_refund_the_database_refuses_is_parked_and_given_back_later(funded, monkeypatch):
    user, token, payer = funded
    real, broken = charging.refund, [True]

    def down(*args, **kwargs):
        if broken[0]:
            raise sa.exc.OperationalError("UPDATE users", {}, Exception("database is down"))
        return real(*args, **kwargs)

    monkeypatch.setattr(charging, "refund", down)
    monkeypatch.setattr(settlement, "RETRY_DELAYS", (0.0,))
    hold = Hold(payer, "req-refund")
    hold.take(300)
    hold.release()  # the request failed while the database was away: no exception, nothing lost
    assert settlement.parked_count() == 1 and balances(user.id, token.id) == (9_700, 4_700, 300)
    broken[0] = False
    assert settlement.retry_parked() == 0
    hold.release()
    assert settlement.retry_parked() == 0
    assert balances(user.id, token.id) == (10_000, 5_000, 0) and consume_logs() == []


def test_a_hold_no_balance_column_could_hold_is_refused(funded):
    _, _, payer = funded
    with pytest.raises(InsufficientQuota):
        Hold(payer).take(1 << 64)
