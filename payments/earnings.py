"""The provider's earnings: every paid session with what it brings them, totals by where the money is, for
this month, last month and all time, the next payout dates, and net earnings per month or week.

Each session's figures come from ``selectors.provider_money``, the one function that says what a provider gets
for a booking; nothing here computes provider money another way. Months and weeks are the provider's own
(their time zone), and a session belongs to the month it took place in (its start). Money is kept per
currency: figures in two currencies are never added together.

Three queries whatever the number of sessions (bookings, their refunds, their payouts); the totals and the
chart are sums over the same rows in Python, so the page, the CSV and the totals cannot disagree.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from bookings.models import Booking
from marketplace.charts import BarChart, bar_chart
from payments.models import Payment, Payout
from payments.selectors import ProviderMoney, provider_money
from providers.models import Provider

# provider_money's states, gathered into what the provider asks: is it coming, held, being sent, or sent?
BUCKET_OF_STATE = {
    "upcoming": "upcoming",
    "held": "held",
    "waiting": "held",
    "on_the_way": "sending",
    "delayed": "delayed",
    "paid": "transferred",
}

PERIODS = {"all": "All time", "this_month": "This month", "last_month": "Last month"}
CHART_UNITS = {"month": "Month", "week": "Week"}
CHART_LENGTH = 12  # bars: the last twelve months or weeks, the current one included


@dataclass
class BucketTotals:
    """Net amounts, minor units of one currency, by where the money is."""

    upcoming: int = 0  # booked and paid by the client, session not completed yet
    held: int = 0  # in the hold after the session, or waiting (a dispute, payout setup, staff)
    sending: int = 0  # the transfer is being made (or retried)
    delayed: int = 0  # the transfer failed; staff are on it
    transferred: int = 0  # a transfer to the provider's Stripe account exists

    @property
    def total(self) -> int:
        return self.upcoming + self.held + self.sending + self.delayed + self.transferred

    def add(self, money: ProviderMoney) -> None:
        bucket = BUCKET_OF_STATE.get(money.state)
        if bucket is not None:
            setattr(self, bucket, getattr(self, bucket) + money.amount)


@dataclass
class EarningsRow:
    """One paid session and what it brings the provider."""

    booking: Booking
    money: ProviderMoney
    local_start: datetime  # in the provider's zone
    taken_back: int  # sent to the provider and reversed since (already out of ``money.amount``)

    @property
    def currency(self) -> str:
        return self.booking.currency

    @property
    def price(self) -> int:
        return self.booking.price_amount

    @property
    def net(self) -> int:
        return self.money.amount

    @property
    def month(self) -> date:
        return self.local_start.date().replace(day=1)

    @property
    def week(self) -> date:
        day = self.local_start.date()
        return day - timedelta(days=day.weekday())


@dataclass
class CurrencyEarnings:
    currency: str
    periods: dict[str, BucketTotals] = field(default_factory=dict)  # keyed like PERIODS
    chart: BarChart | None = None


@dataclass(frozen=True)
class PayoutDate:
    """Held money that becomes due on one day (the provider's), in one currency."""

    day: date
    due_at: datetime  # the first payout due that day
    amount: int
    currency: str
    count: int


@dataclass(frozen=True)
class WaitingMoney:
    reason: str
    amount: int
    currency: str
    count: int


@dataclass
class ProviderEarnings:
    zone: ZoneInfo
    this_month: date
    last_month: date
    rows: list[EarningsRow]
    currencies: list[CurrencyEarnings]
    next_payouts: list[PayoutDate]
    waiting: list[WaitingMoney]

    def rows_in(self, period: str) -> list[EarningsRow]:
        """The rows of ``period`` (a key of PERIODS), newest first."""
        if period == "this_month":
            return [row for row in self.rows if row.month == self.this_month]
        if period == "last_month":
            return [row for row in self.rows if row.month == self.last_month]
        return self.rows


def provider_earning_rows(*, provider: Provider) -> list[EarningsRow]:
    """Every session of ``provider`` the client paid for, newest first (three queries)."""
    zone = ZoneInfo(provider.timezone)
    paid = Payment.objects.filter(status__in=Payment.PAID_STATUSES).values("booking_id")
    bookings = (
        Booking.objects.filter(provider=provider, pk__in=paid)
        .select_related("client")
        .prefetch_related("refunds", Prefetch("payouts", queryset=Payout.objects.order_by("-sequence")))
        .order_by("-start_at", "-pk")
    )
    rows = []
    for booking in bookings:
        payouts = list(booking.payouts.all())
        rows.append(
            EarningsRow(
                booking=booking,
                money=provider_money(booking, payout=payouts[0] if payouts else None),
                local_start=booking.start_at.astimezone(zone),
                taken_back=sum(payout.amount_reversed for payout in payouts),
            )
        )
    return rows


def provider_earnings(
    *, provider: Provider, now: datetime | None = None, chart_unit: str = "month"
) -> ProviderEarnings:
    """The provider's earnings page, worked out from ``provider_earning_rows``. ``chart_unit``: a key of
    CHART_UNITS."""
    zone = ZoneInfo(provider.timezone)
    local_today = (now or timezone.now()).astimezone(zone).date()
    this_month = local_today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    rows = provider_earning_rows(provider=provider)

    by_currency: dict[str, CurrencyEarnings] = {}
    net_per_period: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        earnings = by_currency.setdefault(
            row.currency,
            CurrencyEarnings(row.currency, {period: BucketTotals() for period in PERIODS}),
        )
        earnings.periods["all"].add(row.money)
        if row.month == this_month:
            earnings.periods["this_month"].add(row.money)
        elif row.month == last_month:
            earnings.periods["last_month"].add(row.money)
        key = row.week if chart_unit == "week" else row.month
        net_per_period[row.currency][key] += row.net
    if not by_currency:
        # Nothing yet: still show the totals and an empty chart, in the marketplace's currency.
        currency = settings.PLATFORM_CURRENCY
        by_currency[currency] = CurrencyEarnings(currency, {period: BucketTotals() for period in PERIODS})

    for currency, earnings in by_currency.items():
        earnings.chart = _earnings_chart(
            net_per_period[currency], currency=currency, unit=chart_unit, today=local_today
        )
    return ProviderEarnings(
        zone=zone,
        this_month=this_month,
        last_month=last_month,
        rows=rows,
        currencies=sorted(by_currency.values(), key=lambda earnings: earnings.currency),
        next_payouts=_next_payouts(rows, zone),
        waiting=_waiting(rows),
    )


def _earnings_chart(net: dict[date, int], *, currency: str, unit: str, today: date) -> BarChart:
    if unit == "week":
        monday = today - timedelta(days=today.weekday())
        starts = [monday - timedelta(weeks=back) for back in range(CHART_LENGTH - 1, -1, -1)]
        points = [
            (f"{start.day} {start:%b}", f"Week of {start.day} {start:%B %Y}", net.get(start, 0))
            for start in starts
        ]
        title = f"Net earnings per week, last {CHART_LENGTH} weeks ({currency.upper()})"
    else:
        starts = [_months_before(today.replace(day=1), back) for back in range(CHART_LENGTH - 1, -1, -1)]
        points = [(f"{start:%b}", f"{start:%B %Y}", net.get(start, 0)) for start in starts]
        title = f"Net earnings per month, last {CHART_LENGTH} months ({currency.upper()})"
    return bar_chart(title=title, value_heading="Net earnings", points=points, currency=currency)


def _months_before(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _next_payouts(rows: list[EarningsRow], zone: ZoneInfo, limit: int = 5) -> list[PayoutDate]:
    """Held money by the (provider's) day it becomes due, soonest first."""
    per_day: dict[tuple[date, str], list[Payout]] = defaultdict(list)
    for row in rows:
        payout = row.money.payout
        if row.money.state == "held" and payout is not None:
            per_day[(payout.due_at.astimezone(zone).date(), row.currency)].append(payout)
    dates = [
        PayoutDate(
            day=day,
            due_at=min(payout.due_at for payout in payouts),
            amount=sum(payout.amount for payout in payouts),
            currency=currency,
            count=len(payouts),
        )
        for (day, currency), payouts in per_day.items()
    ]
    return sorted(dates, key=lambda payout_date: (payout_date.day, payout_date.currency))[:limit]


def _waiting(rows: list[EarningsRow]) -> list[WaitingMoney]:
    """Due money that waits on something, by reason (in the provider's words)."""
    per_reason: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in rows:
        if row.money.state == "waiting" and row.money.payout is not None:
            reason = row.money.payout.hold_reason or "Held while we look into it."
            per_reason[(reason, row.currency)].append(row.net)
    return [
        WaitingMoney(reason=reason, amount=sum(amounts), currency=currency, count=len(amounts))
        for (reason, currency), amounts in sorted(per_reason.items())
    ]
