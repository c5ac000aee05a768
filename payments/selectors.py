"""Reads with logic about money, for the pages."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from payments.models import Payout
from providers.models import Provider


@dataclass(frozen=True)
class PayoutTotals:
    """A provider's payouts by where the money is, in minor units of the platform currency."""

    held: int  # scheduled, not due yet or waiting on something
    on_the_way: int  # being sent
    paid: int  # transferred (net of anything taken back)
    delayed: int  # failed for now; staff are on it
    count: int


def provider_payouts(*, provider: Provider) -> QuerySet[Payout]:
    """The provider's payouts, newest first, with what the page shows of their booking."""
    return (
        Payout.objects.filter(provider=provider)
        .select_related("booking", "booking__client")
        .order_by("-due_at", "-pk")
    )


def provider_payout_totals(*, provider: Provider) -> PayoutTotals:
    """Sums per state, in one query."""
    S = Payout.Status
    rows = Payout.objects.filter(provider=provider).aggregate(
        held=Coalesce(Sum("amount", filter=Q(status__in=[S.SCHEDULED, S.ON_HOLD])), 0),
        on_the_way=Coalesce(Sum("amount", filter=Q(status__in=[S.PROCESSING, S.RETRYING])), 0),
        paid_gross=Coalesce(Sum("amount", filter=Q(status__in=Payout.TRANSFERRED_STATUSES)), 0),
        reversed=Coalesce(Sum("amount_reversed", filter=Q(status__in=Payout.TRANSFERRED_STATUSES)), 0),
        delayed=Coalesce(Sum("amount", filter=Q(status=S.FAILED)), 0),
        count=Count("pk"),
    )
    return PayoutTotals(
        held=rows["held"],
        on_the_way=rows["on_the_way"],
        paid=rows["paid_gross"] - rows["reversed"],
        delayed=rows["delayed"],
        count=rows["count"],
    )
