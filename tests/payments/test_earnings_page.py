"""The provider's earnings page and its CSV: access, figures that equal sums worked out here from the rows,
month boundaries in the provider's zone, the chart for empty, one-week and busy periods, fixed query counts.

Sessions are made with ``payments.history`` (the seed's history): real charges, refunds and transfers at the
emulator, and the services for everything after the payment."""

import csv
import io
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from marketplace.money import format_major_units, format_money
from payments import history
from payments.models import Payment, Payout, Refund
from tests.payments.payout_helpers import make_payable, paid_booking

pytestmark = pytest.mark.django_db

URL = reverse("payments:earnings")
CSV_URL = reverse("payments:earnings_csv")


@pytest.fixture
def payable(bookable_provider, stripe_emulator):
    make_payable(bookable_provider, stripe_emulator)
    bookable_provider.refresh_from_db()
    return bookable_provider


@pytest.fixture
def as_payable(payable) -> Client:
    browser = Client()
    browser.force_login(payable.user)
    return browser


def _at(provider, day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(provider.timezone))


def _month_start(moment: datetime, zone: ZoneInfo):
    return moment.astimezone(zone).date().replace(day=1)


def _past(service, client_user, staff_user, start_at, outcome) -> Booking:
    return history.past_session_create(
        history.PastSession(service=service, client=client_user, start_at=start_at, outcome=outcome),
        staff=staff_user,
    )


@pytest.fixture
def mixed(payable, client_user, staff_user, stripe_emulator, slot):
    """Sessions in every state: paid last month and two months ago, refunded, a dispute refunded, one in
    dispute, one in its hold, one upcoming."""
    service = payable.services.get()
    zone = ZoneInfo(payable.timezone)
    this_month = _month_start(timezone.now(), zone)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    two_ago = (last_month - timedelta(days=1)).replace(day=1)
    made = [
        _past(service, client_user, staff_user, _at(payable, two_ago + timedelta(days=3), 10), history.PAID),
        _past(
            service, client_user, staff_user, _at(payable, last_month + timedelta(days=4), 10), history.PAID
        ),
        _past(
            service,
            client_user,
            staff_user,
            _at(payable, last_month + timedelta(days=5), 15),
            history.REFUNDED,
        ),
        _past(
            service,
            client_user,
            staff_user,
            _at(payable, last_month + timedelta(days=6), 10),
            history.DISPUTE_REFUNDED,
        ),
    ]
    history.past_payouts_send()
    # A session in dispute and one still in its hold: both yesterday or so, so their holds are not over.
    recent = timezone.now() - timedelta(days=1)
    made.append(_past(service, client_user, staff_user, recent.replace(minute=0, second=0), history.DISPUTED))
    made.append(
        _past(
            service,
            client_user,
            staff_user,
            (recent - timedelta(hours=3)).replace(minute=0, second=0),
            "paid",
        )
    )
    made.append(paid_booking(client_user, service, slot, stripe_emulator))
    return made


def _expected(provider) -> dict[str, dict[str, int]]:
    """Net per bucket per period, worked out from the rows without the app's selectors: what each payout
    row says, or the booking's frozen share while no payout exists."""
    zone = ZoneInfo(provider.timezone)
    this_month = _month_start(timezone.now(), zone)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    totals = {
        p: dict.fromkeys(("upcoming", "held", "sending", "transferred"), 0) for p in ("all", "this", "last")
    }
    paid_ids = Payment.objects.filter(status__in=Payment.PAID_STATUSES).values("booking_id")
    for booking in Booking.objects.filter(provider=provider, pk__in=paid_ids):
        payout = Payout.objects.filter(booking=booking).order_by("-sequence").first()
        if payout is None:
            bucket, amount = (
                ("upcoming", booking.provider_amount) if booking.status == "confirmed" else (None, 0)
            )
        elif payout.status in ("paid", "partially_reversed", "reversed"):
            bucket, amount = "transferred", payout.amount - payout.amount_reversed
        elif payout.status in ("scheduled", "on_hold"):
            bucket, amount = "held", payout.amount
        elif payout.status in ("processing", "retrying"):
            bucket, amount = "sending", payout.amount
        else:
            bucket, amount = None, 0
        if bucket is None:
            continue
        month = _month_start(booking.start_at, zone)
        for period in ["all"] + (
            ["this"] if month == this_month else ["last"] if month == last_month else []
        ):
            totals[period][bucket] += amount
    return totals


def _cell(body: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]*)<', body)
    assert match, testid
    return match.group(1)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("anonymous", 302),
        ("as_client", 404),
        ("as_other_client", 404),
        ("as_staff", 404),
        ("as_provider", 200),
    ],
)
def test_earnings_page_and_csv_access(request, persona, status):
    browser = request.getfixturevalue(persona)
    assert browser.get(URL).status_code == status
    assert browser.get(CSV_URL).status_code == status


def test_totals_equal_the_sums_of_the_rows(mixed, payable, as_payable):
    body = as_payable.get(URL).content.decode()
    expected = _expected(payable)

    assert expected["all"]["transferred"] == 2 * 4050  # two sent: two months ago and last month
    assert expected["all"]["held"] == 2 * 4050  # in dispute, and in its hold
    assert expected["all"]["upcoming"] == 4050
    for period, column in (("all", "all"), ("this", "this_month"), ("last", "last_month")):
        for bucket in ("upcoming", "held", "sending", "transferred"):
            assert _cell(body, f"{bucket}-{column}") == format_money(expected[period][bucket], "usd"), (
                bucket,
                column,
            )
        assert _cell(body, f"total-{column}") == format_money(sum(expected[period].values()), "usd")


def test_rows_show_price_fee_refunds_and_net(mixed, as_payable):
    body = as_payable.get(URL).content.decode()
    refunded = next(b for b in mixed if b.status == Booking.Status.CANCELLED)
    row = re.search(rf'data-reference="{refunded.reference}">(.*?)</tr>', body, re.S).group(1)

    assert 'data-col="price">$45.00<' in row
    assert 'data-col="refunded">$45.00<' in row
    assert 'data-col="platform_fee">$0.00<' in row
    assert 'data-col="net"><strong>$0.00<' in row
    assert body.count('data-testid="earnings-row"') == len(mixed)


def test_the_csv_has_the_rows_of_the_page(mixed, as_payable):
    page = as_payable.get(URL, {"period": "last_month"}).content.decode()
    response = as_payable.get(CSV_URL, {"period": "last_month"})
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))

    assert response["Content-Type"].startswith("text/csv")
    references = re.findall(r'data-testid="earnings-row" data-reference="([^"]+)"', page)
    assert [line["reference"] for line in lines] == references
    zone = ZoneInfo(mixed[0].provider.timezone)
    last_month = (_month_start(timezone.now(), zone) - timedelta(days=1)).replace(day=1)
    # Paid, refunded and dispute refunded; on the 1st, yesterday's two sessions too.
    assert len(lines) == sum(1 for b in mixed if _month_start(b.start_at, zone) == last_month) >= 3
    for line in lines:
        row = re.search(rf'data-reference="{line["reference"]}">(.*?)</tr>', page, re.S).group(1)
        for column in ("price", "refunded", "platform_fee", "taken_back"):
            cents = int(line[column].replace(".", ""))
            assert f'data-col="{column}">{format_money(cents, "usd")}<' in row
        assert f"<strong>{format_money(int(line['net'].replace('.', '')), 'usd')}<" in row
    refunds = sum(r.amount for r in Refund.objects.filter(booking__reference__in=references))
    assert sum(int(line["refunded"].replace(".", "")) for line in lines) == refunds
    assert format_major_units(refunds, "usd") == f"{refunds / 100:.2f}"


def test_a_session_at_2330_on_the_last_day_of_a_month_counts_in_that_month(
    payable, client_user, staff_user, stripe_emulator, as_payable
):
    # New York is behind UTC: 23:30 there on the last day of last month is already the 1st of this month
    # in UTC, so grouping by UTC would put it in the wrong month.
    type(payable).objects.filter(pk=payable.pk).update(timezone="America/New_York")
    payable.refresh_from_db()
    zone = ZoneInfo("America/New_York")
    last_day = _month_start(timezone.now(), zone) - timedelta(days=1)
    start_at = _at(payable, last_day, 23, 30)
    assert start_at.astimezone(ZoneInfo("UTC")).day == 1
    _past(payable.services.get(), client_user, staff_user, start_at, history.PAID)
    history.past_payouts_send()

    body = as_payable.get(URL).content.decode()

    assert _cell(body, "transferred-last_month") == "$40.50"
    assert _cell(body, "transferred-this_month") == "$0.00"
    last = as_payable.get(URL, {"period": "last_month"}).content.decode()
    assert last.count('data-testid="earnings-row"') == 1


def test_the_chart_is_empty_for_a_provider_without_sessions(as_provider):
    body = as_provider.get(URL).content.decode()

    assert 'data-testid="chart-empty"' in body
    assert body.count('class="chart-bar"') == 12
    assert 'height="0"' in body


def test_the_chart_of_one_week_has_one_bar(payable, client_user, staff_user, stripe_emulator, as_payable):
    start_at = (timezone.now() - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    _past(payable.services.get(), client_user, staff_user, start_at, history.PAID)

    body = as_payable.get(URL, {"chart": "week"}).content.decode()

    values = [int(v) for v in re.findall(r'class="chart-bar"[^>]*data-value="(-?\d+)"', body)]
    assert len(values) == 12
    this_week_is_last = values[-1] == 4050 or (
        # on a Monday before 01:00 the session (yesterday) fell in the week before
        values[-2] == 4050 and timezone.localtime(timezone.now(), ZoneInfo(payable.timezone)).weekday() == 0
    )
    assert this_week_is_last
    assert sum(1 for v in values if v) == 1
    assert 'data-testid="chart-empty"' not in body
    assert "Net earnings per week" in body


def test_the_busy_chart_adds_up_to_the_rows_and_stays_readable(
    payable, client_user, staff_user, stripe_emulator, as_payable
):
    now = timezone.now()
    plan = history.past_sessions_plan(
        services=[payable.services.get()], clients=[client_user], start=now - timedelta(days=330), end=now
    )
    history.past_sessions_create(plan, staff=staff_user)

    body = as_payable.get(URL).content.decode()

    values = [int(v) for v in re.findall(r'class="chart-bar"[^>]*data-value="(-?\d+)"', body)]
    assert len(values) == 12
    assert sum(1 for v in values if v) >= 10
    expected = _expected(payable)["all"]
    assert sum(values) == sum(expected.values())
    heights = [int(h) for h in re.findall(r'class="chart-bar"[^>]*height="(\d+)"', body)]
    assert max(heights) <= 192  # inside the plot area
    assert min(heights) >= 0
    table = body.split('data-testid="chart-table-net-usd"')[1].split("</table>")[0]
    assert table.count("<tr>") == 13  # a header and a row per month, for screen readers


def test_query_count_does_not_grow_with_sessions(
    payable, client_user, staff_user, stripe_emulator, as_payable
):
    service = payable.services.get()
    start = timezone.now() - timedelta(days=60)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert as_payable.get(URL).status_code == 200
            assert as_payable.get(CSV_URL).status_code == 200
        return len(captured)

    _past(service, client_user, staff_user, start, history.PAID)
    few = queries()
    for day in range(1, 8):
        outcome = (history.PAID, history.REFUNDED, history.DISPUTE_REFUNDED)[day % 3]
        _past(service, client_user, staff_user, start + timedelta(days=day), outcome)
    history.past_payouts_send()

    assert queries() == few


def test_a_bad_filter_says_so_and_shows_the_default(as_provider):
    body = as_provider.get(URL, {"period": "forever", "chart": "decade"}).content.decode()

    assert "Choose all time, this month or last month." in body
    assert "Choose month or week." in body
    assert "Sessions: all time" in body


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_quoted_in_the_csv(
    payable, client_user, staff_user, stripe_emulator, as_payable
):
    type(client_user).objects.filter(pk=client_user.pk).update(name='=HYPERLINK("http://x")')
    client_user.refresh_from_db()
    _past(payable.services.get(), client_user, staff_user, timezone.now() - timedelta(days=2), history.PAID)

    [line] = list(csv.DictReader(io.StringIO(as_payable.get(CSV_URL).content.decode())))

    assert line["client"] == '\'=HYPERLINK("http://x")'


def test_the_page_says_when_payouts_wait_for_setup(as_provider):
    body = as_provider.get(URL).content.decode()

    assert 'data-testid="payout-setup-needed"' in body
    assert reverse("payments:connect_setup") in body
