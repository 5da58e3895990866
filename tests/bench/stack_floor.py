"""The floor of the stack: what gevent's pywsgi, Flask and `requests` cost on this machine with no
gateway logic at all, measured like the gateway (its own core, the same mock and load generator).
It tells how much of the gateway's cost is ours and what this stack can reach at best.

    .venv/bin/python tests/bench/stack_floor.py [--seconds 8]

Routes of the floor server: a plain WSGI callable returning a fixed body; a Flask view returning it;
Flask views relaying to the mock through `requests` and through `urllib3` directly; and a Flask view
relaying a stream through `requests` chunk by chunk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def serve(port: int, upstream: str, nodelay: bool) -> None:
    from gevent import monkey

    monkey.patch_all()
    import requests
    import urllib3
    from flask import Flask, Response, request
    from gevent import socket
    from gevent.pywsgi import WSGIServer

    body = json.dumps({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": "tok " * 20}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}}).encode()
    app = Flask(__name__)
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=10, pool_maxsize=1000))
    pool = urllib3.PoolManager(maxsize=1000)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-mock"}

    @app.post("/flask-static/v1/chat/completions")
    def flask_static():
        return Response(body, mimetype="application/json")

    @app.post("/flask-requests/v1/chat/completions")
    def flask_requests():
        answer = session.post(upstream, data=request.get_data(), headers=headers)
        return Response(answer.content, status=answer.status_code, mimetype="application/json")

    @app.post("/flask-urllib3/v1/chat/completions")
    def flask_urllib3():
        answer = pool.request("POST", upstream, body=request.get_data(), headers=headers)
        return Response(answer.data, status=answer.status, mimetype="application/json")

    @app.post("/flask-requests-stream/v1/chat/completions")
    def flask_requests_stream():
        answer = session.post(upstream, data=request.get_data(), headers=headers, stream=True)

        def relay():
            yield from answer.iter_content(chunk_size=None)

        return Response(relay(), mimetype="text/event-stream")

    def wsgi(environ, start_response):
        if environ["PATH_INFO"].startswith("/wsgi-static/"):
            environ["wsgi.input"].read()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if nodelay:
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    WSGIServer(listener, wsgi, log=None).serve_forever()


ROUTES = ((False, "wsgi-static", False, "pywsgi + a bare WSGI callable, fixed body, without TCP_NODELAY"),
          (False, "flask-requests", False, "pywsgi + Flask + requests relay to the mock, without TCP_NODELAY"),
          (True, "wsgi-static", False, "pywsgi + a bare WSGI callable, fixed body"),
          (True, "flask-static", False, "pywsgi + Flask view, fixed body"),
          (True, "flask-urllib3", False, "pywsgi + Flask + urllib3 relay to the mock"),
          (True, "flask-requests", False, "pywsgi + Flask + requests relay to the mock"),
          (True, "flask-requests-stream", True, "pywsgi + Flask + requests stream relay (22 chunks)"))


def measure(args: argparse.Namespace) -> str:
    import run_bench as bench

    procs = bench.Processes()
    workdir = Path(tempfile.mkdtemp(prefix="oneapi-floor-"))
    multi = (os.cpu_count() or 1) > 1
    try:
        mock, mock_port = bench.start_mock(procs, workdir, 1 if multi else None, max_seconds=900)
        servers = {}
        for nodelay in (False, True):
            port = bench.free_port()
            command = [sys.executable, __file__, "--serve", str(port), "--upstream",
                       f"http://127.0.0.1:{mock_port}/v1/chat/completions"] + (["--nodelay"] if nodelay else [])
            servers[nodelay] = (procs.start(command, preexec_fn=bench.pinned(0 if multi else None)), port)
            bench.wait_port(port, servers[nodelay][0], 15, "floor server")
        rows = ["| server | concurrency | req/s | p50 ms | CPU ms/req |", "| --- | ---: | ---: | ---: | ---: |"]
        for nodelay, route, stream, label in ROUTES:
            floor, port = servers[nodelay]
            for concurrency in (1, 64):
                result = bench.run_load(procs, f"http://127.0.0.1:{port}/{route}/v1/chat/completions", "sk-x",
                                        concurrency=concurrency, stream=stream, seconds=args.seconds, warmup=1,
                                        watch_pids=(floor.pid,))
                cpu = result["cpu"][floor.pid]
                per = cpu * 1000 / result["rps"] if result["rps"] else 0
                rows.append(f"| {label} | {concurrency} | {result['rps']:,.0f} | {result['latency_ms']['p50']:.2f} "
                            f"| {per:.3f} |")
                print(rows[-1], flush=True)
        return "\n".join(rows) + "\n"
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    parser.add_argument("--nodelay", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.upstream, args.nodelay)
        return
    print(measure(args))


if __name__ == "__main__":
    main()
