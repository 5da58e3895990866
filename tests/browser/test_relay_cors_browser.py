"""A browser chat client in client mode (as NextChat runs): a page served from another origin on
127.0.0.1 calls the gateway's `/v1/chat/completions` with an `Authorization` header through `fetch`
and reads the answer and its request id; the same page cannot read `/api/user/self`."""

from __future__ import annotations

import pytest
import requests
from flask import Flask

from tests.liveserver import live_server
from tests.upstreams.server import serve

pytestmark = pytest.mark.browser
ROOT_KEY = "c" * 48
ROOT_ACCESS = "d" * 32
PAGE = "<!doctype html><html><head><title>chat client</title></head><body>a chat client</body></html>"
# Runs in the page: each result is the answer's status and body, or the error fetch rejected with.
FETCH = """
const [url, options, done] = arguments;
fetch(url, options)
  .then(async r => done({status: r.status, body: await r.text(), requestId: r.headers.get("X-Oneapi-Request-Id")}))
  .catch(e => done({error: String(e)}));
"""


@pytest.fixture(scope="module")
def keyed_gateway(tmp_path_factory, upstream):
    """A gateway whose root has a known key, with one channel to the mock upstream."""
    workdir = tmp_path_factory.mktemp("cors-gateway")
    env = {"SQLITE_PATH": str(workdir / "one-api.db"), "SESSION_SECRET": "cors-browser-session-secret-4e1a",
           "INITIAL_ROOT_TOKEN": ROOT_KEY, "INITIAL_ROOT_ACCESS_TOKEN": ROOT_ACCESS}
    with live_server(env, workdir) as base:
        answer = requests.post(f"{base}/api/channel/", headers={"Authorization": ROOT_ACCESS}, timeout=30,
                               json={"name": "mock", "type": 1, "key": "sk-upstream", "base_url": upstream[1],
                                     "models": "gpt-4o", "group": "default"})
        assert answer.json()["success"], answer.text
        yield base


@pytest.fixture(scope="module")
def other_origin():
    """A page on another port of 127.0.0.1: another origin to the browser."""
    site = Flask("chat-client")
    site.add_url_rule("/", "index", lambda: PAGE)
    with serve(site) as base:
        yield base


def page_fetch(browser, url: str, **options) -> dict:
    browser.set_script_timeout(20)
    return browser.execute_async_script(FETCH, url, options)


def test_a_page_on_another_origin_chats_through_the_gateway(browser, keyed_gateway, other_origin):
    browser.get(other_origin)
    assert browser.title == "chat client"
    result = page_fetch(browser, f"{keyed_gateway}/v1/chat/completions", method="POST",
                        headers={"Authorization": f"Bearer sk-{ROOT_KEY}", "Content-Type": "application/json"},
                        body='{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}')
    assert "error" not in result, result
    assert result["status"] == 200 and "w0 w1 w2 w3 w4" in result["body"]
    assert result["requestId"], "X-Oneapi-Request-Id is exposed to the page"


def test_a_page_on_another_origin_reads_the_billing_routes(browser, keyed_gateway, other_origin):
    browser.get(other_origin)
    result = page_fetch(browser, f"{keyed_gateway}/v1/dashboard/billing/subscription",
                        headers={"Authorization": f"Bearer sk-{ROOT_KEY}"})
    assert result.get("status") == 200 and "billing_subscription" in result["body"], result


@pytest.mark.parametrize("credentials", ["omit", "include"])
def test_a_page_on_another_origin_cannot_read_the_management_api(browser, keyed_gateway, other_origin,
                                                                 credentials):
    browser.get(other_origin)
    result = page_fetch(browser, f"{keyed_gateway}/api/user/self", credentials=credentials,
                        headers={"Authorization": ROOT_ACCESS})
    assert "error" in result and "Failed to fetch" in result["error"], result
