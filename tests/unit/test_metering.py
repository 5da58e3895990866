"""The stream meter: nothing is counted while the bytes cannot exceed the hold, the hold grows in
doubling steps, and an item the payer cannot pay for is refused and taken back out of the state."""

from __future__ import annotations

from oneapi.relay import metering
from oneapi.relay.metering import Meter
from oneapi.relay.pricing import Price
from oneapi.relay.usage import StreamState

GPT_4O = Price(2.5, 4, 1)  # 10 quota per completion token


def meter(held: int, balance: int) -> tuple[Meter, list[int]]:
    asked: list[int] = []
    left = [balance]

    def extend(amount: int) -> int:
        asked.append(amount)
        taken = min(amount, left[0])
        left[0] -= taken
        return taken

    return Meter(GPT_4O, 0, held, extend), asked


def test_short_answers_are_not_counted_or_extended(monkeypatch):
    counted = []
    monkeypatch.setattr(metering, "count_text", lambda text: counted.append(text) or len(text))
    m, asked = meter(held=1_000, balance=0)
    state = StreamState()
    for word in ("hello ", "there"):
        state.add_text(word)
        assert m.within(state) and m.admit(state, len(state.parts) - 1)
    assert counted == [] and asked == []


def test_the_hold_grows_in_doubling_steps_while_the_payer_has_money():
    m, asked = meter(held=0, balance=10_000)
    state = StreamState()
    for _ in range(60):
        state.add_text(" word" * 10)
        assert m.admit(state, len(state.parts) - 1)
    assert asked[:4] == [160, 320, 640, 1280]
    assert 10 * m.counted <= m.held <= 10_000


def test_an_item_beyond_what_the_payer_has_is_refused_and_dropped():
    m, _ = meter(held=0, balance=100)  # pays for 10 completion tokens
    state = StreamState()
    state.add_text(" a b c")
    assert m.admit(state, 0)
    kept = state.text
    state.add_text(" word" * 50)
    state.add_text(" more")
    assert not m.admit(state, 1)
    assert state.text == kept and state.size == len(kept) and m.held == 100


def test_free_output_is_never_metered():
    m = Meter(Price(2.5, 0, 1), 0, 0, lambda amount: 0)
    state = StreamState()
    state.add_text("x" * 100_000)
    assert m.within(state) and m.admit(state, 0)
