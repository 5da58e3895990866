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


def expected_chunks(cases_dir: Path, case: str) -> list[dict]:
    return [json.loads(line) for line in (cases_dir / case / "expected.jsonl").read_text().splitlines()]


def assert_answer(answer: Any, usage: Any, expected: dict) -> None:
    """The converted answer is the expected one, with the provider's usage."""
    assert answer == expected
    assert usage.prompt_tokens == expected["usage"]["prompt_tokens"]
    assert usage.completion_tokens == expected["usage"].get("completion_tokens", 0)
    assert usage.source == "upstream"


def assert_one_stream(chunks: list[dict], state: StreamState, error: UpstreamError | None) -> None:
    """OpenAI's stream shape: the finish reason only on the last chunk, the role only on the first,
    one id and `created`, and the recorded text is what the chunks carry."""
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert all(f is None for f in finishes[:-1])
    assert state.finish_reason == (finishes[-1] if error is None else None)
    assert [("role" in c["choices"][0]["delta"]) for c in chunks] == [True] + [False] * (len(chunks) - 1)
    assert len({(c["id"], c["created"]) for c in chunks}) == 1
    assert state.text == "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)


def assert_error(cases_dir: Path, case: str, error: UpstreamError | None) -> None:
    """The stream's error is the case's `expected_error.json`, or there is none."""
    if (cases_dir / case / "expected_error.json").exists():
        want = load(cases_dir, case, "expected_error.json")
        assert (error.status, error.type, error.code, error.message) == (
            want["status"], want["type"], want["code"], want["message"])
    else:
        assert error is None
