"""How quota amounts are shown in log texts (One API's `LogQuota`)."""

from __future__ import annotations

from oneapi.services import options


def describe(quota: int) -> str:
    if options.get_bool("DisplayInCurrencyEnabled"):
        per_unit = options.get_float("QuotaPerUnit") or 500000
        return f"＄{quota / per_unit:.6f} 额度"
    return f"{quota} 点额度"
