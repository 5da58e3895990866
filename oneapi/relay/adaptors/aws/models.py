"""Model names and Bedrock model ids (https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html).

One API's table (relay/adaptor/aws/claude and llama3) first, then current Claude models. A name that
already is a Bedrock id (`anthropic.…`, `meta.…`, an inference profile such as `us.anthropic.…` or
`global.anthropic.…`, or an ARN) is sent as it is.
"""

from __future__ import annotations

CLAUDE = "claude"
LLAMA = "llama"

CLAUDE_IDS = {
    # One API's.
    "claude-instant-1.2": "anthropic.claude-instant-v1",
    "claude-2.0": "anthropic.claude-v2",
    "claude-2.1": "anthropic.claude-v2:1",
    "claude-3-haiku-20240307": "anthropic.claude-3-haiku-20240307-v1:0",
    "claude-3-sonnet-20240229": "anthropic.claude-3-sonnet-20240229-v1:0",
    "claude-3-opus-20240229": "anthropic.claude-3-opus-20240229-v1:0",
    "claude-3-5-sonnet-20240620": "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "claude-3-5-sonnet-20241022": "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "claude-3-5-sonnet-latest": "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "claude-3-5-haiku-20241022": "anthropic.claude-3-5-haiku-20241022-v1:0",
    # Later ones.
    "claude-3-7-sonnet-20250219": "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "claude-sonnet-4-20250514": "anthropic.claude-sonnet-4-20250514-v1:0",
    "claude-opus-4-20250514": "anthropic.claude-opus-4-20250514-v1:0",
    "claude-opus-4-1-20250805": "anthropic.claude-opus-4-1-20250805-v1:0",
    "claude-sonnet-4-5-20250929": "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "claude-haiku-4-5-20251001": "anthropic.claude-haiku-4-5-20251001-v1:0",
    "claude-opus-4-5-20251101": "anthropic.claude-opus-4-5-20251101-v1:0",
}
LLAMA_IDS = {
    "llama3-8b-8192": "meta.llama3-8b-instruct-v1:0",
    "llama3-70b-8192": "meta.llama3-70b-instruct-v1:0",
}
MODELS = (*CLAUDE_IDS, *LLAMA_IDS)

def model_id(model: str) -> str:
    """The Bedrock model id for a model name: the table's, else the name itself (a Bedrock id, or a name
    Bedrock will refuse with its own ValidationException)."""
    return CLAUDE_IDS.get(model) or LLAMA_IDS.get(model) or model


def family(model: str) -> str:
    """`claude` or `llama` (the request and answer formats), or "" for a model we cannot speak to."""
    if model in CLAUDE_IDS:
        return CLAUDE
    if model in LLAMA_IDS:
        return LLAMA
    lowered = model.lower()
    if "anthropic." in lowered or lowered.startswith("claude"):
        return CLAUDE
    if "meta.llama3" in lowered or "meta.llama4" in lowered or lowered.startswith("llama3"):
        return LLAMA
    return ""
