"""A provider in Berlin takes time off, in a real Chromium: a day already gone is refused on the spot; days
with paid sessions in them show those sessions (client, time in Berlin) and the provider cancels them, each
client refunded in full at Stripe (the emulator) through the normal provider cancellation."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from bookings.models import Booking
from payments.models import Refund
from tests.factories import TEST_PASSWORD, UserFactory
from tests.fixtures.bookings import first_slot
from tests.payments.payout_helpers import paid_booking

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def browser_timezone() -> str:
    return "Asia/Tokyo"  # the provider is travelling: the list must still say Berlin time


def _log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.django_db(transaction=True)
def test_provider_refuses_nothing_silently_and_cancels_the_sessions_their_time_off_covers(
    page, bookable_provider, bookable_service, client_user, stripe_emulator, settings, live_server
):
    settings.SITE_URL = live_server.url
    other_client = UserFactory(email="second@example.com", name="Sasha Second")
    first = paid_booking(
        client_user, bookable_service, first_slot(bookable_service, after_days=4), stripe_emulator
    )
    second = paid_booking(
        other_client, bookable_service, first_slot(bookable_service, after_days=5), stripe_emulator
    )
    first_day, last_day = (b.start_at.astimezone(BERLIN).date() for b in (first, second))
    yesterday = datetime.now(UTC).astimezone(BERLIN).date() - timedelta(days=1)

    _log_in(page, bookable_provider.user.email)
    page.goto("/dashboard/time-off/")

    # A day already gone: a field error, nothing added.
    page.get_by_label("First day off").fill(yesterday.isoformat())
    page.get_by_label("Last day off").fill(yesterday.isoformat())
    page.get_by_role("button", name="Add time off").click()
    expect(page.get_by_text("The first day off cannot be in the past.")).to_be_visible()
    expect(page.get_by_label("First day off")).to_have_attribute("aria-invalid", "true")
    assert not bookable_provider.time_off.exists()

    # Days with paid sessions: each is shown, in Berlin time, before anything is saved.
    page.get_by_label("First day off").fill(first_day.isoformat())
    page.get_by_label("Last day off").fill(last_day.isoformat())
    page.get_by_role("button", name="Add time off").click()
    expect(page.get_by_role("heading", name="2 booked sessions in this time off")).to_be_visible()
    sessions = page.get_by_test_id("covered-session")
    expect(sessions).to_have_count(2)
    for row, booking in zip(sessions.all(), (first, second), strict=True):
        local = booking.start_at.astimezone(BERLIN)
        expect(row).to_contain_text(f"{local:%H:%M} {local.tzname()}")
        expect(row).to_contain_text(booking.client.display_name)
    assert not bookable_provider.time_off.exists()

    page.get_by_role("button", name="Cancel all 2 with a full refund to each client").click()

    expect(
        page.get_by_text(re.compile(r"2 sessions cancelled\. Each client gets a full refund"))
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Upcoming")).to_be_visible()
    assert bookable_provider.time_off.get().start_date == first_day
    for booking in (first, second):
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CANCELLED
        refund = booking.refunds.get()
        assert (refund.amount, refund.reason, refund.status) == (
            4500,
            Refund.Reason.PROVIDER_CANCELLED,
            Refund.Status.SUCCEEDED,
        )
    assert sorted(r["amount"] for r in stripe_emulator.state()["refunds"].values()) == [4500, 4500]
