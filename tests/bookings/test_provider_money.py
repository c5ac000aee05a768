"""What the provider is told they get, for every state, from the share the payouts use."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from payments.payouts import payouts_release, session_complete
from payments.services import booking_cancel_with_refund
from tests.payments.payout_helpers import make_payable, paid_booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed(client_user, bookable_service, slot, stripe_emulator):
    return paid_booking(client_user, bookable_service, slot, stripe_emulator)


def _provider_pages(booking) -> tuple[str, str]:
    browser = Client()
    browser.force_login(booking.provider.user)
    listing = browser.get(reverse("bookings:provider_bookings")).content.decode()
    detail = browser.get(reverse("bookings:detail", args=[booking.reference])).content.decode()
    return listing, detail


def test_a_confirmed_session_shows_the_share_after_the_session(confirmed):
    listing, detail = _provider_pages(confirmed)

    assert "you receive $40.50 after the session" in listing
    assert 'data-testid="provider-money">$40.50' in detail


def test_a_fully_refunded_cancellation_tells_the_provider_they_get_nothing(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel_with_refund(booking_id=confirmed.pk, actor=confirmed.provider.user, by_client=False)

    listing, detail = _provider_pages(confirmed)

    assert "$40.50" not in listing
    assert "$40.50" not in detail
    assert "nothing for you: the client was refunded in full" in listing
    assert 'data-testid="provider-money">$0.00' in detail


def test_a_late_cancellation_shows_the_share_of_what_was_kept(
    confirmed, stripe_emulator, settings, django_capture_on_commit_callbacks
):
    settings.LATE_CANCELLATION_REFUND_PERCENT = 50
    late = confirmed.start_at - timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel_with_refund(booking_id=confirmed.pk, actor=confirmed.client, by_client=True, now=late)

    listing, detail = _provider_pages(confirmed)

    # $22.50 kept; the provider's 90% of it is $20.25, held for the usual time.
    assert "$20.25 held until" in listing
    assert 'data-testid="provider-money">$20.25' in detail


def test_a_paid_session_says_paid(confirmed, stripe_emulator, settings, django_capture_on_commit_callbacks):
    make_payable(confirmed.provider, stripe_emulator)
    done = confirmed.start_at + timedelta(hours=1)
    session_complete(booking_id=confirmed.pk, actor=None, now=done)
    with (
        time_machine.travel(done + timedelta(hours=settings.PAYOUT_HOLD_HOURS, minutes=1), tick=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        payouts_release()

    listing, _ = _provider_pages(confirmed)

    assert "$40.50 paid" in listing
