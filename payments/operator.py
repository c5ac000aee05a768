"""The operator's dashboard: the marketplace's health for a period, from the database in a fixed handful of
aggregate queries (eight), whatever the period and however many rows it covers.

Definitions (``[start, end)`` is the period; "now" figures ignore it):

- bookings started: bookings created in the period (each is a checkout started: a slot held for payment);
  of those, *paid*: those with a payment that reached us; *abandoned*: those that expired without one.
  Conversion and abandonment are both shares of bookings started; the rest are still open or were paid and
  cancelled later (they count as paid).
- gross volume: payments paid in the period (``paid_at``), per currency, and their count.
- platform fees: the fee frozen on each of those payments' bookings (``platform_fee_amount``), before any
  refund; the platform gives its share of refunded money back, so fees kept are lower by their share of
  refunds, listed next to it.
- refunds: refunds requested in the period that count against the payment (requested, under way or done).
- payouts waiting / failed (now): on hold (a dispute, payout setup, staff) / failed, per currency.
- disputes: open now; opened in the period; the dispute rate is disputes opened in the period over payments
  paid in it.
- webhook events failing (now): stored Stripe events whose processing failed (retrying, or given up).
- the chart: gross volume per week (weeks start on Monday in the viewer's zone).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from bookings.models import Booking
from marketplace.charts import BarChart, bar_chart
from payments.models import Dispute, Payment, Payout, Refund, WebhookEvent


@dataclass
class CurrencyFigures:
    currency: str
    gross: int = 0
    payments: int = 0
    platform_fees: int = 0
    refunds: int = 0
    refund_count: int = 0
    payouts_waiting: int = 0
    payouts_waiting_count: int = 0
    payouts_failed: int = 0
    payouts_failed_count: int = 0


@dataclass
class MarketplaceHealth:
    start: datetime
    end: datetime
    bookings_started: int
    bookings_paid: int
    bookings_abandoned: int
    disputes_open: int
    disputes_opened: int
    webhooks_failing: int
    webhooks_gave_up: int
    currencies: list[CurrencyFigures]
    charts: list[BarChart] = field(default_factory=list)

    @property
    def payments(self) -> int:
        return sum(figures.payments for figures in self.currencies)

    @property
    def conversion_percent(self) -> Decimal | None:
        return _percent(self.bookings_paid, self.bookings_started)

    @property
    def abandonment_percent(self) -> Decimal | None:
        return _percent(self.bookings_abandoned, self.bookings_started)

    @property
    def dispute_rate_percent(self) -> Decimal | None:
        return _percent(self.disputes_opened, self.payments)


def _percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent to one decimal; None when there is no whole to divide."""
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def marketplace_health(*, start: datetime, end: datetime) -> MarketplaceHealth:
    """The dashboard's figures for ``[start, end)`` (aware datetimes). Eight queries."""
    paid_bookings = Payment.objects.filter(status__in=Payment.PAID_STATUSES).values("booking_id")

    booking_counts = Booking.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        started=Count("pk"),
        paid=Count("pk", filter=Q(pk__in=paid_bookings)),
        abandoned=Count("pk", filter=Q(status=Booking.Status.EXPIRED) & ~Q(pk__in=paid_bookings)),
    )
    figures: dict[str, CurrencyFigures] = {}

    def of(currency: str) -> CurrencyFigures:
        return figures.setdefault(currency, CurrencyFigures(currency))

    for row in (
        Payment.objects.filter(status__in=Payment.PAID_STATUSES, paid_at__gte=start, paid_at__lt=end)
        .values("currency")
        .annotate(gross=Sum("amount"), payments=Count("pk"), fees=Sum("booking__platform_fee_amount"))
    ):
        currency_figures = of(row["currency"])
        currency_figures.gross, currency_figures.payments = row["gross"], row["payments"]
        currency_figures.platform_fees = row["fees"]
    for refund_row in (
        Refund.objects.filter(status__in=Refund.COMMITTED_STATUSES, created_at__gte=start, created_at__lt=end)
        .values("currency")
        .annotate(amount=Sum("amount"), count=Count("pk"))
    ):
        of(refund_row["currency"]).refunds, of(refund_row["currency"]).refund_count = (
            refund_row["amount"],
            refund_row["count"],
        )
    S = Payout.Status
    for payout_row in (
        Payout.objects.filter(status__in=[S.ON_HOLD, S.FAILED])
        .values("currency")
        .annotate(
            waiting=Coalesce(Sum("amount", filter=Q(status=S.ON_HOLD)), 0),
            waiting_count=Count("pk", filter=Q(status=S.ON_HOLD)),
            failed=Coalesce(Sum("amount", filter=Q(status=S.FAILED)), 0),
            failed_count=Count("pk", filter=Q(status=S.FAILED)),
        )
    ):
        currency_figures = of(payout_row["currency"])
        currency_figures.payouts_waiting = payout_row["waiting"]
        currency_figures.payouts_waiting_count = payout_row["waiting_count"]
        currency_figures.payouts_failed = payout_row["failed"]
        currency_figures.payouts_failed_count = payout_row["failed_count"]
    disputes = Dispute.objects.aggregate(
        open=Count("pk", filter=Q(status__in=Dispute.OPEN_STATUSES)),
        opened=Count("pk", filter=Q(created_at__gte=start, created_at__lt=end)),
    )
    webhooks = WebhookEvent.objects.filter(
        status__in=[WebhookEvent.Status.FAILED, WebhookEvent.Status.GAVE_UP]
    ).aggregate(
        failing=Count("pk", filter=Q(status=WebhookEvent.Status.FAILED)),
        gave_up=Count("pk", filter=Q(status=WebhookEvent.Status.GAVE_UP)),
    )
    weekly = (
        Payment.objects.filter(status__in=Payment.PAID_STATUSES, paid_at__gte=start, paid_at__lt=end)
        .annotate(week=TruncWeek("paid_at", tzinfo=timezone.get_current_timezone()))
        .values("week", "currency")
        .annotate(gross=Sum("amount"))
    )
    per_week: dict[str, dict[date, int]] = {}
    for week in weekly:
        per_week.setdefault(week["currency"], {})[week["week"].date()] = week["gross"]
        of(week["currency"])
    return MarketplaceHealth(
        start=start,
        end=end,
        bookings_started=booking_counts["started"],
        bookings_paid=booking_counts["paid"],
        bookings_abandoned=booking_counts["abandoned"],
        disputes_open=disputes["open"],
        disputes_opened=disputes["opened"],
        webhooks_failing=webhooks["failing"],
        webhooks_gave_up=webhooks["gave_up"],
        currencies=sorted(figures.values(), key=lambda currency_figures: currency_figures.currency),
        charts=[
            _weekly_chart(per_week.get(currency, {}), currency=currency, start=start, end=end)
            for currency in sorted(figures) or [settings.PLATFORM_CURRENCY]
        ],
    )


def weeks_of(start: datetime, end: datetime) -> list[date]:
    """The Mondays (in the current zone) of every week that overlaps ``[start, end)``."""
    first = timezone.localtime(start).date()
    monday = first - timedelta(days=first.weekday())
    last = timezone.localtime(end - timedelta(microseconds=1)).date()
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(weeks=1)
    return weeks


def _weekly_chart(gross: dict[date, int], *, currency: str, start: datetime, end: datetime) -> BarChart:
    points = [
        (f"{monday.day} {monday:%b}", f"Week of {monday.day} {monday:%B %Y}", gross.get(monday, 0))
        for monday in weeks_of(start, end)
    ]
    return bar_chart(
        title=f"Gross volume per week ({currency.upper()})",
        value_heading="Gross volume",
        points=points,
        currency=currency,
    )
