"""Relay modes (One API's relaymode constants) and the mode of a request path."""

from __future__ import annotations

import enum


class RelayMode(enum.IntEnum):
    UNKNOWN = 0
    CHAT = 1
    COMPLETIONS = 2
    EMBEDDINGS = 3
    MODERATIONS = 4
    IMAGES = 5
    EDITS = 6
    AUDIO_SPEECH = 7
    AUDIO_TRANSCRIPTION = 8
    AUDIO_TRANSLATION = 9
    PROXY = 10


_PREFIXES = (
    ("/v1/chat/completions", RelayMode.CHAT),
    ("/v1/completions", RelayMode.COMPLETIONS),
    ("/v1/embeddings", RelayMode.EMBEDDINGS),
    ("/v1/moderations", RelayMode.MODERATIONS),
    ("/v1/images/generations", RelayMode.IMAGES),
    ("/v1/edits", RelayMode.EDITS),
    ("/v1/audio/speech", RelayMode.AUDIO_SPEECH),
    ("/v1/audio/transcriptions", RelayMode.AUDIO_TRANSCRIPTION),
    ("/v1/audio/translations", RelayMode.AUDIO_TRANSLATION),
    ("/v1/oneapi/proxy", RelayMode.PROXY),
)


def mode_for_path(path: str) -> RelayMode:
    for prefix, mode in _PREFIXES:
        if path.startswith(prefix):
            return mode
    if path.endswith("embeddings"):
        return RelayMode.EMBEDDINGS
    return RelayMode.UNKNOWN
