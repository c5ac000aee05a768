"""The server-drawn bar chart's geometry: round axis tops, bars inside the plot, labels that fit."""

from marketplace.charts import HEIGHT, _nice_ceiling, bar_chart


def test_the_axis_tops_at_a_round_figure_divisible_by_four():
    assert [_nice_ceiling(v) for v in (0, 1, 4, 5, 9, 21, 4050, 8001, 120_000)] == [
        0,
        4,
        4,
        8,
        20,
        40,
        8000,
        20000,
        200_000,
    ]


def test_bars_scale_to_the_largest_and_stay_inside_the_plot():
    chart = bar_chart(
        title="t",
        value_heading="v",
        points=[("a", "A", 0), ("b", "B", 4000), ("c", "C", 8000)],
        currency="usd",
    )

    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0
    assert heights[2] == 2 * heights[1]
    assert all(bar.y + bar.height == chart.baseline for bar in chart.bars)
    assert all(0 <= bar.y <= HEIGHT for bar in chart.bars)
    assert [line.text for line in chart.grid] == ["$0.00", "$20.00", "$40.00", "$60.00", "$80.00"]
    assert chart.bars[1].text == "$40.00"
    assert not chart.is_empty


def test_a_negative_figure_is_drawn_at_zero_but_told_as_it_is():
    chart = bar_chart(
        title="t", value_heading="v", points=[("a", "A", -500), ("b", "B", 100)], currency="usd"
    )

    assert chart.bars[0].height == 0
    assert chart.bars[0].text == "-$5.00"


def test_an_empty_chart_says_so_and_a_long_one_labels_at_most_thirteen_bars():
    empty = bar_chart(title="t", value_heading="v", points=[("a", "A", 0)] * 12)
    long = bar_chart(title="t", value_heading="v", points=[("a", "A", 3)] * 105)

    assert empty.is_empty
    assert all(bar.height == 0 for bar in empty.bars)
    assert sum(bar.show_label for bar in long.bars) <= 14
    assert long.bars[-1].x + long.bars[-1].width <= long.width
