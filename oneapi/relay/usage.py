"""Token usage of a relayed request and the running state of a stream.

The pipeline owns a `StreamState` and hands it to the adaptor's `convert_stream`; the adaptor records
text and usage in it as chunks pass. When the client disconnects the generator is closed mid-way, and
the pipeline still reads what was delivered from the state (a generator's return value would be lost).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    source: str = "upstream"
    """`upstream` when the provider reported it, `counted` when counted locally."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_openai(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens}


@dataclass
class StreamState:
    parts: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    chunks: int = 0
    usage_forwarded: bool = False
    """The adaptor already passed the upstream's usage chunk to the client."""
    size: int = 0
    """UTF-8 bytes of the parts: a bound on their tokens (a token is at least one byte), for metering."""

    def add_text(self, text: str | None) -> None:
        if text:
            self.parts.append(text)
            self.size += len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))

    def drop_after(self, count: int) -> None:
        """Take back every part after the first `count` (text that was not delivered)."""
        del self.parts[count:]
        self.size = sum(len(part.encode("utf-8", "surrogatepass")) for part in self.parts)

    @property
    def text(self) -> str:
        return "".join(self.parts)
