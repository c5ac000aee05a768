from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import fee_split, format_money, parse_major_units


@pytest.mark.parametrize(
    ("amount", "pct", "fee", "share"),
    [
        (5000, 10, 500, 4500),
        (1005, 10, 101, 904),
        (1004, 10, 100, 904),
        (999, 15, 150, 849),
        (1, 50, 1, 0),
        (0, 10, 0, 0),
    ],
)
def test_fee_rounds_half_up(amount, pct, fee, share):
    split = fee_split(amount=amount, fee_percent=pct)

    assert (split.platform_fee, split.provider_amount) == (fee, share)


@given(
    amount=st.integers(min_value=0, max_value=10**9), pct=st.decimals(min_value=0, max_value=100, places=2)
)
def test_fee_and_share_always_add_up_to_the_amount(amount, pct):
    split = fee_split(amount=amount, fee_percent=pct)

    assert split.platform_fee + split.provider_amount == amount
    assert 0 <= split.platform_fee <= amount


def test_fractional_percent_override():
    assert fee_split(amount=10000, fee_percent=Decimal("12.5")).platform_fee == 1250


@pytest.mark.parametrize(
    ("text", "currency", "cents"),
    [
        ("45", "usd", 4500),
        ("45.5", "usd", 4550),
        ("1,250.00", "usd", 125000),
        ("$9.99", "usd", 999),
        ("500", "jpy", 500),
    ],
)
def test_parse_major_units(text, currency, cents):
    assert parse_major_units(text, currency) == cents


@pytest.mark.parametrize(("text", "currency"), [("4.555", "usd"), ("abc", "usd"), ("5.5", "jpy")])
def test_parse_major_units_refuses_what_cannot_be_exact(text, currency):
    with pytest.raises(ValueError, match=r"amount|decimal places"):
        parse_major_units(text, currency)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (4550, "usd", "$45.50"),
        (125000, "eur", "€1,250.00"),
        (500, "jpy", "¥500"),
        (-250, "usd", "-$2.50"),
        (700, "sek", "7.00 SEK"),
    ],
)
def test_format_money(amount, currency, shown):
    assert format_money(amount, currency) == shown
