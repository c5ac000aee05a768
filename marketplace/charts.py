"""Bar charts drawn on the server as SVG: readable without JavaScript, no chart service, one template
(``templates/includes/bar_chart.html``) that also writes the same figures as a table for screen readers.

Only the geometry is worked out here, in whole SVG units; the template escapes every label.
"""

import math
from dataclasses import dataclass

from marketplace.money import format_money

# The drawing's coordinates; the SVG scales to its container's width (viewBox), so these are proportions.
WIDTH = 640
HEIGHT = 240
LEFT = 64  # room for the axis labels
RIGHT = 8
TOP = 12
BOTTOM = 36  # room for the period labels


@dataclass(frozen=True)
class Bar:
    label: str  # short, under the bar ("Mar", "3 Mar")
    long_label: str  # for the table and the tooltip ("March 2026", "week of 3 March 2026")
    value: int  # minor units, or a count
    text: str  # the value as people read it ("$40.50")
    x: int
    y: int
    width: int
    height: int
    label_x: int
    show_label: bool  # crowded charts label every other bar


@dataclass(frozen=True)
class GridLine:
    y: int
    text: str


@dataclass(frozen=True)
class BarChart:
    title: str
    value_heading: str
    bars: list[Bar]
    grid: list[GridLine]
    key: str = ""  # tells two charts of one page apart (the currency)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM
    label_y: int = HEIGHT - BOTTOM + 18

    @property
    def is_empty(self) -> bool:
        return not any(bar.value for bar in self.bars)


def bar_chart(
    *,
    title: str,
    value_heading: str,
    points: list[tuple[str, str, int]],
    currency: str | None = None,
    key: str = "",
) -> BarChart:
    """A chart of ``points`` (short label, long label, value), left to right. Values below zero are drawn at
    zero (the table still says the figure). ``currency``: the values are minor units of it; else counts."""

    def say(value: int) -> str:
        return format_money(value, currency) if currency else f"{value:,}"

    plot_height = HEIGHT - TOP - BOTTOM
    plot_width = WIDTH - LEFT - RIGHT
    top_value = _nice_ceiling(max([value for _, _, value in points] + [0]))
    slot = plot_width / max(len(points), 1)
    bar_width = max(int(slot * 0.7), 1)
    every = max(math.ceil(len(points) / 13), 1)  # at most 13 labels fit under the bars
    bars = []
    for index, (label, long_label, value) in enumerate(points):
        height = round(max(value, 0) * plot_height / top_value) if top_value else 0
        x = LEFT + int(index * slot + (slot - bar_width) / 2)
        bars.append(
            Bar(
                label=label,
                long_label=long_label,
                value=value,
                text=say(value),
                x=x,
                y=TOP + plot_height - height,
                width=bar_width,
                height=height,
                label_x=x + bar_width // 2,
                show_label=index % every == 0,
            )
        )
    grid = [
        GridLine(y=TOP + plot_height - round(plot_height * step / 4), text=say(top_value * step // 4))
        for step in range(5)
    ]
    return BarChart(
        title=title, value_heading=value_heading, bars=bars, grid=grid, key=key or (currency or "")
    )


def _nice_ceiling(value: int) -> int:
    """The top of the axis: the smallest of 4, 8, 20, 40, 80, 200, ... at or above ``value``. Each divides by
    four, so the four grid steps read as whole, round figures. 0 for an empty chart."""
    if value <= 0:
        return 0
    magnitude = 1
    while True:
        for factor in (4, 8, 20):
            if factor * magnitude >= value:
                return factor * magnitude
        magnitude *= 10
