"""`/v1` routes: thin views over the relay pipeline, and OpenAI's error format for everything here."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from oneapi.relay import catalogview, media, pipeline, proxy
from oneapi.relay.auth import authenticate
from oneapi.relay.errors import LocalError, RelayError
from oneapi.relay.modes import RelayMode

bp = Blueprint("relay", __name__, url_prefix="/v1")


@bp.errorhandler(RelayError)
def relay_error(exc: RelayError) -> tuple[Response, int]:
    return jsonify(exc.body(g.get("request_id", ""))), exc.status


@bp.post("/chat/completions")
def chat_completions():
    return pipeline.relay_json(RelayMode.CHAT)


@bp.post("/completions")
def completions():
    return pipeline.relay_json(RelayMode.COMPLETIONS)


@bp.post("/edits")
def edits():
    return pipeline.relay_json(RelayMode.EDITS)


@bp.post("/embeddings")
def embeddings():
    return pipeline.relay_json(RelayMode.EMBEDDINGS)


@bp.post("/engines/<path:model>/embeddings")
def engine_embeddings(model: str):
    return pipeline.relay_json(RelayMode.EMBEDDINGS, path_model=model)


@bp.post("/moderations")
def moderations():
    return pipeline.relay_json(RelayMode.MODERATIONS)


@bp.post("/images/generations")
def image_generations():
    return media.relay_image()


@bp.post("/audio/speech")
def audio_speech():
    return media.relay_speech()


@bp.post("/audio/transcriptions")
def audio_transcriptions():
    return media.relay_transcription(RelayMode.AUDIO_TRANSCRIPTION)


@bp.post("/audio/translations")
def audio_translations():
    return media.relay_transcription(RelayMode.AUDIO_TRANSLATION)


@bp.route("/oneapi/proxy/<channel_id>/<path:target>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def channel_proxy(channel_id: str, target: str):
    return proxy.relay_proxy(channel_id, target)


@bp.get("/models")
def list_models():
    return catalogview.list_models()


@bp.get("/models/<path:model>")
def retrieve_model(model: str):
    return catalogview.retrieve_model(model)


def not_implemented(**_kwargs):
    authenticate(request.headers.get("Authorization", ""))
    raise LocalError(501, "API not implemented", code="api_not_implemented")


NOT_IMPLEMENTED = (
    ("/images/edits", ["POST"]), ("/images/variations", ["POST"]), ("/files", ["GET", "POST"]),
    ("/files/<fid>", ["GET", "DELETE"]), ("/files/<fid>/content", ["GET"]), ("/fine_tuning/jobs", ["GET", "POST"]),
    ("/fine_tuning/jobs/<jid>", ["GET"]), ("/fine_tuning/jobs/<jid>/cancel", ["POST"]),
    ("/fine_tuning/jobs/<jid>/events", ["GET"]), ("/assistants", ["GET", "POST"]),
    ("/assistants/<aid>", ["GET", "POST", "DELETE"]), ("/assistants/<aid>/files", ["GET", "POST"]),
    ("/assistants/<aid>/files/<fid>", ["GET", "DELETE"]), ("/threads", ["POST"]),
    ("/threads/<tid>", ["GET", "POST", "DELETE"]), ("/threads/<tid>/messages", ["POST"]),
    ("/threads/<tid>/messages/<mid>", ["GET", "POST"]), ("/threads/<tid>/messages/<mid>/files", ["GET"]),
    ("/threads/<tid>/messages/<mid>/files/<fid>", ["GET"]), ("/threads/<tid>/runs", ["GET", "POST"]),
    ("/threads/<tid>/runs/<rid>", ["GET", "POST"]), ("/threads/<tid>/runs/<rid>/submit_tool_outputs", ["POST"]),
    ("/threads/<tid>/runs/<rid>/cancel", ["POST"]), ("/threads/<tid>/runs/<rid>/steps", ["GET"]),
    ("/threads/<tid>/runs/<rid>/steps/<sid>", ["GET"]),
)
for _rule, _methods in NOT_IMPLEMENTED:
    bp.add_url_rule(_rule, "not_implemented_" + _rule.strip("/").replace("/", "_").replace("<", "").replace(">", ""),
                    not_implemented, methods=_methods)
bp.add_url_rule("/models/<path:model>", "delete_model", not_implemented, methods=["DELETE"])

