"""The disputes desk: flag, report, resolve; money taken back after a payout; the bank's chargebacks."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse

from payments.disputes import DisputeError, Outcome, dispute_open, dispute_resolve
from payments.models import DebtRecovery, Dispute, Payout, PayoutReversal, Refund
from payments.payouts import payouts_release, provider_share, session_complete
from payments.services import refund_request
from tests.factories import UserFactory
from tests.fixtures.bookings import first_slot
from tests.payments.payout_helpers import make_payable, paid_booking
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
def completed(client_user, bookable_service, slot, stripe_emulator):
    """A paid session, completed an hour after it started; its provider can be paid."""
    booking = paid_booking(client_user, bookable_service, slot, stripe_emulator)
    make_payable(booking.provider, stripe_emulator)
    session_complete(booking_id=booking.pk, actor=None, now=booking.start_at + timedelta(hours=1))
    booking.refresh_from_db()
    return booking


@pytest.fixture
def release(django_capture_on_commit_callbacks):
    def run(when):
        with time_machine.travel(when, tick=True), django_capture_on_commit_callbacks(execute=True):
            return payouts_release()

    return run


@pytest.fixture
def alerts(settings):
    settings.ADMIN_ALERT_EMAILS = ["ops@example.com"]
    settings.ADMINS = [("Ops", "ops@example.com")]
    return lambda: [m.subject for m in mail.outbox if m.to == ["ops@example.com"]]


def _after_hold(booking):
    return booking.payouts.get(sequence=1).due_at + timedelta(minutes=1)


def _transfers(stripe_emulator):
    return list(stripe_emulator.state()["transfers"].values())


def _flag(booking, staff_user):
    return dispute_open(
        booking_id=booking.pk,
        opened_by=Dispute.OpenedBy.ADMIN,
        actor=staff_user,
        reason=Dispute.Reason.NO_SHOW,
        description="The client wrote to support.",
    )


def _resolve(dispute, staff_user, capture, outcome, amount=None):
    with capture(execute=True):
        return dispute_resolve(dispute_id=dispute.pk, outcome=outcome, actor=staff_user, refund_amount=amount)


# Flag and resolve ------------------------------------------------------------------------------------------


def test_a_flagged_booking_is_never_paid_out_while_the_dispute_is_open(
    completed, staff_user, stripe_emulator, release
):
    dispute = _flag(completed, staff_user)

    release(_after_hold(completed))

    payout = completed.payouts.get()
    assert payout.status == Payout.Status.ON_HOLD
    assert "looked into" in payout.hold_reason
    assert not _transfers(stripe_emulator)
    assert dispute.status_changes.get().to_status == Dispute.Status.OPEN


def test_resolving_for_the_client_refunds_and_cancels_the_payout(
    completed, staff_user, stripe_emulator, release, django_capture_on_commit_callbacks
):
    dispute = _flag(completed, staff_user)

    dispute = _resolve(dispute, staff_user, django_capture_on_commit_callbacks, Outcome.REFUND)
    release(_after_hold(completed))

    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.reason) == (
        4500,
        Refund.Status.SUCCEEDED,
        Refund.Reason.DISPUTE,
    )
    assert completed.payouts.get().status == Payout.Status.CANCELLED
    assert dispute.status == Dispute.Status.RESOLVED_REFUND
    assert not _transfers(stripe_emulator)
    subjects = {m.to[0]: m.subject for m in mail.outbox if "resolved" in m.subject}
    assert set(subjects) == {completed.client.email, completed.provider.user.email}


def test_resolving_for_the_provider_releases_the_payout(
    completed, staff_user, stripe_emulator, release, django_capture_on_commit_callbacks
):
    dispute = _flag(completed, staff_user)

    _resolve(dispute, staff_user, django_capture_on_commit_callbacks, Outcome.RELEASE)
    release(_after_hold(completed))

    payout = completed.payouts.get()
    assert payout.status == Payout.Status.PAID
    assert [t["amount"] for t in _transfers(stripe_emulator)] == [completed.provider_amount]


def test_a_split_adds_up_to_the_cent(
    completed, staff_user, stripe_emulator, release, django_capture_on_commit_callbacks
):
    dispute = _flag(completed, staff_user)

    _resolve(dispute, staff_user, django_capture_on_commit_callbacks, Outcome.SPLIT, amount=1999)
    release(_after_hold(completed))

    refund = Refund.objects.get()
    [transfer] = _transfers(stripe_emulator)
    kept = completed.price_amount - refund.amount
    platform = kept - transfer["amount"]
    assert refund.amount == 1999
    assert transfer["amount"] == provider_share(booking=completed, kept=kept)
    assert refund.amount + transfer["amount"] + platform == completed.price_amount
    assert Dispute.objects.get().status == Dispute.Status.RESOLVED_SPLIT


def test_a_split_must_leave_something_on_each_side(completed, staff_user, django_capture_on_commit_callbacks):
    dispute = _flag(completed, staff_user)

    for amount in (0, 4500, 9999):
        with pytest.raises(DisputeError):
            _resolve(dispute, staff_user, django_capture_on_commit_callbacks, Outcome.SPLIT, amount=amount)
    assert not Refund.objects.exists()


def test_a_booking_has_one_open_dispute_at_most(completed, staff_user):
    _flag(completed, staff_user)

    with pytest.raises(DisputeError, match="already being looked into"):
        _flag(completed, staff_user)


# Admin screens ---------------------------------------------------------------------------------------------


def test_staff_flag_from_the_booking_list_and_resolve_with_the_amounts_shown(
    completed, staff_user, stripe_emulator, django_capture_on_commit_callbacks
):
    admin = Client()
    admin.force_login(staff_user)
    changelist = reverse("admin:bookings_booking_changelist")

    asked = admin.post(changelist, {"action": "flag_dispute", "_selected_action": [completed.pk]})
    assert "Open the dispute" in asked.content.decode()
    admin.post(
        changelist,
        {
            "action": "flag_dispute",
            "_selected_action": [completed.pk],
            "apply": "1",
            "reason": "quality",
            "description": "Poor audio",
        },
    )
    dispute = Dispute.objects.get()
    assert (dispute.opened_by, dispute.opened_by_user) == (Dispute.OpenedBy.ADMIN, staff_user)

    resolve_url = reverse("admin:payments_dispute_resolve", args=[dispute.pk])
    preview = admin.post(
        resolve_url, {"outcome": "split", "refund_amount": "20.00", "note": ""}
    ).content.decode()
    assert "$20.00" in preview  # the refund, shown before anything happens
    assert "$22.50" in preview  # the provider's share of the $25.00 kept
    assert not Refund.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            resolve_url, {"outcome": "split", "refund_amount": "20.00", "note": "", "confirmed": "True"}
        )
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.RESOLVED_SPLIT
    assert Refund.objects.get().amount == 2000


def test_the_dispute_list_shows_open_ones_first(
    completed, staff_user, client_user, bookable_service, stripe_emulator
):
    other = paid_booking(
        UserFactory(), bookable_service, first_slot(bookable_service, after_days=6), stripe_emulator
    )
    done = _flag(other, staff_user)
    Dispute.objects.filter(pk=done.pk).update(status=Dispute.Status.RESOLVED_RELEASE)
    open_one = _flag(completed, staff_user)
    admin = Client()
    admin.force_login(staff_user)

    body = admin.get(reverse("admin:payments_dispute_changelist")).content.decode()

    assert body.index(f"/{open_one.pk}/change/") < body.index(f"/{done.pk}/change/")


# Report a problem ------------------------------------------------------------------------------------------


def test_the_client_reports_a_problem_inside_the_window_once(
    completed, as_client, stripe_emulator, release, alerts, django_capture_on_commit_callbacks
):
    url = reverse("bookings:report_problem", args=[completed.reference])
    inside = completed.completed_at + timedelta(hours=1)

    with time_machine.travel(inside, tick=True):
        assert (
            "Report a problem"
            in as_client.get(reverse("bookings:detail", args=[completed.reference])).content.decode()
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = as_client.post(url, {"reason": "no_show", "description": "Nobody came."}, follow=True)
        assert "we have your report" in response.content.decode()
        again = as_client.get(url, follow=True).content.decode()

    dispute = Dispute.objects.get()
    assert (dispute.opened_by, dispute.reason) == (Dispute.OpenedBy.CLIENT, "no_show")
    assert "You have reported a problem" in again
    assert any("Dispute opened" in subject for subject in alerts())
    assert any(
        "We received your report" in m.subject for m in mail.outbox if m.to == [completed.client.email]
    )
    release(_after_hold(completed))
    assert completed.payouts.get().status == Payout.Status.ON_HOLD


def test_after_the_window_the_button_is_gone_and_the_page_says_why(completed, as_client):
    after = _after_hold(completed)

    with time_machine.travel(after, tick=True):
        page = as_client.get(reverse("bookings:detail", args=[completed.reference])).content.decode()
        as_client.post(
            reverse("bookings:report_problem", args=[completed.reference]),
            {"reason": "no_show", "description": "late"},
        )

    assert "Report a problem</a>" not in page
    assert "The time to report a problem ended" in page
    assert not Dispute.objects.exists()


@pytest.mark.parametrize("persona", ["as_other_client", "as_provider", "as_staff"])
def test_only_the_bookings_client_can_report_a_problem(request, completed, persona):
    browser = request.getfixturevalue(persona)

    with time_machine.travel(completed.completed_at + timedelta(hours=1), tick=True):
        response = browser.post(
            reverse("bookings:report_problem", args=[completed.reference]),
            {"reason": "no_show", "description": "x"},
        )

    assert response.status_code == 404
    assert not Dispute.objects.exists()


def test_the_report_form_refuses_an_empty_description(completed, as_client):
    with time_machine.travel(completed.completed_at + timedelta(hours=1), tick=True):
        response = as_client.post(
            reverse("bookings:report_problem", args=[completed.reference]), {"reason": "no_show"}
        )

    assert response.status_code == 200
    assert "Please tell us what happened" in response.content.decode()
    assert not Dispute.objects.exists()


# Refund after payout ---------------------------------------------------------------------------------------


def _paid_out(booking, release):
    release(_after_hold(booking))
    payout = booking.payouts.get()
    assert payout.status == Payout.Status.PAID
    return payout


def _admin_refund(booking, amount, capture):
    from payments.models import Payment

    with capture(execute=True):
        payment = Payment.objects.get(booking=booking)
        return refund_request(payment=payment, amount=amount, reason=Refund.Reason.DISPUTE, actor=None)


def test_a_refund_after_the_payout_takes_the_providers_share_back(
    completed, stripe_emulator, release, django_capture_on_commit_callbacks
):
    payout = _paid_out(completed, release)

    _admin_refund(completed, 2000, django_capture_on_commit_callbacks)

    reversal = PayoutReversal.objects.get()
    payout.refresh_from_db()
    expected = completed.provider_amount - provider_share(booking=completed, kept=2500)
    assert (reversal.amount, reversal.status) == (expected, PayoutReversal.Status.SUCCEEDED)
    assert payout.status == Payout.Status.PARTIALLY_REVERSED
    assert payout.amount_reversed == expected
    [stripe_reversal] = stripe_emulator.state()["transfer_reversals"].values()
    assert stripe_reversal["amount"] == expected
    requests = stripe_emulator.requests(method="POST", path=f"/v1/transfers/{payout.transfer_id}/reversals")
    assert requests[0]["idempotency_key"].endswith(f":reversal-{reversal.refund_id}")


def test_a_refused_reversal_is_owed_and_netted_from_the_next_payout(
    completed,
    client_user,
    bookable_service,
    stripe_emulator,
    release,
    alerts,
    django_capture_on_commit_callbacks,
):
    payout = _paid_out(completed, release)
    account = completed.provider.stripe_account_id
    stripe_emulator.settle_balance()  # the transfer's money became available to the provider...
    stripe_emulator.payout(account)  # ...and went to their bank: nothing left to take back

    with django_capture_on_commit_callbacks(execute=True):
        _admin_refund(completed, 4500, django_capture_on_commit_callbacks)

    reversal = PayoutReversal.objects.get()
    assert reversal.status == PayoutReversal.Status.OWED
    assert reversal.outstanding == completed.provider_amount
    assert any("owes" in subject for subject in alerts())

    # Their next session: the debt is kept back from it.
    later = paid_booking(
        UserFactory(), bookable_service, first_slot(bookable_service, after_days=7), stripe_emulator
    )
    session_complete(booking_id=later.pk, actor=None, now=later.start_at + timedelta(hours=1))
    release(_after_hold(later))

    next_payout = later.payouts.get()
    recovery = DebtRecovery.objects.get()
    reversal.refresh_from_db()
    assert next_payout.status == Payout.Status.PAID
    assert next_payout.debt_netted == completed.provider_amount
    assert recovery.amount == completed.provider_amount
    assert reversal.outstanding == 0
    transfers = {t["id"]: t["amount"] for t in _transfers(stripe_emulator)}
    assert payout.transfer_id in transfers
    assert next_payout.transfer_id is None or transfers[next_payout.transfer_id] == 0


# Chargebacks -----------------------------------------------------------------------------------------------


def _chargeback(booking, stripe_emulator, capture, *, kind="chargeback"):
    payment = booking.payments.get()
    opened = stripe_emulator.open_dispute(payment.charge_id, kind=kind)
    with capture(execute=True):
        deliver_events(stripe_emulator, *DISPUTE_EVENTS)
    return opened


def _close(stripe_emulator, opened, status, capture):
    stripe_emulator.close_dispute(opened["id"], status=status)
    with capture(execute=True):
        deliver_events(stripe_emulator, *DISPUTE_EVENTS)


def test_a_chargeback_before_the_payout_holds_it_and_lost_cancels_it(
    completed, stripe_emulator, release, django_capture_on_commit_callbacks
):
    opened = _chargeback(completed, stripe_emulator, django_capture_on_commit_callbacks)
    release(_after_hold(completed))
    assert completed.payouts.get().status == Payout.Status.ON_HOLD

    _close(stripe_emulator, opened, "lost", django_capture_on_commit_callbacks)
    release(_after_hold(completed))

    dispute = Dispute.objects.get()
    assert dispute.status == Dispute.Status.LOST
    assert dispute.amount_lost == 4500
    assert completed.payouts.get().status == Payout.Status.CANCELLED
    assert not _transfers(stripe_emulator)


def test_a_chargeback_won_before_the_payout_releases_it(
    completed, stripe_emulator, release, django_capture_on_commit_callbacks
):
    opened = _chargeback(completed, stripe_emulator, django_capture_on_commit_callbacks)

    _close(stripe_emulator, opened, "won", django_capture_on_commit_callbacks)
    release(_after_hold(completed))

    assert Dispute.objects.get().status == Dispute.Status.WON
    assert completed.payouts.get().status == Payout.Status.PAID


def test_no_second_payout_is_scheduled_beside_one_on_its_way(completed):
    """A dispute decided for us while the first payout's transfer is in flight: that payout carries the
    share; scheduling another beside it (``processing`` is not counted as paid yet) would send it twice."""
    from payments.payouts import payout_schedule_again

    completed.payouts.update(status=Payout.Status.PROCESSING)

    with transaction.atomic():
        assert payout_schedule_again(booking=completed) is None

    assert completed.payouts.count() == 1


def test_a_chargeback_after_the_payout_takes_the_share_back_and_won_pays_it_again(
    completed, stripe_emulator, release, django_capture_on_commit_callbacks
):
    first = _paid_out(completed, release)

    opened = _chargeback(completed, stripe_emulator, django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert first.status == Payout.Status.REVERSED
    assert Dispute.objects.get().payout_reversed

    _close(stripe_emulator, opened, "won", django_capture_on_commit_callbacks)
    # The second payout draws on the platform's available funds (Stripe's fees and the dispute fee came out
    # of them, so the platform tops them up, as an operator would).
    stripe_emulator.set_balance(100_000)
    release(_after_hold(completed) + timedelta(minutes=5))

    second = completed.payouts.get(sequence=2)
    assert (second.status, second.amount) == (Payout.Status.PAID, completed.provider_amount)
    assert len(_transfers(stripe_emulator)) == 2


def test_a_chargeback_after_the_payout_lost_leaves_the_share_taken_back(
    completed, stripe_emulator, release, django_capture_on_commit_callbacks
):
    _paid_out(completed, release)

    opened = _chargeback(completed, stripe_emulator, django_capture_on_commit_callbacks)
    _close(stripe_emulator, opened, "lost", django_capture_on_commit_callbacks)
    release(_after_hold(completed) + timedelta(minutes=5))

    assert completed.payouts.count() == 1
    assert completed.payouts.get().status == Payout.Status.REVERSED
    assert Dispute.objects.get().status == Dispute.Status.LOST


def test_an_inquiry_holds_the_payout_without_taking_money_and_closing_releases_it(
    completed, stripe_emulator, release, django_capture_on_commit_callbacks
):
    opened = _chargeback(completed, stripe_emulator, django_capture_on_commit_callbacks, kind="inquiry")
    release(_after_hold(completed))
    assert completed.payouts.get().status == Payout.Status.ON_HOLD
    assert not PayoutReversal.objects.exists()

    _close(stripe_emulator, opened, "warning_closed", django_capture_on_commit_callbacks)
    release(_after_hold(completed))

    assert completed.payouts.get().status == Payout.Status.PAID
