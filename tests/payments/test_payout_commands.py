"""The payout commands the README tells a developer to run: auto_complete_sessions, payouts_due_now and
release_payouts."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from bookings.models import Booking
from payments.models import Payout
from payments.payouts import payouts_release, session_complete
from tests.payments.payout_helpers import make_payable, paid_booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed(client_user, bookable_service, slot, stripe_emulator):
    return paid_booking(client_user, bookable_service, slot, stripe_emulator)


@pytest.fixture
def held(confirmed):
    """The session took place and was marked complete: its payout is held for PAYOUT_HOLD_HOURS from then."""
    _, payout = session_complete(
        booking_id=confirmed.pk, actor=confirmed.provider.user, now=confirmed.start_at + timedelta(hours=1)
    )
    assert payout is not None
    return payout


def test_auto_complete_sessions_completes_a_session_nobody_marked(confirmed, settings):
    out = StringIO()

    with time_machine.travel(confirmed.end_at + timedelta(hours=settings.AUTO_COMPLETE_HOURS, minutes=1)):
        call_command("auto_complete_sessions", stdout=out)

    confirmed.refresh_from_db()
    assert confirmed.status == Booking.Status.COMPLETED
    assert Payout.objects.get().booking_id == confirmed.pk
    assert "Completed 1 session" in out.getvalue()


def test_payouts_due_now_then_release_payouts_pays_a_held_payout_at_once(
    held, stripe_emulator, settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    make_payable(held.provider, stripe_emulator)
    out = StringIO()

    call_command("payouts_due_now", stdout=out)
    with django_capture_on_commit_callbacks(execute=True):  # the transfer task, as the worker would run it
        call_command("release_payouts", stdout=out)

    held.refresh_from_db()
    assert held.status == Payout.Status.PAID
    assert [t["id"] for t in stripe_emulator.state()["transfers"].values()] == [held.transfer_id]
    assert "1 payout now due" in out.getvalue()
    assert "Done: 1 payout sent to transfer, 0 waiting" in out.getvalue()


def test_payouts_due_now_is_refused_unless_debug(held, settings):
    settings.DEBUG = False
    due_at = held.due_at

    with pytest.raises(CommandError, match="development only"):
        call_command("payouts_due_now", stdout=StringIO())

    held.refresh_from_db()
    assert held.due_at == due_at


def test_payouts_due_now_makes_a_retrying_payout_go_with_the_next_release(
    held, stripe_emulator, settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    make_payable(held.provider, stripe_emulator)
    after_hold = held.due_at + timedelta(minutes=1)
    stripe_emulator.set_faults("POST /v1/transfers=503x1")
    with time_machine.travel(after_hold, tick=True), django_capture_on_commit_callbacks(execute=True):
        payouts_release()
    held.refresh_from_db()
    assert held.status == Payout.Status.RETRYING  # its next attempt is a minute away

    with time_machine.travel(after_hold, tick=True), django_capture_on_commit_callbacks(execute=True):
        call_command("payouts_due_now", stdout=StringIO())
        call_command("release_payouts", stdout=StringIO())

    held.refresh_from_db()
    assert held.status == Payout.Status.PAID
