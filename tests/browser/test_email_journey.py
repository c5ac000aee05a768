"""Emails, the way people meet them: a client turns reminders off from the link in one without logging in,
and staff follow the demo's emails on the outbox page as their recipients saw them, in a real Chromium."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from marketplace.models import User
from notifications.models import Notification
from notifications.reminders import reminders_send
from tests.factories import TEST_PASSWORD
from tests.payments.payout_helpers import paid_booking


@pytest.fixture
def reminded(client_user, bookable_service, slot, stripe_emulator, live_server, settings):
    settings.SITE_URL = live_server.url
    booking = paid_booking(client_user, bookable_service, slot, stripe_emulator)
    reminders_send(now=booking.start_at - timedelta(hours=2))
    return booking


@pytest.mark.django_db(transaction=True)
def test_a_client_turns_reminders_off_from_the_email_without_logging_in(page, reminded, settings):
    reminder = Notification.objects.get(key=f"booking-reminder-client-{reminded.pk}")
    link = re.search(r"(http\S+/emails/unsubscribe/\S+)", reminder.body_text).group(1)

    page.goto(link)
    expect(page.get_by_role("heading", name="Stop session reminders?")).to_be_visible()
    page.get_by_role("button", name="Turn session reminders off").click()

    expect(page.get_by_role("heading", name="Done: no more session reminders")).to_be_visible()
    assert not User.objects.get(pk=reminded.client_id).has_reminders_on


@pytest.mark.django_db(transaction=True)
def test_staff_follow_the_emails_on_the_outbox_page(page, reminded, staff_user):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(staff_user.email)
    page.get_by_label(re.compile(r"^Password")).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Emails").click()
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Booking confirmed: Guitar lesson")).click()

    expect(page.get_by_role("link", name="invite.ics")).to_be_visible()
    expect(page.locator(".outbox-text")).to_contain_text("Your payment went through")
    frame = page.frame_locator("iframe.outbox-html")
    expect(frame.get_by_role("heading", name=re.compile(r"^Booking confirmed"))).to_be_visible()
    expect(frame.get_by_role("link", name="View your booking")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="invite.ics").click()
    assert "METHOD:REQUEST" in download.value.path().read_text()
