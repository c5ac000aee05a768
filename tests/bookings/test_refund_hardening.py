"""Refunds that fail after succeeding, answers that arrive late, resends past Stripe's key window, and money
moved outside the app: the books always say what Stripe says."""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.test import RequestFactory
from django.utils import timezone

from bookings.services import booking_create
from payments import gateway
from payments.admin import RefundAdmin
from payments.models import Payment, Refund
from payments.services import (
    booking_cancel_with_refund,
    checkout_start,
    payment_sync_from_session,
    refund_apply,
    refund_execute,
    refund_retry,
)
from tests.webhook_inbox import deliver_events

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


@pytest.fixture
def alerts(settings):
    settings.ADMIN_ALERT_EMAILS = ["ops@example.com"]
    settings.ADMINS = [("Ops", "ops@example.com")]

    def sent() -> list[str]:
        return [m.subject for m in mail.outbox if m.to == ["ops@example.com"]]

    return sent


def _cancel(booking, capture):
    with capture(execute=True):
        return booking_cancel_with_refund(booking_id=booking.pk, actor=booking.client, by_client=True)


# 6. A refund that fails after succeeding -------------------------------------------------------------------


def test_a_refund_returned_by_the_card_network_puts_the_money_back_and_alerts(
    confirmed, stripe_emulator, alerts, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    _, refund = _cancel(booking, django_capture_on_commit_callbacks)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED

    stripe_emulator.settle_refund(refund.stripe_refund_id, status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        deliver_events(stripe_emulator, "refund.failed", "refund.updated", "charge.refund.updated")

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert payment.status == Payment.Status.PAID  # the money is back with us, not with the client
    assert any(f"Refund {refund.pk} failed" in subject for subject in alerts())
    assert any("returned by your bank" in m.subject for m in mail.outbox if m.to == [booking.client.email])


def test_staff_retry_a_failed_refund_as_a_new_refund(
    confirmed, stripe_emulator, staff_user, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    _, refund = _cancel(booking, django_capture_on_commit_callbacks)
    refund.refresh_from_db()
    stripe_emulator.settle_refund(refund.stripe_refund_id, status="failed")
    deliver_events(stripe_emulator, "refund.failed")

    request = RequestFactory().post("/admin/payments/refund/")
    request.user = staff_user
    request._messages = type("Messages", (), {"add": lambda *args, **kwargs: None})()
    with django_capture_on_commit_callbacks(execute=True):
        RefundAdmin(Refund, site).retry(request, Refund.objects.filter(pk=refund.pk))

    retry = Refund.objects.get(retry_of=refund)
    payment.refresh_from_db()
    assert (retry.status, retry.amount) == (Refund.Status.SUCCEEDED, 4500)
    assert retry.idempotency_key != refund.idempotency_key
    assert payment.status == Payment.Status.REFUNDED
    with pytest.raises(ValueError, match="retried already"):
        refund_retry(refund_id=refund.pk, actor=staff_user)


# 7. Refund states only move forward ------------------------------------------------------------------------


def test_a_stale_pending_answer_never_moves_a_succeeded_refund_back(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    _, refund = _cancel(booking, django_capture_on_commit_callbacks)
    refund.refresh_from_db()
    current = gateway.refund_retrieve(refund_id=refund.stripe_refund_id)
    stale = gateway.Refund(**{**current.__dict__, "status": "pending"})

    refund_apply(refund_id=refund.pk, stripe_refund=stale)

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert payment.status == Payment.Status.REFUNDED


def test_a_stale_succeeded_answer_never_revives_a_refund_stripe_failed(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    _, refund = _cancel(booking, django_capture_on_commit_callbacks)
    refund.refresh_from_db()
    succeeded = gateway.refund_retrieve(refund_id=refund.stripe_refund_id)
    stripe_emulator.settle_refund(refund.stripe_refund_id, status="failed")
    deliver_events(stripe_emulator, "refund.failed")

    refund_apply(refund_id=refund.pk, stripe_refund=succeeded)  # a slow worker's older answer

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert payment.status == Payment.Status.PAID


# 8. Past Stripe's 24-hour idempotency window ---------------------------------------------------------------


def test_a_resend_past_the_key_window_adopts_the_refund_instead_of_refunding_twice(
    confirmed, stripe_emulator, settings
):
    settings.LATE_CANCELLATION_REFUND_PERCENT = 50
    booking, payment = confirmed
    # A late cancellation: half back. Stripe makes the refund but its answer never reaches us.
    stripe_emulator.set_faults("POST /v1/refunds=timeout", delay=10)
    settings.STRIPE_HTTP_TIMEOUT_SECONDS = 1
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    booking_cancel_with_refund(
        booking_id=booking.pk, actor=booking.client, by_client=True, now=booking.start_at - timedelta(hours=2)
    )
    refund = Refund.objects.get()
    refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.RETRYING
    stripe_emulator.clear_faults()

    # A day later (Stripe has forgotten the key) the sweeper sends it again.
    stripe_emulator.age_idempotency_keys(25 * 3600)
    later = timezone.now() + timedelta(hours=25)
    refund_execute(refund_id=refund.pk, now=later)

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert [r["amount"] for r in stripe_emulator.state()["refunds"].values()] == [2250]
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED


def test_a_refund_given_up_on_is_adopted_when_stripe_had_made_it(
    confirmed, stripe_emulator, settings, alerts, django_capture_on_commit_callbacks
):
    booking, _ = confirmed
    settings.REFUND_MAX_ATTEMPTS = 1
    # Stripe makes the refund, then answers 500, and replays that 500 to every retry with the key.
    stripe_emulator.set_faults("POST /v1/refunds=crash")
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel_with_refund(booking_id=booking.pk, actor=booking.client, by_client=True)

    refund = Refund.objects.get()
    assert refund.status == Refund.Status.SUCCEEDED
    assert len(stripe_emulator.state()["refunds"]) == 1
    assert not alerts()


# 9. Money changed outside the app --------------------------------------------------------------------------


def test_a_refund_made_in_the_stripe_dashboard_is_recorded(
    confirmed, stripe_emulator, alerts, django_capture_on_commit_callbacks
):
    _, payment = confirmed
    gateway.refund_create(
        payment_intent_id=payment.payment_intent_id, amount=1000, metadata={}, idempotency_key="dashboard-1"
    )

    with django_capture_on_commit_callbacks(execute=True):
        deliver_events(stripe_emulator, "charge.refunded", "refund.created")

    [refund] = Refund.objects.all()
    payment.refresh_from_db()
    assert (refund.reason, refund.amount, refund.status) == (
        Refund.Reason.EXTERNAL,
        1000,
        Refund.Status.SUCCEEDED,
    )
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert any("outside the app" in subject for subject in alerts())


def test_our_own_refund_arriving_by_webhook_first_is_not_taken_for_an_external_one(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    booking_cancel_with_refund(booking_id=booking.pk, actor=booking.client, by_client=True)
    refund = Refund.objects.get()
    made = gateway.refund_create(  # exactly what the task sends: Stripe has it, our row does not know yet
        payment_intent_id=payment.payment_intent_id,
        amount=refund.amount,
        metadata={"refund_id": str(refund.pk), "booking_id": str(booking.pk)},
        idempotency_key=refund.idempotency_key,
    )

    deliver_events(stripe_emulator, "charge.refunded", "refund.created")

    refund.refresh_from_db()
    assert Refund.objects.count() == 1
    assert refund.stripe_refund_id == made.id


def test_a_refund_on_someone_elses_payment_is_ignored(confirmed, stripe_emulator):
    from tests.payments.gateway_calls import checkout_create

    other = checkout_create(key="another-installation")
    stripe_emulator.pay(other.id)
    session = gateway.checkout_session_retrieve(session_id=other.id)
    gateway.refund_create(
        payment_intent_id=session.payment_intent_id, amount=None, metadata={}, idempotency_key="theirs"
    )

    deliver_events(stripe_emulator, "charge.refunded", "refund.created")

    assert not Refund.objects.exists()
