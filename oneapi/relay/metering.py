"""Metering an answer read as a stream: its hold grows with its output, and text its payer cannot pay
for is never delivered, so an answer without `max_tokens` cannot run up a debt.

`admit` is called for each item the adaptor produced, before it is sent. It is cheap on the common
path: a token is at least one byte, so the UTF-8 size of the text since the last count bounds its
tokens, and nothing is counted until that bound could exceed what the hold still pays for. Only
then is the new text counted and, if needed, the hold extended (by a step, or by whatever the payer
has left). An item the payer cannot pay for is refused, and its text taken back out of the state.

Steps start small and double: a short answer holds little of a small balance (so concurrent requests
of one payer are not refused for a hold one of them grabbed), a long one needs few extensions.
"""

from __future__ import annotations

from collections.abc import Callable

from oneapi.relay.pricing import Price
from oneapi.relay.tokenizer import count_text
from oneapi.relay.usage import StreamState

FIRST_STEP_TOKENS = 16
MAX_STEP_TOKENS = 4096
"""An extension asks for the price of FIRST_STEP_TOKENS more completion tokens, doubling each time up
to MAX_STEP_TOKENS."""


class Meter:
    def __init__(self, price: Price, prompt_tokens: int, held: int, extend: Callable[[int], int]) -> None:
        """`extend(amount)` holds up to `amount` more and returns how much it could."""
        self.price = price
        self.prompt_tokens = prompt_tokens
        self.held = held
        self.step = max(price.cost(0, FIRST_STEP_TOKENS), 1)
        self.max_step = max(price.cost(0, MAX_STEP_TOKENS), 1)
        self.extend = extend
        self.counted = 0
        self.seen = 0
        self.uncounted_from = 0
        self.uncounted_bytes = 0
        self.budget = price.completion_budget(held, prompt_tokens)

    def admit(self, state: StreamState) -> bool:
        """Whether the item just produced may be sent; when not, its text is dropped from `state` and
        the answer must end there."""
        parts = state.parts
        if len(parts) > self.seen:
            self.uncounted_bytes += sum(len(part.encode()) for part in parts[self.seen:])
        before, self.seen = self.seen, len(parts)
        if self.counted + self.uncounted_bytes <= self.budget:
            return True
        self.counted += count_text("".join(parts[self.uncounted_from:]))
        self.uncounted_from, self.uncounted_bytes = len(parts), 0
        while self.counted > self.budget:
            taken = self.extend(self.step)
            if taken <= 0:
                del parts[before:]
                return False
            self.held += taken
            self.step = min(self.step * 2, self.max_step)
            self.budget = self.price.completion_budget(self.held, self.prompt_tokens)
        return True
