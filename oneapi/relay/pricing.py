"""The price of one relay attempt: the model, completion and group ratios in force, and the quota
arithmetic of `oneapi.services.billing` applied to them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from oneapi.relay.modes import RelayMode
from oneapi.services import billing, options

SOURCES = {"upstream": "上游", "counted": "本地计数"}
STREAM_ENDS = {"completed": "完成", "client_disconnected": "客户端断开", "upstream_error": "上游出错",
               "upstream_closed": "上游中断", "quota_exhausted": "额度用尽"}
ANSWER_HOLD_TOKENS = 32768
"""The completion tokens a non-stream answer without `max_tokens` holds the price of: the largest
answer of most current chat models (gpt-4o 16,384, Claude 3.5 8,192, gpt-4.1 32,768)."""
ANSWER_HOLD_MODES = frozenset({RelayMode.CHAT, RelayMode.COMPLETIONS})


@dataclass(frozen=True)
class Price:
    model_ratio: float
    completion_ratio: float
    group_ratio: float

    @cached_property
    def ratio(self):
        return billing.ratio_product(self.model_ratio, self.group_ratio)

    def reservation(self, prompt_tokens: int, max_tokens: int) -> int:
        """One API's pre-consumption, or the price of the prompt and `max_tokens` completion tokens if
        that is more (One API's formula leaves out the completion ratio, so a hold for `max_tokens`
        of gpt-4o covered a quarter of their price); at least 1 for a priced model."""
        one_api = billing.pre_consume_quota(options.get_int("PreConsumedQuota"), prompt_tokens, max_tokens, self.ratio)
        hold = max(one_api, self.cost(prompt_tokens, max_tokens)) if max_tokens else one_api
        # A priced model holds at least 1: a hold rounded to 0 held nothing for a cheap model.
        return max(hold, 1) if self.ratio > 0 else hold

    def cost(self, prompt_tokens: int, completion_tokens: int) -> int:
        return billing.text_quota(prompt_tokens, completion_tokens, self.model_ratio, self.completion_ratio,
                                  self.group_ratio)

    def prompt_price(self) -> float:
        """Quota per prompt token, as a float (for decisions, never for charges)."""
        return float(self.ratio)

    def completion_price(self) -> float:
        """Quota per completion token, as a float (for decisions, never for charges)."""
        return float(self.ratio * billing.exact(self.completion_ratio))

    def describe(self, usage_source: str, stream_end: str) -> str:
        """One API's log text (`倍率：…`) plus how the usage was obtained and how a stream ended."""
        text = f"倍率：{self.model_ratio:.2f} × {self.group_ratio:.2f} × {self.completion_ratio:.2f}"
        text += f"，用量：{SOURCES.get(usage_source, usage_source)}"
        if stream_end:
            text += f"，流：{STREAM_ENDS.get(stream_end, stream_end)}"
        return text


def price_for(model: str, channel_type: int, group: str) -> Price:
    return Price(
        billing.model_ratio(model, channel_type, options.get_json("ModelRatio")),
        billing.completion_ratio(model, channel_type, options.get_json("CompletionRatio")),
        billing.group_ratio(group, options.get_json("GroupRatio")),
    )
