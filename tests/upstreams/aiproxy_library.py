"""A mock AI Proxy knowledge-base `ask` API as a WSGI app: run it with `tests.upstreams.server.serve`.

It checks each request as api.aiproxy.io does for `POST /api/library/ask`
(https://docs.aiproxy.io/dev/library, and the clients that call it) and answers in its format:

- `Authorization: Bearer <key>`: missing or wrong → HTTP 401
  `{"success": false, "errCode": 401, "message": "无效的 Api Key"}`.
- The body needs `model`, a non-empty `query` and the `libraryId` of an existing library (a string or
  a number); otherwise HTTP 200 with `success: false` (errCode 10001 for a bad parameter, 10003 for an
  unknown library).
- Non-stream: `{success: true, answer, documents: [{title, url}]}`.
- Stream: SSE `data:` events `{content, finish: false, model, documents: []}` with the answer in pieces,
  then `{content: "", finish: true, model, documents}`; the stream then ends.

Every request is recorded in `app.config["REQUESTS"]` (method, path, lower-cased headers, JSON body).
The answer is `From library <id>: <query>`, with two reference documents; no token counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

ASK_PATH = "/api/library/ask"
DOCUMENTS = [{"title": "Getting started", "url": "https://docs.example.com/start"},
             {"title": "常见问题", "url": "https://docs.example.com/faq"}]


def create_app(*, api_key: str = "ak-mock", libraries: tuple[str, ...] = ("123456",), deltas: int = 3) -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], API_KEY=api_key, LIBRARIES=set(libraries), DELTAS=max(1, deltas))

    @app.post(ASK_PATH)
    def ask() -> Response:
        body = request.get_json(silent=True, force=True)
        app.config["REQUESTS"].append({"method": request.method, "path": request.path, "body": body,
                                       "headers": {k.lower(): v for k, v in request.headers.items()}})
        if request.headers.get("Authorization") != f"Bearer {app.config['API_KEY']}":
            return failure(401, "无效的 Api Key", 401)
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"] \
                or not isinstance(body.get("query"), str) or not body["query"].strip():
            return failure(10001, "参数错误：model 与 query 不能为空")
        if not isinstance(body.get("libraryId"), str | int) or str(body["libraryId"]) not in app.config["LIBRARIES"]:
            return failure(10003, "知识库不存在")
        answer = f"From library {body['libraryId']}: {body['query']}"
        if body.get("stream") is True:
            return Response(stream(body["model"], answer, app.config["DELTAS"]), content_type="text/event-stream")
        return json_response({"success": True, "answer": answer, "documents": DOCUMENTS})

    return app


def failure(code: int, message: str, status: int = 200) -> Response:
    return json_response({"success": False, "errCode": code, "message": message}, status)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False), status=status, content_type="application/json")


def stream(model: str, answer: str, deltas: int) -> Iterator[bytes]:
    size = max(1, -(-len(answer) // deltas))
    for start in range(0, len(answer), size):
        event = {"content": answer[start:start + size], "finish": False, "model": model, "documents": []}
        yield f"data:{json.dumps(event, ensure_ascii=False)}\n\n".encode()
    last = {"content": "", "finish": True, "model": model, "documents": DOCUMENTS}
    yield f"data:{json.dumps(last, ensure_ascii=False)}\n\n".encode()
