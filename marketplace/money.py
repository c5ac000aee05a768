"""Money is integer minor units (cents) plus an ISO currency code. Never floats.

Only the currencies the marketplace may be configured with need to be known here; each has its number of
minor units (Stripe's "zero-decimal" currencies have none).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Stripe's zero-decimal currencies among those a marketplace is likely to use; everything else has cents.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$", "chf": "CHF "}


def minor_unit_exponent(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 2


@dataclass(frozen=True)
class FeeSplit:
    amount: int
    platform_fee: int
    provider_amount: int


def fee_split(*, amount: int, fee_percent: Decimal | int) -> FeeSplit:
    """Split a charge into the platform fee and the provider's share.

    ``fee = round_half_up(amount * pct / 100)`` and ``provider_amount = amount - fee``, so the two always add
    up to the amount exactly, whatever the rounding.
    """
    if amount < 0:
        raise ValueError("amount must not be negative")
    pct = Decimal(fee_percent)
    if not Decimal(0) <= pct <= Decimal(100):
        raise ValueError("fee percent must be between 0 and 100")
    fee = int((Decimal(amount) * pct / Decimal(100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return FeeSplit(amount=amount, platform_fee=fee, provider_amount=amount - fee)


def percent_of(*, amount: int, percent: Decimal | int) -> int:
    """``percent`` of ``amount`` minor units, rounded half up (used for partial refunds)."""
    return fee_split(amount=amount, fee_percent=percent).platform_fee


def parse_major_units(text: str, currency: str) -> int:
    """Turn what a person types ("45", "45.5", "1,250.00") into minor units, exactly. Raises ValueError."""
    cleaned = text.strip().replace(",", "")
    for symbol in CURRENCY_SYMBOLS.values():
        cleaned = cleaned.replace(symbol.strip(), "")
    try:
        value = Decimal(cleaned.strip())
    except InvalidOperation as error:
        raise ValueError(f"{text!r} is not an amount") from error
    exponent = minor_unit_exponent(currency)
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more decimal places than {currency.upper()} allows")
    return int(scaled)


def format_money(amount: int, currency: str) -> str:
    """``4550, "usd"`` → ``"$45.50"``; other currencies fall back to ``"45.50 CHF"``-style."""
    exponent = minor_unit_exponent(currency)
    sign = "-" if amount < 0 else ""
    major = Decimal(abs(amount)).scaleb(-exponent)
    number = f"{major:,.{exponent}f}"
    symbol = CURRENCY_SYMBOLS.get(currency.lower())
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency.upper()}"


def format_major_units(amount: int, currency: str) -> str:
    """``4550, "usd"`` → ``"45.50"``: a plain number for files people open in a spreadsheet (no symbol, no
    thousands separator)."""
    exponent = minor_unit_exponent(currency)
    return f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"
