"""Refunds: a row first, then Stripe with key refund-<id>; retries, sweeper, and never twice."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from bookings.models import Booking
from bookings.services import booking_create
from payments.models import Payment, Refund
from payments.namespace import stripe_key
from payments.services import (
    booking_cancel_with_refund,
    checkout_start,
    payment_sync_from_session,
    refund_execute,
    refund_send_to_stripe,
    refund_sync,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed(client_user, bookable_service, slot, stripe_emulator, django_capture_on_commit_callbacks):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)
    with django_capture_on_commit_callbacks(execute=True):
        payment_sync_from_session(session_id=payment.checkout_session_id)
    booking.refresh_from_db()
    payment.refresh_from_db()
    mail.outbox.clear()
    return booking, payment


def _refund_row(payment, *, amount: int) -> Refund:
    """A refund row as refund_request writes it, without its task having run."""
    return Refund.objects.create(
        payment=payment,
        booking_id=payment.booking_id,
        amount=amount,
        currency=payment.currency,
        reason=Refund.Reason.ADMIN_CANCELLED,
        next_attempt_at=timezone.now(),
    )


def _cancel(booking, actor, *, by_client, capture, now=None):
    with capture(execute=True):
        return booking_cancel_with_refund(booking_id=booking.pk, actor=actor, by_client=by_client, now=now)


def test_client_cancelling_early_gets_everything_back(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    booking, payment = confirmed

    booking, refund = _cancel(
        booking, booking.client, by_client=True, capture=django_capture_on_commit_callbacks
    )

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert (refund.amount, refund.status, refund.reason) == (
        4500,
        Refund.Status.SUCCEEDED,
        Refund.Reason.CLIENT_CANCELLED,
    )
    assert payment.status == Payment.Status.REFUNDED
    [stripe_refund] = stripe_emulator.state()["refunds"].values()
    assert stripe_refund["amount"] == 4500
    [request] = stripe_emulator.requests(method="POST", path="/v1/refunds")
    assert request["idempotency_key"] == stripe_key(f"refund-{refund.pk}")
    subjects = [m.subject for m in mail.outbox]
    assert any("Booking cancelled" in s for s in subjects)
    assert any("Your refund of $45.00" in s for s in subjects)


def test_client_cancelling_late_gets_the_late_share(
    confirmed, stripe_emulator, settings, django_capture_on_commit_callbacks
):
    settings.LATE_CANCELLATION_REFUND_PERCENT = 50
    booking, payment = confirmed
    late = booking.start_at - timedelta(hours=2)

    booking, refund = _cancel(
        booking, booking.client, by_client=True, capture=django_capture_on_commit_callbacks, now=late
    )

    payment.refresh_from_db()
    assert refund.amount == 2250
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED


def test_client_cancelling_late_with_no_refund_due_moves_no_money(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    booking, _ = confirmed

    booking, refund = _cancel(
        booking,
        booking.client,
        by_client=True,
        capture=django_capture_on_commit_callbacks,
        now=booking.start_at - timedelta(hours=1),
    )

    assert refund is None
    assert booking.status == Booking.Status.CANCELLED
    assert stripe_emulator.state()["refunds"] == {}


def test_provider_cancelling_refunds_in_full_even_at_the_last_minute(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    booking, _ = confirmed

    booking, refund = _cancel(
        booking,
        booking.provider.user,
        by_client=False,
        capture=django_capture_on_commit_callbacks,
        now=booking.start_at - timedelta(minutes=1),
    )

    assert (refund.amount, refund.reason) == (4500, Refund.Reason.PROVIDER_CANCELLED)


def test_a_refund_stripe_cannot_take_now_is_retried_with_the_same_key(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    booking, _ = confirmed
    stripe_emulator.set_faults("POST /v1/refunds=500x3")  # beats the SDK's own two retries

    booking, refund = _cancel(
        booking, booking.client, by_client=True, capture=django_capture_on_commit_callbacks
    )

    refund.refresh_from_db()
    assert refund.status == Refund.Status.RETRYING
    assert refund.next_attempt_at > timezone.now()
    stripe_emulator.clear_faults()

    refund_execute(refund_id=refund.pk, now=refund.next_attempt_at + timedelta(seconds=1))

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert len(stripe_emulator.state()["refunds"]) == 1
    keys = {r["idempotency_key"] for r in stripe_emulator.requests(method="POST", path="/v1/refunds")}
    assert keys == {stripe_key(f"refund-{refund.pk}")}


def test_a_worker_dying_after_stripe_answered_does_not_refund_twice(confirmed, stripe_emulator):
    _, payment = confirmed
    refund = _refund_row(payment, amount=4500)
    # The first worker reached Stripe, then died before writing anything back.
    refund_send_to_stripe(refund)
    assert len(stripe_emulator.state()["refunds"]) == 1

    refund_execute(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert len(stripe_emulator.state()["refunds"]) == 1


def test_running_a_refund_twice_at_once_claims_it_once(confirmed, stripe_emulator):
    _, payment = confirmed
    refund = _refund_row(payment, amount=1000)
    now = timezone.now()

    refund_execute(refund_id=refund.pk, now=now)
    refund_execute(refund_id=refund.pk, now=now)  # the lease is taken and the row is done: nothing happens

    assert len(stripe_emulator.requests(method="POST", path="/v1/refunds")) == 1


def test_a_refund_stripe_refuses_fails_and_alerts_admins(
    confirmed, stripe_emulator, settings, django_capture_on_commit_callbacks
):
    settings.ADMIN_ALERT_EMAILS = ["ops@example.com"]
    settings.ADMINS = [("Ops", "ops@example.com")]
    booking, payment = confirmed
    stripe_emulator.open_dispute(payment.charge_id)  # Stripe will not refund a disputed charge

    booking, refund = _cancel(
        booking, booking.client, by_client=True, capture=django_capture_on_commit_callbacks
    )

    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert "charge_disputed" in refund.last_error
    assert any("Refund" in m.subject and m.to == ["ops@example.com"] for m in mail.outbox)


def test_a_pending_refund_is_kept_in_step_by_sync(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    stripe_emulator.set_refunds_pending()

    booking, refund = _cancel(
        booking, booking.client, by_client=True, capture=django_capture_on_commit_callbacks
    )
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PROCESSING

    stripe_emulator.settle_refund(refund.stripe_refund_id, status="succeeded")
    refund_sync(stripe_refund_id=refund.stripe_refund_id)

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert payment.status == Payment.Status.REFUNDED


def test_process_refunds_command_drives_stuck_rows(confirmed, stripe_emulator):
    _, payment = confirmed
    # A row whose task was lost (Redis restarted between commit and enqueue).
    refund = _refund_row(payment, amount=4500)
    from io import StringIO

    out = StringIO()
    call_command("process_refunds", stdout=out)

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert f"[1/1] refund {refund.pk}: succeeded" in out.getvalue()


def test_refunds_never_exceed_the_payment(confirmed, stripe_emulator):
    from payments.services import refund_request

    _, payment = confirmed
    first = refund_request(payment=payment, amount=3000, reason=Refund.Reason.ADMIN_CANCELLED, actor=None)
    second = refund_request(payment=payment, amount=3000, reason=Refund.Reason.ADMIN_CANCELLED, actor=None)
    third = refund_request(payment=payment, amount=1, reason=Refund.Reason.ADMIN_CANCELLED, actor=None)

    assert (first.amount, second.amount, third) == (3000, 1500, None)
