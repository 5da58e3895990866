"""Routes whose mechanism is not built yet answer a clear `success: false` instead of a 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oneapi.errors import Forbidden


def not_yet(feature: str) -> Callable[..., Any]:
    def view(**_kwargs: Any) -> Any:
        raise Forbidden("{feature} 尚未实现", feature=feature)

    view.__name__ = "not_yet_" + "".join(c if c.isalnum() else "_" for c in feature.lower())
    return view
