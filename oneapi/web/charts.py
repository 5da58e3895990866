"""Chart geometry for the dashboard: series in, plain SVG coordinates out.

The templates draw what these functions compute (points of a line, rectangles of stacked bars, axis
ticks), so the page needs no JavaScript chart library and the numbers are testable here. Charts share
one height and margins (a wide one only adds width); the y axis runs from 0 to a "nice" maximum made of
four round steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 360, 180
WIDE = 760  # a chart across the page: wider, so its text keeps the size of the small charts'
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 10, 22
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
BASELINE = TOP + PLOT_H
TICKS = 4
BAR_FILL = 0.6  # share of a day's slot the bar covers
# Distinguishable in light and dark themes; model i gets colour i (mod the length).
PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#9333ea", "#0891b2", "#db2777", "#65a30d",
           "#ea580c", "#4f46e5")
NICE_STEPS = (1, 2, 2.5, 3, 4, 5, 6, 8, 10)

Formatter = Callable[[float], str]


def nice_max(value: float, ticks: int = TICKS) -> int:
    """The top of an axis of `ticks` equal steps that holds `value`: each step a whole 1, 2, 2.5, 3, 4, 5,
    6 or 8 times a power of ten (at least 1, since the series are counts), so every tick is a round number."""
    return ticks * nice_step(value / ticks) if value > 0 else ticks


def nice_step(raw: float) -> int:
    if raw <= 1:
        return 1
    power = 10 ** math.floor(math.log10(raw))
    for factor in NICE_STEPS:
        step = factor * power
        # 2.5 is a whole step from 25 up; below that the ticks would not be whole numbers.
        if step >= raw and step == int(step):
            return int(step)
    return 10 * power  # pragma: no cover - factor 10 always qualifies


def compact(value: float) -> str:
    """Axis labels: 950, 1.5k, 2M."""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Tick:
    y: float
    value: float
    label: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str
    colour: str
    label: str


@dataclass(frozen=True)
class Chart:
    """What a template draws: ticks and day labels for the axes, then points or bars."""

    maximum: int
    ticks: list[Tick]
    labels: list[Label]
    points: list[Point] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    colour: str = PALETTE[0]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = BASELINE

    @property
    def right_edge(self) -> int:
        return self.width - RIGHT

    @property
    def overhang(self) -> int:
        """How far the longest axis label reaches left of the view box (10 px text: ~6 px a character)."""
        longest = max((len(t.label) for t in self.ticks), default=0)
        return max(0, longest * 6 + 4 - self.left)

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


def _y(value: float, maximum: float) -> float:
    return round(BASELINE - PLOT_H * value / maximum, 1)


def _ticks(maximum: int, fmt: Formatter) -> list[Tick]:
    values = [maximum // TICKS * i for i in range(TICKS + 1)]
    return [Tick(_y(v, maximum), v, fmt(v)) for v in values]


def _slot_centres(count: int, width: int = WIDTH) -> list[float]:
    """Days spread across the plot: one slot each, the mark in the slot's middle."""
    slot = (width - LEFT - RIGHT) / max(count, 1)
    return [round(LEFT + slot * (i + 0.5), 1) for i in range(count)]


def line_chart(labels: Sequence[str], values: Sequence[int], fmt: Formatter = compact,
               colour: str = PALETTE[0]) -> Chart:
    maximum = nice_max(max(values, default=0))
    xs = _slot_centres(len(labels))
    points = [Point(x, _y(v, maximum), v, label) for x, v, label in zip(xs, values, labels, strict=True)]
    return Chart(maximum, _ticks(maximum, fmt), [Label(x, t) for x, t in zip(xs, labels, strict=True)], points=points,
                 colour=colour)


def stacked_bars(labels: Sequence[str], series: dict[str, Sequence[int]], fmt: Formatter = compact,
                 chart_width: int = WIDTH) -> Chart:
    """One bar per day, one segment per series stacked from the axis up, in the series' order."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    maximum = nice_max(max(totals, default=0))
    xs = _slot_centres(len(labels), chart_width)
    width = round((chart_width - LEFT - RIGHT) / max(len(labels), 1) * BAR_FILL, 1)
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    bars: list[Bar] = []
    for i, (x, label) in enumerate(zip(xs, labels, strict=True)):
        below = 0
        for name, values in series.items():
            if values[i] <= 0:
                continue
            top = _y(below + values[i], maximum)
            bars.append(Bar(round(x - width / 2, 1), top, width, round(_y(below, maximum) - top, 1), values[i],
                            name, colours[name], label))
            below += values[i]
    return Chart(maximum, _ticks(maximum, fmt), [Label(x, t) for x, t in zip(xs, labels, strict=True)],
                 bars=bars, legend=list(colours.items()), width=chart_width)
