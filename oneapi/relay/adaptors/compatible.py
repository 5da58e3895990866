"""OpenAI and every OpenAI-compatible vendor: their channel-type declarations, the ways a vendor's
URLs differ from OpenAI's, and their built-in model lists (One API's at commit 8df4a267, in its
order). The OpenAI adaptor (`openai.py`) serves them all; Azure is declared there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from oneapi.relay.adaptors.gemini import MODELS as GEMINI_MODELS
from oneapi.relay.channeltypes import Balance, ChannelType, Text, TypeSpec
from oneapi.relay.modes import RelayMode as M

ALL_MODES = frozenset({M.CHAT, M.COMPLETIONS, M.EMBEDDINGS, M.MODERATIONS, M.IMAGES, M.EDITS, M.AUDIO_SPEECH,
                       M.AUDIO_TRANSCRIPTION, M.AUDIO_TRANSLATION})
CHAT_ONLY = frozenset({M.CHAT})
CHAT_EMBEDDINGS = frozenset({M.CHAT, M.EMBEDDINGS})


@dataclass(frozen=True)
class Vendor:
    """How a compatible vendor's URLs differ from OpenAI's: fixed paths per mode, or `/v1` dropped."""

    paths: dict[M, str] = field(default_factory=dict)
    strip_v1: bool = False
    headers: dict[str, str] = field(default_factory=dict)


VENDORS: dict[int, Vendor] = {
    ChannelType.MINIMAX: Vendor({M.CHAT: "/v1/text/chatcompletion_v2"}),
    ChannelType.DOUBAO: Vendor({M.CHAT: "/api/v3/chat/completions", M.EMBEDDINGS: "/api/v3/embeddings"}),
    ChannelType.NOVITA: Vendor({M.CHAT: "/chat/completions"}),
    ChannelType.BAIDU_V2: Vendor({M.CHAT: "/v2/chat/completions"}),
    ChannelType.ALI_BAILIAN: Vendor({M.CHAT: "/compatible-mode/v1/chat/completions",
                                     M.EMBEDDINGS: "/compatible-mode/v1/embeddings"}),
    ChannelType.OPENAI_COMPATIBLE: Vendor(strip_v1=True),
    ChannelType.GEMINI_OPENAI_COMPATIBLE: Vendor(strip_v1=True),
    ChannelType.OPENROUTER: Vendor(headers={"HTTP-Referer": "https://github.com/songquanpeng/one-api",
                                            "X-Title": "One API"}),
}

OPENAI_MODELS = (
    "gpt-3.5-turbo", "gpt-3.5-turbo-0301", "gpt-3.5-turbo-0613", "gpt-3.5-turbo-1106", "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-16k", "gpt-3.5-turbo-16k-0613", "gpt-3.5-turbo-instruct", "gpt-4", "gpt-4-0314", "gpt-4-0613",
    "gpt-4-1106-preview", "gpt-4-0125-preview", "gpt-4-32k", "gpt-4-32k-0314", "gpt-4-32k-0613",
    "gpt-4-turbo-preview", "gpt-4-turbo", "gpt-4-turbo-2024-04-09", "gpt-4o", "gpt-4o-2024-05-13",
    "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "chatgpt-4o-latest", "gpt-4o-mini", "gpt-4o-mini-2024-07-18",
    "gpt-4-vision-preview", "text-embedding-ada-002", "text-embedding-3-small", "text-embedding-3-large",
    "text-curie-001", "text-babbage-001", "text-ada-001", "text-davinci-002", "text-davinci-003",
    "text-moderation-latest", "text-moderation-stable", "text-davinci-edit-001", "davinci-002", "babbage-002",
    "dall-e-2", "dall-e-3", "whisper-1", "tts-1", "tts-1-1106", "tts-1-hd", "tts-1-hd-1106", "o1", "o1-2024-12-17",
    "o1-preview", "o1-preview-2024-09-12", "o1-mini", "o1-mini-2024-09-12",
)

AI360_MODELS = (
    "360GPT_S2_V9", "embedding-bert-512-v1", "embedding_s1_v1", "semantic_similarity_s1_v1",
)

OPENROUTER_MODELS = (
    "01-ai/yi-large", "aetherwiing/mn-starcannon-12b", "ai21/jamba-1-5-large", "ai21/jamba-1-5-mini",
    "ai21/jamba-instruct", "aion-labs/aion-1.0", "aion-labs/aion-1.0-mini", "aion-labs/aion-rp-llama-3.1-8b",
    "allenai/llama-3.1-tulu-3-405b", "alpindale/goliath-120b", "alpindale/magnum-72b", "amazon/nova-lite-v1",
    "amazon/nova-micro-v1", "amazon/nova-pro-v1", "anthracite-org/magnum-v2-72b", "anthracite-org/magnum-v4-72b",
    "anthropic/claude-2", "anthropic/claude-2.0", "anthropic/claude-2.0:beta", "anthropic/claude-2.1",
    "anthropic/claude-2.1:beta", "anthropic/claude-2:beta", "anthropic/claude-3-haiku",
    "anthropic/claude-3-haiku:beta", "anthropic/claude-3-opus", "anthropic/claude-3-opus:beta",
    "anthropic/claude-3-sonnet", "anthropic/claude-3-sonnet:beta", "anthropic/claude-3.5-haiku",
    "anthropic/claude-3.5-haiku-20241022", "anthropic/claude-3.5-haiku-20241022:beta",
    "anthropic/claude-3.5-haiku:beta", "anthropic/claude-3.5-sonnet", "anthropic/claude-3.5-sonnet-20240620",
    "anthropic/claude-3.5-sonnet-20240620:beta", "anthropic/claude-3.5-sonnet:beta",
    "cognitivecomputations/dolphin-mixtral-8x22b", "cognitivecomputations/dolphin-mixtral-8x7b", "cohere/command",
    "cohere/command-r", "cohere/command-r-03-2024", "cohere/command-r-08-2024", "cohere/command-r-plus",
    "cohere/command-r-plus-04-2024", "cohere/command-r-plus-08-2024", "cohere/command-r7b-12-2024",
    "databricks/dbrx-instruct", "deepseek/deepseek-chat", "deepseek/deepseek-chat-v2.5",
    "deepseek/deepseek-chat:free", "deepseek/deepseek-r1", "deepseek/deepseek-r1-distill-llama-70b",
    "deepseek/deepseek-r1-distill-llama-70b:free", "deepseek/deepseek-r1-distill-llama-8b",
    "deepseek/deepseek-r1-distill-qwen-1.5b", "deepseek/deepseek-r1-distill-qwen-14b",
    "deepseek/deepseek-r1-distill-qwen-32b", "deepseek/deepseek-r1:free", "eva-unit-01/eva-llama-3.33-70b",
    "eva-unit-01/eva-qwen-2.5-32b", "eva-unit-01/eva-qwen-2.5-72b", "google/gemini-2.0-flash-001",
    "google/gemini-2.0-flash-exp:free", "google/gemini-2.0-flash-lite-preview-02-05:free",
    "google/gemini-2.0-flash-thinking-exp-1219:free", "google/gemini-2.0-flash-thinking-exp:free",
    "google/gemini-2.0-pro-exp-02-05:free", "google/gemini-exp-1206:free", "google/gemini-flash-1.5",
    "google/gemini-flash-1.5-8b", "google/gemini-flash-1.5-8b-exp", "google/gemini-pro", "google/gemini-pro-1.5",
    "google/gemini-pro-vision", "google/gemma-2-27b-it", "google/gemma-2-9b-it", "google/gemma-2-9b-it:free",
    "google/gemma-7b-it", "google/learnlm-1.5-pro-experimental:free", "google/palm-2-chat-bison",
    "google/palm-2-chat-bison-32k", "google/palm-2-codechat-bison", "google/palm-2-codechat-bison-32k",
    "gryphe/mythomax-l2-13b", "gryphe/mythomax-l2-13b:free", "huggingfaceh4/zephyr-7b-beta:free",
    "infermatic/mn-inferor-12b", "inflection/inflection-3-pi", "inflection/inflection-3-productivity",
    "jondurbin/airoboros-l2-70b", "liquid/lfm-3b", "liquid/lfm-40b", "liquid/lfm-7b", "mancer/weaver",
    "meta-llama/llama-2-13b-chat", "meta-llama/llama-2-70b-chat", "meta-llama/llama-3-70b-instruct",
    "meta-llama/llama-3-8b-instruct", "meta-llama/llama-3-8b-instruct:free", "meta-llama/llama-3.1-405b",
    "meta-llama/llama-3.1-405b-instruct", "meta-llama/llama-3.1-70b-instruct", "meta-llama/llama-3.1-8b-instruct",
    "meta-llama/llama-3.2-11b-vision-instruct", "meta-llama/llama-3.2-11b-vision-instruct:free",
    "meta-llama/llama-3.2-1b-instruct", "meta-llama/llama-3.2-3b-instruct",
    "meta-llama/llama-3.2-90b-vision-instruct", "meta-llama/llama-3.3-70b-instruct",
    "meta-llama/llama-3.3-70b-instruct:free", "meta-llama/llama-guard-2-8b", "microsoft/phi-3-medium-128k-instruct",
    "microsoft/phi-3-medium-128k-instruct:free", "microsoft/phi-3-mini-128k-instruct",
    "microsoft/phi-3-mini-128k-instruct:free", "microsoft/phi-3.5-mini-128k-instruct", "microsoft/phi-4",
    "microsoft/wizardlm-2-7b", "microsoft/wizardlm-2-8x22b", "minimax/minimax-01", "mistralai/codestral-2501",
    "mistralai/codestral-mamba", "mistralai/ministral-3b", "mistralai/ministral-8b", "mistralai/mistral-7b-instruct",
    "mistralai/mistral-7b-instruct-v0.1", "mistralai/mistral-7b-instruct-v0.3", "mistralai/mistral-7b-instruct:free",
    "mistralai/mistral-large", "mistralai/mistral-large-2407", "mistralai/mistral-large-2411",
    "mistralai/mistral-medium", "mistralai/mistral-nemo", "mistralai/mistral-nemo:free", "mistralai/mistral-small",
    "mistralai/mistral-small-24b-instruct-2501", "mistralai/mistral-small-24b-instruct-2501:free",
    "mistralai/mistral-tiny", "mistralai/mixtral-8x22b-instruct", "mistralai/mixtral-8x7b",
    "mistralai/mixtral-8x7b-instruct", "mistralai/pixtral-12b", "mistralai/pixtral-large-2411",
    "neversleep/llama-3-lumimaid-70b", "neversleep/llama-3-lumimaid-8b", "neversleep/llama-3-lumimaid-8b:extended",
    "neversleep/llama-3.1-lumimaid-70b", "neversleep/llama-3.1-lumimaid-8b", "neversleep/noromaid-20b",
    "nothingiisreal/mn-celeste-12b", "nousresearch/hermes-2-pro-llama-3-8b", "nousresearch/hermes-3-llama-3.1-405b",
    "nousresearch/hermes-3-llama-3.1-70b", "nousresearch/nous-hermes-2-mixtral-8x7b-dpo",
    "nousresearch/nous-hermes-llama2-13b", "nvidia/llama-3.1-nemotron-70b-instruct",
    "nvidia/llama-3.1-nemotron-70b-instruct:free", "openai/chatgpt-4o-latest", "openai/gpt-3.5-turbo",
    "openai/gpt-3.5-turbo-0125", "openai/gpt-3.5-turbo-0613", "openai/gpt-3.5-turbo-1106",
    "openai/gpt-3.5-turbo-16k", "openai/gpt-3.5-turbo-instruct", "openai/gpt-4", "openai/gpt-4-0314",
    "openai/gpt-4-1106-preview", "openai/gpt-4-32k", "openai/gpt-4-32k-0314", "openai/gpt-4-turbo",
    "openai/gpt-4-turbo-preview", "openai/gpt-4o", "openai/gpt-4o-2024-05-13", "openai/gpt-4o-2024-08-06",
    "openai/gpt-4o-2024-11-20", "openai/gpt-4o-mini", "openai/gpt-4o-mini-2024-07-18", "openai/gpt-4o:extended",
    "openai/o1", "openai/o1-mini", "openai/o1-mini-2024-09-12", "openai/o1-preview", "openai/o1-preview-2024-09-12",
    "openai/o3-mini", "openai/o3-mini-high", "openchat/openchat-7b", "openchat/openchat-7b:free", "openrouter/auto",
    "perplexity/llama-3.1-sonar-huge-128k-online", "perplexity/llama-3.1-sonar-large-128k-chat",
    "perplexity/llama-3.1-sonar-large-128k-online", "perplexity/llama-3.1-sonar-small-128k-chat",
    "perplexity/llama-3.1-sonar-small-128k-online", "perplexity/sonar", "perplexity/sonar-reasoning",
    "pygmalionai/mythalion-13b", "qwen/qvq-72b-preview", "qwen/qwen-2-72b-instruct", "qwen/qwen-2-7b-instruct",
    "qwen/qwen-2-7b-instruct:free", "qwen/qwen-2-vl-72b-instruct", "qwen/qwen-2-vl-7b-instruct",
    "qwen/qwen-2.5-72b-instruct", "qwen/qwen-2.5-7b-instruct", "qwen/qwen-2.5-coder-32b-instruct", "qwen/qwen-max",
    "qwen/qwen-plus", "qwen/qwen-turbo", "qwen/qwen-vl-plus:free", "qwen/qwen2.5-vl-72b-instruct:free",
    "qwen/qwq-32b-preview", "raifle/sorcererlm-8x22b", "sao10k/fimbulvetr-11b-v2", "sao10k/l3-euryale-70b",
    "sao10k/l3-lunaris-8b", "sao10k/l3.1-70b-hanami-x1", "sao10k/l3.1-euryale-70b", "sao10k/l3.3-euryale-70b",
    "sophosympatheia/midnight-rose-70b", "sophosympatheia/rogue-rose-103b-v0.2:free",
    "teknium/openhermes-2.5-mistral-7b", "thedrummer/rocinante-12b", "thedrummer/unslopnemo-12b",
    "undi95/remm-slerp-l2-13b", "undi95/toppy-m-7b", "undi95/toppy-m-7b:free", "x-ai/grok-2-1212",
    "x-ai/grok-2-vision-1212", "x-ai/grok-beta", "x-ai/grok-vision-beta", "xwin-lm/xwin-lm-70b",
)

MOONSHOT_MODELS = (
    "moonshot-v1-8k", "moonshot-v1-32k", "moonshot-v1-128k",
)

BAICHUAN_MODELS = (
    "Baichuan2-Turbo", "Baichuan2-Turbo-192k", "Baichuan-Text-Embedding",
)

MINIMAX_MODELS = (
    "abab6.5-chat", "abab6.5s-chat", "abab6-chat", "abab5.5-chat", "abab5.5s-chat", "MiniMax-VL-01",
    "MiniMax-Text-01",
)

MISTRAL_MODELS = (
    "open-mistral-7b", "open-mixtral-8x7b", "mistral-small-latest", "mistral-medium-latest", "mistral-large-latest",
    "mistral-embed",
)

GROQ_MODELS = (
    "gemma2-9b-it", "llama-3.1-70b-versatile", "llama-3.1-8b-instant", "llama-3.2-11b-text-preview",
    "llama-3.2-11b-vision-preview", "llama-3.2-1b-preview", "llama-3.2-3b-preview", "llama-3.2-90b-text-preview",
    "llama-3.2-90b-vision-preview", "llama-guard-3-8b", "llama3-70b-8192", "llama3-8b-8192",
    "llama3-groq-70b-8192-tool-use-preview", "llama3-groq-8b-8192-tool-use-preview", "llava-v1.5-7b-4096-preview",
    "mixtral-8x7b-32768", "distil-whisper-large-v3-en", "whisper-large-v3", "whisper-large-v3-turbo",
    "deepseek-r1-distill-llama-70b-specdec", "deepseek-r1-distill-llama-70b",
)

LINGYIWANWU_MODELS = (
    "yi-34b-chat-0205", "yi-34b-chat-200k", "yi-vl-plus",
)

STEPFUN_MODELS = (
    "step-1-8k", "step-1-32k", "step-1-128k", "step-1-256k", "step-1-flash", "step-2-16k", "step-1v-8k",
    "step-1v-32k", "step-1x-medium",
)

DEEPSEEK_MODELS = (
    "deepseek-chat", "deepseek-reasoner",
)

TOGETHERAI_MODELS = (
    "meta-llama/Llama-3-70b-chat-hf", "deepseek-ai/deepseek-coder-33b-instruct",
    "mistralai/Mixtral-8x22B-Instruct-v0.1", "Qwen/Qwen1.5-72B-Chat",
)

DOUBAO_MODELS = (
    "Doubao-pro-128k", "Doubao-pro-32k", "Doubao-pro-4k", "Doubao-lite-128k", "Doubao-lite-32k", "Doubao-lite-4k",
    "Doubao-embedding",
)

NOVITA_MODELS = (
    "meta-llama/llama-3-8b-instruct", "meta-llama/llama-3-70b-instruct", "nousresearch/hermes-2-pro-llama-3-8b",
    "nousresearch/nous-hermes-llama2-13b", "mistralai/mistral-7b-instruct",
    "cognitivecomputations/dolphin-mixtral-8x22b", "sao10k/l3-70b-euryale-v2.1", "sophosympatheia/midnight-rose-70b",
    "gryphe/mythomax-l2-13b", "Nous-Hermes-2-Mixtral-8x7B-DPO", "lzlv_70b", "teknium/openhermes-2.5-mistral-7b",
    "microsoft/wizardlm-2-8x22b",
)

SILICONFLOW_MODELS = (
    "deepseek-ai/deepseek-llm-67b-chat", "Qwen/Qwen1.5-14B-Chat", "Qwen/Qwen1.5-7B-Chat", "Qwen/Qwen1.5-110B-Chat",
    "Qwen/Qwen1.5-32B-Chat", "01-ai/Yi-1.5-6B-Chat", "01-ai/Yi-1.5-9B-Chat-16K", "01-ai/Yi-1.5-34B-Chat-16K",
    "THUDM/chatglm3-6b", "deepseek-ai/DeepSeek-V2-Chat", "THUDM/glm-4-9b-chat", "Qwen/Qwen2-72B-Instruct",
    "Qwen/Qwen2-7B-Instruct", "Qwen/Qwen2-57B-A14B-Instruct", "deepseek-ai/DeepSeek-Coder-V2-Instruct",
    "Qwen/Qwen2-1.5B-Instruct", "internlm/internlm2_5-7b-chat", "BAAI/bge-large-en-v1.5", "BAAI/bge-large-zh-v1.5",
    "Pro/Qwen/Qwen2-7B-Instruct", "Pro/Qwen/Qwen2-1.5B-Instruct", "Pro/Qwen/Qwen1.5-7B-Chat",
    "Pro/THUDM/glm-4-9b-chat", "Pro/THUDM/chatglm3-6b", "Pro/01-ai/Yi-1.5-9B-Chat-16K", "Pro/01-ai/Yi-1.5-6B-Chat",
    "Pro/google/gemma-2-9b-it", "Pro/internlm/internlm2_5-7b-chat", "Pro/meta-llama/Meta-Llama-3-8B-Instruct",
    "Pro/mistralai/Mistral-7B-Instruct-v0.2",
)

XAI_MODELS = (
    "grok-2", "grok-vision-beta", "grok-2-vision-1212", "grok-2-vision", "grok-2-vision-latest", "grok-2-1212",
    "grok-2-latest", "grok-beta",
)

BAIDUV2_MODELS = (
    "ernie-4.0-8k-latest", "ernie-4.0-8k-preview", "ernie-4.0-8k", "ernie-4.0-turbo-8k-latest",
    "ernie-4.0-turbo-8k-preview", "ernie-4.0-turbo-8k", "ernie-4.0-turbo-128k", "ernie-3.5-8k-preview",
    "ernie-3.5-8k", "ernie-3.5-128k", "ernie-speed-8k", "ernie-speed-128k", "ernie-speed-pro-128k", "ernie-lite-8k",
    "ernie-lite-pro-128k", "ernie-tiny-8k", "ernie-char-8k", "ernie-char-fiction-8k", "ernie-novel-8k",
    "deepseek-v3", "deepseek-r1", "deepseek-r1-distill-qwen-32b", "deepseek-r1-distill-qwen-14b",
)

XUNFEIV2_MODELS = (
    "lite", "generalv3", "pro-128k", "generalv3.5", "max-32k", "4.0Ultra",
)

ALIBAILIAN_MODELS = (
    "qwen-turbo", "qwen-plus", "qwen-long", "qwen-max", "qwen-coder-plus", "qwen-coder-plus-latest",
    "qwen-coder-turbo", "qwen-coder-turbo-latest", "qwen-mt-plus", "qwen-mt-turbo", "qwq-32b-preview", "deepseek-r1",
    "deepseek-v3",
)

# The OpenAI-family proxies, Custom, FastGPT and OpenAI-compatible share OpenAI's list; only OpenAI
# itself lists it in `/v1/models`, where One API left out OpenRouter, Bailian and Gemini (OpenAI).
_SPECS = (
    TypeSpec(ChannelType.UNKNOWN, Text("未知", "Unknown"), ALL_MODES),
    TypeSpec(ChannelType.OPENAI, Text("OpenAI", "OpenAI"), ALL_MODES, models=OPENAI_MODELS, owner="openai",
             base_url="https://api.openai.com",
             balance=Balance("openai", "https://api.openai.com", "$")),
    TypeSpec(ChannelType.API2D, Text("代理：API2D", "Proxy: API2D"), ALL_MODES, models=OPENAI_MODELS,
             base_url="https://oa.api2d.net"),
    TypeSpec(ChannelType.CLOSEAI, Text("代理：CloseAI", "Proxy: CloseAI"), ALL_MODES, models=OPENAI_MODELS,
             base_url="https://api.closeai-proxy.xyz",
             balance=Balance("credit_grants", "https://api.closeai-proxy.xyz", "¥", field="total_available")),
    TypeSpec(ChannelType.OPENAI_SB, Text("代理：OpenAI-SB", "Proxy: OpenAI-SB"), ALL_MODES, models=OPENAI_MODELS,
             base_url="https://api.openai-sb.com",
             balance=Balance("openai_sb", "https://api.openai-sb.com", "¥/10000")),
    TypeSpec(ChannelType.OPENAI_MAX, Text("代理：OpenAI Max", "Proxy: OpenAI Max"), ALL_MODES, models=OPENAI_MODELS,
             base_url="https://api.openaimax.com"),
    TypeSpec(ChannelType.OHMYGPT, Text("代理：OhMyGPT", "Proxy: OhMyGPT"), ALL_MODES, models=OPENAI_MODELS,
             base_url="https://api.ohmygpt.com"),
    TypeSpec(ChannelType.CUSTOM, Text("自定义渠道", "Custom channel"), ALL_MODES, models=OPENAI_MODELS,
             base_url_input="custom", balance=Balance("openai", "", "$")),
    TypeSpec(ChannelType.AILS, Text("代理：AI.LS", "Proxy: AI.LS"), ALL_MODES, models=OPENAI_MODELS,
             base_url="https://api.caipacity.com"),
    TypeSpec(ChannelType.AIPROXY, Text("代理：AI Proxy", "Proxy: AI Proxy"), ALL_MODES, models=OPENAI_MODELS,
             base_url="https://api.aiproxy.io",
             balance=Balance("aiproxy", "https://aiproxy.io", "")),
    TypeSpec(ChannelType.API2GPT, Text("代理：API2GPT", "Proxy: API2GPT"), ALL_MODES, models=OPENAI_MODELS,
             base_url="https://api.api2gpt.com",
             balance=Balance("credit_grants", "https://api.api2gpt.com", "¥", field="total_remaining")),
    TypeSpec(ChannelType.AIGC2D, Text("代理：AIGC2D", "Proxy: AIGC2D"), ALL_MODES, models=OPENAI_MODELS,
             base_url="https://api.aigc2d.com",
             balance=Balance("credit_grants", "https://api.aigc2d.com", "", field="total_available")),
    TypeSpec(ChannelType.AI360, Text("360 智脑", "360 AI"), ALL_MODES, models=AI360_MODELS, owner="360",
             base_url="https://ai.360.cn"),
    TypeSpec(ChannelType.OPENROUTER, Text("OpenRouter", "OpenRouter"), ALL_MODES, models=OPENROUTER_MODELS,
             base_url="https://openrouter.ai/api",
             balance=Balance("openrouter", "https://openrouter.ai/api", "$")),
    TypeSpec(ChannelType.FASTGPT, Text("知识库：FastGPT", "Knowledge base: FastGPT"), ALL_MODES, models=OPENAI_MODELS,
             base_url="https://fastgpt.run/api/openapi",
             base_url_input="fastgpt", key_format="APIKey-AppId"),
    TypeSpec(ChannelType.MOONSHOT, Text("Moonshot AI", "Moonshot AI"), ALL_MODES,
             models=MOONSHOT_MODELS, owner="moonshot",
             base_url="https://api.moonshot.cn"),
    TypeSpec(ChannelType.BAICHUAN, Text("百川大模型", "Baichuan"), ALL_MODES, models=BAICHUAN_MODELS, owner="baichuan",
             base_url="https://api.baichuan-ai.com"),
    TypeSpec(ChannelType.MINIMAX, Text("MiniMax", "MiniMax"), CHAT_ONLY, models=MINIMAX_MODELS, owner="minimax",
             base_url="https://api.minimax.chat"),
    TypeSpec(ChannelType.MISTRAL, Text("Mistral AI", "Mistral AI"), ALL_MODES, models=MISTRAL_MODELS, owner="mistralai",
             base_url="https://api.mistral.ai"),
    TypeSpec(ChannelType.GROQ, Text("Groq", "Groq"), ALL_MODES, models=GROQ_MODELS, owner="groq",
             base_url="https://api.groq.com/openai"),
    TypeSpec(ChannelType.LINGYIWANWU, Text("零一万物", "01.AI"), ALL_MODES,
             models=LINGYIWANWU_MODELS, owner="lingyiwanwu",
             base_url="https://api.lingyiwanwu.com"),
    TypeSpec(ChannelType.STEPFUN, Text("阶跃星辰", "StepFun"), ALL_MODES, models=STEPFUN_MODELS, owner="stepfun",
             base_url="https://api.stepfun.com"),
    TypeSpec(ChannelType.DEEPSEEK, Text("DeepSeek", "DeepSeek"), ALL_MODES, models=DEEPSEEK_MODELS, owner="deepseek",
             base_url="https://api.deepseek.com",
             balance=Balance("deepseek", "https://api.deepseek.com", "¥")),
    TypeSpec(ChannelType.TOGETHER_AI, Text("together.ai", "together.ai"), ALL_MODES,
             models=TOGETHERAI_MODELS, owner="together.ai",
             base_url="https://api.together.xyz"),
    TypeSpec(ChannelType.DOUBAO, Text("字节火山引擎", "ByteDance Doubao (Volcano Engine)"), CHAT_EMBEDDINGS,
             models=DOUBAO_MODELS, owner="doubao",
             base_url="https://ark.cn-beijing.volces.com",
             notice=Text(
                 "豆包：请在火山引擎控制台创建推理接入点，以接入点名称作为模型名，例如 ep-20240608051426-tkxvl。",
                 "Doubao: create an inference endpoint in the Volcano Engine console and use its name as "
                 "the model, e.g. ep-20240608051426-tkxvl.")),
    TypeSpec(ChannelType.NOVITA, Text("Novita", "Novita"), CHAT_ONLY, models=NOVITA_MODELS, owner="novita",
             base_url="https://api.novita.ai/v3/openai"),
    TypeSpec(ChannelType.SILICONFLOW, Text("SiliconFlow", "SiliconFlow"), ALL_MODES,
             models=SILICONFLOW_MODELS, owner="siliconflow",
             base_url="https://api.siliconflow.cn",
             balance=Balance("siliconflow", "https://api.siliconflow.cn", "¥")),
    TypeSpec(ChannelType.XAI, Text("xAI", "xAI"), ALL_MODES, models=XAI_MODELS, owner="xai",
             base_url="https://api.x.ai"),
    TypeSpec(ChannelType.BAIDU_V2, Text("百度文心千帆 V2", "Baidu Qianfan V2"), CHAT_ONLY,
             models=BAIDUV2_MODELS, owner="baiduv2",
             base_url="https://qianfan.baidubce.com"),
    TypeSpec(ChannelType.XUNFEI_V2, Text("讯飞星火认知 V2", "iFlytek Spark V2"), ALL_MODES,
             models=XUNFEIV2_MODELS, owner="xunfeiv2",
             base_url="https://spark-api-open.xf-yun.com"),
    TypeSpec(ChannelType.ALI_BAILIAN, Text("阿里云百炼", "Alibaba Cloud Bailian"), CHAT_EMBEDDINGS,
             models=ALIBAILIAN_MODELS,
             base_url="https://dashscope.aliyuncs.com"),
    TypeSpec(ChannelType.OPENAI_COMPATIBLE, Text("OpenAI 兼容", "OpenAI compatible"), ALL_MODES,
             models=OPENAI_MODELS,
             base_url_input="compatible"),
    TypeSpec(ChannelType.GEMINI_OPENAI_COMPATIBLE, Text("Gemini (OpenAI)", "Gemini (OpenAI)"),
             frozenset({M.CHAT, M.EMBEDDINGS, M.IMAGES}),
             models=GEMINI_MODELS,
             base_url="https://generativelanguage.googleapis.com/v1beta/openai/"),
)
SPECS = tuple(dataclasses.replace(spec, vendor=spec.id != ChannelType.OPENAI) for spec in _SPECS)
