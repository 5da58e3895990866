"""Counting a huge prompt does not stall the gevent server: the real gateway (`python -m oneapi`,
patched by gevent) keeps answering `/api/status` quickly while it counts a 13 MB prompt, which
takes most of a second on the hub (it used to freeze every request for that long)."""

from __future__ import annotations

import random
import threading
import time

import pytest
import requests

from oneapi.relay.tokenizer import count_text
from tests.liveserver import live_server
from tests.upstreams import openai as mock_openai
from tests.upstreams.server import serve

pytestmark = pytest.mark.server
ROOT_KEY = "t" * 48
ROOT_ACCESS = "u" * 32


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("off-hub")
    env = {"SQLITE_PATH": str(workdir / "one-api.db"), "SESSION_SECRET": "off-hub-tests-session-secret-93c1",
           "INITIAL_ROOT_TOKEN": ROOT_KEY, "INITIAL_ROOT_ACCESS_TOKEN": ROOT_ACCESS, "MEMORY_CACHE_ENABLED": "true"}
    with serve(mock_openai.create_app()) as upstream, live_server(env, workdir) as base:
        answer = requests.post(f"{base}/api/channel/", headers={"Authorization": ROOT_ACCESS}, timeout=30,
                               json={"name": "mock", "type": 1, "key": "sk-upstream", "base_url": upstream,
                                     "models": "gpt-4o", "group": "default"})
        assert answer.json()["success"], answer.text
        yield base


def huge_prompt() -> str:
    rng = random.Random(7)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(5000)]
    return " ".join(words) * 420


def test_status_answers_fast_while_a_huge_prompt_is_counted(gateway):
    prompt = huge_prompt()
    started = time.monotonic()
    count_text(prompt)
    inline = time.monotonic() - started
    assert inline > 0.4, f"counting takes {inline:.2f}s here: too fast to show a stall"
    result: dict[str, requests.Response] = {}

    def chat() -> None:
        result["answer"] = requests.post(f"{gateway}/v1/chat/completions", timeout=120,
                                         headers={"Authorization": f"Bearer sk-{ROOT_KEY}"},
                                         json={"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}]})

    worker = threading.Thread(target=chat)
    worker.start()
    latencies = []
    while worker.is_alive() and len(latencies) < 2000:
        sent = time.monotonic()
        assert requests.get(f"{gateway}/api/status", timeout=30).ok
        latencies.append(time.monotonic() - sent)
        time.sleep(0.01)
    worker.join(120)
    assert result["answer"].status_code == 200, result["answer"].text[:300]
    assert len(latencies) >= 5, "the chat ended before the probes could watch it"
    # Parsing and forwarding 13 MB still hold the hub briefly; counting it would hold it for `inline`.
    assert max(latencies) < inline * 0.6, f"slowest /api/status {max(latencies):.2f}s, counting {inline:.2f}s"
