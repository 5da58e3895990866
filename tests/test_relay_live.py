"""The relay through the real gevent server: the official `openai` SDK (sync and streaming), live
delivery of stream chunks, client disconnects, and 200 concurrent requests against a small quota —
on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import concurrent.futures
import json
import time

import openai
import pytest
import requests
import sqlalchemy as sa

from tests.liveserver import api, gateway_on
from tests.upstreams import openai as mock_openai
from tests.upstreams.server import serve

pytestmark = [
    pytest.mark.server,
    # Werkzeug's development server (the mock upstream) leaves the socket of a connection the gateway
    # dropped mid-stream to the garbage collector; that is the mock's socket, not the gateway's.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]
ROOT_KEY = "r" * 48
ROOT_ACCESS = "a" * 32


@pytest.fixture(scope="module")
def upstream():
    app = mock_openai.create_app(chunk_delay=0.0)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def gateway(request, tmp_path_factory, upstream):
    """A running gateway with one channel to the mock upstream; yields (base URL, database URL)."""
    workdir = tmp_path_factory.mktemp(f"live-{request.param}")
    # A pool below the servers' max_connections (MariaDB's default is 151), as the README advises.
    env = {"INITIAL_ROOT_TOKEN": ROOT_KEY, "INITIAL_ROOT_ACCESS_TOKEN": ROOT_ACCESS, "SQL_MAX_IDLE_CONNS": "20",
           "SQL_MAX_OPEN_CONNS": "60"}
    with gateway_on(request.param, workdir, "oneapi_live", env) as (base, db_url):
        admin(base, "POST", "/api/channel/", {"name": "mock", "type": 1, "key": "sk-upstream",
                                              "base_url": upstream[1], "models": "gpt-4o,gpt-4o-mini",
                                              "group": "default"})
        yield base, db_url


def admin(base: str, method: str, path: str, body: dict | None = None) -> dict:
    return api(base, ROOT_ACCESS, method, path, body)


def sdk(base: str, key: str = ROOT_KEY) -> openai.OpenAI:
    return openai.OpenAI(api_key=f"sk-{key}", base_url=f"{base}/v1", max_retries=0, timeout=30)


def test_the_openai_sdk_chats_through_the_gateway(gateway):
    reply = sdk(gateway[0]).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "w0 w1 w2 w3 w4 "
    assert reply.usage.prompt_tokens == 10 and reply.usage.completion_tokens == 5


def test_the_openai_sdk_streams_through_the_gateway(gateway):
    stream = sdk(gateway[0]).chat.completions.create(model="gpt-4o", stream=True,
                                                     stream_options={"include_usage": True},
                                                     messages=[{"role": "user", "content": "hi"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "w0 w1 w2 w3 w4 "
    assert chunks[-1].usage.completion_tokens == 5


def test_sdk_errors_arrive_as_openai_errors(gateway):
    with pytest.raises(openai.AuthenticationError) as caught:
        sdk(gateway[0], key="x" * 48).chat.completions.create(model="gpt-4o", messages=[{"role": "user",
                                                                                          "content": "hi"}])
    assert "无效的令牌" in str(caught.value)
    models = [m.id for m in sdk(gateway[0]).models.list()]
    assert set(models) == {"gpt-4o", "gpt-4o-mini"}


def test_stream_chunks_arrive_while_the_upstream_is_still_writing(gateway, upstream):
    upstream[0].config.update(DELAY=0.1, WORDS=20)
    try:
        started = time.monotonic()
        arrivals = []
        with requests.post(f"{gateway[0]}/v1/chat/completions", stream=True, timeout=30,
                           headers={"Authorization": f"Bearer sk-{ROOT_KEY}"},
                           json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "x"}]}
                           ) as response:
            for line in response.iter_lines():
                if line.startswith(b"data: "):
                    arrivals.append(time.monotonic() - started)
    finally:
        upstream[0].config.update(DELAY=0.0, WORDS=mock_openai.REPLY_WORDS)
    assert len(arrivals) >= 22
    # The upstream needs about 2 s for 20 delayed words; the first must arrive long before the last.
    assert arrivals[0] < 0.5 and arrivals[-1] - arrivals[0] > 1.5


def test_a_client_disconnect_closes_the_upstream_and_bills_the_part(gateway, upstream):
    base, db_url = gateway
    upstream[0].config.update(DELAY=0.2, WORDS=50)
    upstream[0].config["CLOSED"].clear()
    try:
        response = requests.post(f"{base}/v1/chat/completions", stream=True, timeout=30,
                                 headers={"Authorization": f"Bearer sk-{ROOT_KEY}"},
                                 json={"model": "gpt-4o-mini", "stream": True, "user": "disconnect-test",
                                       "messages": [{"role": "user", "content": "x"}]})
        lines = response.iter_lines()
        received = [next(lines) for _ in range(6)]
        response.close()
        closed_at = time.monotonic()
        deadline = closed_at + 5
        while not upstream[0].config["CLOSED"] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        upstream[0].config.update(DELAY=0.0, WORDS=mock_openai.REPLY_WORDS)
    assert any(r.startswith(b"data: ") for r in received)
    assert upstream[0].config["CLOSED"], "the upstream stream must be closed"
    assert upstream[0].config["CLOSED"][0] - closed_at < 1.0
    row = wait_for_log(db_url, "gpt-4o-mini")
    assert 0 < row["completion_tokens"] < 50 and row["quota"] > 0 and "客户端断开" in row["content"]


def wait_for_log(db_url: str, model: str) -> dict:
    engine = sa.create_engine(db_url)
    try:
        for _ in range(50):
            with engine.connect() as conn:
                row = conn.execute(sa.text("SELECT * FROM logs WHERE model_name = :m AND type = 2 ORDER BY id DESC"),
                                   {"m": model}).mappings().first()
            if row is not None:
                return dict(row)
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError("no consume log row")


def test_concurrent_requests_never_overdraw_and_every_charge_is_logged(gateway):
    base, db_url = gateway
    admin(base, "PUT", "/api/option/", {"key": "PreConsumedQuota", "value": "0"})
    budget = 50 * 75  # about 50 gpt-4o requests of 10 prompt + 5 completion tokens
    created = admin(base, "POST", "/api/token/", {"name": "budget", "remain_quota": budget})["data"]
    before = user_quota(db_url)

    def one(_: int) -> int:
        answer = requests.post(f"{base}/v1/chat/completions", timeout=60,
                               headers={"Authorization": f"Bearer sk-{created['key']}"},
                               json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        return answer.status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
        codes = list(pool.map(one, range(200)))
    admin(base, "PUT", "/api/option/", {"key": "PreConsumedQuota", "value": "500"})
    token = token_row(db_url, created["id"])
    logged = logged_quota(db_url, "budget")
    assert token["remain_quota"] >= 0
    assert logged == budget - token["remain_quota"] == token["used_quota"]
    assert before - user_quota(db_url) == logged
    # Refusals: 403 when the reservation does not fit, 401 once the key is marked exhausted.
    assert codes.count(200) >= 40 and set(codes) <= {200, 401, 403}


def token_row(db_url: str, token_id: int) -> dict:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        row = dict(conn.execute(sa.text("SELECT * FROM tokens WHERE id = :i"), {"i": token_id}).mappings().one())
    engine.dispose()
    return row


def user_quota(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        value = conn.execute(sa.text("SELECT quota FROM users WHERE username = 'root'")).scalar()
    engine.dispose()
    return int(value)


def logged_quota(db_url: str, token_name: str) -> int:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        value = conn.execute(sa.text("SELECT SUM(quota) FROM logs WHERE token_name = :t AND type = 2"),
                             {"t": token_name}).scalar()
    engine.dispose()
    return int(value or 0)


def test_raw_http_errors_keep_the_openai_format(gateway):
    answer = requests.post(f"{gateway[0]}/v1/chat/completions", data=b"{not json", timeout=10,
                           headers={"Authorization": f"Bearer sk-{ROOT_KEY}"})
    body = answer.json()
    assert answer.status_code == 400 and body["error"]["code"] == "invalid_text_request"
    assert json.dumps(body).count("Traceback") == 0
