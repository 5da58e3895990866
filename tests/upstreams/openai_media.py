"""A mock of OpenAI's image and audio endpoints, checked as the real API checks them.

POST /v1/images/generations (JSON: prompt required, n, size), /v1/audio/speech (JSON: model, input,
voice required; answers MP3 bytes), /v1/audio/transcriptions and /v1/audio/translations (multipart:
file and model required; answers in `response_format`). A model ending in `-500` fails.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

TRANSCRIPT = "hello from the recording"
AUDIO = b"ID3\x03\x00fake-mp3-bytes"
# https://platform.openai.com/docs/api-reference/audio/createSpeech
SPEECH_FIELDS = {"model", "input", "voice", "instructions", "response_format", "speed", "stream_format"}


def create_app(key: str = "sk-upstream") -> Flask:
    app = Flask("mock-openai-media")
    app.config.update(REQUESTS=[], KEY=key)

    def refuse():
        if request.headers.get("Authorization") != f"Bearer {key}":
            return jsonify(error={"message": "Incorrect API key provided", "type": "invalid_request_error",
                                  "code": "invalid_api_key"}), 401
        return None

    @app.post("/v1/images/generations")
    def images():
        body = request.get_json(silent=True) or {}
        app.config["REQUESTS"].append({"path": request.path, "body": body})
        if (refusal := refuse()) is not None:
            return refusal
        if not body.get("prompt"):
            return jsonify(error={"message": "prompt is required", "type": "invalid_request_error"}), 400
        if str(body.get("model", "")).endswith("-500"):
            return jsonify(error={"message": "server error", "type": "server_error"}), 500
        return jsonify(created=1, data=[{"url": f"https://images.example/{i}.png"} for i in range(body.get("n", 1))])

    @app.post("/v1/audio/speech")
    def speech():
        body = request.get_json(silent=True) or {}
        app.config["REQUESTS"].append({"path": request.path, "body": body})
        if (refusal := refuse()) is not None:
            return refusal
        unknown = sorted(set(body) - SPEECH_FIELDS)
        if unknown:
            return jsonify(error={"message": f"Unrecognized request argument supplied: {unknown[0]}",
                                  "type": "invalid_request_error"}), 400
        if not all(body.get(k) for k in ("model", "input", "voice")):
            return jsonify(error={"message": "model, input and voice are required",
                                  "type": "invalid_request_error"}), 400
        return Response(AUDIO, mimetype="audio/mpeg")

    @app.post("/v1/audio/transcriptions")
    @app.post("/v1/audio/translations")
    def transcriptions():
        app.config["REQUESTS"].append({"path": request.path, "form": dict(request.form),
                                       "files": list(request.files)})
        if (refusal := refuse()) is not None:
            return refusal
        if "file" not in request.files or not request.form.get("model"):
            return jsonify(error={"message": "file and model are required", "type": "invalid_request_error"}), 400
        fmt = request.form.get("response_format", "json")
        if fmt == "text":
            return Response(TRANSCRIPT + "\n", mimetype="text/plain")
        if fmt == "srt":
            return Response(f"1\n00:00:00,000 --> 00:00:02,000\n{TRANSCRIPT}\n", mimetype="text/plain")
        return jsonify(text=TRANSCRIPT)

    return app
