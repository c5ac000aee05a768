"""The cancellation policy: how much of a booking's price goes back to the client when it is cancelled."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from marketplace.money import percent_of


@dataclass(frozen=True)
class CancellationTerms:
    refund_percent: int
    refund_amount: int
    full_refund_deadline: datetime
    explanation: str


def cancellation_terms(
    *, price_amount: int, start_at: datetime, by_client: bool, now: datetime
) -> CancellationTerms:
    """What cancelling now would refund.

    Providers and admins cancelling always refund in full: the client did nothing wrong. Clients get a full
    refund up to ``CANCELLATION_FULL_REFUND_HOURS`` before the start (the boundary itself included), and
    ``LATE_CANCELLATION_REFUND_PERCENT`` after that.
    """
    deadline = start_at - timedelta(hours=settings.CANCELLATION_FULL_REFUND_HOURS)
    if not by_client:
        percent, why = 100, "The provider cancelled, so you get everything back."
    elif now <= deadline:
        percent, why = (
            100,
            f"Free cancellation up to {settings.CANCELLATION_FULL_REFUND_HOURS} hours before the start.",
        )
    else:
        percent = settings.LATE_CANCELLATION_REFUND_PERCENT
        why = (
            f"Less than {settings.CANCELLATION_FULL_REFUND_HOURS} hours before the start, "
            f"{percent}% of the price is refunded."
        )
    return CancellationTerms(
        refund_percent=percent,
        refund_amount=percent_of(amount=price_amount, percent=percent),
        full_refund_deadline=deadline,
        explanation=why,
    )
