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

import math
from collections.abc import Callable

from flask import Flask

from oneapi.extensions import db
from oneapi.relay.pricing import Price
from oneapi.relay.tokenizer import count_text
from oneapi.relay.usage import StreamState, Usage
from oneapi.services.settlement import Hold

FIRST_STEP_TOKENS = 16
MAX_STEP_TOKENS = 4096
"""An extension asks for the price of FIRST_STEP_TOKENS more completion tokens, doubling each time up
to MAX_STEP_TOKENS."""


class Meter:
    def __init__(self, price: Price, prompt_tokens: int, held: int, extend: Callable[[int], int]) -> None:
        """`extend(amount)` holds up to `amount` more and returns how much it could."""
        self.price = price
        # Decisions only, in floats with a margin: the charge itself is computed exactly elsewhere.
        self.per_token = price.completion_price()
        self.prompt_price = prompt_tokens * price.prompt_price()
        self.held = held
        self.step = max(math.ceil(FIRST_STEP_TOKENS * self.per_token), 1)
        self.max_step = max(math.ceil(MAX_STEP_TOKENS * self.per_token), 1)
        self.extend = extend
        self.counted = 0
        self.counted_parts = 0
        self.counted_size = 0
        self.budget = self._budget()

    def _budget(self) -> float:
        """The completion tokens the hold pays for (never more than it does)."""
        if self.per_token <= 0:
            return math.inf
        return math.floor((self.held - self.prompt_price) / self.per_token * (1 - 1e-9))

    def within(self, state: StreamState) -> bool:
        """The cheap test: the text so far surely fits the hold (callers skip `admit` then)."""
        return self.counted + state.size - self.counted_size <= self.budget

    def admit(self, state: StreamState, delivered: int) -> bool:
        """Whether the item just produced may be sent (`delivered` parts of `state` went out before
        it); when not, its text is dropped from `state` and the answer must end there."""
        if self.within(state):
            return True
        parts = state.parts
        self.counted += count_text("".join(parts[self.counted_parts:]))
        self.counted_parts, self.counted_size = len(parts), state.size
        while self.counted > self.budget:
            taken = self.extend(self.step)
            if taken <= 0:
                state.drop_after(delivered)
                return False
            self.held += taken
            self.step = min(self.step * 2, self.max_step)
            self.budget = self._budget()
        return True


def meter_for(hold: Hold, price: Price, prompt_tokens: int, app: Flask) -> Meter:
    """The meter of a request's hold, extending it in an app context of its own: a stream's
    generator runs after the request's context is gone."""

    def extend(amount: int) -> int:
        with app.app_context():
            try:
                return hold.extend(amount)
            finally:
                db.session.remove()

    return Meter(price, prompt_tokens, hold.held, extend)


def delivered_usage(state: StreamState, completed: bool, prompt_tokens: int) -> Usage:
    """What a stream is billed for: the upstream's usage when it completed and reported one; for any
    other end, at least what was delivered (the larger of the reported and the counted output, so
    usage a provider reports early never wins over the text that passed)."""
    reported = state.usage if state.usage is not None and state.usage.total_tokens > 0 else None
    if reported is not None and completed:
        return reported
    counted = count_text(state.text)
    if reported is None:
        return Usage(prompt_tokens, counted, "counted")
    if counted > reported.completion_tokens:
        return Usage(reported.prompt_tokens or prompt_tokens, counted, "counted")
    return Usage(reported.prompt_tokens or prompt_tokens, reported.completion_tokens, reported.source)
