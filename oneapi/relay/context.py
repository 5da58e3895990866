"""What a relay attempt knows, resolved before any byte goes upstream: plain values only, so adaptors
and the streaming generator never touch the database or the Flask request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oneapi.relay.modes import RelayMode


@dataclass(frozen=True)
class RelayContext:
    mode: RelayMode
    channel_id: int
    channel_type: int
    channel_name: str
    base_url: str
    key: str
    model: str
    """The model sent upstream (after the channel's model mapping)."""
    original_model: str
    """The model the client asked for."""
    stream: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    """The channel's `config` JSON, with One API's legacy `other` folded into `api_version`,
    `library_id` or `plugin` when those are empty."""
    path: str = ""
    """The client's request path under the host (e.g. `/v1/chat/completions`), query included."""
    headers: dict[str, str] = field(default_factory=dict)
    """Client headers an adaptor may forward (lower-case names: `anthropic-version`, `accept` …)."""
    client_wants_usage: bool = False
    """The client asked for a usage chunk (`stream_options.include_usage`)."""
    prompt_tokens: int = 0
    """Prompt tokens counted locally before the call; the fallback when the upstream reports none."""
    request_id: str = ""
    user_id: int = 0
    token_id: int = 0
    token_name: str = ""
    group: str = "default"
    credential: str = ""
    """The channel's short-lived credential (`Adaptor.credential`), filled in by the pipeline."""
    request_body: dict[str, Any] = field(default_factory=dict)
    """The client's request body as it came (read it, never change it): for answers whose usage
    derives from the request (DeepL bills the source text's bytes)."""


def channel_config(channel_config_json: dict[str, Any], other: str, config: Any) -> dict[str, Any]:
    """A channel's config as every request to it sees it: One API's legacy `other` field folded into
    `api_version`, `library_id` and `plugin` when the config has no API version, then the server's
    Gemini and usage settings as defaults. `config` is the app's `Config`; the channel test builds
    its context with this too, so a test sees exactly what a relayed request would."""
    merged = dict(channel_config_json)
    if other and not merged.get("api_version"):
        merged.setdefault("api_version", other)
        merged.setdefault("library_id", other)
        merged.setdefault("plugin", other)
    if "gemini_version" in config.explicitly_set:
        merged.setdefault("gemini_version", config.gemini_version)
    merged.setdefault("gemini_safety_setting", config.gemini_safety_setting)
    merged.setdefault("enforce_include_usage", config.enforce_include_usage)
    aws_endpoint = config.aws_endpoint_url_bedrock_runtime or config.aws_endpoint_url
    if aws_endpoint:
        merged.setdefault("aws_endpoint_url", aws_endpoint)
    return merged
