"""One API's channel types: their integer ids, console labels, default base URLs (§7.1) and the
config keys that hold credentials."""

from __future__ import annotations

import enum
from typing import NamedTuple


class ChannelType(enum.IntEnum):
    UNKNOWN = 0
    OPENAI = 1
    API2D = 2
    AZURE = 3
    CLOSEAI = 4
    OPENAI_SB = 5
    OPENAI_MAX = 6
    OHMYGPT = 7
    CUSTOM = 8
    AILS = 9
    AIPROXY = 10
    PALM = 11
    API2GPT = 12
    AIGC2D = 13
    ANTHROPIC = 14
    BAIDU = 15
    ZHIPU = 16
    ALI = 17
    XUNFEI = 18
    AI360 = 19
    OPENROUTER = 20
    AIPROXY_LIBRARY = 21
    FASTGPT = 22
    TENCENT = 23
    GEMINI = 24
    MOONSHOT = 25
    BAICHUAN = 26
    MINIMAX = 27
    MISTRAL = 28
    GROQ = 29
    OLLAMA = 30
    LINGYIWANWU = 31
    STEPFUN = 32
    AWS_CLAUDE = 33
    COZE = 34
    COHERE = 35
    DEEPSEEK = 36
    CLOUDFLARE = 37
    DEEPL = 38
    TOGETHER_AI = 39
    DOUBAO = 40
    NOVITA = 41
    VERTEX_AI = 42
    PROXY = 43
    SILICONFLOW = 44
    XAI = 45
    REPLICATE = 46
    BAIDU_V2 = 47
    XUNFEI_V2 = 48
    ALI_BAILIAN = 49
    OPENAI_COMPATIBLE = 50
    GEMINI_OPENAI_COMPATIBLE = 51


# Keys of a channel's `config` JSON that hold credentials: AWS's secret access key and Vertex AI's
# service-account (ADC) JSON. Write-only, like the channel key: never shown back, and an empty value
# in an update keeps the saved one.
SECRET_CONFIG_KEYS = frozenset({"sk", "vertex_ai_adc"})


class TypeInfo(NamedTuple):
    label: str
    base_url: str


T = ChannelType
INFO: dict[ChannelType, TypeInfo] = {
    T.UNKNOWN: TypeInfo("Unknown", ""),
    T.OPENAI: TypeInfo("OpenAI", "https://api.openai.com"),
    T.API2D: TypeInfo("代理：API2D", "https://oa.api2d.net"),
    T.AZURE: TypeInfo("Azure", ""),
    T.CLOSEAI: TypeInfo("代理：CloseAI", "https://api.closeai-proxy.xyz"),
    T.OPENAI_SB: TypeInfo("代理：OpenAI-SB", "https://api.openai-sb.com"),
    T.OPENAI_MAX: TypeInfo("代理：OpenAI Max", "https://api.openaimax.com"),
    T.OHMYGPT: TypeInfo("代理：OhMyGPT", "https://api.ohmygpt.com"),
    T.CUSTOM: TypeInfo("自定义渠道", ""),
    T.AILS: TypeInfo("代理：AI.LS", "https://api.caipacity.com"),
    T.AIPROXY: TypeInfo("代理：AI Proxy", "https://api.aiproxy.io"),
    T.PALM: TypeInfo("PaLM2", "https://generativelanguage.googleapis.com"),
    T.API2GPT: TypeInfo("代理：API2GPT", "https://api.api2gpt.com"),
    T.AIGC2D: TypeInfo("代理：AIGC2D", "https://api.aigc2d.com"),
    T.ANTHROPIC: TypeInfo("Anthropic", "https://api.anthropic.com"),
    T.BAIDU: TypeInfo("百度文心千帆", "https://aip.baidubce.com"),
    T.ZHIPU: TypeInfo("智谱 ChatGLM", "https://open.bigmodel.cn"),
    T.ALI: TypeInfo("阿里通义千问", "https://dashscope.aliyuncs.com"),
    T.XUNFEI: TypeInfo("讯飞星火认知", ""),
    T.AI360: TypeInfo("360 智脑", "https://ai.360.cn"),
    T.OPENROUTER: TypeInfo("OpenRouter", "https://openrouter.ai/api"),
    T.AIPROXY_LIBRARY: TypeInfo("知识库：AI Proxy", "https://api.aiproxy.io"),
    T.FASTGPT: TypeInfo("知识库：FastGPT", "https://fastgpt.run/api/openapi"),
    T.TENCENT: TypeInfo("腾讯混元", "https://hunyuan.tencentcloudapi.com"),
    T.GEMINI: TypeInfo("Gemini", "https://generativelanguage.googleapis.com"),
    T.MOONSHOT: TypeInfo("Moonshot AI", "https://api.moonshot.cn"),
    T.BAICHUAN: TypeInfo("百川大模型", "https://api.baichuan-ai.com"),
    T.MINIMAX: TypeInfo("MiniMax", "https://api.minimax.chat"),
    T.MISTRAL: TypeInfo("Mistral AI", "https://api.mistral.ai"),
    T.GROQ: TypeInfo("Groq", "https://api.groq.com/openai"),
    T.OLLAMA: TypeInfo("Ollama", "http://localhost:11434"),
    T.LINGYIWANWU: TypeInfo("零一万物", "https://api.lingyiwanwu.com"),
    T.STEPFUN: TypeInfo("阶跃星辰", "https://api.stepfun.com"),
    T.AWS_CLAUDE: TypeInfo("AWS", ""),
    T.COZE: TypeInfo("Coze", "https://api.coze.com"),
    T.COHERE: TypeInfo("Cohere", "https://api.cohere.ai"),
    T.DEEPSEEK: TypeInfo("DeepSeek", "https://api.deepseek.com"),
    T.CLOUDFLARE: TypeInfo("Cloudflare", "https://api.cloudflare.com"),
    T.DEEPL: TypeInfo("DeepL", "https://api-free.deepl.com"),
    T.TOGETHER_AI: TypeInfo("together.ai", "https://api.together.xyz"),
    T.DOUBAO: TypeInfo("字节火山引擎", "https://ark.cn-beijing.volces.com"),
    T.NOVITA: TypeInfo("Novita", "https://api.novita.ai/v3/openai"),
    T.VERTEX_AI: TypeInfo("VertexAI", ""),
    T.PROXY: TypeInfo("Proxy", ""),
    T.SILICONFLOW: TypeInfo("SiliconFlow", "https://api.siliconflow.cn"),
    T.XAI: TypeInfo("xAI", "https://api.x.ai"),
    T.REPLICATE: TypeInfo("Replicate", "https://api.replicate.com/v1/models/"),
    T.BAIDU_V2: TypeInfo("百度文心千帆 V2", "https://qianfan.baidubce.com"),
    T.XUNFEI_V2: TypeInfo("讯飞星火认知 V2", "https://spark-api-open.xf-yun.com"),
    T.ALI_BAILIAN: TypeInfo("阿里云百炼", "https://dashscope.aliyuncs.com"),
    T.OPENAI_COMPATIBLE: TypeInfo("OpenAI 兼容", ""),
    T.GEMINI_OPENAI_COMPATIBLE: TypeInfo("Gemini (OpenAI)", "https://generativelanguage.googleapis.com/v1beta/openai/"),
}


def base_url(channel_type: int, channel_base_url: str | None) -> str:
    """The channel's own base URL (mirrors, proxies) or the type's default, without a trailing slash."""
    url = (channel_base_url or "").strip()
    if not url:
        info = INFO.get(ChannelType(channel_type)) if channel_type in ChannelType._value2member_map_ else None
        url = info.base_url if info else ""
    return url.rstrip("/")
