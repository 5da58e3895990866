"""Choosing a channel for (group, model): the highest priority first, then a weighted random pick.

One API stored `weight` and ignored it; here a channel's chance within its priority tier is
proportional to its weight, a weight of 0 counting as 1 (so the all-zero default is a uniform pick).
Retries exclude channels that already failed: the first retry stays in the top tier, later ones move
to the lower tiers (One API's order), and any channel left is used before giving up.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence

from oneapi.relay.cache import ChannelState


def pick(candidates: Sequence[ChannelState], exclude: Collection[int] = (), attempt: int = 0,
         rng: random.Random | None = None) -> ChannelState | None:
    rng = rng or random
    left = [c for c in candidates if c.id not in exclude]
    if not left:
        return None
    tiers = sorted({c.priority for c in left}, reverse=True)
    top = max(c.priority for c in candidates)
    if attempt >= 2:
        lower = [c for c in left if c.priority < top]
        pool = lower or left
    else:
        pool = [c for c in left if c.priority == tiers[0]]
    return weighted_choice(pool, rng)


def weighted_choice(pool: Sequence[ChannelState], rng: random.Random | object) -> ChannelState:
    if len(pool) == 1:
        return pool[0]
    weights = [max(c.weight, 1) for c in pool]
    if all(w == weights[0] for w in weights):
        return rng.choice(pool)  # type: ignore[attr-defined]
    return rng.choices(pool, weights=weights, k=1)[0]  # type: ignore[attr-defined]
