"""Chart geometry: round axis maxima, zero and one-point series, and stacked bars that add up."""

from __future__ import annotations

import pytest

from oneapi.web import charts
from oneapi.web.charts import (
    BASELINE,
    LEFT,
    PALETTE,
    PLOT_H,
    PLOT_W,
    TICKS,
    compact,
    line_chart,
    nice_max,
    stacked_bars,
)


@pytest.mark.parametrize(("value", "expected"), [
    (0, 4), (-5, 4), (1, 4), (4, 4), (5, 8), (7, 8), (57, 80), (100, 100), (101, 120), (250, 320),
    (999, 1000), (1001, 1200), (123456, 160000),
])
def test_nice_max_is_four_round_steps_holding_the_value(value, expected):
    assert nice_max(value) == expected
    assert nice_max(value) >= value
    assert nice_max(value) % TICKS == 0


def test_nice_max_steps_stay_whole_numbers():
    # 10 / 4 = 2.5 would make ticks 0, 2.5, 5…; counts get whole ticks instead.
    assert nice_max(10) == 12
    assert nice_max(100) // TICKS == 25


def test_compact_axis_labels():
    assert [compact(v) for v in (0, 950, 1500, 2_000_000, 3_500_000_000, 2.5)] == ["0", "950", "1.5k", "2M", "3.5B",
                                                                                   "2.5"]


def test_line_chart_points_are_proportional_to_the_values():
    chart = line_chart(["a", "b", "c", "d"], [0, 40, 80, 20])
    assert chart.maximum == 80
    ys = [p.y for p in chart.points]
    assert ys[0] == BASELINE and ys[2] == BASELINE - PLOT_H
    assert ys[1] == pytest.approx(BASELINE - PLOT_H / 2, abs=0.1)
    assert ys[3] == pytest.approx(BASELINE - PLOT_H / 4, abs=0.1)
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and xs[0] > LEFT and xs[-1] < LEFT + PLOT_W
    assert chart.polyline.split() == [f"{p.x},{p.y}" for p in chart.points]
    assert [t.label for t in chart.ticks] == ["0", "20", "40", "60", "80"]
    assert [t.y for t in chart.ticks] == sorted((t.y for t in chart.ticks), reverse=True)


def test_zero_series_lies_on_the_axis_with_a_unit_scale():
    chart = line_chart(["a", "b", "c"], [0, 0, 0])
    assert chart.maximum == TICKS
    assert {p.y for p in chart.points} == {BASELINE}
    assert [t.value for t in chart.ticks] == [0, 1, 2, 3, 4]


def test_one_point_sits_in_the_middle():
    chart = line_chart(["today"], [7])
    (point,) = chart.points
    assert point.x == pytest.approx(LEFT + PLOT_W / 2, abs=0.1)
    assert point.value == 7 and point.label == "today"
    assert chart.labels[0].x == point.x


def test_tick_labels_use_the_given_formatter():
    chart = line_chart(["a"], [8], fmt=lambda v: f"${v}")
    assert [t.label for t in chart.ticks] == ["$0", "$2", "$4", "$6", "$8"]


def test_stacked_bars_stack_each_day_from_the_axis_up():
    chart = stacked_bars(["d1", "d2"], {"gpt": [30, 10], "claude": [10, 0]})
    assert chart.maximum == 40
    d1 = [b for b in chart.bars if b.label == "d1"]
    assert [b.series for b in d1] == ["gpt", "claude"]
    gpt, claude = d1
    assert gpt.y + gpt.height == pytest.approx(BASELINE, abs=0.1)  # first segment on the axis
    assert claude.y + claude.height == pytest.approx(gpt.y, abs=0.1)  # the next one on top of it
    assert gpt.height == pytest.approx(3 * claude.height, abs=0.2)
    assert gpt.height + claude.height == pytest.approx(PLOT_H, abs=0.2)  # the tallest day fills the plot
    # A zero segment draws nothing.
    assert [b.series for b in chart.bars if b.label == "d2"] == ["gpt"]
    assert all(b.x == d1[0].x for b in d1) and gpt.width > 0


def test_stacked_bars_colour_series_in_order_from_the_palette():
    series = {f"m{i}": [1] for i in range(len(PALETTE) + 1)}
    chart = stacked_bars(["d"], series)
    assert chart.legend[0] == ("m0", PALETTE[0])
    assert chart.legend[-1] == (f"m{len(PALETTE)}", PALETTE[0])  # the palette wraps round
    assert {b.colour for b in chart.bars} == set(PALETTE)


def test_stacked_bars_without_series_draw_an_empty_axis():
    chart = stacked_bars(["d1", "d2"], {})
    assert chart.bars == [] and chart.legend == []
    assert chart.maximum == TICKS and len(chart.labels) == 2


@pytest.mark.parametrize("width", [charts.WIDTH, charts.WIDE])
def test_bars_fit_their_day_slot(width):
    chart = stacked_bars(["a", "b", "c"], {"m": [1, 2, 3]}, chart_width=width)
    plot = width - LEFT - charts.RIGHT
    for bar in chart.bars:
        assert bar.width == pytest.approx(plot / 3 * charts.BAR_FILL, abs=0.1)
        assert bar.x >= LEFT and bar.x + bar.width <= LEFT + plot
    assert chart.width == width and chart.right_edge == LEFT + plot


def test_long_axis_labels_widen_the_view_box_to_the_left():
    short = charts.line_chart(["a"], [3])
    assert short.overhang == 0
    money = charts.line_chart(["a"], [8], fmt=lambda v: f"${v / 1e6:.6f}")
    assert money.overhang == len("$0.000008") * 6 + 4 - charts.LEFT
