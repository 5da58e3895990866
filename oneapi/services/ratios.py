"""Default price ratios: the options `ModelRatio`, `CompletionRatio` and `GroupRatio`, and the image tables.

Pure data, One API's numbers at commit 8df4a267 (relay/billing/ratio). Ratio 1 = $0.002 per 1K tokens = 1 quota
per token. One API writes many prices as `<price> * USD` (USD = 500), `* MILLI_USD` (0.5) or `* RMB` (500 // 7 = 71,
an integer); each value below is that expression evaluated exactly and then rounded once to a float, as Go's
constant arithmetic does. A `name(33)` key prices `name` on channel type 33 only. The rules live in billing.py.
"""

from __future__ import annotations

DEFAULT_GROUP_RATIO: dict[str, float] = {"default": 1, "vip": 1, "svip": 1}

DEFAULT_MODEL_RATIO: dict[str, float] = {
    # OpenAI
    "gpt-4": 15, "gpt-4-0314": 15, "gpt-4-0613": 15, "gpt-4-32k": 30, "gpt-4-32k-0314": 30, "gpt-4-32k-0613": 30,
    "gpt-4-1106-preview": 5, "gpt-4-0125-preview": 5, "gpt-4-turbo-preview": 5, "gpt-4-turbo": 5,
    "gpt-4-turbo-2024-04-09": 5, "gpt-4o": 2.5, "chatgpt-4o-latest": 2.5, "gpt-4o-2024-05-13": 2.5,
    "gpt-4o-2024-08-06": 1.25, "gpt-4o-2024-11-20": 1.25, "gpt-4o-mini": 0.075, "gpt-4o-mini-2024-07-18": 0.075,
    "gpt-4-vision-preview": 5, "gpt-3.5-turbo": 0.25, "gpt-3.5-turbo-0301": 0.75, "gpt-3.5-turbo-0613": 0.75,
    "gpt-3.5-turbo-16k": 1.5, "gpt-3.5-turbo-16k-0613": 1.5, "gpt-3.5-turbo-instruct": 0.75, "gpt-3.5-turbo-1106": 0.5,
    "gpt-3.5-turbo-0125": 0.25, "o1": 7.5, "o1-2024-12-17": 7.5, "o1-preview": 7.5, "o1-preview-2024-09-12": 7.5,
    "o1-mini": 1.5, "o1-mini-2024-09-12": 1.5, "o3-mini": 1.5, "o3-mini-2025-01-31": 1.5, "davinci-002": 1,
    "babbage-002": 0.2, "text-ada-001": 0.2, "text-babbage-001": 0.25, "text-curie-001": 1, "text-davinci-002": 10,
    "text-davinci-003": 10, "text-davinci-edit-001": 10, "code-davinci-edit-001": 10, "whisper-1": 15, "tts-1": 7.5,
    "tts-1-1106": 7.5, "tts-1-hd": 15, "tts-1-hd-1106": 15, "davinci": 10, "curie": 10, "babbage": 10, "ada": 10,
    "text-embedding-ada-002": 0.05, "text-embedding-3-small": 0.01, "text-embedding-3-large": 0.065,
    "text-search-ada-doc-001": 10, "text-moderation-stable": 0.1, "text-moderation-latest": 0.1, "dall-e-2": 10,
    "dall-e-3": 20,
    # Anthropic
    "claude-instant-1.2": 0.4, "claude-2.0": 4, "claude-2.1": 4, "claude-3-haiku-20240307": 0.125,
    "claude-3-5-haiku-20241022": 0.5, "claude-3-5-haiku-latest": 0.5, "claude-3-sonnet-20240229": 1.5,
    "claude-3-5-sonnet-20240620": 1.5, "claude-3-5-sonnet-20241022": 1.5, "claude-3-5-sonnet-latest": 1.5,
    "claude-3-opus-20240229": 7.5,
    # Baidu ERNIE
    "ERNIE-4.0-8K": 8.52, "ERNIE-3.5-8K": 0.852, "ERNIE-3.5-8K-0205": 1.704, "ERNIE-3.5-8K-1222": 0.852,
    "ERNIE-Bot-8K": 1.704, "ERNIE-3.5-4K-0205": 0.852, "ERNIE-Speed-8K": 0.284, "ERNIE-Speed-128K": 0.284,
    "ERNIE-Lite-8K-0922": 0.568, "ERNIE-Lite-8K-0308": 0.213, "ERNIE-Tiny-8K": 0.071, "BLOOMZ-7B": 0.284,
    "Embedding-V1": 0.142, "bge-large-zh": 0.142, "bge-large-en": 0.142, "tao-8k": 0.142,
    # Google Gemini
    "gemini-pro": 0.125, "gemini-1.0-pro": 0.0625, "gemini-1.5-pro": 0.625, "gemini-1.5-pro-001": 0.625,
    "gemini-1.5-pro-experimental": 0.625, "gemini-1.5-flash": 0.0375, "gemini-1.5-flash-001": 0.0375,
    "gemini-1.5-flash-8b": 0.01875, "gemini-2.0-flash-exp": 0.0375, "gemini-2.0-flash": 0.075,
    "gemini-2.0-flash-001": 0.075, "gemini-2.0-flash-lite-preview-02-05": 0.0375,
    "gemini-2.0-flash-thinking-exp-01-21": 0.0375, "gemini-2.0-pro-exp-02-05": 0.625, "aqa": 1,
    # Zhipu
    "glm-zero-preview": 0.71, "glm-4-plus": 3.55, "glm-4-0520": 7.1, "glm-4-airx": 0.71, "glm-4-air": 0.0355,
    "glm-4-long": 0.071, "glm-4-flashx": 0.0071, "glm-4-flash": 0, "glm-4": 7.1, "glm-3-turbo": 0.071,
    "glm-4v-plus": 0.284, "glm-4v": 3.55, "glm-4v-flash": 0, "cogview-3-plus": 4.26, "cogview-3": 7.1,
    "cogview-3-flash": 0, "cogviewx": 35.5, "cogviewx-flash": 0, "charglm-4": 0.071, "emohaa": 1.065,
    "codegeex-4": 0.0071, "embedding-2": 0.0355, "embedding-3": 0.0355,
    # Alibaba DashScope (Qwen, Wanx, hosted DeepSeek)
    "qwen-turbo": 0.0213, "qwen-turbo-latest": 0.0213, "qwen-plus": 0.0568, "qwen-plus-latest": 0.0568,
    "qwen-max": 0.1704, "qwen-max-latest": 0.1704, "qwen-max-longcontext": 0.0355, "qwen-vl-max": 0.213,
    "qwen-vl-max-latest": 0.213, "qwen-vl-plus": 0.1065, "qwen-vl-plus-latest": 0.1065, "qwen-vl-ocr": 0.355,
    "qwen-vl-ocr-latest": 0.355, "qwen-audio-turbo": 1.4286, "qwen-math-plus": 0.284, "qwen-math-plus-latest": 0.284,
    "qwen-math-turbo": 0.142, "qwen-math-turbo-latest": 0.142, "qwen-coder-plus": 0.2485,
    "qwen-coder-plus-latest": 0.2485, "qwen-coder-turbo": 0.142, "qwen-coder-turbo-latest": 0.142,
    "qwen-mt-plus": 1.065, "qwen-mt-turbo": 0.071, "qwq-32b-preview": 0.142, "qwen2.5-72b-instruct": 0.284,
    "qwen2.5-32b-instruct": 2.13, "qwen2.5-14b-instruct": 0.071, "qwen2.5-7b-instruct": 0.0355,
    "qwen2.5-3b-instruct": 0.426, "qwen2.5-1.5b-instruct": 0.0213, "qwen2.5-0.5b-instruct": 0.0213,
    "qwen2-72b-instruct": 0.284, "qwen2-57b-a14b-instruct": 0.2485, "qwen2-7b-instruct": 0.071,
    "qwen2-1.5b-instruct": 0.071, "qwen2-0.5b-instruct": 0.071, "qwen1.5-110b-chat": 0.497, "qwen1.5-72b-chat": 0.355,
    "qwen1.5-32b-chat": 0.2485, "qwen1.5-14b-chat": 0.142, "qwen1.5-7b-chat": 0.071, "qwen1.5-1.8b-chat": 0.071,
    "qwen1.5-0.5b-chat": 0.071, "qwen-72b-chat": 1.42, "qwen-14b-chat": 0.568, "qwen-7b-chat": 0.426,
    "qwen-1.8b-chat": 0.426, "qwen-1.8b-longcontext-chat": 0.426, "qvq-72b-preview": 0.852,
    "qwen2.5-vl-72b-instruct": 1.136, "qwen2.5-vl-7b-instruct": 0.142, "qwen2.5-vl-3b-instruct": 0.0852,
    "qwen2-vl-7b-instruct": 1.136, "qwen2-vl-2b-instruct": 0.142, "qwen-vl-v1": 0.142, "qwen-vl-chat-v1": 0.142,
    "qwen2-audio-instruct": 0.142, "qwen-audio-chat": 0.142, "qwen2.5-math-72b-instruct": 0.284,
    "qwen2.5-math-7b-instruct": 0.071, "qwen2.5-math-1.5b-instruct": 0.071, "qwen2-math-72b-instruct": 0.284,
    "qwen2-math-7b-instruct": 0.071, "qwen2-math-1.5b-instruct": 0.071, "qwen2.5-coder-32b-instruct": 0.142,
    "qwen2.5-coder-14b-instruct": 0.142, "qwen2.5-coder-7b-instruct": 0.071, "qwen2.5-coder-3b-instruct": 0.071,
    "qwen2.5-coder-1.5b-instruct": 0.071, "qwen2.5-coder-0.5b-instruct": 0.071, "text-embedding-v1": 0.0497,
    "text-embedding-v3": 0.0497, "text-embedding-v2": 0.0497, "text-embedding-async-v2": 0.0497,
    "text-embedding-async-v1": 0.0497, "ali-stable-diffusion-xl": 8, "ali-stable-diffusion-v1.5": 8, "wanx-v1": 8,
    "deepseek-r1": 0.142, "deepseek-v3": 0.071, "deepseek-r1-distill-qwen-1.5b": 0.071,
    "deepseek-r1-distill-qwen-7b": 0.0355, "deepseek-r1-distill-qwen-14b": 0.071, "deepseek-r1-distill-qwen-32b": 0.142,
    "deepseek-r1-distill-llama-8b": 0.0355, "deepseek-r1-distill-llama-70b": 0.284,
    # iFlytek Spark
    "SparkDesk": 1.2858, "SparkDesk-v1.1": 1.2858, "SparkDesk-v2.1": 1.2858, "SparkDesk-v3.1": 1.2858,
    "SparkDesk-v3.1-128K": 1.2858, "SparkDesk-v3.5": 1.2858, "SparkDesk-v3.5-32K": 1.2858, "SparkDesk-v4.0": 1.2858,
    # 360
    "360GPT_S2_V9": 0.8572, "embedding-bert-512-v1": 0.0715, "embedding_s1_v1": 0.0715,
    "semantic_similarity_s1_v1": 0.0715,
    # Tencent Hunyuan
    "hunyuan-turbo": 1.065, "hunyuan-large": 0.284, "hunyuan-large-longcontext": 0.426, "hunyuan-standard": 0.0568,
    "hunyuan-standard-256K": 0.0355, "hunyuan-translation-lite": 0.355, "hunyuan-role": 0.284,
    "hunyuan-functioncall": 0.284, "hunyuan-code": 0.284, "hunyuan-turbo-vision": 5.68, "hunyuan-vision": 1.278,
    "hunyuan-embedding": 0.0497,
    # Moonshot
    "moonshot-v1-8k": 0.852, "moonshot-v1-32k": 1.704, "moonshot-v1-128k": 4.26,
    # Baichuan
    "Baichuan2-Turbo": 0.568, "Baichuan2-Turbo-192k": 1.136, "Baichuan2-53B": 1.42,
    # MiniMax
    "abab6.5-chat": 2.13, "abab6.5s-chat": 0.71, "abab6-chat": 7.1, "abab5.5-chat": 1.065, "abab5.5s-chat": 0.355,
    # Mistral
    "open-mistral-7b": 0.125, "open-mixtral-8x7b": 0.35, "mistral-small-latest": 1, "mistral-medium-latest": 1.35,
    "mistral-large-latest": 4, "mistral-embed": 0.05,
    # Groq, at its list prices (https://groq.com/pricing, USD per 1M input tokens / 2; output prices
    # in NAMED_COMPLETION_RATIOS). One API divided the per-million prices by 1e6 where 1e3 was meant,
    # which priced these models 1000x below cost and let a user without money through for free.
    "gemma-7b-it": 0.035, "gemma2-9b-it": 0.1, "llama-3.1-70b-versatile": 0.295,
    "llama-3.1-8b-instant": 0.025, "llama-3.2-11b-text-preview": 0.09, "llama-3.2-11b-vision-preview": 0.09,
    "llama-3.2-1b-preview": 0.02, "llama-3.2-3b-preview": 0.03, "llama-3.2-90b-text-preview": 0.45,
    "llama-guard-3-8b": 0.1, "llama3-70b-8192": 0.295, "llama3-8b-8192": 0.025,
    "llama3-groq-70b-8192-tool-use-preview": 0.445, "llama3-groq-8b-8192-tool-use-preview": 0.095,
    "mixtral-8x7b-32768": 0.12,
    # 01.AI
    "yi-34b-chat-0205": 0.1775, "yi-34b-chat-200k": 0.852, "yi-vl-plus": 0.426,
    # StepFun, at its list prices (https://platform.stepfun.com/docs/pricing/details, yuan per 1M input
    # tokens / 1000 × RMB); One API divided by 1000 twice. Output prices in NAMED_COMPLETION_RATIOS.
    "step-1-8k": 0.355, "step-1-32k": 1.065, "step-1-128k": 2.84, "step-1-256k": 6.745,
    "step-1-flash": 0.071, "step-2-16k": 2.698, "step-1v-8k": 0.355, "step-1v-32k": 1.065,
    # AWS Bedrock Llama 3: priced only on channel type 33
    "llama3-8b-8192(33)": 0.15, "llama3-70b-8192(33)": 1.325,
    # Cohere
    "command": 0.5, "command-nightly": 0.5, "command-light": 0.5, "command-light-nightly": 0.5, "command-r": 0.25,
    "command-r-plus": 1.5,
    # DeepSeek
    "deepseek-chat": 0.07, "deepseek-reasoner": 0.275,
    # DeepL
    "deepl-zh": 12.5, "deepl-en": 12.5, "deepl-ja": 12.5,
    # xAI
    "grok-beta": 2.5,
    # Replicate image models (charged per image)
    "black-forest-labs/flux-1.1-pro": 20, "black-forest-labs/flux-1.1-pro-ultra": 30,
    "black-forest-labs/flux-canny-dev": 12.5, "black-forest-labs/flux-canny-pro": 25,
    "black-forest-labs/flux-depth-dev": 12.5, "black-forest-labs/flux-depth-pro": 25,
    "black-forest-labs/flux-dev": 12.5, "black-forest-labs/flux-dev-lora": 16, "black-forest-labs/flux-fill-dev": 20,
    "black-forest-labs/flux-fill-pro": 25, "black-forest-labs/flux-pro": 27.5, "black-forest-labs/flux-redux-dev": 12.5,
    "black-forest-labs/flux-redux-schnell": 1.5, "black-forest-labs/flux-schnell": 1.5,
    "black-forest-labs/flux-schnell-lora": 10, "ideogram-ai/ideogram-v2": 40, "ideogram-ai/ideogram-v2-turbo": 25,
    "recraft-ai/recraft-v3": 20, "recraft-ai/recraft-v3-svg": 40, "stability-ai/stable-diffusion-3": 17.5,
    "stability-ai/stable-diffusion-3.5-large": 32.5, "stability-ai/stable-diffusion-3.5-large-turbo": 20,
    "stability-ai/stable-diffusion-3.5-medium": 17.5,
    # Replicate language models
    "ibm-granite/granite-20b-code-instruct-8k": 50, "ibm-granite/granite-3.0-2b-instruct": 15,
    "ibm-granite/granite-3.0-8b-instruct": 25, "ibm-granite/granite-8b-code-instruct-128k": 25, "meta/llama-2-13b": 50,
    "meta/llama-2-13b-chat": 50, "meta/llama-2-70b": 325, "meta/llama-2-70b-chat": 325, "meta/llama-2-7b": 25,
    "meta/llama-2-7b-chat": 25, "meta/meta-llama-3.1-405b-instruct": 4750, "meta/meta-llama-3-70b": 325,
    "meta/meta-llama-3-70b-instruct": 325, "meta/meta-llama-3-8b": 25, "meta/meta-llama-3-8b-instruct": 25,
    "mistralai/mistral-7b-instruct-v0.2": 25, "mistralai/mistral-7b-v0.1": 25,
    "mistralai/mixtral-8x7b-instruct-v0.1": 150,
    # OpenRouter
    "01-ai/yi-large": 1.5, "aetherwiing/mn-starcannon-12b": 0.6, "ai21/jamba-1-5-large": 4, "ai21/jamba-1-5-mini": 0.2,
    "ai21/jamba-instruct": 0.35, "aion-labs/aion-1.0": 6, "aion-labs/aion-1.0-mini": 1.2,
    "aion-labs/aion-rp-llama-3.1-8b": 0.1, "allenai/llama-3.1-tulu-3-405b": 5, "alpindale/goliath-120b": 4.6875,
    "alpindale/magnum-72b": 1.125, "amazon/nova-lite-v1": 0.12, "amazon/nova-micro-v1": 0.07, "amazon/nova-pro-v1": 1.6,
    "anthracite-org/magnum-v2-72b": 1.5, "anthracite-org/magnum-v4-72b": 1.125, "anthropic/claude-2": 12,
    "anthropic/claude-2.0": 12, "anthropic/claude-2.0:beta": 12, "anthropic/claude-2.1": 12,
    "anthropic/claude-2.1:beta": 12, "anthropic/claude-2:beta": 12, "anthropic/claude-3-haiku": 0.625,
    "anthropic/claude-3-haiku:beta": 0.625, "anthropic/claude-3-opus": 37.5, "anthropic/claude-3-opus:beta": 37.5,
    "anthropic/claude-3-sonnet": 7.5, "anthropic/claude-3-sonnet:beta": 7.5, "anthropic/claude-3.5-haiku": 2,
    "anthropic/claude-3.5-haiku-20241022": 2, "anthropic/claude-3.5-haiku-20241022:beta": 2,
    "anthropic/claude-3.5-haiku:beta": 2, "anthropic/claude-3.5-sonnet": 7.5,
    "anthropic/claude-3.5-sonnet-20240620": 7.5, "anthropic/claude-3.5-sonnet-20240620:beta": 7.5,
    "anthropic/claude-3.5-sonnet:beta": 7.5, "cognitivecomputations/dolphin-mixtral-8x22b": 0.45,
    "cognitivecomputations/dolphin-mixtral-8x7b": 0.25, "cohere/command": 0.95, "cohere/command-r": 0.7125,
    "cohere/command-r-03-2024": 0.7125, "cohere/command-r-08-2024": 0.285, "cohere/command-r-plus": 7.125,
    "cohere/command-r-plus-04-2024": 7.125, "cohere/command-r-plus-08-2024": 4.75, "cohere/command-r7b-12-2024": 0.075,
    "databricks/dbrx-instruct": 0.6, "deepseek/deepseek-chat": 0.445, "deepseek/deepseek-chat-v2.5": 1,
    "deepseek/deepseek-chat:free": 0, "deepseek/deepseek-r1": 1.2, "deepseek/deepseek-r1-distill-llama-70b": 0.345,
    "deepseek/deepseek-r1-distill-llama-70b:free": 0, "deepseek/deepseek-r1-distill-llama-8b": 0.02,
    "deepseek/deepseek-r1-distill-qwen-1.5b": 0.09, "deepseek/deepseek-r1-distill-qwen-14b": 0.075,
    "deepseek/deepseek-r1-distill-qwen-32b": 0.09, "deepseek/deepseek-r1:free": 0, "eva-unit-01/eva-llama-3.33-70b": 3,
    "eva-unit-01/eva-qwen-2.5-32b": 1.7, "eva-unit-01/eva-qwen-2.5-72b": 3, "google/gemini-2.0-flash-001": 0.2,
    "google/gemini-2.0-flash-exp:free": 0, "google/gemini-2.0-flash-lite-preview-02-05:free": 0,
    "google/gemini-2.0-flash-thinking-exp-1219:free": 0, "google/gemini-2.0-flash-thinking-exp:free": 0,
    "google/gemini-2.0-pro-exp-02-05:free": 0, "google/gemini-exp-1206:free": 0, "google/gemini-flash-1.5": 0.15,
    "google/gemini-flash-1.5-8b": 0.075, "google/gemini-flash-1.5-8b-exp": 0, "google/gemini-pro": 0.75,
    "google/gemini-pro-1.5": 2.5, "google/gemini-pro-vision": 0.75, "google/gemma-2-27b-it": 0.135,
    "google/gemma-2-9b-it": 0.03, "google/gemma-2-9b-it:free": 0, "google/gemma-7b-it": 0.075,
    "google/learnlm-1.5-pro-experimental:free": 0, "google/palm-2-chat-bison": 1, "google/palm-2-chat-bison-32k": 1,
    "google/palm-2-codechat-bison": 1, "google/palm-2-codechat-bison-32k": 1, "gryphe/mythomax-l2-13b": 0.0325,
    "gryphe/mythomax-l2-13b:free": 0, "huggingfaceh4/zephyr-7b-beta:free": 0, "infermatic/mn-inferor-12b": 0.6,
    "inflection/inflection-3-pi": 5, "inflection/inflection-3-productivity": 5, "jondurbin/airoboros-l2-70b": 0.25,
    "liquid/lfm-3b": 0.01, "liquid/lfm-40b": 0.075, "liquid/lfm-7b": 0.005, "mancer/weaver": 1.125,
    "meta-llama/llama-2-13b-chat": 0.11, "meta-llama/llama-2-70b-chat": 0.45, "meta-llama/llama-3-70b-instruct": 0.2,
    "meta-llama/llama-3-8b-instruct": 0.03, "meta-llama/llama-3-8b-instruct:free": 0, "meta-llama/llama-3.1-405b": 1,
    "meta-llama/llama-3.1-405b-instruct": 0.4, "meta-llama/llama-3.1-70b-instruct": 0.15,
    "meta-llama/llama-3.1-8b-instruct": 0.025, "meta-llama/llama-3.2-11b-vision-instruct": 0.0275,
    "meta-llama/llama-3.2-11b-vision-instruct:free": 0, "meta-llama/llama-3.2-1b-instruct": 0.005,
    "meta-llama/llama-3.2-3b-instruct": 0.0125, "meta-llama/llama-3.2-90b-vision-instruct": 0.8,
    "meta-llama/llama-3.3-70b-instruct": 0.15, "meta-llama/llama-3.3-70b-instruct:free": 0,
    "meta-llama/llama-guard-2-8b": 0.1, "microsoft/phi-3-medium-128k-instruct": 0.5,
    "microsoft/phi-3-medium-128k-instruct:free": 0, "microsoft/phi-3-mini-128k-instruct": 0.05,
    "microsoft/phi-3-mini-128k-instruct:free": 0, "microsoft/phi-3.5-mini-128k-instruct": 0.05, "microsoft/phi-4": 0.07,
    "microsoft/wizardlm-2-7b": 0.035, "microsoft/wizardlm-2-8x22b": 0.25, "minimax/minimax-01": 0.55,
    "mistralai/codestral-2501": 0.45, "mistralai/codestral-mamba": 0.125, "mistralai/ministral-3b": 0.02,
    "mistralai/ministral-8b": 0.05, "mistralai/mistral-7b-instruct": 0.0275, "mistralai/mistral-7b-instruct-v0.1": 0.1,
    "mistralai/mistral-7b-instruct-v0.3": 0.0275, "mistralai/mistral-7b-instruct:free": 0, "mistralai/mistral-large": 3,
    "mistralai/mistral-large-2407": 3, "mistralai/mistral-large-2411": 3, "mistralai/mistral-medium": 4.05,
    "mistralai/mistral-nemo": 0.04, "mistralai/mistral-nemo:free": 0, "mistralai/mistral-small": 0.3,
    "mistralai/mistral-small-24b-instruct-2501": 0.07, "mistralai/mistral-small-24b-instruct-2501:free": 0,
    "mistralai/mistral-tiny": 0.125, "mistralai/mixtral-8x22b-instruct": 0.45, "mistralai/mixtral-8x7b": 0.3,
    "mistralai/mixtral-8x7b-instruct": 0.12, "mistralai/pixtral-12b": 0.05, "mistralai/pixtral-large-2411": 3,
    "neversleep/llama-3-lumimaid-70b": 2.25, "neversleep/llama-3-lumimaid-8b": 0.5625,
    "neversleep/llama-3-lumimaid-8b:extended": 0.5625, "neversleep/llama-3.1-lumimaid-70b": 2.25,
    "neversleep/llama-3.1-lumimaid-8b": 0.5625, "neversleep/noromaid-20b": 1.125, "nothingiisreal/mn-celeste-12b": 0.6,
    "nousresearch/hermes-2-pro-llama-3-8b": 0.02, "nousresearch/hermes-3-llama-3.1-405b": 0.4,
    "nousresearch/hermes-3-llama-3.1-70b": 0.15, "nousresearch/nous-hermes-2-mixtral-8x7b-dpo": 0.3,
    "nousresearch/nous-hermes-llama2-13b": 0.085, "nvidia/llama-3.1-nemotron-70b-instruct": 0.15,
    "nvidia/llama-3.1-nemotron-70b-instruct:free": 0, "openai/chatgpt-4o-latest": 7.5, "openai/gpt-3.5-turbo": 0.75,
    "openai/gpt-3.5-turbo-0125": 0.75, "openai/gpt-3.5-turbo-0613": 1, "openai/gpt-3.5-turbo-1106": 1,
    "openai/gpt-3.5-turbo-16k": 2, "openai/gpt-3.5-turbo-instruct": 1, "openai/gpt-4": 30, "openai/gpt-4-0314": 30,
    "openai/gpt-4-1106-preview": 15, "openai/gpt-4-32k": 60, "openai/gpt-4-32k-0314": 60, "openai/gpt-4-turbo": 15,
    "openai/gpt-4-turbo-preview": 15, "openai/gpt-4o": 5, "openai/gpt-4o-2024-05-13": 7.5,
    "openai/gpt-4o-2024-08-06": 5, "openai/gpt-4o-2024-11-20": 5, "openai/gpt-4o-mini": 0.3,
    "openai/gpt-4o-mini-2024-07-18": 0.3, "openai/gpt-4o:extended": 9, "openai/o1": 30, "openai/o1-mini": 2.2,
    "openai/o1-mini-2024-09-12": 2.2, "openai/o1-preview": 30, "openai/o1-preview-2024-09-12": 30,
    "openai/o3-mini": 2.2, "openai/o3-mini-high": 2.2, "openchat/openchat-7b": 0.0275, "openchat/openchat-7b:free": 0,
    # `openrouter/auto` is not listed: OpenRouter bills it at the price of whichever model it routes
    # to, so it has no price of its own and falls to UNKNOWN_MODEL_RATIO (One API listed -500000,
    # which would credit the caller).
    "perplexity/llama-3.1-sonar-huge-128k-online": 2.5, "perplexity/llama-3.1-sonar-large-128k-chat": 0.5,
    "perplexity/llama-3.1-sonar-large-128k-online": 0.5, "perplexity/llama-3.1-sonar-small-128k-chat": 0.1,
    "perplexity/llama-3.1-sonar-small-128k-online": 0.1, "perplexity/sonar": 0.5, "perplexity/sonar-reasoning": 2.5,
    "pygmalionai/mythalion-13b": 0.6, "qwen/qvq-72b-preview": 0.25, "qwen/qwen-2-72b-instruct": 0.45,
    "qwen/qwen-2-7b-instruct": 0.027, "qwen/qwen-2-7b-instruct:free": 0, "qwen/qwen-2-vl-72b-instruct": 0.2,
    "qwen/qwen-2-vl-7b-instruct": 0.05, "qwen/qwen-2.5-72b-instruct": 0.2, "qwen/qwen-2.5-7b-instruct": 0.025,
    "qwen/qwen-2.5-coder-32b-instruct": 0.08, "qwen/qwen-max": 3.2, "qwen/qwen-plus": 0.6, "qwen/qwen-turbo": 0.1,
    "qwen/qwen-vl-plus:free": 0, "qwen/qwen2.5-vl-72b-instruct:free": 0, "qwen/qwq-32b-preview": 0.09,
    "raifle/sorcererlm-8x22b": 2.25, "sao10k/fimbulvetr-11b-v2": 0.6, "sao10k/l3-euryale-70b": 0.4,
    "sao10k/l3-lunaris-8b": 0.03, "sao10k/l3.1-70b-hanami-x1": 1.5, "sao10k/l3.1-euryale-70b": 0.4,
    "sao10k/l3.3-euryale-70b": 0.4, "sophosympatheia/midnight-rose-70b": 0.4,
    "sophosympatheia/rogue-rose-103b-v0.2:free": 0, "teknium/openhermes-2.5-mistral-7b": 0.085,
    "thedrummer/rocinante-12b": 0.25, "thedrummer/unslopnemo-12b": 0.25, "undi95/remm-slerp-l2-13b": 0.6,
    "undi95/toppy-m-7b": 0.035, "undi95/toppy-m-7b:free": 0, "x-ai/grok-2-1212": 5, "x-ai/grok-2-vision-1212": 5,
    "x-ai/grok-beta": 7.5, "x-ai/grok-vision-beta": 7.5, "xwin-lm/xwin-lm-70b": 1.875,
}

DEFAULT_COMPLETION_RATIO: dict[str, float] = {
    "llama3-8b-8192(33)": 2,
    "llama3-70b-8192(33)": 1.320754716981132,
    "whisper-1": 0,
    "deepseek-chat": 2,
    "deepseek-reasoner": 3.981818181818182,
}

# Completion ratios of named models, consulted after the prefix rules in billing.completion_ratio; not an option.
NAMED_COMPLETION_RATIOS: dict[str, float] = {
    "llama2-70b-4096": 1.25, "llama3-8b-8192": 1.6, "llama3-70b-8192": 1.3389830508474576,
    "command": 2, "command-light": 2, "command-nightly": 2, "command-light-nightly": 2,
    "command-r": 3, "command-r-plus": 5, "grok-beta": 3,
    # Replicate: output price / input price
    "ibm-granite/granite-20b-code-instruct-8k": 5, "ibm-granite/granite-3.0-2b-instruct": 8.333333333333334,
    "ibm-granite/granite-3.0-8b-instruct": 5, "ibm-granite/granite-8b-code-instruct-128k": 5,
    "meta/llama-2-13b": 5, "meta/llama-2-13b-chat": 5, "meta/llama-2-7b": 5, "meta/llama-2-7b-chat": 5,
    "meta/meta-llama-3-8b": 5, "meta/meta-llama-3-8b-instruct": 5,
    "meta/llama-2-70b": 4.230769230769231, "meta/llama-2-70b-chat": 4.230769230769231,
    "meta/meta-llama-3-70b": 4.230769230769231, "meta/meta-llama-3-70b-instruct": 4.230769230769231,
    "meta/meta-llama-3.1-405b-instruct": 1,
    "mistralai/mistral-7b-instruct-v0.2": 5, "mistralai/mistral-7b-v0.1": 5,
    "mistralai/mixtral-8x7b-instruct-v0.1": 3.3333333333333335,
    # Groq: output price / input price where they differ.
    "llama-3.1-8b-instant": 1.6, "llama-3.1-70b-versatile": 1.3389830508474576,
    # StepFun: output price / input price.
    "step-1-8k": 4, "step-1-32k": 4.666666666666667, "step-1-128k": 5, "step-1-256k": 3.1578947368421053,
    "step-1-flash": 4, "step-2-16k": 3.1578947368421053, "step-1v-8k": 4, "step-1v-32k": 4.666666666666667,
}

_ALI_SIZES = {"512x1024": 1, "1024x768": 1, "1024x1024": 1, "576x1024": 1, "1024x576": 1}

# Price multiplier per image size; a model listed here accepts only these sizes (cogview-3 excepted).
IMAGE_SIZE_RATIOS: dict[str, dict[str, float]] = {
    "dall-e-2": {"256x256": 1, "512x512": 1.125, "1024x1024": 1.25},
    "dall-e-3": {"1024x1024": 1, "1024x1792": 2, "1792x1024": 2},
    "ali-stable-diffusion-xl": dict(_ALI_SIZES),
    "ali-stable-diffusion-v1.5": dict(_ALI_SIZES),
    "wanx-v1": {"1024x1024": 1, "720x1280": 1, "1280x720": 1},
    "step-1x-medium": {"256x256": 1, "512x512": 1, "768x768": 1, "1024x1024": 1, "1280x800": 1, "800x1280": 1},
}

# Allowed `n` (images per request), inclusive.
IMAGE_N_RANGE: dict[str, tuple[int, int]] = {
    "dall-e-2": (1, 10), "dall-e-3": (1, 1), "ali-stable-diffusion-xl": (1, 4), "ali-stable-diffusion-v1.5": (1, 4),
    "wanx-v1": (1, 4), "cogview-3": (1, 1), "step-1x-medium": (1, 1),
}

# Longest accepted prompt.
IMAGE_PROMPT_LIMIT: dict[str, int] = {
    "dall-e-2": 1000, "dall-e-3": 4000, "ali-stable-diffusion-xl": 4000, "ali-stable-diffusion-v1.5": 4000,
    "wanx-v1": 4000, "cogview-3": 833, "step-1x-medium": 4000,
}

# Names the upstream expects for models One API renames for pricing.
IMAGE_UPSTREAM_NAMES: dict[str, str] = {
    "ali-stable-diffusion-xl": "stable-diffusion-xl", "ali-stable-diffusion-v1.5": "stable-diffusion-v1.5",
}
