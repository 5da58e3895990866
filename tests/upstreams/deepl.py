"""A mock DeepL API (`/v2/translate`), checking each request as DeepL does and answering in its wire
format (developers.deepl.com: "Translate text", "Authentication", "Error handling").

    with serve(create_app(auth_key="279a2e9d-...:fx")) as base_url: ...

`app.config["REQUESTS"]` lists every request received (method, path, lower-cased headers, JSON body).
The "translation" is deterministic: `[<TARGET>] <text>`. A text containing `[quota]` gets 456 Quota
Exceeded; `app.config["QUOTA_LEFT"]` (characters, None = unlimited) runs out as real quotas do.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, request

TARGETS = frozenset({
    "AR", "BG", "CS", "DA", "DE", "EL", "EN-GB", "EN-US", "ES", "ET", "FI", "FR", "HU", "ID", "IT", "JA", "KO", "LT",
    "LV", "NB", "NL", "PL", "PT-BR", "PT-PT", "RO", "RU", "SK", "SL", "SV", "TR", "UK", "ZH", "ZH-HANS", "ZH-HANT",
})
DEPRECATED = {"EN": "'en-GB' or 'en-US'", "PT": "'pt-BR' or 'pt-PT'"}
MAX_TEXTS = 50


def create_app(*, auth_key: str = "mock-deepl-key:fx", quota: int | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(REQUESTS=[], AUTH_KEY=auth_key, QUOTA_LEFT=quota)

    @app.post("/v2/translate")
    def translate() -> Response:
        body = request.get_json(silent=True, force=True)
        app.config["REQUESTS"].append({"method": request.method, "path": request.path, "body": body,
                                       "headers": {k.lower(): v for k, v in request.headers.items()}})
        scheme, _, key = (request.headers.get("Authorization") or "").partition(" ")
        if scheme != "DeepL-Auth-Key" or key != app.config["AUTH_KEY"]:
            return message(403, "Authorization failed. Please supply a valid auth_key parameter.")
        if not (request.content_type or "").startswith("application/json") or not isinstance(body, dict):
            return message(400, "Bad request. Reason: Invalid JSON body")
        problem = body_problem(body)
        if problem:
            return message(400, problem)
        return answer(app.config, body)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return message(404, "Not found")

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Response:
        return message(405, "Method not allowed")

    return app


def message(status: int, text: str) -> Response:
    return Response(json.dumps({"message": text}), status=status, content_type="application/json")


def body_problem(body: dict[str, Any]) -> str:
    texts = body.get("text")
    if texts is None:
        return "Parameter 'text' not specified."
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return "Parameter 'text' must be an array of strings."
    if len(texts) > MAX_TEXTS:
        return f"Too many texts: at most {MAX_TEXTS} per request."
    target = body.get("target_lang")
    if not isinstance(target, str) or not target:
        return "Value for 'target_lang' not specified."
    if target.upper() in DEPRECATED:
        return (f"targetLang='{target.lower()}' is deprecated, please use {DEPRECATED[target.upper()]} instead.")
    if target.upper() not in TARGETS:
        return "Value for 'target_lang' not supported."
    return ""


def answer(config: dict[str, Any], body: dict[str, Any]) -> Response:
    texts, target = body["text"], body["target_lang"].upper()
    characters = sum(len(t) for t in texts)  # DeepL bills Unicode code points of the source
    if any("[quota]" in t for t in texts) or (config["QUOTA_LEFT"] is not None and characters > config["QUOTA_LEFT"]):
        return message(456, "Quota Exceeded")
    if config["QUOTA_LEFT"] is not None:
        config["QUOTA_LEFT"] -= characters
    translations = []
    for text in texts:
        item = {"detected_source_language": "ZH" if any("\u4e00" <= c <= "\u9fff" for c in text) else "EN",
                "text": f"[{target}] {text}"}
        if body.get("show_billed_characters") in (True, "1", "true"):
            item["billed_characters"] = len(text)
        translations.append(item)
    return Response(json.dumps({"translations": translations}, ensure_ascii=False), content_type="application/json")
