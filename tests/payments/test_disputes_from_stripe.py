"""Disputes opened by the client's bank are recorded from Stripe's events: the app knows the money is gone."""

import pytest
from django.core import mail

from bookings.services import booking_create
from payments.models import Dispute, Payment, WebhookEvent
from payments.services import checkout_start, payment_sync_from_session
from tests.webhook_inbox import deliver_events

pytestmark = pytest.mark.django_db

DISPUTE_EVENTS = (
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)


@pytest.fixture
def paid(client_user, bookable_service, slot, stripe_emulator):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)
    payment_sync_from_session(session_id=payment.checkout_session_id)
    payment.refresh_from_db()
    mail.outbox.clear()
    return booking, payment


@pytest.fixture
def alerts(settings):
    settings.ADMIN_ALERT_EMAILS = ["ops@example.com"]
    settings.ADMINS = [("Ops", "ops@example.com")]
    return lambda: [m.subject for m in mail.outbox if m.to == ["ops@example.com"]]


def test_a_chargeback_is_stored_the_payment_marked_and_admins_alerted(
    paid, stripe_emulator, alerts, django_capture_on_commit_callbacks
):
    booking, payment = paid
    stripe_emulator.open_dispute(payment.charge_id, reason="fraudulent")

    with django_capture_on_commit_callbacks(execute=True):
        rows = deliver_events(stripe_emulator, *DISPUTE_EVENTS)

    assert {row.status for row in rows} == {WebhookEvent.Status.PROCESSED}
    dispute = Dispute.objects.get()
    payment.refresh_from_db()
    assert (dispute.booking_id, dispute.opened_by, dispute.status) == (
        booking.pk,
        Dispute.OpenedBy.STRIPE,
        Dispute.Status.OPEN,
    )
    assert dispute.reason == "fraudulent"
    assert dispute.amount == 4500
    assert not dispute.is_inquiry
    assert dispute.funds_withdrawn == 4500
    assert payment.disputed_at is not None
    assert any("chargeback was opened" in subject for subject in alerts())


def test_a_lost_chargeback_is_closed_as_lost(
    paid, stripe_emulator, alerts, django_capture_on_commit_callbacks
):
    _, payment = paid
    opened = stripe_emulator.open_dispute(payment.charge_id)
    deliver_events(stripe_emulator, *DISPUTE_EVENTS)

    stripe_emulator.close_dispute(opened["id"], status="lost")
    with django_capture_on_commit_callbacks(execute=True):
        deliver_events(stripe_emulator, *DISPUTE_EVENTS)

    dispute = Dispute.objects.get()
    assert dispute.status == Dispute.Status.LOST
    assert dispute.closed_at is not None
    assert any("closed: lost" in subject for subject in alerts())


def test_dispute_events_in_any_order_end_in_the_same_state(paid, stripe_emulator):
    _, payment = paid
    opened = stripe_emulator.open_dispute(payment.charge_id)
    stripe_emulator.close_dispute(opened["id"], status="won")

    for event in reversed([e for e in stripe_emulator.events() if e["type"] in DISPUTE_EVENTS]):
        row = WebhookEvent.objects.create(
            stripe_event_id=event["id"], endpoint="platform", type=event["type"], payload=event
        )
        from payments.services import webhook_event_process

        webhook_event_process(webhook_event_id=row.pk)

    dispute = Dispute.objects.get()
    assert dispute.status == Dispute.Status.WON
    assert Payment.objects.get(pk=payment.pk).disputed_at is not None


def test_a_chargeback_after_the_payout_first_seen_already_lost_takes_the_providers_share_back(
    client_user, bookable_service, stripe_emulator, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    import time_machine

    from payments.models import Payout, PayoutReversal
    from payments.payouts import payouts_release, session_complete
    from tests.fixtures.bookings import first_slot
    from tests.payments.payout_helpers import make_payable, paid_booking

    make_payable(bookable_service.provider, stripe_emulator)
    with django_capture_on_commit_callbacks(execute=True):
        booking = paid_booking(
            client_user, bookable_service, first_slot(bookable_service, after_days=3), stripe_emulator
        )
        _, payout = session_complete(
            booking_id=booking.pk, actor=None, now=booking.start_at + timedelta(hours=1)
        )
    due = payout.due_at + timedelta(minutes=1)
    with time_machine.travel(due, tick=True), django_capture_on_commit_callbacks(execute=True):
        payouts_release()
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    payment = Payment.objects.get(booking=booking)
    # The bank opens and decides the chargeback before any of its events reach us.
    opened = stripe_emulator.open_dispute(payment.charge_id)
    stripe_emulator.close_dispute(opened["id"], status="lost")

    with django_capture_on_commit_callbacks(execute=True):
        deliver_events(stripe_emulator, *DISPUTE_EVENTS)

    assert Dispute.objects.get().status == Dispute.Status.LOST
    reversal = PayoutReversal.objects.get(payout=payout)
    assert reversal.amount == payout.transfer_amount
    assert reversal.status == PayoutReversal.Status.SUCCEEDED
