"""The main journeys, the way a person does them: find a provider, book a slot, sign up on the way, pay on
Stripe's (the emulator's) page, and see the booking; then cancel it and see the refund."""

import re

import pytest
from playwright.sync_api import expect

from bookings.models import Booking
from payments.models import Refund


@pytest.fixture
def browser_timezone() -> str:
    return "Asia/Tokyo"


@pytest.fixture
def stripe_to_live_server(live_server, stripe_emulator, settings):
    """Stripe redirects and webhooks reach this test's server; tasks run inline in it."""
    settings.SITE_URL = live_server.url
    stripe_emulator.set_webhooks(url=live_server.url + "/webhooks/stripe/")
    return stripe_emulator


def _find_and_pick_first_slot(page, *, zone: str) -> None:
    page.goto("/")
    page.get_by_label("What are you looking for?").first.fill("Gabi")
    page.get_by_role("button", name="Search").first.click()
    page.get_by_role("link", name="Gabi Guitar").click()
    # Visitors see the browser's zone; signed-in people their profile's.
    expect(page.get_by_test_id("slot-zone")).to_have_text(zone)
    # Week view: go forward a week so the slot is days away, then pick the first open time.
    page.get_by_role("link", name="Next week →").click()
    page.get_by_test_id("slot").first.click()
    page.get_by_role("link", name="Book this time").click()


@pytest.mark.django_db(transaction=True)
def test_visitor_finds_books_signs_up_pays_and_sees_the_booking(
    page, bookable_service, stripe_to_live_server
):
    _find_and_pick_first_slot(page, zone="Asia/Tokyo")

    expect(page.get_by_role("heading", name="Book Guitar lesson")).to_be_visible()
    expect(page.get_by_test_id("book-when")).to_contain_text("JST")
    page.get_by_label("Anything the provider should know?").fill("Complete beginner")
    page.get_by_label("Name").fill("Taro Tanaka")
    page.get_by_label("Email").fill("taro@example.com")
    page.get_by_label(re.compile(r"^Password")).fill("a-long-unusual-passphrase")
    page.get_by_label("Confirm password").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Continue to payment").click()

    # Stripe's hosted page (the emulator's).
    expect(page.get_by_role("button", name="Pay", exact=True)).to_be_visible()
    page.get_by_role("button", name="Pay", exact=True).click()

    expect(page.get_by_role("heading", name="You're booked!")).to_be_visible()
    expect(page.get_by_test_id("checkout-outcome")).to_contain_text("JST")

    page.get_by_role("link", name="My bookings").click()
    row = page.get_by_test_id("booking-row").first
    expect(row).to_contain_text("Guitar lesson")
    expect(row).to_contain_text("Confirmed")
    booking = Booking.objects.get()
    assert booking.client.email == "taro@example.com"
    assert booking.client.timezone == "Asia/Tokyo"
    assert booking.status == Booking.Status.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_client_cancels_within_the_free_window_and_sees_the_refund(
    page, bookable_service, stripe_to_live_server, client_user
):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(client_user.email)
    page.get_by_label(re.compile(r"^Password")).fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Log in").click()

    _find_and_pick_first_slot(page, zone="America/New_York")
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("heading", name="You're booked!")).to_be_visible()

    page.get_by_role("link", name="See your booking").click()
    page.get_by_role("link", name="Cancel booking").click()
    expect(page.get_by_test_id("refund-preview")).to_contain_text("You will get back $45.00")
    page.get_by_role("button", name="Yes, cancel the booking").click()

    expect(page.get_by_text("A refund of $45.00 is on its way")).to_be_visible()
    expect(page.get_by_test_id("refund-row")).to_contain_text("succeeded")
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED
    assert Booking.objects.get().status == Booking.Status.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_backing_out_of_checkout_offers_a_retry(page, bookable_service, stripe_to_live_server, client_user):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(client_user.email)
    page.get_by_label(re.compile(r"^Password")).fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Log in").click()
    _find_and_pick_first_slot(page, zone="America/New_York")
    page.get_by_role("button", name="Continue to payment").click()

    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("heading", name="You haven't paid yet")).to_be_visible()
    page.get_by_role("button", name="Try paying again").click()
    page.get_by_role("button", name="Pay", exact=True).click()

    expect(page.get_by_role("heading", name="You're booked!")).to_be_visible()
    assert Booking.objects.get().payments.count() == 2
