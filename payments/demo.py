"""Demo payouts for ``seed_demo``: one provider whose payouts are ready and one who started but did not
finish, both opened through the local Stripe emulator (the one ``make dev`` runs) and onboarded there; then
completed sessions whose payouts show every state a provider sees, made by the real services, so the paid
one is a real transfer at the emulator."""

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from bookings.demo import demo_paid_booking, emulator_reachable
from bookings.models import Booking
from bookings.selectors import bookable_slots
from marketplace.models import User
from payments import gateway, history
from payments.connect import connect_account_open, connect_provider_sync
from payments.models import Payout
from payments.payouts import payout_execute, payouts_release, session_complete
from providers.models import Provider, Service


def _emulator_complete_onboarding(account_id: str) -> None:
    """Finish onboarding as the provider would on Stripe's page (the emulator's control endpoint)."""
    response = requests.post(
        f"{settings.STRIPE_API_BASE}/_emulator/accounts/{account_id}/complete_onboarding", json={}, timeout=10
    )
    response.raise_for_status()


def seed_demo_payout_accounts(*, ready: Provider, unfinished: Provider, say: Callable[[str], None]) -> None:
    """Give ``ready`` an onboarded Express account and ``unfinished`` one still missing details, both in the
    platform's own country (where payouts work). Idempotent: a provider who has an account keeps it and is
    only brought up to date from the emulator."""
    if not emulator_reachable():
        say("payouts: skipped (no Stripe emulator reachable; `make dev` runs one and sets them up)")
        return
    for number, (provider, complete) in enumerate(((ready, True), (unfinished, False)), start=1):
        step = f"[{number}/2] payouts: {provider.display_name}"
        if provider.stripe_account_id:
            try:
                provider = connect_provider_sync(provider_id=provider.pk)
            except gateway.GatewayError as error:
                say(f"{step}: account {provider.stripe_account_id} unknown to the emulator ({error}); kept")
                continue
            say(f"{step}: {Provider.PayoutSetup(provider.payout_setup).label.lower()} (exists)")
            continue
        account_id = connect_account_open(
            provider_id=provider.pk, country=settings.PLATFORM_COUNTRY
        ).stripe_account_id
        assert account_id is not None  # connect_account_open raises rather than return without one
        if complete:
            _emulator_complete_onboarding(account_id)
        provider = connect_provider_sync(provider_id=provider.pk)
        say(f"{step}: {Provider.PayoutSetup(provider.payout_setup).label.lower()} (created)")


# --- Completed sessions and their payouts ------------------------------------------------------------------


@dataclass(frozen=True)
class DemoPayout:
    state: str  # the payout status it is meant to end in
    note: str  # on the booking: how a later run finds it
    ready: bool  # for the provider whose payouts are set up, or the one whose setup is unfinished
    # The session ended between these two times ago, counted beyond its hold when ``due`` (it is completed an
    # hour after its end, so due an hour and PAYOUT_HOLD_HOURS after it).
    ended_ago: tuple[timedelta, timedelta]
    due: bool = True
    fault: str = ""  # what the emulator does to the transfer call, e.g. refuse it


# In this order: each release finds only its own payout due. One provider's sessions end in windows that do
# not overlap, so the times they are moved to never collide.
DEMO_PAYOUTS = (
    DemoPayout(
        "paid",
        note="Demo session (payout paid)",
        ready=True,
        ended_ago=(timedelta(days=7), timedelta(days=3)),
    ),
    DemoPayout(
        "failed",
        note="Demo session (payout refused by Stripe)",
        ready=True,
        ended_ago=(timedelta(days=3), timedelta(days=0)),
        fault="POST /v1/transfers=400x1",
    ),
    DemoPayout(
        "on_hold",
        note="Demo session (payout waiting for setup)",
        ready=False,
        ended_ago=(timedelta(days=3), timedelta(days=0)),
    ),
    DemoPayout(
        "scheduled",
        note="Demo session (payout held)",
        ready=True,
        ended_ago=(timedelta(hours=70), timedelta(hours=1)),
        due=False,
    ),
)


def seed_demo_payouts(
    *, client: User, ready: Provider, unfinished: Provider, say: Callable[[str], None]
) -> None:
    """Completed sessions of ``client`` whose payouts are paid (a real transfer at the emulator), failed
    (Stripe refused the transfer: the emulator's ``400`` fault, for that one call), waiting (``unfinished``
    has not finished payout setup; the reason is stored and shown) and held (its ``PAYOUT_HOLD_HOURS`` are
    not over). Each is paid on the emulator's checkout, completed with ``session_complete`` and released
    with ``payouts_release`` and ``payout_execute``, as the provider, beat and a worker would; a release
    here also hands any other due payout of this database to the worker. Idempotent: a state whose session
    exists (found by its booking's note) is left alone."""
    if not emulator_reachable():
        say("payouts: completed sessions skipped (no Stripe emulator reachable; `make dev` runs one)")
        return
    for number, demo in enumerate(DEMO_PAYOUTS, start=1):
        provider = ready if demo.ready else unfinished
        step = f"[{number}/{len(DEMO_PAYOUTS)}] completed session with {provider.display_name}"
        booking = Booking.objects.filter(client=client, provider=provider, client_notes=demo.note).first()
        if booking is not None:
            payout = Payout.objects.filter(booking=booking).first()
            say(f"{step}: payout {_state(payout)} (exists)")
            continue
        service = provider.services.filter(is_active=True).order_by("pk").first()
        if service is None:
            say(f"{step}: skipped, {provider.display_name} has no active service")
            continue
        booking = _past_session(client, service, demo)
        if booking is None:
            say(f"{step}: skipped, no open hour of {provider.display_name}'s fits")
            continue
        _, payout = session_complete(
            booking_id=booking.pk, actor=provider.user, now=booking.end_at + timedelta(hours=1)
        )
        if payout is not None and demo.due:
            # As beat and a worker would. The release also sends this payout's task to the broker; whichever
            # runs second finds the payout claimed or done and does nothing.
            with _emulator_fault(demo.fault) if demo.fault else nullcontext():
                payouts_release()
                payout_execute(payout_id=payout.pk)
        payout = Payout.objects.filter(booking=booking).first()
        outcome = _state(payout)
        if payout is None or payout.status != demo.state:
            outcome += f" (meant to be {Payout.Status(demo.state).label.lower()})"
        say(f"{step}: payout {outcome} (created)")


def _state(payout: Payout | None) -> str:
    if payout is None:
        return "none"
    if payout.status == Payout.Status.PAID:
        return f"paid: transfer {payout.transfer_id}"
    if payout.status == Payout.Status.SCHEDULED:
        return f"held until {payout.due_at:%Y-%m-%d %H:%M} UTC"
    detail = payout.hold_reason or payout.last_error
    state = Payout.Status(payout.status).label.lower()
    return f"{state}: {detail}" if detail else state


def _past_session(client: User, service: Service, demo: DemoPayout) -> Booking | None:
    """A paid session of ``service`` that ended when ``demo`` says. Booked and paid at the same hour a whole
    number of weeks ahead (nobody can book the past), then moved back, so it keeps to the provider's weekly
    hours. None when no open hour fits."""
    now = timezone.now()
    hold = timedelta(hours=settings.PAYOUT_HOLD_HOURS)
    oldest, newest = demo.ended_ago
    if demo.due:
        oldest, newest = oldest + hold + timedelta(hours=2), newest + hold + timedelta(hours=2)
    else:
        oldest = min(oldest, hold - timedelta(hours=2))
    earliest, latest = now - oldest, now - newest
    weeks = timedelta(weeks=math.ceil((now + timedelta(hours=3) - earliest) / timedelta(weeks=1)))
    duration = timedelta(minutes=service.duration_minutes)
    slots = [
        slot
        for slot in bookable_slots(service=service, start=earliest + weeks, end=latest + weeks)
        if slot + duration <= latest + weeks
    ]
    if not slots:
        return None
    booking = demo_paid_booking(client, service, slots[-1], notes=demo.note)
    # The one step here that is not a service: none books the past, and this session has to have happened.
    Booking.objects.filter(pk=booking.pk).update(
        start_at=booking.start_at - weeks, end_at=booking.end_at - weeks
    )
    booking.refresh_from_db()
    return booking


@contextmanager
def _emulator_fault(spec: str) -> Iterator[None]:
    """Make the emulator answer as ``spec`` says (e.g. refuse the next transfer), then put back the faults it
    had before, whether or not the call happened."""
    url = f"{settings.STRIPE_API_BASE}/_emulator/faults"
    before: list[dict[str, Any]] = requests.get(url, timeout=10).json()["faults"]
    requests.post(url, json={"faults": [spec]}, timeout=10).raise_for_status()
    try:
        yield
    finally:
        kept = [
            {
                "method": fault["method"],
                "path": fault["path"],
                "kind": fault["kind"],
                "rate": fault["rate"],
                "count": fault["remaining"],
                "delay": fault["delay"],
            }
            for fault in before
            if fault["remaining"] is None or fault["remaining"] > 0
        ]
        requests.post(url, json={"faults": kept, "replace": True}, timeout=10).raise_for_status()


# --- Months of history -------------------------------------------------------------------------------------

HISTORY_DAYS = 180  # how far back the history reaches unless asked otherwise (seed_demo --history-days)
# It ends two weeks ago: the demo sessions above all ended within the last ten days, so none overlaps.
HISTORY_ENDS_AGO = timedelta(days=14)


def seed_demo_history(
    *,
    provider: Provider,
    clients: list[User],
    staff: User,
    say: Callable[[str], None],
    days: int = HISTORY_DAYS,
) -> None:
    """``days`` (six months) of past sessions of ``provider`` (whose payouts are set up) with ``clients``:
    mostly paid out, some refunded, some refunded after a reported problem, a few problems still open
    (``payments.history``). Real charges, refunds and transfers at the emulator, so ``check_ledger`` passes.
    Idempotent: does nothing once the history exists."""
    if days <= 0:
        say("history: none asked for")
        return
    if not emulator_reachable():
        say("history: skipped (no Stripe emulator reachable; `make dev` runs one)")
        return
    provider.refresh_from_db()  # its payout setup may have just been finished
    if Booking.objects.filter(provider=provider, client_notes=history.HISTORY_NOTE).exists():
        say("history: past sessions exist")
        return
    if not provider.can_receive_payouts:
        say(f"history: skipped, {provider.display_name} cannot receive payouts")
        return
    service = provider.services.filter(is_active=True).order_by("pk").first()
    if service is None:
        say(f"history: skipped, {provider.display_name} has no active service")
        return
    end = timezone.now() - HISTORY_ENDS_AGO
    plan = history.past_sessions_plan(
        services=[service], clients=clients, start=end - timedelta(days=days), end=end
    )
    history.past_sessions_create(plan, staff=staff, say=say)
    outcomes = ", ".join(
        f"{sum(1 for session in plan if session.outcome == outcome)} {outcome.replace('_', ' ')}"
        for outcome in history.OUTCOMES
    )
    say(f"history: {len(plan)} past sessions with {provider.display_name} ({outcomes})")
