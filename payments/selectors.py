"""Reads with logic about money, for the pages."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from bookings.models import Booking
from payments.models import Payment, Payout, Refund
from payments.payouts import provider_share
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


@dataclass(frozen=True)
class ProviderMoney:
    """What a booking brings its provider, for their pages: the amount and where it stands.

    ``state``: ``upcoming`` (a confirmed session: the share after it), ``held`` (in the hold, due at
    ``payout.due_at``), ``waiting`` (due, but on hold: ``payout.hold_reason``), ``on_the_way``, ``paid``,
    ``delayed`` (a failed transfer staff are handling), or ``nothing`` (``reason`` says why)."""

    amount: int
    currency: str
    state: str
    payout: Payout | None = None
    reason: str = ""
    refunded: int = 0  # refunded to the client (requested, under way or done)
    platform_fee: int = 0  # the platform's share of what was kept


def provider_money(booking: Booking, *, payout: Payout | None = None) -> ProviderMoney:
    """The truth for the provider about one booking, from the same share the payouts use
    (``payouts.provider_share`` of what is kept). ``payout``: the booking's latest payout, if the caller
    prefetched it (otherwise it is read)."""
    if payout is None and booking.pk:
        # .all() rather than a query of its own: a caller that prefetched ``payouts`` pays nothing here.
        payout = max(booking.payouts.all(), key=lambda row: row.sequence, default=None)
    refunded = min(
        sum(r.amount for r in booking.refunds.all() if r.status in Refund.COMMITTED_STATUSES),
        booking.price_amount,
    )
    kept = booking.price_amount - refunded
    share = provider_share(booking=booking, kept=kept)
    money = _provider_money_state(booking, payout, share)
    return ProviderMoney(
        amount=money.amount,
        currency=booking.currency,
        state=money.state,
        payout=payout,
        reason=money.reason,
        refunded=refunded,
        platform_fee=kept - share,
    )


def _provider_money_state(booking: Booking, payout: Payout | None, share: int) -> ProviderMoney:
    currency = booking.currency
    if payout is not None:
        S = Payout.Status
        if payout.status == S.CANCELLED:
            return ProviderMoney(0, currency, "nothing", reason="the client was refunded")
        if payout.status in (S.PAID, S.PARTIALLY_REVERSED, S.REVERSED):
            net = payout.amount - payout.amount_reversed
            if net <= 0:
                return ProviderMoney(0, currency, "nothing", reason="it was taken back after a refund")
            return ProviderMoney(net, currency, "paid")
        if payout.status in (S.PROCESSING, S.RETRYING):
            return ProviderMoney(payout.amount, currency, "on_the_way")
        if payout.status == S.FAILED:
            return ProviderMoney(payout.amount, currency, "delayed")
        if payout.status == S.ON_HOLD:
            return ProviderMoney(payout.amount, currency, "waiting")
        return ProviderMoney(payout.amount, currency, "held")
    if booking.status == Booking.Status.CONFIRMED:
        return ProviderMoney(share, currency, "upcoming")
    if booking.status == Booking.Status.CANCELLED:
        why = "the client was refunded in full" if share <= 0 else "the booking was cancelled"
        return ProviderMoney(0, currency, "nothing", reason=why)
    if booking.status == Booking.Status.COMPLETED:
        return ProviderMoney(0, currency, "nothing", reason="nothing was kept for this session")
    return ProviderMoney(0, currency, "nothing", reason="it was never paid")


def booking_review_refusal(booking: Booking) -> str:
    """A client whose session was refunded in full (a cancellation, or a dispute resolved for them) has no
    paid session to review. Refunds requested or on their way count: the money is already promised back.
    Registered with ``bookings.reviews.register_review_refusal`` (``PaymentsConfig.ready``)."""
    # The first paid attempt is the booking's payment; a later duplicate is refunded on its own and says
    # nothing about the session.
    payment = booking.payments.filter(status__in=Payment.PAID_STATUSES).order_by("paid_at", "pk").first()
    if payment is None:
        return ""
    refunded: int = payment.refunds.filter(status__in=Refund.COMMITTED_STATUSES).aggregate(
        total=Coalesce(Sum("amount"), 0)
    )["total"]
    if refunded >= payment.amount:
        return "This session was refunded in full, so it cannot be reviewed."
    return ""
