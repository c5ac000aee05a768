"""The operator's dashboard: staff only, linked from the admin index; figures equal sums worked out here from
the rows; the weekly chart for empty, one-week and busy periods; a fixed number of queries."""

import re
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.services import booking_create, booking_expire
from marketplace.money import format_money
from payments import history
from payments.models import Dispute, Payment, Payout, Refund, WebhookEvent
from tests.fixtures.bookings import first_slot
from tests.payments.payout_helpers import make_payable

pytestmark = pytest.mark.django_db

URL = reverse("payments:operator_dashboard")


@pytest.mark.parametrize("persona", ["anonymous", "as_client", "as_provider"])
def test_only_staff_see_the_dashboard(request, persona):
    response = request.getfixturevalue(persona).get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_see_it_and_the_admin_index_links_to_it(as_staff):
    assert as_staff.get(URL).status_code == 200
    assert URL in as_staff.get(reverse("admin:index")).content.decode()


@pytest.fixture
def market(bookable_provider, client_user, other_client_user, staff_user, stripe_emulator):
    """Three months of history for one provider, two checkouts abandoned and one open, two failing events."""
    make_payable(bookable_provider, stripe_emulator)
    bookable_provider.refresh_from_db()
    service = bookable_provider.services.get()
    now = timezone.now()
    plan = history.past_sessions_plan(
        services=[service], clients=[client_user, other_client_user], start=now - timedelta(days=90), end=now
    )
    history.past_sessions_create(plan, staff=staff_user)
    for days in (3, 4):
        abandoned = booking_create(
            client=other_client_user, service=service, start_at=first_slot(service, after_days=days)
        )
        booking_expire(booking_id=abandoned.pk, reason="checkout abandoned")
    booking_create(client=client_user, service=service, start_at=first_slot(service, after_days=6))
    for number, status in enumerate((WebhookEvent.Status.FAILED, WebhookEvent.Status.GAVE_UP)):
        WebhookEvent.objects.create(
            stripe_event_id=f"evt_test_{number}",
            endpoint=WebhookEvent.Endpoint.PLATFORM,
            type="charge.refunded",
            payload={},
            status=status,
        )
    return plan


def _period(first: date, last: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(first, time.min, tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone),
    )


def _get(as_staff, first: date, last: date) -> str:
    response = as_staff.get(URL, {"start": first.isoformat(), "end": last.isoformat()})
    assert response.status_code == 200
    return response.content.decode()


def _text(body: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</dd>', body, re.S)
    assert match, testid
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def _col(body: str, column: str) -> str:
    match = re.search(rf'data-col="{column}">([^<]*)<', body)
    assert match, column
    return match.group(1).strip()


def test_figures_equal_sums_of_the_rows(market, as_staff):
    first, last = timezone.localdate() - timedelta(days=60), timezone.localdate()
    start, end = _period(first, last)
    body = _get(as_staff, first, last)

    def within(moment) -> bool:
        return moment is not None and start <= moment < end

    bookings = [b for b in Booking.objects.all() if within(b.created_at)]
    paid_ids = {p.booking_id for p in Payment.objects.filter(status__in=Payment.PAID_STATUSES)}
    paid = [p for p in Payment.objects.select_related("booking") if p.status in Payment.PAID_STATUSES]
    paid_in = [p for p in paid if within(p.paid_at)]
    refunds = [
        r for r in Refund.objects.all() if r.status in Refund.COMMITTED_STATUSES and within(r.created_at)
    ]
    waiting = [p for p in Payout.objects.all() if p.status == Payout.Status.ON_HOLD]
    opened = [d for d in Dispute.objects.all() if within(d.created_at)]
    assert paid_in
    assert refunds
    assert waiting
    assert opened

    assert _text(body, "bookings-started") == str(len(bookings))
    assert _text(body, "bookings-paid") == str(sum(1 for b in bookings if b.pk in paid_ids))
    abandoned = sum(1 for b in bookings if b.status == Booking.Status.EXPIRED and b.pk not in paid_ids)
    assert abandoned == 2
    assert _text(body, "abandoned").startswith(f"{abandoned} ")
    conversion = round(100 * sum(1 for b in bookings if b.pk in paid_ids) / len(bookings), 1)
    assert _text(body, "conversion") == f"{conversion}%"
    assert _col(body, "gross") == format_money(sum(p.amount for p in paid_in), "usd")
    assert _col(body, "payments") == str(len(paid_in))
    assert _col(body, "platform_fees") == format_money(
        sum(p.booking.platform_fee_amount for p in paid_in), "usd"
    )
    assert _col(body, "refunds") == format_money(sum(r.amount for r in refunds), "usd")
    assert _col(body, "payouts_waiting") == format_money(sum(p.amount for p in waiting), "usd")
    assert _col(body, "payouts_failed") == format_money(0, "usd")
    assert _text(body, "disputes-open") == str(Dispute.objects.filter(status="open").count())
    assert _text(body, "disputes-opened") == str(len(opened))
    assert _text(body, "dispute-rate") == f"{round(100 * len(opened) / len(paid_in), 1)}%"
    assert _text(body, "webhooks-failing") == "1"
    assert _text(body, "webhooks-gave-up") == "1"
    bars = [int(v) for v in re.findall(r'class="chart-bar"[^>]*data-value="(\d+)"', body)]
    assert sum(bars) == sum(p.amount for p in paid_in)


def test_an_empty_period_draws_an_empty_chart(as_staff):
    body = _get(as_staff, date(2020, 1, 6), date(2020, 3, 29))

    assert 'data-testid="chart-empty"' in body
    assert body.count('class="chart-bar"') == 12
    assert _text(body, "conversion") == "\N{EN DASH}"
    assert "No money moved in this period." in body


def test_one_week_is_one_bar(market, as_staff):
    paid_at = Payment.objects.filter(status__in=Payment.PAID_STATUSES).latest("paid_at").paid_at
    monday = timezone.localtime(paid_at).date() - timedelta(days=timezone.localtime(paid_at).weekday())
    start, end = _period(monday, monday + timedelta(days=6))

    body = _get(as_staff, monday, monday + timedelta(days=6))

    bars = [int(v) for v in re.findall(r'class="chart-bar"[^>]*data-value="(\d+)"', body)]
    week = Payment.objects.filter(status__in=Payment.PAID_STATUSES, paid_at__gte=start, paid_at__lt=end)
    assert bars == [sum(p.amount for p in week)]
    assert bars[0] > 0


def test_a_busy_year_has_a_bar_per_week_and_labels_that_fit(market, as_staff):
    last = timezone.localdate()
    body = _get(as_staff, last - timedelta(days=364), last)

    bars = re.findall(r'class="chart-bar"', body)
    assert len(bars) in (53, 54)
    labels = re.findall(r'<text class="chart-axis" x="\d+" y="222"', body)
    assert len(labels) <= 14


def test_query_count_is_the_same_for_any_period_and_amount_of_data(
    as_staff, bookable_provider, client_user, staff_user, stripe_emulator
):
    def queries(first: date, last: date) -> int:
        with CaptureQueriesContext(connection) as captured:
            _get(as_staff, first, last)
        return len(captured)

    today = timezone.localdate()
    empty = queries(today - timedelta(days=6), today)
    make_payable(bookable_provider, stripe_emulator)
    service = bookable_provider.services.get()
    plan = history.past_sessions_plan(
        services=[service],
        clients=[client_user],
        start=timezone.now() - timedelta(days=40),
        end=timezone.now(),
    )
    history.past_sessions_create(plan, staff=staff_user)

    assert queries(today - timedelta(days=6), today) == empty
    assert queries(today - timedelta(days=700), today) == empty


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-03-10", "2026-03-01", "The period must start on or before its last day."),
        ("2020-01-01", "2026-01-01", "Choose a period of at most 731 days."),
        ("1900-01-01", "1900-01-02", "Choose dates between the years 2000 and 2100."),
        ("yesterday", "2026-01-01", "Enter a valid date."),
    ],
)
def test_a_bad_period_says_why_and_shows_the_default(as_staff, start, end, message):
    response = as_staff.get(URL, {"start": start, "end": end})
    body = response.content.decode()

    assert response.status_code == 200
    assert message in body
    assert "Showing the last twelve weeks instead." in body
    assert body.count('class="chart-bar"') == 12
