"""Channel choice for (group, model): the highest priority tier first, a weighted pick inside it (a weight
of 0 counts as 1), failed channels excluded, retries after the first moving to the lower tiers."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from oneapi.relay.cache import ChannelState
from oneapi.relay.selection import pick

DRAWS = 20_000
TOLERANCE = 0.015  # about 4 standard deviations of a share near 0.5 over 20,000 draws


def ch(channel_id: int, priority: int = 0, weight: int = 0) -> ChannelState:
    return ChannelState(id=channel_id, type=1, name=f"ch{channel_id}", key=f"sk-{channel_id}", status=1,
                        base_url="", other="", config={}, model_mapping={}, system_prompt="", priority=priority,
                        weight=weight)


def shares(candidates, draws: int = DRAWS, seed: int = 1234, **kwargs) -> dict[int, float]:
    rng = random.Random(seed)
    counts = Counter(pick(candidates, rng=rng, **kwargs).id for _ in range(draws))
    return {channel_id: n / draws for channel_id, n in counts.items()}


def assert_shares(observed: dict[int, float], expected: dict[int, float]) -> None:
    assert set(observed) == set(expected), observed
    for channel_id, share in expected.items():
        assert observed[channel_id] == pytest.approx(share, abs=TOLERANCE), (channel_id, observed)


def test_the_highest_priority_tier_is_always_chosen():
    candidates = [ch(1, priority=0, weight=100), ch(2, priority=10), ch(3, priority=10), ch(4, priority=5)]
    observed = shares(candidates, draws=2_000)
    assert set(observed) == {2, 3}


def test_order_of_the_candidates_does_not_matter():
    candidates = [ch(1, priority=-3), ch(2, priority=7), ch(3, priority=2)]
    rng = random.Random(5)
    assert {pick(candidates, rng=rng).id for _ in range(200)} == {2}


def test_negative_priorities_still_prefer_the_highest():
    candidates = [ch(1, priority=-5), ch(2, priority=-1), ch(3, priority=-1)]
    assert set(shares(candidates, draws=2_000)) == {2, 3}


def test_frequencies_within_a_tier_follow_the_weights():
    candidates = [ch(1, priority=5, weight=1), ch(2, priority=5, weight=3), ch(3, priority=5, weight=6),
                  ch(4, priority=0, weight=50)]
    assert_shares(shares(candidates), {1: 0.1, 2: 0.3, 3: 0.6})


def test_weight_zero_counts_as_one():
    candidates = [ch(1, weight=0), ch(2, weight=1), ch(3, weight=2)]
    assert_shares(shares(candidates), {1: 0.25, 2: 0.25, 3: 0.5})


def test_all_zero_weights_are_a_uniform_pick():
    candidates = [ch(i) for i in range(1, 5)]
    assert_shares(shares(candidates), dict.fromkeys(range(1, 5), 0.25))


def test_a_single_candidate_is_always_chosen():
    rng = random.Random(0)
    only = ch(9, priority=3, weight=7)
    assert all(pick([only], rng=rng) is only for _ in range(50))


def test_the_same_seed_gives_the_same_sequence():
    candidates = [ch(i, weight=i) for i in range(1, 6)]
    rng_a, rng_b = random.Random(42), random.Random(42)
    sequence_a = [pick(candidates, rng=rng_a).id for _ in range(100)]
    sequence_b = [pick(candidates, rng=rng_b).id for _ in range(100)]
    assert sequence_a == sequence_b
    assert len(set(sequence_a)) > 1


def test_failed_channels_are_excluded():
    candidates = [ch(1, priority=10), ch(2, priority=10, weight=5), ch(3, priority=10)]
    observed = shares(candidates, draws=4_000, exclude=[2], attempt=1)
    assert_shares(observed, {1: 0.5, 3: 0.5})


def test_first_retry_stays_in_the_top_tier_while_it_has_channels():
    candidates = [ch(1, priority=10), ch(2, priority=10), ch(3, priority=0, weight=100)]
    assert set(shares(candidates, draws=2_000, exclude={1}, attempt=1)) == {2}


def test_first_retry_falls_to_the_next_tier_when_the_top_is_exhausted():
    candidates = [ch(1, priority=10), ch(2, priority=5), ch(3, priority=5), ch(4, priority=0)]
    assert set(shares(candidates, draws=2_000, exclude={1}, attempt=1)) == {2, 3}


def test_later_retries_move_to_all_lower_tiers_by_weight():
    candidates = [ch(1, priority=10), ch(2, priority=10), ch(3, priority=5, weight=1), ch(4, priority=0, weight=3)]
    # Channel 2 is still unused in the top tier, but from the second retry on only lower tiers are tried.
    observed = shares(candidates, exclude={1}, attempt=2)
    assert_shares(observed, {3: 0.25, 4: 0.75})


def test_later_retries_exclude_failed_lower_channels():
    candidates = [ch(1, priority=10), ch(2, priority=5), ch(3, priority=0), ch(4, priority=0)]
    assert set(shares(candidates, draws=2_000, exclude={1, 2, 3}, attempt=3)) == {4}


def test_later_retries_use_what_is_left_of_the_top_tier_when_no_lower_channel_is():
    candidates = [ch(1, priority=10), ch(2, priority=10), ch(3, priority=5)]
    assert set(shares(candidates, draws=500, exclude={1, 3}, attempt=2)) == {2}


def test_later_retries_with_a_single_tier_use_the_rest_of_it():
    candidates = [ch(1), ch(2), ch(3)]
    assert set(shares(candidates, draws=2_000, exclude={1}, attempt=2)) == {2, 3}


def test_nothing_left_gives_none():
    candidates = [ch(1, priority=10), ch(2, priority=0)]
    rng = random.Random(3)
    assert pick([], rng=rng) is None
    assert pick(candidates, exclude={1, 2}, rng=rng) is None
    assert pick(candidates, exclude={1, 2}, attempt=2, rng=rng) is None


def test_the_module_random_is_used_without_an_rng():
    candidates = [ch(1, priority=1), ch(2)]
    assert pick(candidates).id == 1
