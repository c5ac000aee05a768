"""Checkout and fulfilment through the real SDK against the Stripe emulator."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bookings.models import Booking
from bookings.services import booking_create, booking_expire_lapsed_holds
from notifications.models import Notification
from payments.models import Payment, Refund
from payments.namespace import stripe_key
from payments.services import CheckoutError, checkout_start, payment_sync_from_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(client_user, bookable_service, slot):
    return booking_create(client=client_user, service=bookable_service, start_at=slot)


def test_checkout_creates_a_session_for_the_stored_price(booking, stripe_emulator, settings):
    payment = checkout_start(booking_id=booking.pk)

    [session] = stripe_emulator.state()["checkout_sessions"].values()
    assert payment.checkout_session_id == session["id"]
    assert payment.checkout_url == session["url"]
    assert session["amount_total"] == 4500
    assert session["currency"] == "usd"
    assert session["client_reference_id"] == booking.reference
    assert session["metadata"]["booking_id"] == str(booking.pk)
    assert session["success_url"].startswith(f"{settings.SITE_URL}/bookings/{booking.reference}/paid/")
    [request] = stripe_emulator.requests(method="POST", path="/v1/checkout/sessions")
    assert request["idempotency_key"] == stripe_key(f"checkout-{booking.pk}-1")


def test_checkout_extends_the_hold_beyond_the_session(booking, stripe_emulator):
    payment = checkout_start(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.hold_expires_at >= payment.checkout_expires_at + timedelta(minutes=5)


def test_a_second_click_reuses_the_open_session(booking, stripe_emulator):
    first = checkout_start(booking_id=booking.pk)
    second = checkout_start(booking_id=booking.pk)

    assert second.pk == first.pk
    assert len(stripe_emulator.state()["checkout_sessions"]) == 1


def test_trying_again_expires_the_old_session_before_opening_a_new_one(booking, stripe_emulator):
    first = checkout_start(booking_id=booking.pk)

    second = checkout_start(booking_id=booking.pk, restart=True)

    sessions = stripe_emulator.state()["checkout_sessions"]
    assert second.attempt == 2
    assert sessions[first.checkout_session_id]["status"] == "expired"
    assert sessions[second.checkout_session_id]["status"] == "open"
    first.refresh_from_db()
    booking.refresh_from_db()
    assert first.status == Payment.Status.EXPIRED
    assert booking.status == Booking.Status.PENDING_PAYMENT  # the new attempt still holds the slot


def test_a_create_that_failed_is_retried_with_the_same_key(booking, stripe_emulator):
    stripe_emulator.set_faults("POST /v1/checkout/sessions=500x3")  # more than the SDK's own two retries
    with pytest.raises(CheckoutError, match="try again"):
        checkout_start(booking_id=booking.pk)
    stripe_emulator.clear_faults()

    payment = checkout_start(booking_id=booking.pk)

    assert payment.attempt == 1
    assert payment.checkout_url
    keys = {
        r["idempotency_key"] for r in stripe_emulator.requests(method="POST", path="/v1/checkout/sessions")
    }
    assert keys == {stripe_key(f"checkout-{booking.pk}-1")}


def test_a_lapsed_hold_cannot_be_paid(booking, stripe_emulator):
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=booking.created_at)

    with pytest.raises(CheckoutError, match="hold has lapsed"):
        checkout_start(booking_id=booking.pk)


def test_paying_confirms_the_booking_and_tells_both_sides(
    booking, stripe_emulator, django_capture_on_commit_callbacks
):
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)

    with django_capture_on_commit_callbacks(execute=True):
        payment_sync_from_session(session_id=payment.checkout_session_id)

    payment.refresh_from_db()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.hold_expires_at is None
    assert payment.status == Payment.Status.PAID
    assert payment.charge_id.startswith("ch_")
    assert payment.payment_intent_id.startswith("pi_")
    assert sorted(m.to[0] for m in mail.outbox) == sorted([booking.client.email, booking.provider.user.email])
    assert "Booking confirmed" in next(m.subject for m in mail.outbox if m.to == [booking.client.email])


def test_fulfilment_twice_changes_nothing_the_second_time(
    booking, stripe_emulator, django_capture_on_commit_callbacks
):
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)

    with django_capture_on_commit_callbacks(execute=True):
        payment_sync_from_session(session_id=payment.checkout_session_id)
        payment_sync_from_session(session_id=payment.checkout_session_id)

    assert booking.status_changes.filter(to_status=Booking.Status.CONFIRMED).count() == 1
    assert Notification.objects.count() == 2
    assert len(mail.outbox) == 2


def test_confirmation_email_shows_the_time_in_the_recipients_zone(
    booking, stripe_emulator, django_capture_on_commit_callbacks
):
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)

    with django_capture_on_commit_callbacks(execute=True):
        payment_sync_from_session(session_id=payment.checkout_session_id)

    client_mail = next(m for m in mail.outbox if m.to == [booking.client.email])
    provider_mail = next(m for m in mail.outbox if m.to == [booking.provider.user.email])
    assert "(America/New_York)" in client_mail.body
    assert "(Europe/Berlin)" not in client_mail.body
    local_ny = booking.start_at.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert f"{local_ny:%H:%M} E" in client_mail.body  # EST or EDT, named
    assert booking.provider.user.timezone in provider_mail.body


def test_an_expired_session_gives_the_slot_back(booking, stripe_emulator):
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.expire(payment.checkout_session_id)

    payment_sync_from_session(session_id=payment.checkout_session_id)

    payment.refresh_from_db()
    booking.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED
    assert booking.status == Booking.Status.EXPIRED


def test_a_declined_card_leaves_the_session_open_and_the_booking_pending(booking, stripe_emulator):
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id, method="declined_card")

    payment_sync_from_session(session_id=payment.checkout_session_id)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING_PAYMENT


def test_a_delayed_payment_is_processing_then_confirms(booking, stripe_emulator):
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.offer_bank_debits(payment.checkout_session_id)  # a session from before cards-only
    stripe_emulator.pay(payment.checkout_session_id, method="delayed_success")

    payment_sync_from_session(session_id=payment.checkout_session_id)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING_PAYMENT

    stripe_emulator.settle(payment.checkout_session_id)
    payment_sync_from_session(session_id=payment.checkout_session_id)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_a_delayed_payment_that_fails_releases_the_slot(booking, stripe_emulator):
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.offer_bank_debits(payment.checkout_session_id)  # a session from before cards-only
    stripe_emulator.pay(payment.checkout_session_id, method="delayed_failure")
    stripe_emulator.settle(payment.checkout_session_id)

    payment_sync_from_session(session_id=payment.checkout_session_id)

    payment.refresh_from_db()
    booking.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert booking.status == Booking.Status.EXPIRED


def test_a_late_payment_for_a_slot_still_free_revives_the_booking(booking, stripe_emulator):
    payment = checkout_start(booking_id=booking.pk)
    booking_expire_lapsed_holds(now=booking.hold_expires_at + timedelta(minutes=60))
    stripe_emulator.pay(payment.checkout_session_id)

    payment_sync_from_session(session_id=payment.checkout_session_id)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert [c.to_status for c in booking.status_changes.all()] == ["pending_payment", "expired", "confirmed"]


def test_a_late_payment_for_a_taken_slot_is_refunded_in_full(
    booking, other_client_user, stripe_emulator, django_capture_on_commit_callbacks
):
    payment = checkout_start(booking_id=booking.pk)
    later = booking.hold_expires_at + timedelta(minutes=1)
    rival = booking_create(
        client=other_client_user, service=booking.service, start_at=booking.start_at, now=later
    )
    stripe_emulator.pay(payment.checkout_session_id)

    with django_capture_on_commit_callbacks(execute=True):
        payment_sync_from_session(session_id=payment.checkout_session_id)

    booking.refresh_from_db()
    rival.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert rival.status == Booking.Status.PENDING_PAYMENT
    [refund] = Refund.objects.filter(booking=booking)
    assert (refund.amount, refund.reason, refund.status) == (
        4500,
        Refund.Reason.SLOT_UNAVAILABLE,
        Refund.Status.SUCCEEDED,
    )
    assert [r["amount"] for r in stripe_emulator.state()["refunds"].values()] == [4500]
    assert any("no longer free" in m.subject for m in mail.outbox if m.to == [booking.client.email])


def test_a_second_paid_session_for_one_booking_is_refunded(booking, stripe_emulator):
    """Belt and braces: checkout never opens a second session while one might be paid, but if two sessions
    of one booking are ever both paid (a lost race, an expiry that did not take), the second is refunded."""
    first = checkout_start(booking_id=booking.pk)
    # As if our record of the first attempt had been closed while Stripe kept the session open.
    Payment.objects.filter(pk=first.pk).update(status=Payment.Status.EXPIRED, superseded_at=timezone.now())
    second = checkout_start(booking_id=booking.pk, restart=True)
    Payment.objects.filter(pk=first.pk).update(status=Payment.Status.PENDING)
    stripe_emulator.pay(first.checkout_session_id)
    stripe_emulator.pay(second.checkout_session_id)

    payment_sync_from_session(session_id=first.checkout_session_id)
    payment_sync_from_session(session_id=second.checkout_session_id)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    [refund] = Refund.objects.all()
    assert refund.payment_id == second.pk
    assert refund.reason == Refund.Reason.DUPLICATE_PAYMENT
    assert refund.amount == 4500
