"""check_ledger: the money adds up per booking and agrees with Stripe; any difference is named and fails."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from payments import gateway
from payments.ledger import ledger_check
from payments.models import Payment, Payout, Refund
from payments.payouts import payouts_release, session_complete
from payments.services import booking_cancel_with_refund, refund_request
from tests.factories import UserFactory
from tests.fixtures.bookings import first_slot
from tests.payments.payout_helpers import make_payable, paid_booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts(settings):
    settings.ADMIN_ALERT_EMAILS = ["ops@example.com"]
    settings.ADMINS = [("Ops", "ops@example.com")]
    return lambda: [m.subject for m in mail.outbox if m.to == ["ops@example.com"]]


@pytest.fixture
def history(client_user, bookable_service, stripe_emulator, django_capture_on_commit_callbacks):
    """Bookings in many states: confirmed, paid out, refunded after the payout, cancelled in time."""
    service = bookable_service
    make_payable(service.provider, stripe_emulator)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = paid_booking(client_user, service, first_slot(service, after_days=3), stripe_emulator)
        paid_out = paid_booking(UserFactory(), service, first_slot(service, after_days=4), stripe_emulator)
        clawed = paid_booking(UserFactory(), service, first_slot(service, after_days=5), stripe_emulator)
        cancelled = paid_booking(UserFactory(), service, first_slot(service, after_days=6), stripe_emulator)
        booking_cancel_with_refund(booking_id=cancelled.pk, actor=cancelled.client, by_client=True)
        for booking in (paid_out, clawed):
            session_complete(booking_id=booking.pk, actor=None, now=booking.start_at + timedelta(hours=1))
    due = max(p.due_at for p in Payout.objects.all()) + timedelta(minutes=1)
    with time_machine.travel(due, tick=True), django_capture_on_commit_callbacks(execute=True):
        payouts_release()
    with django_capture_on_commit_callbacks(execute=True):
        refund_request(
            payment=Payment.objects.get(booking=clawed), amount=1500, reason=Refund.Reason.DISPUTE, actor=None
        )
    return {"confirmed": confirmed, "paid_out": paid_out, "clawed": clawed, "cancelled": cancelled}


def test_a_consistent_history_adds_up_and_agrees_with_stripe(history, stripe_emulator):
    report = ledger_check()

    assert report.checked == 4
    assert report.mismatches == []


def test_the_command_says_so_and_exits_cleanly(history, stripe_emulator):
    out = StringIO()

    call_command("check_ledger", stdout=out)

    assert "All 4 bookings with money add up." in out.getvalue()


def test_a_row_changed_behind_the_services_back_is_named_with_both_sides(history, stripe_emulator, alerts):
    clawed = history["clawed"]
    Refund.objects.filter(booking=clawed).update(amount=1400)  # Stripe refunded 1500
    out = StringIO()

    with pytest.raises(CommandError, match="1 of 4 bookings do not add up"):
        call_command("check_ledger", stdout=out)

    text = out.getvalue()
    assert clawed.reference in text
    assert "Stripe says 1500" in text
    assert any("Ledger check: 1 of 4" in subject for subject in alerts())


def test_money_moved_at_stripe_that_our_rows_do_not_know_is_a_mismatch(history, stripe_emulator):
    confirmed = history["confirmed"]
    payment = Payment.objects.get(booking=confirmed)
    # A refund made in the Stripe dashboard whose webhook never arrived.
    gateway.refund_create(
        payment_intent_id=payment.payment_intent_id, amount=500, metadata={}, idempotency_key="dashboard"
    )

    report = ledger_check()

    [ledger] = report.mismatches
    assert ledger.reference == confirmed.reference
    assert any("Stripe refunded 500" in problem for problem in ledger.problems)


def test_a_provider_paid_more_than_their_share_is_a_mismatch(history, stripe_emulator):
    paid_out = history["paid_out"]
    Payout.objects.filter(booking=paid_out).update(amount=4400)

    report = ledger_check(with_stripe=False)

    [ledger] = report.mismatches
    assert any("more than their share" in problem for problem in ledger.problems)


def test_the_platform_net_after_stripes_fees_is_known(history, stripe_emulator):
    from payments.ledger import booking_ledger, compare_with_stripe

    booking = history["paid_out"]
    ledger = booking_ledger(booking)
    compare_with_stripe(booking, ledger)

    # 2.9% + 30 cents of $45.00 is $1.61 (rounded half up): the platform's $4.50 fee nets $2.89.
    assert ledger.stripe_fees == 161
    assert ledger.platform_net == 450 - 161


def test_a_refund_that_failed_after_succeeding_and_waits_for_staff_is_not_taken_for_settled(
    client_user, bookable_service, stripe_emulator, staff_user, django_capture_on_commit_callbacks
):
    from payments.disputes import Outcome, dispute_open, dispute_resolve
    from payments.services import refund_retry
    from tests.webhook_inbox import deliver_events

    service = bookable_service
    make_payable(service.provider, stripe_emulator)
    with django_capture_on_commit_callbacks(execute=True):
        booking = paid_booking(client_user, service, first_slot(service, after_days=3), stripe_emulator)
        session_complete(booking_id=booking.pk, actor=None, now=booking.start_at + timedelta(hours=1))
        dispute = dispute_open(booking_id=booking.pk, opened_by="admin", actor=staff_user, reason="other")
        dispute_resolve(dispute_id=dispute.pk, outcome=Outcome.REFUND, actor=staff_user)
    refund = Refund.objects.get(booking=booking)
    assert refund.status == Refund.Status.SUCCEEDED
    # The card network sends the refund back: the money is on the platform's balance again, and staff are
    # asked to send it again.
    stripe_emulator.settle_refund(refund.stripe_refund_id, status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        deliver_events(stripe_emulator, "refund.failed", "refund.updated", "charge.refund.updated")
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED

    report = ledger_check()

    assert report.mismatches == []  # money waiting for staff's retry is not a provider short of their share

    with django_capture_on_commit_callbacks(execute=True):
        refund_retry(refund_id=refund.pk, actor=staff_user)

    assert ledger_check().mismatches == []


def test_money_moved_at_stripe_whose_event_is_still_being_processed_waits_for_the_next_run(
    history, stripe_emulator
):
    """A refund made in Stripe's dashboard whose events arrived but are not processed yet: our rows are
    behind Stripe by design until they are, so the booking is listed as waiting, not as a mismatch. If we
    give up on the events, it is a mismatch again."""
    from payments.models import WebhookEvent

    confirmed = history["confirmed"]
    payment = Payment.objects.get(booking=confirmed)
    gateway.refund_create(
        payment_intent_id=payment.payment_intent_id, amount=500, metadata={}, idempotency_key="dashboard-2"
    )
    stored = [
        WebhookEvent.objects.create(
            stripe_event_id=event["id"], endpoint="platform", type=event["type"], payload=event
        )
        for event in stripe_emulator.events()
        if event["type"] in ("charge.refunded", "refund.created")
        and payment.payment_intent_id
        in (event["data"]["object"].get("payment_intent"), event["data"]["object"].get("id"))
        and not WebhookEvent.objects.filter(stripe_event_id=event["id"]).exists()
    ]
    assert stored  # the emulator sent them

    report = ledger_check()

    assert report.mismatches == []
    assert report.awaiting_events == [confirmed.reference]
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "1 booking(s) not compared with Stripe yet" in out.getvalue()
    assert confirmed.reference in out.getvalue()

    WebhookEvent.objects.filter(pk__in=[e.pk for e in stored]).update(status=WebhookEvent.Status.GAVE_UP)

    [ledger] = ledger_check().mismatches
    assert ledger.reference == confirmed.reference
    assert any("Stripe refunded 500" in problem for problem in ledger.problems)
