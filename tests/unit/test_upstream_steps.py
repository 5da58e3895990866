"""The transport steps the pipeline performs for adaptors (`relay.upstream`): credentials cached until
they expire and dropped on a 401, signatures over the final bytes, asynchronous tasks polled within
bounds and abandoned when the client leaves, and the websocket transport — against small real
servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, Response, request

from oneapi.relay import upstream
from oneapi.relay.adaptors.base import Adaptor, Call, Credential
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import reader
from tests.upstreams.server import serve

CONFIG = SimpleNamespace(relay_timeout=10, relay_proxy="")


def make_app() -> Flask:
    app = Flask(__name__)
    app.config.update(TOKENS=0, POLLS=0, SEEN=[], TOKEN_LIFE=3600, REFUSE=False)

    @app.post("/token")
    def token():
        app.config["TOKENS"] += 1
        return {"access_token": f"tok-{app.config['TOKENS']}", "expires_in": app.config["TOKEN_LIFE"]}

    @app.post("/chat")
    def chat():
        app.config["SEEN"].append(dict(request.headers))
        if request.headers.get("Authorization") != f"Bearer tok-{app.config['TOKENS']}" or app.config["REFUSE"]:
            return {"error": {"message": "bad token"}}, 401
        digest = hashlib.sha256(request.get_data()).hexdigest()
        if request.headers.get("X-Body-Digest") != digest:
            return {"error": {"message": "bad signature"}}, 403
        return {"task": "t1"}

    @app.get("/tasks/t1")
    def task():
        app.config["POLLS"] += 1
        done = app.config["POLLS"] >= 3
        return {"status": "done" if done else "running", "output": "ok" if done else None}

    @app.get("/stream")
    def stream():
        return Response(iter([b"data: one\n\n", b"data: two\n\n"]), mimetype="text/event-stream")

    return app


class TaskAdaptor(Adaptor):
    """Fetches a token, signs the body, polls a task; `then_stream` ends with a stream call."""

    then_stream = False
    delay = 0.0

    def request_url(self, ctx: RelayContext) -> str:
        return f"{ctx.base_url}/chat"

    def credential(self, ctx: RelayContext, now: float) -> Call:
        return Call("POST", f"{ctx.base_url}/token")

    def read_credential(self, ctx: RelayContext, status: int, body: bytes, now: float) -> Credential:
        parsed = json.loads(body)
        return Credential(parsed["access_token"], now + parsed["expires_in"])

    def sign(self, ctx: RelayContext, call: Call, now: float) -> Call:
        headers = {**call.headers, "X-Body-Digest": hashlib.sha256(call.body or b"").hexdigest()}
        if call.method == "POST":
            headers["Authorization"] = f"Bearer {ctx.credential}"
        return Call(call.method, call.url, headers, call.body, call.stream, call.delay)

    def upstream_stream(self, ctx: RelayContext) -> bool:
        return False

    def follow_up(self, ctx: RelayContext, body: Any, step: int) -> Call | None:
        if body.get("task"):
            return Call("GET", f"{ctx.base_url}/tasks/{body['task']}", delay=self.delay)
        if body.get("status") == "running":
            return Call("GET", f"{ctx.base_url}/tasks/t1", delay=self.delay)
        if self.then_stream and body.get("status") == "done":
            return Call("GET", f"{ctx.base_url}/stream", stream=True)
        return None

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        return UpstreamError(status, json.loads(body)["error"]["message"])


@pytest.fixture
def server():
    app = make_app()
    with serve(app) as base:
        yield app, base


def context(base: str, channel_id: int = 1, key: str = "k") -> RelayContext:
    return RelayContext(mode=RelayMode.CHAT, channel_id=channel_id, channel_type=1, channel_name="c", base_url=base,
                        key=key, model="m", original_model="m")


def run(adaptor: Adaptor, ctx: RelayContext, **kwargs: Any) -> tuple[Any, bool, RelayContext]:
    ctx = upstream.with_credential(CONFIG, adaptor, ctx)
    answer, streamed = upstream.exchange(CONFIG, adaptor, ctx, b'{"x": 1}', {"Content-Type": "application/json"},
                                         **kwargs)
    return answer, streamed, ctx


def test_a_fetched_credential_is_cached_per_channel_and_key(server):
    app, base = server
    adaptor = TaskAdaptor()
    for _ in range(3):
        answer, streamed, ctx = run(adaptor, context(base, channel_id=11))
        assert json.loads(answer.content) == {"status": "done", "output": "ok"} and not streamed
        app.config["POLLS"] = 0
    assert app.config["TOKENS"] == 1 and ctx.credential == "tok-1"
    run(adaptor, context(base, channel_id=11, key="edited"))  # an edited key is another credential
    assert app.config["TOKENS"] == 2


def test_a_credential_is_renewed_before_it_expires_and_dropped_on_a_401(server):
    app, base = server
    app.config["TOKEN_LIFE"] = 30  # inside the renewal minute: every request renews it
    adaptor = TaskAdaptor()
    run(adaptor, context(base, channel_id=12))
    app.config["POLLS"] = 0
    run(adaptor, context(base, channel_id=12))
    assert app.config["TOKENS"] == 2
    app.config.update(TOKEN_LIFE=3600, REFUSE=True, POLLS=0)
    with pytest.raises(UpstreamError) as refused:
        run(adaptor, context(base, channel_id=13))
    assert refused.value.status == 401
    app.config.update(REFUSE=False, POLLS=0)
    run(adaptor, context(base, channel_id=13))
    assert app.config["TOKENS"] == 4  # the refused token was not reused


def test_the_signature_covers_the_bytes_sent(server):
    app, base = server
    run(TaskAdaptor(), context(base, channel_id=14))
    seen = app.config["SEEN"][-1]
    assert seen["X-Body-Digest"] == hashlib.sha256(b'{"x": 1}').hexdigest()


def test_a_task_is_polled_until_done_and_may_end_in_a_stream(server):
    app, base = server
    adaptor = TaskAdaptor()
    adaptor.then_stream = True
    answer, streamed, _ = run(adaptor, context(base, channel_id=15))
    assert streamed and app.config["POLLS"] == 3
    events = list(reader("sse")(answer.iter_content(chunk_size=None)))
    assert [e.data for e in events] == ["one", "two"]


def test_polling_stops_at_the_deadline(server, monkeypatch):
    app, base = server
    monkeypatch.setattr(upstream, "TASK_SECONDS", 0.3)
    adaptor = TaskAdaptor()
    adaptor.delay = 0.2
    started = time.monotonic()
    with pytest.raises(UpstreamError) as late:
        run(adaptor, context(base, channel_id=16))
    assert late.value.status == 504 and late.value.code == "task_timeout"
    assert time.monotonic() - started < 2


def test_polling_stops_when_the_client_is_gone(server):
    app, base = server
    adaptor = TaskAdaptor()
    adaptor.delay = 5
    started = time.monotonic()
    with pytest.raises(upstream.ClientGone):
        run(adaptor, context(base, channel_id=17), client_gone=lambda: True)
    assert time.monotonic() - started < 1 and app.config["POLLS"] == 0


def test_a_computed_credential_is_computed_once():
    calls = []

    class Computed(Adaptor):
        def credential(self, ctx: RelayContext, now: float) -> Credential:
            calls.append(now)
            return Credential(f"jwt-{len(calls)}", now + 3600)

    ctx = context("http://127.0.0.1:9", channel_id=18)
    assert upstream.with_credential(CONFIG, Computed(), ctx).credential == "jwt-1"
    assert upstream.with_credential(CONFIG, Computed(), ctx).credential == "jwt-1"
    assert len(calls) == 1


def test_an_adaptor_without_credentials_gets_its_context_back():
    ctx = context("http://127.0.0.1:9")
    assert upstream.with_credential(CONFIG, Adaptor(), ctx) is ctx


def websocket_app() -> Flask:
    import simple_websocket

    app = Flask(__name__)
    app.config["RECEIVED"] = []

    # Werkzeug routes an Upgrade request only to a rule marked as a websocket.
    @app.route("/chat", websocket=True)
    def chat():
        if request.args.get("sig") != "good":
            return {"message": "HMAC signature does not match"}, 401
        ws = simple_websocket.Server(request.environ)
        app.config["RECEIVED"].append(ws.receive(timeout=5))
        for part in ("one", "two", "three"):
            ws.send(json.dumps({"text": part}))
        ws.close()
        return Response()

    return app


class SocketAdaptor(Adaptor):
    transport = "websocket"
    stream_format = "messages"

    def request_url(self, ctx: RelayContext) -> str:
        return ctx.base_url.replace("http://", "ws://") + "/chat?sig=" + ctx.key

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        return UpstreamError(status, json.loads(body)["message"])


def test_the_websocket_transport_sends_one_message_and_reads_each_one_back():
    app = websocket_app()
    with serve(app) as base:
        ctx = context(base, key="good")
        answer, streamed = upstream.exchange(CONFIG, SocketAdaptor(), ctx, b'{"hello": "spark"}', {}, stream=True)
        events = list(reader("messages")(answer.iter_content()))
        answer.close()
        assert streamed and [json.loads(e.data)["text"] for e in events] == ["one", "two", "three"]
        assert app.config["RECEIVED"] == ['{"hello": "spark"}']
        with pytest.raises(UpstreamError) as refused:
            upstream.exchange(CONFIG, SocketAdaptor(), context(base, key="bad"), b"{}", {}, stream=True)
        assert refused.value.status == 401 and "HMAC" in refused.value.message


def test_a_websocket_that_cannot_connect_is_a_retryable_failure():
    with pytest.raises(UpstreamError) as failed:
        upstream.exchange(CONFIG, SocketAdaptor(), context("http://127.0.0.1:9", key="good"), b"{}", {}, stream=True)
    assert failed.value.status == 502 and failed.value.retryable


@pytest.mark.parametrize("key", ["oneapi.client_socket", "gunicorn.socket", "werkzeug.socket"])
def test_a_closed_client_connection_is_seen_whichever_server_runs_us(key):
    import socket

    from flask import Flask

    from oneapi.relay.pipeline import client_gone

    ours, clients = socket.socketpair()
    try:
        with Flask(__name__).test_request_context(environ_base={key: ours}):
            assert client_gone() is False
            clients.sendall(b"GET /next HTTP/1.1\r\n")  # a pipelined byte is not a goodbye
            assert client_gone() is False
            clients.close()
            ours.recv(100)
            assert client_gone() is True
    finally:
        ours.close()


def test_a_socket_that_cannot_be_peeked_is_not_taken_for_a_client_that_left():
    import socket

    from flask import Flask

    from oneapi.relay.pipeline import client_gone

    class TLSLike:
        """What ssl.SSLSocket does with MSG_PEEK."""

        def __init__(self, sock):
            self.sock = sock

        def fileno(self):
            return self.sock.fileno()

        def recv(self, size, flags=0):
            raise ValueError("non-zero flags not allowed in calls to recv() on <class 'ssl.SSLSocket'>")

    ours, clients = socket.socketpair()
    try:
        clients.sendall(b"x")
        with Flask(__name__).test_request_context(environ_base={"werkzeug.socket": TLSLike(ours)}):
            assert client_gone() is False
    finally:
        ours.close()
        clients.close()


def test_an_edited_key_replaces_the_channels_cached_credential(server):
    app, base = server
    adaptor = TaskAdaptor()
    run(adaptor, context(base, channel_id=19, key="first"))
    app.config["POLLS"] = 0
    run(adaptor, context(base, channel_id=19, key="second"))
    assert [key for key in upstream._credentials if key[0] == 19] == [upstream._fingerprint(
        context(base, channel_id=19, key="second"))]
