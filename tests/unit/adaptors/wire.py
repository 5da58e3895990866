"""Reading the recorded wire fixtures (tests/fixtures/wire/<provider>/<case>/) and running an
adaptor's stream translation over them, for every adaptor's unit tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState


def load(cases_dir: Path, case: str, name: str) -> Any:
    return json.loads((cases_dir / case / name).read_text())


def translate_stream(adaptor: Adaptor, events: Iterable[SSEEvent],
                     ctx: RelayContext) -> tuple[list[dict], StreamState, UpstreamError | None]:
    """The chunks the adaptor yields until the stream ends or it raises, its state, and the error."""
    state, chunks, error = StreamState(), [], None
    try:
        for chunk in adaptor.convert_stream(events, ctx, state):
            chunks.append(chunk)
    except UpstreamError as exc:
        error = exc
    return chunks, state, error
