"""Default price ratios (the options `ModelRatio`, `CompletionRatio`, `GroupRatio`).

Only the group ratios and a seed of model ratios are here yet; the relay's billing completes the
tables. Values are One API's (ratio 1 = $0.002 per 1K tokens).
"""

from __future__ import annotations

DEFAULT_GROUP_RATIO: dict[str, float] = {"default": 1, "vip": 1, "svip": 1}

DEFAULT_MODEL_RATIO: dict[str, float] = {
    "gpt-4": 15, "gpt-4-32k": 30, "gpt-4-turbo": 5, "gpt-4o": 2.5, "gpt-4o-2024-08-06": 1.25,
    "gpt-4o-2024-11-20": 1.25, "gpt-4o-mini": 0.075, "gpt-3.5-turbo": 0.25, "o1": 7.5, "o1-mini": 1.5,
    "o3-mini": 1.5, "text-embedding-3-small": 0.01, "text-embedding-3-large": 0.065,
    "text-embedding-ada-002": 0.05, "whisper-1": 15, "tts-1": 7.5, "tts-1-hd": 15, "dall-e-2": 10,
    "dall-e-3": 20, "claude-3-haiku-20240307": 0.125, "claude-3-opus-20240229": 7.5,
    "claude-3-5-sonnet-20241022": 1.5, "gemini-1.5-pro": 0.625, "gemini-2.0-flash": 0.075,
    "deepseek-chat": 0.07, "deepseek-reasoner": 0.275,
}

DEFAULT_COMPLETION_RATIO: dict[str, float] = {
    "llama3-8b-8192(33)": 2, "llama3-70b-8192(33)": 1.3208, "whisper-1": 0, "deepseek-chat": 2,
    "deepseek-reasoner": 3.9818,
}
