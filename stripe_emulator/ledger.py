"""The money arithmetic behind the emulator's balances: Stripe's fees and balance transaction objects.

Every movement of money is one balance transaction (`txn_...`, Stripe's shape), booked on the platform or
on a connected account; a balance is nothing but the sum of the `net` of an account's transactions, split by
`status` (`pending` until `available_on`, then `available`). Keeping no separate counters means balances
always add up: whatever the console shows can be traced to the transactions that made it.

Pure functions only; `state.py` decides when to book what, under its lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# A successful card charge's funds reach the available balance two days later (Stripe's US default).
AVAILABLE_AFTER_SECONDS = 2 * 24 * 60 * 60
# Stripe's dispute fee in the US, withdrawn with a chargeback and kept whatever the outcome.
DISPUTE_FEE = {"usd": 1500}
DEFAULT_DISPUTE_FEE = 1500


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def processing_fee(amount: int, payment_method_type: str) -> int:
    """Stripe's fee for a successful charge, in the charge's minor units.

    US cards: 2.9% + 30 cents. US bank debits (`us_bank_account`): 0.8%, capped at 5.00. Percentages are
    rounded half up to the cent. Refunds never give the fee back.
    """
    if payment_method_type == "us_bank_account":
        return min(_round_half_up(amount * 8, 1000), 500)
    return _round_half_up(amount * 29, 1000) + 30


def balance_transaction(
    *,
    txn_id: str,
    amount: int,
    currency: str,
    type: str,
    reporting_category: str,
    source: str | None,
    created: int,
    available_on: int,
    status: str,
    fee: int = 0,
    fee_description: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """A `balance_transaction` object; `net` is `amount - fee`."""
    fee_details = (
        [
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": fee_description,
                "type": "stripe_fee",
            }
        ]
        if fee
        else []
    )
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": available_on,
        "balance_type": "payments",
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": reporting_category,
        "source": source,
        "status": status,
        "type": type,
    }


def balances(transactions: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """`{"available": {currency: amount}, "pending": {currency: amount}}` summed from `transactions`."""
    result: dict[str, dict[str, int]] = {"available": {}, "pending": {}}
    for txn in transactions:
        bucket = result[txn["status"]]
        bucket[txn["currency"]] = bucket.get(txn["currency"], 0) + txn["net"]
    return result


def balance_object(summed: dict[str, dict[str, int]], *, default_currency: str = "usd") -> dict[str, Any]:
    """Stripe's `balance` object from `balances(...)`: one entry per currency in each list (a currency seen
    only in `pending` still appears in `available` with 0, as Stripe lists them)."""
    currencies = sorted(set(summed["available"]) | set(summed["pending"])) or [default_currency]
    return {
        "object": "balance",
        "available": [{"amount": summed["available"].get(c, 0), "currency": c} for c in currencies],
        "livemode": False,
        "pending": [{"amount": summed["pending"].get(c, 0), "currency": c} for c in currencies],
    }
