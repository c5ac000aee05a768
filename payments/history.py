"""Past sessions with their money settled: months of history for the demo (``seed_demo``), so the earnings
page, the operator's dashboard and the client's history have something to show, and for tests of them.

Nobody can book or pay for the past, so two steps are written by hand: the booking (confirmed, with its
history row) and its payment. The payment is still a real card charge at the Stripe emulator (a Checkout
Session paid on it, in the booking's transfer group), so ``check_ledger`` compares it with Stripe like any
other. Everything after that goes through the services with ``now`` set in the past, as the provider, the
client, staff, beat and a worker would have done then: ``session_complete``, ``booking_cancel_with_refund``,
``dispute_open`` / ``dispute_resolve``, ``refund_execute``, ``payouts_release`` and ``payout_execute`` (real
refunds and transfers at the emulator). The calls to Stripe happen now, so a paid payout's ``paid_at`` is
moved back to when its hold ended (its due time), the one other field written by hand.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bookings.models import Booking, BookingStatusChange
from marketplace.models import User
from marketplace.money import fee_split
from payments import gateway
from payments.disputes import Outcome, dispute_open, dispute_resolve
from payments.models import Dispute, Payment, Payout, Refund
from payments.namespace import booking_transfer_group, our_metadata, stripe_key
from payments.payouts import payout_execute, payouts_release, session_complete
from payments.services import booking_cancel_with_refund, refund_execute
from providers.models import Service

# How a past session ended.
PAID = "paid"  # completed; the provider's share was transferred when the hold ended
REFUNDED = "refunded"  # the provider cancelled three days ahead; the client got everything back
DISPUTE_REFUNDED = "dispute_refunded"  # completed; the client reported a problem, staff refunded in full
DISPUTED = "disputed"  # completed; the client reported a problem, still open: the payout waits
OUTCOMES = (PAID, REFUNDED, DISPUTE_REFUNDED, DISPUTED)

HISTORY_NOTE = "Demo history"


@dataclass(frozen=True)
class PastSession:
    service: Service
    client: User
    start_at: datetime
    outcome: str


def emulator_pay(session_id: str) -> None:
    """Pay as the customer would on the hosted page (the emulator's control endpoint)."""
    response = requests.post(
        f"{settings.STRIPE_API_BASE}/_emulator/checkout/sessions/{session_id}/pay", json={}, timeout=10
    )
    response.raise_for_status()


def past_session_create(session: PastSession, *, staff: User, note: str = HISTORY_NOTE) -> Booking:
    """A session that took place at ``session.start_at`` (in the past, on a time the provider has free),
    paid by card a week before, and ended as ``session.outcome`` says. ``staff`` resolves disputes."""
    if session.outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {session.outcome!r}")
    booking = _paid_booking(session, note=note)
    provider_user = booking.provider.user
    before = booking.start_at - timedelta(days=3)
    after = booking.end_at + timedelta(hours=1)
    if session.outcome == REFUNDED:
        _, refund = booking_cancel_with_refund(
            booking_id=booking.pk, actor=provider_user, by_client=False, reason="plans changed", now=before
        )
        assert refund is not None  # a provider's cancellation refunds everything
        refund_execute(refund_id=refund.pk)
    else:
        session_complete(booking_id=booking.pk, actor=provider_user, now=after)
    if session.outcome in (DISPUTE_REFUNDED, DISPUTED):
        dispute = dispute_open(
            booking_id=booking.pk,
            opened_by=Dispute.OpenedBy.CLIENT,
            actor=session.client,
            reason=Dispute.Reason.NO_SHOW,
            description="The provider did not join the call.",
            now=after + timedelta(hours=2),
        )
        if session.outcome == DISPUTE_REFUNDED:
            dispute_resolve(
                dispute_id=dispute.pk,
                outcome=Outcome.REFUND,
                actor=staff,
                note="The provider confirmed they missed it.",
            )
            for refund in Refund.objects.filter(booking=booking, status=Refund.Status.REQUESTED):
                refund_execute(refund_id=refund.pk)
    _date_back(booking, cancelled_at=before, resolved_at=after + timedelta(days=1))
    booking.refresh_from_db()
    return booking


def _date_back(booking: Booking, *, cancelled_at: datetime, resolved_at: datetime) -> None:
    """Rows the services made now get the time they stand for, so pages that count by creation time (the
    operator's dashboard) see the history when it happened: a refund when it was asked for (the
    cancellation, or staff's resolution a day after the report), a dispute when it was reported."""
    reported_at = booking.end_at + timedelta(hours=3)
    for refund in Refund.objects.filter(booking=booking):
        when = resolved_at if refund.reason == Refund.Reason.DISPUTE else cancelled_at
        Refund.objects.filter(pk=refund.pk).update(
            created_at=when, succeeded_at=when + timedelta(minutes=1) if refund.succeeded_at else None
        )
    Dispute.objects.filter(booking=booking).update(created_at=reported_at)
    Dispute.objects.filter(booking=booking, closed_at__isnull=False).update(closed_at=resolved_at)


def past_payouts_send() -> int:
    """Transfer every payout whose hold is over, here and now (as beat and a worker would have), and move
    each history payout's ``paid_at`` back to the end of its hold. Returns how many were sent."""
    payouts_release()
    sent = 0
    for payout_id in Payout.objects.filter(status=Payout.Status.PROCESSING).values_list("pk", flat=True):
        payout_execute(payout_id=payout_id)
        sent += 1
    history = Booking.objects.filter(client_notes=HISTORY_NOTE)
    late = Payout.objects.filter(
        booking__in=history, status=Payout.Status.PAID, paid_at__gt=F("due_at") + timedelta(minutes=5)
    )
    late.update(paid_at=F("due_at") + timedelta(minutes=5))
    return sent


def _paid_booking(session: PastSession, *, note: str) -> Booking:
    """The two hand-written steps: a confirmed booking and its paid payment, paid for real at the emulator.

    The payment row is written paid before the card is charged: the emulator's ``checkout.session.completed``
    may reach the app at once, and fulfilment of a session that started long ago would refund it; finding
    the payment already paid, fulfilment leaves it alone."""
    service, provider = session.service, session.service.provider
    split = fee_split(amount=service.price_amount, fee_percent=provider.fee_percent)
    paid_at = session.start_at - timedelta(days=7)
    with transaction.atomic():
        booking = Booking.objects.create(
            client=session.client,
            provider=provider,
            service=service,
            start_at=session.start_at,
            end_at=session.start_at + timedelta(minutes=service.duration_minutes),
            status=Booking.Status.CONFIRMED,
            service_title=service.title,
            price_amount=split.amount,
            platform_fee_amount=split.platform_fee,
            provider_amount=split.provider_amount,
            currency=service.currency,
            client_notes=note,
            confirmed_at=paid_at,
        )
        BookingStatusChange.objects.create(
            booking=booking,
            from_status=Booking.Status.PENDING_PAYMENT,
            to_status=Booking.Status.CONFIRMED,
            reason="payment received (demo history)",
        )
        payment = Payment.objects.create(
            booking=booking,
            attempt=1,
            status=Payment.Status.PAID,
            amount=booking.price_amount,
            currency=booking.currency,
            paid_at=paid_at,
        )
        # Booked a few minutes before paying, not today.
        Booking.objects.filter(pk=booking.pk).update(created_at=paid_at - timedelta(minutes=10))
        Payment.objects.filter(pk=payment.pk).update(created_at=paid_at - timedelta(minutes=5))
    metadata = our_metadata(
        booking_id=str(booking.pk), booking_ref=booking.reference, payment_id=str(payment.pk)
    )
    checkout = gateway.checkout_session_create(
        booking_ref=booking.reference,
        amount=booking.price_amount,
        currency=booking.currency,
        product_name=booking.service_title,
        customer_email=session.client.email,
        success_url=f"{settings.SITE_URL}/?session={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{settings.SITE_URL}/",
        expires_at=timezone.now() + timedelta(hours=1),
        transfer_group=booking_transfer_group(booking.pk),
        metadata=metadata,
        idempotency_key=stripe_key(f"checkout-{booking.pk}-1"),
    )
    Payment.objects.filter(pk=payment.pk).update(checkout_session_id=checkout.id)
    emulator_pay(checkout.id)
    paid = gateway.checkout_session_retrieve(session_id=checkout.id)
    Payment.objects.filter(pk=payment.pk).update(
        payment_intent_id=paid.payment_intent_id or "", charge_id=paid.charge_id or ""
    )
    return booking


def past_sessions_plan(
    *, services: list[Service], clients: list[User], start: datetime, end: datetime
) -> list[PastSession]:
    """A believable spread of past sessions between ``start`` and ``end``: on weekdays, at 10:00 and 15:00
    in each provider's own zone, fewer further back (the practice grew); mostly paid, some refunded, a few
    disputed (still open only in the last ten days, where a dispute can still be open). Deterministic."""
    plan: list[PastSession] = []
    index = 0
    for service in services:
        zone = ZoneInfo(service.provider.timezone)
        duration = timedelta(minutes=service.duration_minutes)
        day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        while day <= last:
            for hour in (10, 15) if day.weekday() < 5 else ():
                index += 1
                start_at = datetime.combine(day, time(hour), tzinfo=zone)
                if start_at < start or start_at + duration > end:
                    continue
                if index % (3 + (end - start_at).days // 60) != 0:
                    continue
                near_end = end - start_at < timedelta(days=10)
                has_open = any(session.outcome == DISPUTED for session in plan)
                plan.append(
                    PastSession(
                        service=service,
                        client=clients[index % len(clients)],
                        start_at=start_at,
                        outcome=_outcome_for(len(plan) + 1, near_end=near_end, has_open=has_open),
                    )
                )
            day += timedelta(days=1)
    return plan


def _outcome_for(number: int, *, near_end: bool, has_open: bool) -> str:
    """The outcome of the ``number``-th planned session: one in eight refunded, one in thirteen refunded after
    a reported problem, and near the end one problem still open (then one in five)."""
    if near_end and (not has_open or number % 5 == 0):
        return DISPUTED
    if number % 13 == 0:
        return DISPUTE_REFUNDED
    if number % 8 == 0:
        return REFUNDED
    return PAID


def past_sessions_create(
    plan: list[PastSession], *, staff: User, say: Callable[[str], None] | None = None
) -> list[Booking]:
    """Make every planned session, then send the payouts whose hold is over."""
    bookings = []
    for number, session in enumerate(plan, start=1):
        bookings.append(past_session_create(session, staff=staff))
        if say is not None and (number % 20 == 0 or number == len(plan)):
            say(f"history: {number}/{len(plan)} past sessions")
    past_payouts_send()
    return bookings
