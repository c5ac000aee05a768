"""Money steps: checkout, fulfilment, refunds, money moved outside the app, and the webhook inbox.

Lock order, everywhere: booking, then payment, then refund or dispute. Stripe is never called while a row
lock is held: a row is written (or claimed) and committed first, the call carries an idempotency key derived
from that row (and this installation's namespace, ``payments.namespace``), and the outcome is stored in a
second transaction. A crash between the two is repaired by the sweepers (``refunds_redrive``,
``checkouts_sweep``, ``webhook_events_redrive``), whose retries reuse the same key, so Stripe replays its
first answer instead of moving money again. Past Stripe's 24-hour key window a resend first looks for what
the first attempt made (``refund_find_at_stripe``) and adopts it.

States only move forward (``PAYMENT_MOVES``, ``REFUND_MOVES``): a slow worker storing an older answer from
Stripe is ignored. The one move back is Stripe's own: a refund that succeeded and then failed (the card
network returned it) gives the money back to the payment.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.policy import CancellationTerms, cancellation_terms
from bookings.selectors import covered_session_of
from bookings.services import (
    BookingError,
    InvalidTransitionError,
    SlotUnavailableError,
    booking_cancel,
    booking_confirm,
    booking_expire,
    booking_extend_hold,
)
from marketplace.audit import audit_record
from marketplace.enqueue import enqueue_after_commit
from marketplace.models import User
from notifications.messages import (
    booking_cancelled_notify,
    booking_confirmed_notify,
    booking_url,
    checkout_expired_notify,
    provider_page_url,
)
from notifications.services import admin_alert, notification_queue
from payments import gateway
from payments.connect import connect_on_account_updated
from payments.models import Payment, Refund, WebhookEvent
from payments.namespace import booking_transfer_group, our_metadata, stripe_key
from payments.payouts import payout_clawback, payout_schedule
from payments.retries import CLAIM_LEASE, IDEMPOTENCY_WINDOW, backoff
from providers.models import Provider
from providers.time_off import CancelOutcome

logger = logging.getLogger(__name__)

PAID_STATUSES = Payment.PAID_STATUSES
# A session reused for a second click or tab must leave the client time to pay it.
SESSION_REUSE_MARGIN = timedelta(minutes=2)
# Stripe refuses a Checkout Session that expires sooner than 30 minutes after creation.
STRIPE_MIN_SESSION = timedelta(minutes=30)


class CheckoutError(Exception):
    """Checkout cannot start; the message is fit to show the client."""


class CheckoutAlreadyPaid(CheckoutError):
    """The booking is paid (perhaps a moment ago, in another tab): show it instead of asking to pay again."""


class CancellationTermsChanged(BookingError):
    """The refund the client was shown is no longer the refund cancelling now gives (a deadline passed)."""

    def __init__(self, terms: CancellationTerms) -> None:
        super().__init__("The refund for cancelling has changed since you opened this page.")
        self.terms = terms


# --- State machines --------------------------------------------------------------------------------------

P = Payment.Status
PAYMENT_MOVES: dict[str, set[str]] = {
    P.PENDING: {P.PAID, P.FAILED, P.EXPIRED},
    # An expiry we asked for may not have taken, or a failure we recorded was not the last word: when Stripe
    # says the session was paid, the money is real and must be confirmed or refunded, never ignored.
    P.EXPIRED: {P.PAID},
    P.FAILED: {P.PAID},
    # Backwards only when a refund that had succeeded fails later (Stripe's own move): the money is back.
    P.PAID: {P.PARTIALLY_REFUNDED, P.REFUNDED},
    P.PARTIALLY_REFUNDED: {P.REFUNDED, P.PAID},
    P.REFUNDED: {P.PARTIALLY_REFUNDED, P.PAID},
}


def _payment_set_status(payment: Payment, *, to: str, reason: str, actor: User | None = None) -> None:
    """Move a locked payment to ``to`` with an audit entry; refuse moves the state machine does not allow."""
    from_status = payment.status
    if from_status == to:
        return
    if to not in PAYMENT_MOVES[from_status]:
        raise ValueError(f"payment {payment.pk} cannot move from {from_status} to {to}")
    payment.status = to
    payment.save(update_fields=["status", "updated_at"])
    audit_record(
        subject=payment,
        action=f"payment.{to}",
        actor=actor,
        from_status=from_status,
        to_status=to,
        reason=reason,
    )


R = Refund.Status
REFUND_MOVES: dict[str, set[str]] = {
    R.REQUESTED: {R.RETRYING, R.PROCESSING, R.SUCCEEDED, R.FAILED},
    R.RETRYING: {R.PROCESSING, R.SUCCEEDED, R.FAILED},
    R.PROCESSING: {R.SUCCEEDED, R.FAILED},
    # The card network can return a refund days after it succeeded; Stripe then reports it failed.
    R.SUCCEEDED: {R.FAILED},
    R.FAILED: set(),
}


def _refund_set_status(refund: Refund, *, to: str, reason: str = "", data: dict | None = None) -> bool:
    """Move a locked refund to ``to`` with an audit entry. Returns False (and changes nothing) for a move
    the state machine does not allow: that is a stale answer, not an error."""
    from_status = refund.status
    if from_status == to:
        return True
    if to not in REFUND_MOVES[from_status]:
        logger.info("refund %s: ignoring a move from %s to %s (stale answer)", refund.pk, from_status, to)
        return False
    refund.status = to
    audit_record(
        subject=refund,
        action=f"refund.{to}",
        from_status=from_status,
        to_status=to,
        reason=reason,
        data=data or {},
    )
    return True


# --- Checkout --------------------------------------------------------------------------------------------


def _hold_limit(booking: Booking) -> datetime:
    """The latest moment this booking may hold its slot, however often checkout is retried."""
    return booking.created_at + timedelta(minutes=settings.BOOKING_HOLD_MAX_MINUTES)


def _checkout_refuse_unless_payable(booking: Booking, *, now: datetime) -> None:
    """Raise the CheckoutError a client should see when ``booking`` (locked) cannot be paid now."""
    if booking.status in (Booking.Status.CONFIRMED, Booking.Status.COMPLETED) or (
        Payment.objects.filter(booking=booking, status__in=PAID_STATUSES).exists()
    ):
        raise CheckoutAlreadyPaid("This booking is already paid.")
    if booking.status != Booking.Status.PENDING_PAYMENT or (
        booking.hold_expires_at is None or booking.hold_expires_at <= now or _hold_limit(booking) <= now
    ):
        raise CheckoutError(
            "This booking can no longer be paid: its hold has lapsed. Please pick a time again."
        )
    if booking.start_at <= now:
        raise CheckoutError("This session has already started, so it can no longer be booked.")


def checkout_start(*, booking_id: int, restart: bool = False, now: datetime | None = None) -> Payment:
    """Give the client a Checkout Session to pay a pending booking, and return its Payment (``checkout_url``).

    One open session per booking: a second click or tab gets the open session back. ``restart`` (the client
    backed out, or pressed "Pay" again) first closes every open session at Stripe and reads it: a session the
    client paid a moment ago (its webhook not landed yet) confirms the booking and raises
    ``CheckoutAlreadyPaid`` instead of opening a second one. A booking gets at most ``CHECKOUT_MAX_ATTEMPTS``
    sessions and holds its slot at most ``BOOKING_HOLD_MAX_MINUTES`` from its creation. If the hold was lost
    while the session was being created (another client took the slot), the new session is closed at once
    and the client is told. A create that failed half-way is retried with the same idempotency key, so
    Stripe hands back the same session. Stripe is called with the web budget (``gateway.interactive``): the
    client is waiting.
    """
    now = now or timezone.now()
    with gateway.interactive():
        reuse, superseded = _checkout_prepare(booking_id=booking_id, restart=restart, now=now)
        if reuse is not None:
            return reuse
        for old in superseded:
            _checkout_close(old)
        payment, booking = _checkout_open_attempt(booking_id=booking_id, now=now)
        return _checkout_create_session(payment=payment, booking=booking)


def _checkout_prepare(
    *, booking_id: int, restart: bool, now: datetime
) -> tuple[Payment | None, list[Payment]]:
    """Return an open session to reuse, or the open attempts to close before a new one (marked superseded,
    so closing them keeps the booking's hold)."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        _checkout_refuse_unless_payable(booking, now=now)
        payments = list(Payment.objects.select_for_update().filter(booking=booking).order_by("attempt"))
        open_attempts = [p for p in payments if p.status == Payment.Status.PENDING and p.has_session]
        latest = payments[-1] if payments else None
        if (
            not restart
            and latest is not None
            and latest in open_attempts
            and latest.checkout_expires_at
            and latest.checkout_expires_at > now + SESSION_REUSE_MARGIN
        ):
            return latest, []  # one open session per booking: a second click or tab gets the same one
        for payment in open_attempts:
            if payment.superseded_at is None:
                payment.superseded_at = now
                payment.save(update_fields=["superseded_at", "updated_at"])
        return None, open_attempts


def _checkout_close(payment: Payment) -> None:
    """Close an open session at Stripe and store what it says, so that a session paid meanwhile confirms its
    booking (the caller then finds it paid) instead of sitting beside a second one. If Stripe cannot be
    reached the attempt stays open, and the caller refuses to open another."""
    session_id = payment.checkout_session_id
    assert session_id is not None  # only attempts with a session are closed
    try:
        session = gateway.checkout_session_expire(
            session_id=session_id, idempotency_key=stripe_key(f"expire-{payment.pk}")
        )
    except gateway.GatewayError as error:
        # Refused when the session is no longer open (paid, or expired already): read what it became.
        logger.info("could not expire session %s (%s); reading it instead", session_id, error)
        try:
            payment_sync_from_session(session_id=session_id)
        except gateway.GatewayError:
            logger.warning("could not read session %s either; its webhook or the sweeper will", session_id)
        return
    payment_sync_from_session(session_id=session.id, session=session)


def _checkout_open_attempt(*, booking_id: int, now: datetime) -> tuple[Payment, Booking]:
    """Write (or reuse) the Payment row for a new Checkout Session, after the old ones were closed."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        # Closing the old sessions may just have confirmed the booking: the client paid in another tab.
        _checkout_refuse_unless_payable(booking, now=now)
        payments = list(Payment.objects.select_for_update().filter(booking=booking).order_by("attempt"))
        still_open = [p for p in payments if p.status == Payment.Status.PENDING and p.has_session]
        if still_open:
            # We could not close (or read) an earlier session: it might be paid. Never open a second one then.
            raise CheckoutError("We could not reach our payment provider. Please try again in a moment.")
        sessions_opened = sum(1 for p in payments if p.has_session)
        if sessions_opened >= settings.CHECKOUT_MAX_ATTEMPTS:
            raise CheckoutError(
                "This booking has reached its limit of payment attempts. Please pick a time again, or "
                "contact us if your card keeps being refused."
            )
        reusable: Payment | None = None
        for orphan in (p for p in payments if p.status == Payment.Status.PENDING and not p.has_session):
            # A create call that never answered. Within Stripe's window the same key and parameters give back
            # the very session it may have made; after it, the attempt is closed (a session made then has
            # expired at Stripe too, and nobody ever saw its address).
            if orphan.checkout_expires_at and orphan.checkout_expires_at > now + STRIPE_MIN_SESSION:
                reusable = orphan
            else:
                _payment_set_status(
                    orphan, to=Payment.Status.EXPIRED, reason="checkout never reached Stripe; replaced"
                )
        if reusable is not None:
            return reusable, booking
        payment = Payment.objects.create(
            booking=booking,
            attempt=(payments[-1].attempt + 1) if payments else 1,
            amount=booking.price_amount,
            currency=booking.currency,
            checkout_expires_at=now + timedelta(minutes=settings.CHECKOUT_SESSION_MINUTES),
        )
        audit_record(
            subject=payment,
            action="payment.created",
            to_status=payment.status,
            reason=f"attempt {payment.attempt}",
        )
        return payment, booking


def _checkout_create_session(*, payment: Payment, booking: Booking) -> Payment:
    assert payment.checkout_expires_at is not None  # set when the row was written
    site = settings.SITE_URL
    ref = booking.reference
    try:
        session = gateway.checkout_session_create(
            booking_ref=ref,
            amount=payment.amount,
            currency=payment.currency,
            product_name=f"{booking.service_title} with {booking.provider.display_name}",
            customer_email=booking.client.email,
            success_url=site
            + reverse("bookings:checkout_success", args=[ref])
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=site + reverse("bookings:checkout_cancelled", args=[ref]),
            expires_at=payment.checkout_expires_at,
            transfer_group=booking_transfer_group(booking.pk),
            metadata=our_metadata(booking_id=str(booking.pk), booking_ref=ref, payment_id=str(payment.pk)),
            idempotency_key=payment.idempotency_key,
        )
    except gateway.GatewayTemporaryError as error:
        logger.warning("checkout create for payment %s failed, retryable: %s", payment.pk, error)
        raise CheckoutError(
            "We could not reach our payment provider. Nothing was charged; please try again in a moment."
        ) from error
    except gateway.GatewayRejectedError as error:
        logger.error("checkout create for payment %s rejected: %s", payment.pk, error)
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=payment.pk)
            _payment_set_status(payment, to=Payment.Status.FAILED, reason=f"checkout rejected: {error}")
        raise CheckoutError(
            "Our payment provider refused to start this payment. Please contact us."
        ) from error

    now = timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        payment.checkout_session_id = session.id
        payment.checkout_url = session.url or ""
        payment.checkout_expires_at = session.expires_at
        payment.save(
            update_fields=["checkout_session_id", "checkout_url", "checkout_expires_at", "updated_at"]
        )
        limit = _hold_limit(booking)
        # Re-check after the call: the hold may have lapsed (and the slot been taken) while Stripe answered.
        # A pending booking still owns its slot (the exclusion constraint says so), so it may be extended.
        slot_kept = booking.status == Booking.Status.PENDING_PAYMENT and limit > now
        if slot_kept:
            booking_extend_hold(
                booking_id=booking.pk,
                until=min(
                    session.expires_at + timedelta(minutes=settings.CHECKOUT_HOLD_MARGIN_MINUTES), limit
                ),
            )
    if not slot_kept:
        _checkout_close(payment)
        raise CheckoutError(
            "Sorry, your hold on this time ran out while we were opening the payment page, so it could not "
            "be paid. Nothing was charged; please pick a time again."
        )
    return payment


# --- Fulfilment ------------------------------------------------------------------------------------------


def payment_sync_from_session(
    *, session_id: str, session: gateway.CheckoutSession | None = None
) -> Payment | None:
    """Bring our Payment and its booking in line with the Checkout Session as Stripe sees it now.

    The single entry point for every checkout event, the success page and the checkout sweeper: because it
    reads the session's current state instead of trusting the event, events may arrive twice, late or in any
    order. Idempotent.
    """
    if session is None or session.payment_intent is None:
        session = gateway.checkout_session_retrieve(session_id=session_id)
    payment = Payment.objects.filter(checkout_session_id=session.id).first()
    if payment is None:
        # The create call succeeded at Stripe but we crashed before storing its id: the metadata says whose.
        payment_id = session.metadata.get("payment_id") or ""
        payment = (
            Payment.objects.filter(pk=payment_id, booking__reference=session.client_reference_id).first()
            if payment_id.isdigit()
            else None
        )
        if payment is None:
            logger.info("checkout session %s belongs to no payment of ours", session.id)
            return None
        Payment.objects.filter(pk=payment.pk, checkout_session_id__isnull=True).update(
            checkout_session_id=session.id
        )
    if session.is_paid:
        return _payment_fulfil(payment_id=payment.pk, session=session)
    if session.status == "expired":
        return _payment_release(
            payment_id=payment.pk, to=Payment.Status.EXPIRED, reason="the payment page expired unpaid"
        )
    intent = session.payment_intent
    if (
        session.status == "complete"
        and intent is not None
        and intent.status in ("requires_payment_method", "canceled")
    ):
        return _payment_release(
            payment_id=payment.pk, to=Payment.Status.FAILED, reason="the bank payment failed"
        )
    return payment  # open, or a delayed payment still processing


def _too_late_to_confirm(booking: Booking, *, now: datetime) -> str:
    """Why a payment landing now may not confirm ``booking`` (locked), or "" when it may.

    A session that has started can never be confirmed: the client would be charged with no way to cancel.
    A payment arriving after the hold lapsed is a new claim on the slot, so it must also respect the
    provider's minimum notice, as a new booking would; one inside its hold was booked in time.
    """
    if booking.start_at <= now:
        return "the session had already started"
    lapsed = booking.status == Booking.Status.EXPIRED or (
        booking.hold_expires_at is not None and booking.hold_expires_at <= now
    )
    notice = timedelta(minutes=booking.provider.min_notice_minutes)
    if lapsed and booking.start_at < now + notice:
        return "the hold had lapsed and the session starts sooner than the provider's minimum notice"
    return ""


@transaction.atomic
def _payment_fulfil(*, payment_id: int, session: gateway.CheckoutSession) -> Payment:
    payment_row = Payment.objects.only("booking_id").get(pk=payment_id)
    booking = Booking.objects.select_for_update().select_related("provider").get(pk=payment_row.booking_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status in PAID_STATUSES:
        return payment  # the webhook and the success page both got here: the first one did the work
    now = timezone.now()
    intent = session.payment_intent
    payment.payment_intent_id = intent.id if intent else (session.payment_intent_id or "")
    payment.charge_id = session.charge_id or ""
    payment.paid_at = now
    payment.save(update_fields=["payment_intent_id", "charge_id", "paid_at", "updated_at"])
    _payment_set_status(payment, to=Payment.Status.PAID, reason=f"checkout session {session.id} paid")

    already_paid = (
        Payment.objects.filter(booking=booking, status__in=PAID_STATUSES).exclude(pk=payment.pk).exists()
    )
    if already_paid:
        _refund_in_full(payment, reason=Refund.Reason.DUPLICATE_PAYMENT)
        notification_queue(
            key=f"duplicate-payment-refunded-{payment.pk}",
            recipient=booking.client,
            template="notifications/duplicate_payment_refunded.txt",
            context={"booking": booking, "payment": payment, "booking_url": booking_url(booking)},
        )
        return payment
    too_late = _too_late_to_confirm(booking, now=now)
    if too_late and booking.status != Booking.Status.CONFIRMED:
        logger.info(
            "payment %s for booking %s arrived too late (%s): refunding", payment.pk, booking.pk, too_late
        )
        _refund_in_full(payment, reason=Refund.Reason.SESSION_STARTED)
        booking_expire(booking_id=booking.pk, reason=f"paid too late: {too_late}")
        notification_queue(
            key=f"late-payment-refunded-{payment.pk}",
            recipient=booking.client,
            template="notifications/late_payment_refunded.txt",
            context={
                "booking": booking,
                "payment": payment,
                "session_started": booking.start_at <= now,
                "action_url": provider_page_url(booking),
                "action_label": "Pick another time",
            },
        )
        return payment
    try:
        booking_confirm(
            # The timeline is read by people: the charge id stays in the payment's audit entries.
            booking_id=booking.pk,
            reason="payment received",
        )
    except (SlotUnavailableError, InvalidTransitionError) as error:
        logger.info(
            "payment %s landed for booking %s that cannot take it (%s): refunding",
            payment.pk,
            booking.pk,
            error,
        )
        _refund_in_full(payment, reason=Refund.Reason.SLOT_UNAVAILABLE)
        notification_queue(
            key=f"slot-unavailable-refunded-{payment.pk}",
            recipient=booking.client,
            template="notifications/slot_unavailable_refunded.txt",
            context={
                "booking": booking,
                "payment": payment,
                "action_url": provider_page_url(booking),
                "action_label": "Pick another time",
            },
        )
        return payment
    booking.refresh_from_db()
    booking_confirmed_notify(booking=booking)
    return payment


@transaction.atomic
def _payment_release(*, payment_id: int, to: str, reason: str) -> Payment:
    """A checkout attempt that will never be paid: mark it, and give the slot back unless the attempt was
    replaced on purpose (a newer session holds the slot) or another attempt of the booking is still open."""
    payment_row = Payment.objects.only("booking_id").get(pk=payment_id)
    booking = Booking.objects.select_for_update().get(pk=payment_row.booking_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status != Payment.Status.PENDING:
        return payment  # already paid, expired or failed: a stale or repeated event
    _payment_set_status(payment, to=to, reason=reason)
    # Only an attempt with a live session can still be paid; one that never reached Stripe holds nothing.
    still_payable = (
        Payment.objects.filter(
            booking=booking,
            status=Payment.Status.PENDING,
            checkout_session_id__isnull=False,
            checkout_expires_at__gt=timezone.now(),
        )
        .exclude(pk=payment.pk)
        .exists()
    )
    if (
        booking.status == Booking.Status.PENDING_PAYMENT
        and payment.superseded_at is None
        and not still_payable
    ):
        booking_expire(booking_id=booking.pk, reason=reason)
        booking.refresh_from_db()
        if booking.status == Booking.Status.EXPIRED:
            checkout_expired_notify(booking=booking, bank_failed=to == Payment.Status.FAILED)
    return payment


# --- The checkout sweeper --------------------------------------------------------------------------------


def checkouts_sweep(*, now: datetime | None = None) -> int:
    """Close what checkout left behind (beat every minute, and ``manage.py close_checkouts``). Returns how
    many attempts it touched.

    - An attempt whose create call never answered, past its expiry, is closed: it never held a slot.
    - An open session whose booking no longer holds its slot (the hold lapsed, the booking expired) is
      expired at Stripe, so nobody pays for a time given back; a payment that lands anyway is refunded or
      revives the booking (``_payment_fulfil``).
    - A session past its expiry that we still think open is read from Stripe: its webhook was lost.
    """
    now = now or timezone.now()
    touched = 0
    with transaction.atomic():
        orphans = Payment.objects.select_for_update(skip_locked=True).filter(
            status=Payment.Status.PENDING, checkout_session_id__isnull=True, checkout_expires_at__lt=now
        )
        for payment in orphans:
            _payment_set_status(payment, to=Payment.Status.EXPIRED, reason="checkout never reached Stripe")
            touched += 1
    released = Payment.objects.filter(
        status=Payment.Status.PENDING, checkout_session_id__isnull=False
    ).filter(~Q(booking__status=Booking.Status.PENDING_PAYMENT) | Q(booking__hold_expires_at__lte=now))
    stale = Payment.objects.filter(
        status=Payment.Status.PENDING,
        checkout_session_id__isnull=False,
        checkout_expires_at__lte=now - timedelta(minutes=5),
    )
    for payment in list(released[:200]) + list(stale.exclude(pk__in=released.values("pk"))[:200]):
        try:
            if payment.checkout_expires_at and payment.checkout_expires_at > now:
                _checkout_close(payment)
            else:
                payment_sync_from_session(session_id=payment.checkout_session_id or "")
        except gateway.GatewayError as error:
            logger.warning("checkout sweep: payment %s left for the next run: %s", payment.pk, error)
            continue
        touched += 1
    return touched


# --- Cancellation ----------------------------------------------------------------------------------------


def booking_cancel_with_refund(
    *,
    booking_id: int,
    actor: User,
    by_client: bool,
    reason: str = "",
    expected_refund_amount: int | None = None,
    now: datetime | None = None,
) -> tuple[Booking, Refund | None]:
    """Cancel a confirmed booking and refund what the policy allows (clients) or everything (providers,
    admins). Both happen in one transaction: there is never a cancelled booking without its refund row.

    ``expected_refund_amount`` is the refund the person was shown: if the terms changed since (the free
    cancellation deadline passed while the page was open), nothing happens and ``CancellationTermsChanged``
    carries the new terms to show and confirm again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        terms = cancellation_terms(
            price_amount=booking.price_amount, start_at=booking.start_at, by_client=by_client, now=now
        )
        if expected_refund_amount is not None and expected_refund_amount != terms.refund_amount:
            raise CancellationTermsChanged(terms)
        who = (
            "client"
            if by_client
            else ("admin" if actor.is_staff and actor.pk != booking.provider.user_id else "provider")
        )
        booking = booking_cancel(
            booking_id=booking.pk, actor=actor, reason=reason or f"cancelled by the {who}", now=now
        )
        refund = None
        payment = (
            Payment.objects.select_for_update()
            .filter(booking=booking, status__in=PAID_STATUSES)
            .order_by("paid_at")
            .first()
        )
        if payment and terms.refund_amount > 0:
            refund_reason = {
                "client": Refund.Reason.CLIENT_CANCELLED,
                "provider": Refund.Reason.PROVIDER_CANCELLED,
                "admin": Refund.Reason.ADMIN_CANCELLED,
            }[who]
            refund = refund_request(
                payment=payment, amount=terms.refund_amount, reason=refund_reason, actor=actor
            )
        if payment and by_client and terms.refund_amount < booking.price_amount:
            # A late cancellation keeps part of the price: the provider is owed their share of it, held like
            # a completed session's.
            payout_schedule(booking=booking, due_at=now + timedelta(hours=settings.PAYOUT_HOLD_HOURS))
        booking_cancelled_notify(booking=booking, refund=refund, cancelled_by=who)
    return booking, refund


def bookings_cancel_for_time_off(
    provider: Provider, actor: User, references: Sequence[str], reason: str
) -> list[CancelOutcome]:
    """The provider took time off over these sessions and chose to cancel them: each goes through
    ``booking_cancel_with_refund`` as the provider's cancel button does (full refund, both parties told).

    One booking per transaction, so one that cannot be cancelled (already cancelled, started, or an error)
    leaves the others cancelled and refunded. Each refund is its own row and task: a refund Stripe refuses
    takes the normal failed-refund path without touching the others. Idempotent: a booking already cancelled
    is reported, not refunded twice. Only the provider's own confirmed bookings are looked at.
    """
    bookings = (
        Booking.objects.filter(provider=provider, reference__in=list(references))
        .select_related("client")
        .order_by("start_at")
    )
    outcomes: list[CancelOutcome] = []
    for booking in bookings:
        session = covered_session_of(booking)
        if booking.status == Booking.Status.CANCELLED:
            outcomes.append(
                CancelOutcome(session, is_cancelled=False, problem="it had already been cancelled.")
            )
            continue
        if booking.status != Booking.Status.CONFIRMED or booking.start_at <= timezone.now():
            outcomes.append(
                CancelOutcome(
                    session, is_cancelled=False, problem="it has started or ended, so it stays as it is."
                )
            )
            continue
        try:
            booking, refund = booking_cancel_with_refund(
                booking_id=booking.pk, actor=actor, by_client=False, reason=reason
            )
        except BookingError as error:
            outcomes.append(
                CancelOutcome(session, is_cancelled=False, problem=f"{error} It is still booked.")
            )
        except Exception:
            # Anything else (a database error on this row): its transaction rolled back, so the booking is
            # untouched; log it and go on with the next booking.
            logger.exception("Cancelling booking %s for time off failed", booking.reference)
            outcomes.append(
                CancelOutcome(
                    session,
                    is_cancelled=False,
                    problem="something went wrong. It is still booked; please cancel it from its own page.",
                )
            )
        else:
            outcomes.append(
                CancelOutcome(session, is_cancelled=True, refund_amount=refund.amount if refund else 0)
            )
    return outcomes


# --- Refunds ---------------------------------------------------------------------------------------------


def _refund_in_full(payment: Payment, *, reason: str) -> Refund | None:
    return refund_request(payment=payment, amount=payment.amount, reason=reason, actor=None)


def _refund_committed(payment: Payment) -> int:
    """What is already on its way back or back: requested, being sent, or succeeded (ours and external)."""
    total: int = payment.refunds.filter(status__in=Refund.COMMITTED_STATUSES).aggregate(
        total=Coalesce(Sum("amount"), 0)
    )["total"]
    return total


def refund_request(
    *, payment: Payment, amount: int, reason: str, actor: User | None, retry_of: Refund | None = None
) -> Refund | None:
    """Write a Refund row for up to ``amount`` (capped at what is left of the payment) and enqueue its
    execution after commit. The caller holds the payment's lock. Returns None when nothing is left."""
    amount = min(amount, payment.amount - _refund_committed(payment))
    if amount <= 0:
        return None
    refund = Refund.objects.create(
        payment=payment,
        booking_id=payment.booking_id,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        requested_by=actor,
        retry_of=retry_of,
        next_attempt_at=timezone.now(),
    )
    audit_record(
        subject=refund,
        action="refund.requested",
        actor=actor,
        to_status=refund.status,
        reason=reason if retry_of is None else f"{reason}: retry of refund {retry_of.pk}",
        data={"amount": amount},
    )
    from payments.tasks import refund_execute_task

    enqueue_after_commit(refund_execute_task, refund_id=refund.pk)
    # Money the provider was already paid for this refund is taken back from them (after the payout).
    payout_clawback(booking=Booking.objects.get(pk=payment.booking_id), refund=refund)
    return refund


def refund_retry(*, refund_id: int, actor: User) -> Refund | None:
    """Staff: send a failed refund again, as a new Refund row (a new Stripe refund with its own key: the
    failed one is final at Stripe). Refuses a refund that is not failed or was retried already; returns None
    when nothing is left to refund."""
    with transaction.atomic():
        row = Refund.objects.only("booking_id", "payment_id").get(pk=refund_id)
        Booking.objects.select_for_update().get(pk=row.booking_id)
        payment = Payment.objects.select_for_update().get(pk=row.payment_id)
        failed = Refund.objects.select_for_update().get(pk=refund_id)
        if failed.status != Refund.Status.FAILED:
            raise ValueError(f"Refund {failed.pk} is {failed.get_status_display().lower()}, not failed.")
        if Refund.objects.filter(retry_of=failed).exists():
            raise ValueError(f"Refund {failed.pk} was retried already.")
        if failed.is_external:
            raise ValueError(
                f"Refund {failed.pk} was made outside the app; retry it in the Stripe dashboard."
            )
        return refund_request(
            payment=payment, amount=failed.amount, reason=failed.reason, actor=actor, retry_of=failed
        )


def refund_execute(*, refund_id: int, now: datetime | None = None) -> None:
    """Send one refund to Stripe with key ``<namespace>:refund-<id>``. Safe to run twice or concurrently: the
    row is claimed with a lease first, and a repeated call is answered by Stripe from the same key. Past
    Stripe's 24-hour key window, the refund is first looked for at Stripe and adopted if it exists."""
    now = now or timezone.now()
    claimed = Refund.objects.filter(
        pk=refund_id, status__in=[Refund.Status.REQUESTED, Refund.Status.RETRYING], next_attempt_at__lte=now
    ).update(
        next_attempt_at=now + CLAIM_LEASE,
        attempts=F("attempts") + 1,
        first_attempt_at=Coalesce(F("first_attempt_at"), now),
    )
    if not claimed:
        return
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    try:
        assert refund.first_attempt_at is not None  # set by the claim
        found = refund_find_at_stripe(refund) if refund.first_attempt_at <= now - IDEMPOTENCY_WINDOW else None
        result = found or refund_send_to_stripe(refund)
    except gateway.GatewayTemporaryError as error:
        _refund_retry_later(refund_id=refund.pk, error=error, now=now)
        return
    except gateway.GatewayRejectedError as error:
        _refund_failed(refund_id=refund.pk, error=str(error))
        return
    refund_apply(refund_id=refund.pk, stripe_refund=result)


def refund_send_to_stripe(refund: Refund) -> gateway.Refund:
    """The Stripe call for ``refund``. Always the same parameters and key for one row, so any repeat of it
    within Stripe's 24-hour key window returns the refund the first call made."""
    return gateway.refund_create(
        payment_intent_id=refund.payment.payment_intent_id,
        amount=refund.amount,
        metadata=our_metadata(refund_id=str(refund.pk), booking_id=str(refund.booking_id)),
        idempotency_key=refund.idempotency_key,
    )


def _is_our_refund(refund: Refund, found: gateway.Refund) -> bool:
    # Our refund id in the metadata, on our own payment: another installation sharing the Stripe account
    # may have a refund 7 too, but never on this PaymentIntent.
    return (
        found.metadata.get("refund_id") == str(refund.pk)
        and found.payment_intent_id == refund.payment.payment_intent_id
    )


def refund_find_at_stripe(refund: Refund) -> gateway.Refund | None:
    """The refund an earlier attempt of ``refund`` made at Stripe, if any (read from the PaymentIntent's
    refunds, matched on our metadata): how a resend past the key window avoids refunding twice."""
    for found in gateway.refund_list(payment_intent_id=refund.payment.payment_intent_id):
        if _is_our_refund(refund, found):
            logger.info("refund %s already exists at Stripe as %s: adopting it", refund.pk, found.id)
            return found
    return None


@transaction.atomic
def _refund_retry_later(*, refund_id: int, error: Exception, now: datetime) -> None:
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status not in (Refund.Status.REQUESTED, Refund.Status.RETRYING):
        return
    if refund.attempts >= settings.REFUND_MAX_ATTEMPTS:
        transaction.on_commit(
            partial(
                _refund_give_up,
                refund_id=refund_id,
                error=f"gave up after {refund.attempts} attempts: {error}",
            )
        )
        return
    from_status = refund.status
    refund.status = Refund.Status.RETRYING
    refund.next_attempt_at = now + backoff(refund.attempts)
    refund.last_error = str(error)[:2000]
    refund.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])
    audit_record(
        subject=refund,
        action="refund.retrying",
        from_status=from_status,
        to_status=refund.status,
        reason=str(error),
    )


def _refund_give_up(*, refund_id: int, error: str) -> None:
    """Out of attempts: a timeout or a stored 500 may still have made the refund, so look before failing."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    try:
        found = refund_find_at_stripe(refund)
    except gateway.GatewayError:
        found = None
    if found is not None:
        refund_apply(refund_id=refund_id, stripe_refund=found)
        return
    _refund_failed(refund_id=refund_id, error=error)


@transaction.atomic
def _refund_failed(*, refund_id: int, error: str) -> None:
    """Stripe refused the refund, or we gave up reaching it: the money was never sent back."""
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status in (Refund.Status.SUCCEEDED, Refund.Status.FAILED):
        return
    if not _refund_set_status(refund, to=Refund.Status.FAILED, reason=error):
        return
    refund.last_error = error[:2000]
    refund.failed_at = timezone.now()
    refund.next_attempt_at = None
    refund.save(update_fields=["status", "last_error", "failed_at", "next_attempt_at", "updated_at"])
    transaction.on_commit(
        partial(
            admin_alert,
            subject=f"Refund {refund.pk} failed",
            body=(
                f"{refund.amount} {refund.currency} for booking {refund.booking_id}: {error}. "
                "Retry it from the Refund admin once the cause is fixed."
            ),
        ),
        robust=True,
    )


def _refund_status_from_stripe(stripe_status: str) -> str:
    if stripe_status == "succeeded":
        return Refund.Status.SUCCEEDED
    if stripe_status in ("failed", "canceled"):
        return Refund.Status.FAILED
    return Refund.Status.PROCESSING  # pending, requires_action


def refund_apply(*, refund_id: int, stripe_refund: gateway.Refund) -> Refund:
    """Store what Stripe says about our refund (from the create call, a lookup, a retrieve or a webhook).

    Forward only: an answer older than what we stored (a slow worker's ``pending`` after the webhook's
    ``succeeded``) changes nothing. A refund that succeeded and then failed gives the money back to the
    payment, alerts admins and tells the client; staff retry it from admin.
    """
    with transaction.atomic():
        refund_row = Refund.objects.only("booking_id", "payment_id").get(pk=refund_id)
        booking = Booking.objects.select_for_update().get(pk=refund_row.booking_id)
        payment = Payment.objects.select_for_update().get(pk=refund_row.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        from_status = refund.status
        target = _refund_status_from_stripe(stripe_refund.status)
        discovering = refund.stripe_refund_id is None
        if discovering:
            refund.stripe_refund_id = stripe_refund.id
            if from_status == Refund.Status.FAILED and target != Refund.Status.FAILED:
                # We had given up on a refund Stripe did make after all (a timeout hid its answer): the money
                # went back, so the row follows Stripe. Only possible before we ever knew its Stripe id.
                refund.status = Refund.Status.PROCESSING
                audit_record(
                    subject=refund,
                    action="refund.found",
                    from_status=from_status,
                    to_status=refund.status,
                    data={"stripe_refund_id": stripe_refund.id},
                )
        moved = _refund_set_status(refund, to=target, data={"stripe_refund_id": stripe_refund.id})
        if refund.status == Refund.Status.SUCCEEDED:
            refund.succeeded_at = refund.succeeded_at or timezone.now()
        if moved and target == Refund.Status.FAILED and from_status != Refund.Status.FAILED:
            refund.last_error = stripe_refund.failure_reason or stripe_refund.status
            refund.failed_at = timezone.now()
        if refund.status not in (Refund.Status.REQUESTED, Refund.Status.RETRYING):
            refund.next_attempt_at = None
        refund.save(
            update_fields=[
                "stripe_refund_id",
                "status",
                "succeeded_at",
                "failed_at",
                "last_error",
                "next_attempt_at",
                "updated_at",
            ]
        )
        _payment_follow_refunds(payment, reason=f"refund {refund.pk} {refund.status}")
        if refund.status == Refund.Status.FAILED and from_status != Refund.Status.FAILED:
            _refund_failure_announce(
                refund, booking=booking, was_succeeded=from_status == Refund.Status.SUCCEEDED
            )
        if refund.status == Refund.Status.SUCCEEDED and from_status != Refund.Status.SUCCEEDED:
            notification_queue(
                key=f"refund-succeeded-{refund.pk}",
                recipient=booking.client,
                template="notifications/refund_succeeded.txt",
                context={"booking": booking, "refund": refund, "booking_url": booking_url(booking)},
            )
    return refund


def _payment_follow_refunds(payment: Payment, *, reason: str) -> None:
    """Set a paid payment's status from the refunds that succeeded (locked payment)."""
    if payment.status not in PAID_STATUSES:
        return
    refunded: int = payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(
        total=Coalesce(Sum("amount"), 0)
    )["total"]
    if refunded >= payment.amount:
        to = Payment.Status.REFUNDED
    elif refunded > 0:
        to = Payment.Status.PARTIALLY_REFUNDED
    else:
        to = Payment.Status.PAID
    _payment_set_status(payment, to=to, reason=reason)


def _refund_failure_announce(refund: Refund, *, booking: Booking, was_succeeded: bool) -> None:
    detail = (
        "It had succeeded, then the card network returned it: the money is back on the platform's balance."
        if was_succeeded
        else "Stripe refused or could not complete it."
    )
    transaction.on_commit(
        partial(
            admin_alert,
            subject=f"Refund {refund.pk} failed at Stripe",
            body=(
                f"{refund.amount} {refund.currency} for booking {booking.reference}: {refund.last_error}. "
                f"{detail} Retry it from the Refund admin (action: retry failed refunds)."
            ),
        ),
        robust=True,
    )
    if not refund.is_external:
        notification_queue(
            key=f"refund-failed-{refund.pk}",
            recipient=booking.client,
            template="notifications/refund_failed.txt",
            context={
                "booking": booking,
                "refund": refund,
                "was_succeeded": was_succeeded,
                "booking_url": booking_url(booking),
            },
        )


def refund_sync(*, stripe_refund_id: str, stripe_refund: gateway.Refund | None = None) -> Refund | None:
    """Store a refund's state as Stripe reports it (refund webhooks, ``charge.refunded``, the sweeper).

    A refund of one of our payments that we did not make (someone refunded in the Stripe dashboard) is
    recorded as an ``external`` Refund row, so our books show money we no longer hold.
    """
    found = stripe_refund or gateway.refund_retrieve(refund_id=stripe_refund_id)
    refund = Refund.objects.filter(stripe_refund_id=found.id).select_related("payment").first()
    if refund is None:
        refund_id = found.metadata.get("refund_id") or ""
        candidate = (
            Refund.objects.filter(pk=refund_id).select_related("payment").first()
            if refund_id.isdigit()
            else None
        )
        if candidate is not None and _is_our_refund(candidate, found):
            refund = candidate
    if refund is None:
        return _refund_record_external(found)
    return refund_apply(refund_id=refund.pk, stripe_refund=found)


def _refund_record_external(found: gateway.Refund) -> Refund | None:
    """Record a refund made outside the app on one of our payments (reason ``external``). Idempotent per
    Stripe refund id. Returns None for a refund of a payment that is not ours."""
    lookup = Q(payment_intent_id=found.payment_intent_id) if found.payment_intent_id else Q(pk__in=[])
    if found.charge_id:
        lookup |= Q(charge_id=found.charge_id)
    payment_row = Payment.objects.filter(lookup).exclude(payment_intent_id="").only("booking_id").first()
    if payment_row is None:
        logger.info("refund %s is for a payment that is not ours", found.id)
        return None
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=payment_row.booking_id)
        Payment.objects.select_for_update().get(pk=payment_row.pk)
        existing = Refund.objects.filter(stripe_refund_id=found.id).first()
        if existing is None:
            refund = Refund.objects.create(
                payment_id=payment_row.pk,
                booking=booking,
                amount=found.amount,
                currency=found.currency,
                reason=Refund.Reason.EXTERNAL,
                status=Refund.Status.PROCESSING,
                stripe_refund_id=found.id,
            )
            audit_record(
                subject=refund,
                action="refund.external",
                to_status=refund.status,
                reason="made outside the app (Stripe dashboard)",
                data={"stripe_refund_id": found.id, "amount": found.amount},
            )
            transaction.on_commit(
                partial(
                    admin_alert,
                    subject=f"A refund was made outside the app for booking {booking.reference}",
                    body=(
                        f"Stripe refund {found.id} of {found.amount} {found.currency} was not made by this "
                        "app (the Stripe dashboard?). It is recorded as an external refund; the booking "
                        "itself was not changed."
                    ),
                ),
                robust=True,
            )
    return refund_apply(refund_id=(existing or refund).pk, stripe_refund=found)


def refunds_redrive(*, now: datetime | None = None) -> int:
    """The refund sweeper: re-enqueue refunds that are due (a lost task, a retry whose time has come) and
    re-read those Stripe still has pending. Returns how many rows it touched."""
    from payments.tasks import refund_execute_task, refund_sync_task

    now = now or timezone.now()
    due = list(
        Refund.objects.filter(
            status__in=[Refund.Status.REQUESTED, Refund.Status.RETRYING], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    for pk in due:
        refund_execute_task.delay(refund_id=pk)
    pending = list(
        Refund.objects.filter(status=Refund.Status.PROCESSING, updated_at__lte=now - timedelta(minutes=10))
        .exclude(stripe_refund_id=None)
        .values_list("stripe_refund_id", flat=True)[:500]
    )
    for stripe_id in pending:
        refund_sync_task.delay(stripe_refund_id=stripe_id)
    return len(due) + len(pending)


# --- Webhooks --------------------------------------------------------------------------------------------


def webhook_event_record(*, event: gateway.WebhookEvent, endpoint: str) -> tuple[WebhookEvent, bool]:
    """Store a verified event in the inbox and enqueue its processing. A redelivered event is acknowledged
    and ignored: the Stripe event id is unique."""
    from payments.tasks import webhook_event_process_task

    with transaction.atomic():
        row, created = WebhookEvent.objects.get_or_create(
            stripe_event_id=event.id,
            defaults={
                "endpoint": endpoint,
                "type": event.type,
                "account": event.account or "",
                "payload": event.raw,
            },
        )
        if created:
            enqueue_after_commit(webhook_event_process_task, webhook_event_id=row.pk)
    return row, created


def _on_checkout_session(obj: dict[str, Any], event: WebhookEvent) -> None:
    payment_sync_from_session(session_id=obj["id"])


def _on_refund(obj: dict[str, Any], event: WebhookEvent) -> None:
    refund_sync(stripe_refund_id=obj["id"])


def _on_charge_refunded(obj: dict[str, Any], event: WebhookEvent) -> None:
    # The charge's refund list is not in the event (it needs expanding): read every refund of the charge,
    # which also finds refunds made outside the app.
    if not Payment.objects.filter(charge_id=obj["id"]).exists():
        return
    for found in gateway.refund_list(charge_id=obj["id"]):
        refund_sync(stripe_refund_id=found.id, stripe_refund=found)


def _on_dispute(obj: dict[str, Any], event: WebhookEvent) -> None:
    from payments.disputes import dispute_sync  # disputes build on the refund services here

    dispute_sync(stripe_dispute_id=obj["id"])


WEBHOOK_HANDLERS = {
    "checkout.session.completed": _on_checkout_session,
    "checkout.session.async_payment_succeeded": _on_checkout_session,
    "checkout.session.async_payment_failed": _on_checkout_session,
    "checkout.session.expired": _on_checkout_session,
    "refund.created": _on_refund,
    "refund.updated": _on_refund,
    "refund.failed": _on_refund,
    "charge.refund.updated": _on_refund,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute,
    "charge.dispute.updated": _on_dispute,
    "charge.dispute.closed": _on_dispute,
    "charge.dispute.funds_withdrawn": _on_dispute,
    "charge.dispute.funds_reinstated": _on_dispute,
    "account.updated": connect_on_account_updated,
}


def webhook_event_process(*, webhook_event_id: int) -> None:
    """Process one stored event. Idempotent (a processed event is skipped) and safe in any order: handlers
    re-fetch the object from Stripe instead of trusting the event's copy.

    Any failure, expected (Stripe unreachable) or not (a bug, a database error), is recorded on the row with
    its error; the sweeper retries it until ``WEBHOOK_MAX_ATTEMPTS``, after which it is ``gave_up`` and
    admins are alerted, once.
    """
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update(skip_locked=True).filter(pk=webhook_event_id).first()
        if event is None or event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
            return
        event.attempts += 1
        event.save(update_fields=["attempts"])
        handler = WEBHOOK_HANDLERS.get(event.type)
        if handler is None:
            event.status = WebhookEvent.Status.IGNORED
            event.processed_at = timezone.now()
            event.save(update_fields=["status", "processed_at"])
            return
    try:
        handler(event.payload["data"]["object"], event)
    except Exception as error:  # every failure is recorded and retried, whatever raised it
        expected = isinstance(error, gateway.GatewayError | BookingError)
        log = logger.warning if expected else logger.exception
        log("webhook event %s (%s) failed: %s", event.stripe_event_id, event.type, error)
        _webhook_event_failed(event, error=f"{type(error).__name__}: {error}")
        return
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=WebhookEvent.Status.PROCESSED, processed_at=timezone.now(), last_error=""
    )


def _webhook_event_failed(event: WebhookEvent, *, error: str) -> None:
    gave_up = event.attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    status = WebhookEvent.Status.GAVE_UP if gave_up else WebhookEvent.Status.FAILED
    changed = (
        WebhookEvent.objects.filter(pk=event.pk)
        .exclude(status__in=[WebhookEvent.Status.PROCESSED, WebhookEvent.Status.GAVE_UP])
        .update(
            status=status,
            last_error=error[:2000],
            next_attempt_at=None if gave_up else timezone.now() + backoff(event.attempts),
        )
    )
    if gave_up and changed:
        _webhook_event_alert(event, error=error)


def _webhook_event_alert(event: WebhookEvent, *, error: str) -> None:
    admin_alert(
        subject=f"Stripe event {event.stripe_event_id} keeps failing",
        body=(
            f"{event.type} failed {event.attempts} times; last error: {error}. It will not be retried by "
            "itself: replay it from the Webhook event admin once the cause is fixed."
        ),
    )


def webhook_event_replay(*, webhook_event_id: int) -> None:
    """Admin action: process an event again, whatever happened to it before."""
    from payments.tasks import webhook_event_process_task

    WebhookEvent.objects.filter(pk=webhook_event_id).update(
        status=WebhookEvent.Status.PENDING, next_attempt_at=None
    )
    webhook_event_process_task.delay(webhook_event_id=webhook_event_id)


def webhook_events_redrive(*, now: datetime | None = None) -> int:
    """Re-enqueue events still pending after a minute (a lost task) or failed with attempts left and their
    backoff passed (1, 2, 4 ... minutes after each failure, ``payments.retries.backoff``); give up, with one
    admin alert each, on events that used all their attempts without finishing (a worker that died while
    processing them, every time). Returns how many events it touched."""
    from payments.tasks import webhook_event_process_task

    now = now or timezone.now()
    unfinished = WebhookEvent.objects.filter(
        status__in=[WebhookEvent.Status.PENDING, WebhookEvent.Status.FAILED],
        received_at__lte=now - timedelta(minutes=1),
    )
    exhausted = list(unfinished.filter(attempts__gte=settings.WEBHOOK_MAX_ATTEMPTS)[:500])
    for event in exhausted:
        _webhook_event_failed(event, error=event.last_error or "processing never finished (worker lost?)")
    ids = list(
        unfinished.filter(attempts__lt=settings.WEBHOOK_MAX_ATTEMPTS)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        webhook_event_process_task.delay(webhook_event_id=pk)
    return len(ids) + len(exhausted)
