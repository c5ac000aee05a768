"""Checkout never sends a client to pay twice, to pay for nothing, or to hold a slot without limit."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.services import booking_create, booking_expire_lapsed_holds
from payments import gateway
from payments.models import Payment, Refund
from payments.services import (
    CheckoutAlreadyPaid,
    CheckoutError,
    checkout_start,
    checkouts_sweep,
    payment_sync_from_session,
)
from stripe_emulator.wire import StripeApiError

pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(client_user, bookable_service, slot):
    return booking_create(client=client_user, service=bookable_service, start_at=slot)


def _charges(stripe_emulator) -> list[dict]:
    return [c for c in stripe_emulator.state()["charges"].values() if c["status"] == "succeeded"]


# 1. Paying again after paying ----------------------------------------------------------------------------


def test_trying_again_after_paying_confirms_instead_of_opening_a_second_session(booking, stripe_emulator):
    first = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(first.checkout_session_id)  # paid; its webhook has not landed

    with pytest.raises(CheckoutAlreadyPaid):
        checkout_start(booking_id=booking.pk, restart=True)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert len(stripe_emulator.state()["checkout_sessions"]) == 1
    assert len(_charges(stripe_emulator)) == 1
    assert not Refund.objects.exists()


def test_the_pay_button_after_paying_in_another_tab_shows_the_confirmed_booking(
    as_client, booking, stripe_emulator
):
    first = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(first.checkout_session_id)

    response = as_client.post(reverse("bookings:checkout", args=[booking.reference]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("bookings:detail", args=[booking.reference])
    assert "already paid" in response.content.decode()
    assert len(stripe_emulator.state()["checkout_sessions"]) == 1
    assert len(_charges(stripe_emulator)) == 1


def test_no_second_session_while_the_first_cannot_be_read(booking, stripe_emulator):
    first = checkout_start(booking_id=booking.pk)
    stripe_emulator.set_faults("* /v1/checkout/sessions/*=500")  # neither expire nor retrieve answers

    with pytest.raises(CheckoutError, match="try again"):
        checkout_start(booking_id=booking.pk, restart=True)

    stripe_emulator.clear_faults()
    assert len(stripe_emulator.state()["checkout_sessions"]) == 1
    first.refresh_from_db()
    booking.refresh_from_db()
    assert first.status == Payment.Status.PENDING
    assert booking.status == Booking.Status.PENDING_PAYMENT


def test_closing_the_replaced_session_keeps_the_slot_held_even_if_its_event_lands_first(
    booking, stripe_emulator
):
    first = checkout_start(booking_id=booking.pk)
    second = checkout_start(booking_id=booking.pk, restart=True)

    # The expiry's own webhook arrives (again) after the new session exists.
    payment_sync_from_session(session_id=first.checkout_session_id)

    booking.refresh_from_db()
    first.refresh_from_db()
    assert first.status == Payment.Status.EXPIRED
    assert second.status == Payment.Status.PENDING
    assert booking.status == Booking.Status.PENDING_PAYMENT


# 2. Only payments that settle at once ----------------------------------------------------------------------


def test_checkout_offers_only_payment_methods_that_settle_at_once(booking, stripe_emulator):
    checkout_start(booking_id=booking.pk)

    [request] = stripe_emulator.requests(method="POST", path="/v1/checkout/sessions")
    assert request["params"]["allowed_payment_method_types"] == {"0": "card"}
    [session] = stripe_emulator.state()["checkout_sessions"].values()
    assert session["payment_method_types"] == ["card"]
    with pytest.raises(StripeApiError, match="bank debit cannot pay it"):
        stripe_emulator.pay(session["id"], method="delayed_success")


# 3. Payment after the session ------------------------------------------------------------------------------


def test_a_payment_landing_after_the_session_started_is_refunded_and_the_client_told(
    client_user, bookable_service, stripe_emulator, django_capture_on_commit_callbacks
):
    soon = timezone.now() + timedelta(days=1)
    from bookings.selectors import bookable_slots

    start = bookable_slots(service=bookable_service, start=soon, end=soon + timedelta(days=2))[0]
    booking = booking_create(client=client_user, service=bookable_service, start_at=start)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)

    with (
        time_machine.travel(start + timedelta(minutes=5), tick=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        payment_sync_from_session(session_id=payment.checkout_session_id)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    [refund] = Refund.objects.all()
    assert (refund.amount, refund.reason, refund.status) == (
        4500,
        Refund.Reason.SESSION_STARTED,
        Refund.Status.SUCCEEDED,
    )
    assert any("too late" in m.subject for m in mail.outbox if m.to == [client_user.email])


def test_a_late_payment_inside_the_providers_notice_is_refunded(booking, stripe_emulator):
    provider = booking.provider
    provider.min_notice_minutes = 7 * 24 * 60  # a week's notice: the slot three days out is too near now
    provider.save(update_fields=["min_notice_minutes"])
    payment = checkout_start(booking_id=booking.pk)
    booking_expire_lapsed_holds(now=booking.hold_expires_at + timedelta(minutes=1))
    stripe_emulator.pay(payment.checkout_session_id)

    payment_sync_from_session(session_id=payment.checkout_session_id)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert Refund.objects.get().reason == Refund.Reason.SESSION_STARTED


def test_a_payment_inside_its_hold_confirms_even_when_the_notice_window_has_begun(booking, stripe_emulator):
    provider = booking.provider
    provider.min_notice_minutes = 7 * 24 * 60  # notice changed after booking: the booking was made in time
    provider.save(update_fields=["min_notice_minutes"])
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)

    payment_sync_from_session(session_id=payment.checkout_session_id)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


# 4. Hold limits --------------------------------------------------------------------------------------------


def test_retrying_checkout_never_holds_the_slot_past_the_cap(booking, stripe_emulator, settings):
    settings.BOOKING_HOLD_MAX_MINUTES = 60
    settings.CHECKOUT_MAX_ATTEMPTS = 12
    cap = booking.created_at + timedelta(minutes=60)
    for minutes in (0, 20, 40, 55):
        with time_machine.travel(booking.created_at + timedelta(minutes=minutes), tick=True):
            checkout_start(booking_id=booking.pk, restart=True)
        booking.refresh_from_db()
        assert booking.hold_expires_at <= cap

    with (
        time_machine.travel(cap + timedelta(minutes=1), tick=True),
        pytest.raises(CheckoutError, match="hold has lapsed"),
    ):
        checkout_start(booking_id=booking.pk, restart=True)


def test_a_booking_gets_a_limited_number_of_checkout_sessions(booking, stripe_emulator, settings):
    settings.CHECKOUT_MAX_ATTEMPTS = 3
    for _ in range(3):
        checkout_start(booking_id=booking.pk, restart=True)

    with pytest.raises(CheckoutError, match="limit of payment attempts"):
        checkout_start(booking_id=booking.pk, restart=True)
    assert len(stripe_emulator.state()["checkout_sessions"]) == 3


def test_the_sweeper_closes_the_open_session_of_a_hold_that_lapsed(booking, stripe_emulator):
    payment = checkout_start(booking_id=booking.pk)
    booking_expire_lapsed_holds(now=booking.hold_expires_at + timedelta(seconds=1))

    checkouts_sweep()

    session = stripe_emulator.state()["checkout_sessions"][payment.checkout_session_id]
    payment.refresh_from_db()
    assert session["status"] == "expired"
    assert payment.status == Payment.Status.EXPIRED


# 5. The hold lapsing during the Stripe call ----------------------------------------------------------------


def test_a_slot_taken_while_the_session_was_being_created_is_not_sent_to_pay(
    booking, other_client_user, stripe_emulator, monkeypatch
):
    real_create = gateway.checkout_session_create

    def slow_create(**kwargs):
        # While Stripe is answering, the hold lapses and another client books the slot.
        session = real_create(**kwargs)
        later = booking.hold_expires_at + timedelta(minutes=1)
        booking_create(
            client=other_client_user, service=booking.service, start_at=booking.start_at, now=later
        )
        return session

    monkeypatch.setattr(gateway, "checkout_session_create", slow_create)

    with pytest.raises(CheckoutError, match="ran out while we were opening"):
        checkout_start(booking_id=booking.pk)

    [session] = stripe_emulator.state()["checkout_sessions"].values()
    assert session["status"] == "expired"  # nobody can pay it
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED


# A hanging Stripe and orphan attempts (issue 9, items 10 and 11) -------------------------------------------


def test_a_hanging_stripe_answers_the_client_quickly_and_the_next_try_gets_the_same_session(
    booking, stripe_emulator, settings
):
    settings.STRIPE_WEB_TIMEOUT_SECONDS = 1
    settings.STRIPE_WEB_MAX_NETWORK_RETRIES = 1
    stripe_emulator.set_faults("POST /v1/checkout/sessions=timeout", delay=10)  # every try hangs
    started = timezone.now()

    with pytest.raises(CheckoutError, match="try again"):
        checkout_start(booking_id=booking.pk)

    assert timezone.now() - started < timedelta(seconds=5)  # two tries of one second, not 3 x 20 s
    stripe_emulator.clear_faults()
    payment = checkout_start(booking_id=booking.pk, restart=True)
    # The hung call did create a session at Stripe; the retry with the same key got exactly that one.
    assert len(stripe_emulator.state()["checkout_sessions"]) == 1
    assert payment.attempt == 1
    assert payment.checkout_url


def test_an_attempt_that_never_reached_stripe_is_closed_and_holds_nothing(booking, stripe_emulator):
    stripe_emulator.set_faults("POST /v1/checkout/sessions=500")
    with pytest.raises(CheckoutError):
        checkout_start(booking_id=booking.pk)
    orphan = Payment.objects.get(booking=booking)
    assert orphan.checkout_session_id is None

    checkouts_sweep(now=orphan.checkout_expires_at + timedelta(seconds=1))

    orphan.refresh_from_db()
    assert orphan.status == Payment.Status.EXPIRED


def test_an_orphan_attempt_does_not_keep_a_released_booking_held(booking, stripe_emulator):
    payment = checkout_start(booking_id=booking.pk)
    Payment.objects.create(
        booking=booking,
        attempt=2,
        amount=booking.price_amount,
        currency=booking.currency,
        checkout_expires_at=timezone.now() + timedelta(minutes=31),
    )  # a create call that never answered
    stripe_emulator.expire(payment.checkout_session_id)

    payment_sync_from_session(session_id=payment.checkout_session_id)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
