"""Money steps: checkout, fulfilment, refunds and the webhook inbox.

Lock order, everywhere: booking, then payment, then refund. Stripe is never called while a row lock is held:
a row is written (or claimed) and committed first, the call carries an idempotency key derived from that row,
and the outcome is stored in a second transaction. A crash between the two is repaired by the sweepers
(``refunds_redrive``, ``webhook_events_redrive``), whose retries reuse the same key, so Stripe replays its
first answer instead of moving money again.
"""

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.policy import cancellation_terms
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
from notifications.services import admin_alert, notification_queue
from payments import gateway
from payments.models import Payment, Refund, WebhookEvent

logger = logging.getLogger(__name__)

PAID_STATUSES = (Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.REFUNDED)
# Long enough for one Stripe call with the SDK's own retries; a claim older than this is assumed dead.
CLAIM_LEASE = timedelta(minutes=2)


class CheckoutError(Exception):
    """Checkout cannot start; the message is fit to show the client."""


def _backoff(attempt: int) -> timedelta:
    # 1, 2, 4 ... minutes, capped at two hours: eight attempts stay well inside Stripe's 24-hour idempotency
    # window, so every retry of one row is answered by the same Stripe object.
    return timedelta(minutes=min(2 ** max(attempt - 1, 0), 120))


P = Payment.Status
PAYMENT_MOVES: dict[str, set[str]] = {
    P.PENDING: {P.PAID, P.FAILED, P.EXPIRED},
    # An expiry we asked for may not have taken, or a failure we recorded was not the last word: when Stripe
    # says the session was paid, the money is real and must be confirmed or refunded, never ignored.
    P.EXPIRED: {P.PAID},
    P.FAILED: {P.PAID},
    P.PAID: {P.PARTIALLY_REFUNDED, P.REFUNDED},
    P.PARTIALLY_REFUNDED: {P.REFUNDED},
    P.REFUNDED: set(),
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


# --- Checkout --------------------------------------------------------------------------------------------


def checkout_start(*, booking_id: int, restart: bool = False, now: datetime | None = None) -> Payment:
    """Give the client a Checkout Session to pay a pending booking, and return its Payment (``checkout_url``).

    One open session per booking: a second click or tab gets the open session back. ``restart`` (the client
    backed out and tries again) expires the open session at Stripe before creating a new one. A create that
    failed half-way is retried with the same idempotency key, so Stripe hands back the same session.
    """
    now = now or timezone.now()
    superseded: Payment | None = None
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        if booking.status != Booking.Status.PENDING_PAYMENT or (
            booking.hold_expires_at and booking.hold_expires_at <= now
        ):
            raise CheckoutError(
                "This booking can no longer be paid: its hold has lapsed. Please pick a time again."
            )
        payments = list(Payment.objects.select_for_update().filter(booking=booking).order_by("attempt"))
        if any(p.status in PAID_STATUSES for p in payments):
            raise CheckoutError("This booking is already paid.")
        latest = payments[-1] if payments else None
        reusable: Payment | None = None
        if latest is not None and latest.status == Payment.Status.PENDING:
            expires = latest.checkout_expires_at
            if latest.checkout_session_id:
                if not restart and expires and expires > now + timedelta(minutes=2):
                    return latest  # one open session per booking: a second click or tab gets the same one
                superseded = latest
            elif expires and expires > now + timedelta(minutes=30):
                # A create call that never completed: retry with the same key and the very same parameters.
                reusable = latest
        if reusable is not None:
            payment = reusable
        else:
            payment = Payment.objects.create(
                booking=booking,
                attempt=(latest.attempt + 1) if latest else 1,
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

    if superseded is not None:
        _checkout_session_expire_quietly(superseded)

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
            transfer_group=f"booking-{booking.pk}",
            metadata={"booking_id": str(booking.pk), "booking_ref": ref, "payment_id": str(payment.pk)},
            idempotency_key=payment.idempotency_key,
        )
    except gateway.GatewayTemporaryError as error:
        logger.warning("checkout create for payment %s failed, retryable: %s", payment.pk, error)
        raise CheckoutError(
            "We could not reach our payment provider. Please try again in a moment."
        ) from error
    except gateway.GatewayRejectedError as error:
        logger.error("checkout create for payment %s rejected: %s", payment.pk, error)
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=payment.pk)
            _payment_set_status(payment, to=Payment.Status.FAILED, reason=f"checkout rejected: {error}")
        raise CheckoutError(
            "Our payment provider refused to start this payment. Please contact us."
        ) from error

    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        payment.checkout_session_id = session.id
        payment.checkout_url = session.url or ""
        payment.checkout_expires_at = session.expires_at
        payment.save(
            update_fields=["checkout_session_id", "checkout_url", "checkout_expires_at", "updated_at"]
        )
        booking_extend_hold(
            booking_id=booking.pk,
            until=session.expires_at + timedelta(minutes=settings.CHECKOUT_HOLD_MARGIN_MINUTES),
        )
    return payment


def _checkout_session_expire_quietly(payment: Payment) -> None:
    """Close a superseded session so it cannot be paid as well. If this fails, nothing is lost: a second
    payment for one booking is refunded automatically on arrival."""
    session_id = payment.checkout_session_id
    assert session_id is not None  # only sessions that were created are superseded
    try:
        session = gateway.checkout_session_expire(
            session_id=session_id, idempotency_key=f"expire-{payment.pk}"
        )
    except gateway.GatewayError as error:
        logger.info("could not expire session %s (%s); syncing instead", session_id, error)
        try:
            payment_sync_from_session(session_id=session_id)
        except gateway.GatewayError:
            # Stripe's own event for this session (retried for days) will bring it in line.
            logger.warning("could not sync session %s either; its webhook will", session_id)
        return
    payment_sync_from_session(session_id=session.id, session=session)


# --- Fulfilment ------------------------------------------------------------------------------------------


def payment_sync_from_session(
    *, session_id: str, session: gateway.CheckoutSession | None = None
) -> Payment | None:
    """Bring our Payment and its booking in line with the Checkout Session as Stripe sees it now.

    The single entry point for every checkout event and for the success page: because it reads the session's
    current state instead of trusting the event, events may arrive twice, late or in any order. Idempotent.
    """
    if session is None or session.payment_intent is None:
        session = gateway.checkout_session_retrieve(session_id=session_id)
    payment = Payment.objects.filter(checkout_session_id=session.id).first()
    if payment is None:
        # The create call succeeded at Stripe but we crashed before storing its id: the metadata says whose.
        payment = Payment.objects.filter(
            pk=session.metadata.get("payment_id") or 0, booking__reference=session.client_reference_id
        ).first()
        if payment is None:
            logger.warning("checkout session %s belongs to no payment of ours", session.id)
            return None
        Payment.objects.filter(pk=payment.pk, checkout_session_id__isnull=True).update(
            checkout_session_id=session.id
        )
    if session.is_paid:
        return _payment_fulfil(payment_id=payment.pk, session=session)
    if session.status == "expired":
        return _payment_release(
            payment_id=payment.pk, to=Payment.Status.EXPIRED, reason="checkout session expired"
        )
    intent = session.payment_intent
    if (
        session.status == "complete"
        and intent is not None
        and intent.status in ("requires_payment_method", "canceled")
    ):
        return _payment_release(
            payment_id=payment.pk, to=Payment.Status.FAILED, reason="delayed payment failed"
        )
    return payment  # open, or a delayed payment still processing


@transaction.atomic
def _payment_fulfil(*, payment_id: int, session: gateway.CheckoutSession) -> Payment:
    payment_row = Payment.objects.only("booking_id").get(pk=payment_id)
    booking = Booking.objects.select_for_update().get(pk=payment_row.booking_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status in PAID_STATUSES:
        return payment  # the webhook and the success page both got here: the first one did the work
    intent = session.payment_intent
    payment.payment_intent_id = intent.id if intent else (session.payment_intent_id or "")
    payment.charge_id = session.charge_id or ""
    payment.paid_at = timezone.now()
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
            context={"booking": booking, "payment": payment},
        )
        return payment
    try:
        booking_confirm(
            booking_id=booking.pk, reason=f"paid: charge {payment.charge_id or payment.payment_intent_id}"
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
            context={"booking": booking, "payment": payment},
        )
        return payment
    booking.refresh_from_db()
    _notify_confirmed(booking)
    return payment


@transaction.atomic
def _payment_release(*, payment_id: int, to: str, reason: str) -> Payment:
    """A checkout attempt that will never be paid: mark it, and give the slot back unless another attempt
    of the same booking is still payable."""
    payment_row = Payment.objects.only("booking_id").get(pk=payment_id)
    booking = Booking.objects.select_for_update().get(pk=payment_row.booking_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status != Payment.Status.PENDING:
        return payment  # already paid, expired or failed: a stale or repeated event
    _payment_set_status(payment, to=to, reason=reason)
    still_payable = (
        Payment.objects.filter(booking=booking, status=Payment.Status.PENDING).exclude(pk=payment.pk).exists()
    )
    if booking.status == Booking.Status.PENDING_PAYMENT and not still_payable:
        booking_expire(booking_id=booking.pk, reason=reason)
    return payment


def _notify_confirmed(booking: Booking) -> None:
    context = {
        "booking": booking,
        "booking_url": settings.SITE_URL + reverse("bookings:detail", args=[booking.reference]),
    }
    notification_queue(
        key=f"booking-confirmed-client-{booking.pk}",
        recipient=booking.client,
        template="notifications/booking_confirmed_client.txt",
        context=context,
    )
    notification_queue(
        key=f"booking-confirmed-provider-{booking.pk}",
        recipient=booking.provider.user,
        template="notifications/booking_confirmed_provider.txt",
        context=context,
    )


# --- Cancellation ----------------------------------------------------------------------------------------


def booking_cancel_with_refund(
    *, booking_id: int, actor: User, by_client: bool, reason: str = "", now: datetime | None = None
) -> tuple[Booking, Refund | None]:
    """Cancel a confirmed booking and refund what the policy allows (clients) or everything (providers,
    admins). Both happen in one transaction: there is never a cancelled booking without its refund row."""
    now = now or timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        terms = cancellation_terms(
            price_amount=booking.price_amount, start_at=booking.start_at, by_client=by_client, now=now
        )
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
        context = {"booking": booking, "refund": refund, "cancelled_by": who}
        for party, recipient in (("client", booking.client), ("provider", booking.provider.user)):
            notification_queue(
                key=f"booking-cancelled-{party}-{booking.pk}",
                recipient=recipient,
                template=f"notifications/booking_cancelled_{party}.txt",
                context=context,
            )
    return booking, refund


# --- Refunds ---------------------------------------------------------------------------------------------


def _refund_in_full(payment: Payment, *, reason: str) -> Refund | None:
    return refund_request(payment=payment, amount=payment.amount, reason=reason, actor=None)


def refund_request(*, payment: Payment, amount: int, reason: str, actor: User | None) -> Refund | None:
    """Write a Refund row for up to ``amount`` (capped at what is left of the payment) and enqueue its
    execution after commit. The caller holds the payment's lock. Returns None when nothing is left."""
    committed = (
        payment.refunds.filter(status__in=Refund.COMMITTED_STATUSES).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    amount = min(amount, payment.amount - committed)
    if amount <= 0:
        return None
    refund = Refund.objects.create(
        payment=payment,
        booking_id=payment.booking_id,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        requested_by=actor,
        next_attempt_at=timezone.now(),
    )
    audit_record(
        subject=refund,
        action="refund.requested",
        actor=actor,
        to_status=refund.status,
        reason=reason,
        data={"amount": amount},
    )
    from payments.tasks import refund_execute_task

    enqueue_after_commit(refund_execute_task, refund_id=refund.pk)
    return refund


def refund_execute(*, refund_id: int, now: datetime | None = None) -> None:
    """Send one refund to Stripe with key ``refund-<id>``. Safe to run twice or concurrently: the row is
    claimed with a lease first, and a repeated call is answered by Stripe from the same key."""
    now = now or timezone.now()
    claimed = Refund.objects.filter(
        pk=refund_id, status__in=[Refund.Status.REQUESTED, Refund.Status.RETRYING], next_attempt_at__lte=now
    ).update(next_attempt_at=now + CLAIM_LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    try:
        result = refund_send_to_stripe(refund)
    except gateway.GatewayTemporaryError as error:
        _refund_retry_later(refund_id=refund.pk, error=error, now=now)
        return
    except gateway.GatewayRejectedError as error:
        _refund_failed(refund_id=refund.pk, error=str(error))
        return
    refund_apply(refund_id=refund.pk, stripe_refund=result)


def refund_send_to_stripe(refund: Refund) -> gateway.Refund:
    """The Stripe call for ``refund``. Always the same parameters and key for one row, so any repeat of it,
    however late (within Stripe's 24-hour key window), returns the refund the first call made."""
    return gateway.refund_create(
        payment_intent_id=refund.payment.payment_intent_id,
        amount=refund.amount,
        metadata={"refund_id": str(refund.pk), "booking_id": str(refund.booking_id)},
        idempotency_key=refund.idempotency_key,
    )


@transaction.atomic
def _refund_retry_later(*, refund_id: int, error: Exception, now: datetime) -> None:
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status not in (Refund.Status.REQUESTED, Refund.Status.RETRYING):
        return
    if refund.attempts >= settings.REFUND_MAX_ATTEMPTS:
        transaction.on_commit(
            partial(
                _refund_failed,
                refund_id=refund_id,
                error=f"gave up after {refund.attempts} attempts: {error}",
            )
        )
        return
    from_status = refund.status
    refund.status = Refund.Status.RETRYING
    refund.next_attempt_at = now + _backoff(refund.attempts)
    refund.last_error = str(error)[:2000]
    refund.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])
    audit_record(
        subject=refund,
        action="refund.retrying",
        from_status=from_status,
        to_status=refund.status,
        reason=str(error),
    )


@transaction.atomic
def _refund_failed(*, refund_id: int, error: str) -> None:
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status in (Refund.Status.SUCCEEDED, Refund.Status.FAILED):
        return
    from_status = refund.status
    refund.status = Refund.Status.FAILED
    refund.last_error = error[:2000]
    refund.save(update_fields=["status", "last_error", "updated_at"])
    audit_record(
        subject=refund, action="refund.failed", from_status=from_status, to_status=refund.status, reason=error
    )
    transaction.on_commit(
        partial(
            admin_alert,
            subject=f"Refund {refund.pk} failed",
            body=f"{refund.amount} {refund.currency} for booking {refund.booking_id}: {error}",
        )
    )


def refund_apply(*, refund_id: int, stripe_refund: gateway.Refund) -> Refund:
    """Store what Stripe says about our refund (from the create call, a retrieve, or a webhook)."""
    with transaction.atomic():
        refund_row = Refund.objects.only("booking_id", "payment_id").get(pk=refund_id)
        Booking.objects.select_for_update().get(pk=refund_row.booking_id)
        payment = Payment.objects.select_for_update().get(pk=refund_row.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        from_status = refund.status
        if refund.stripe_refund_id is None:
            refund.stripe_refund_id = stripe_refund.id
        if stripe_refund.status == "succeeded":
            refund.status = Refund.Status.SUCCEEDED
            refund.succeeded_at = refund.succeeded_at or timezone.now()
        elif stripe_refund.status in ("failed", "canceled"):
            refund.status = Refund.Status.FAILED
            refund.last_error = stripe_refund.failure_reason or stripe_refund.status
        else:
            refund.status = Refund.Status.PROCESSING
        refund.next_attempt_at = None
        refund.save(
            update_fields=[
                "stripe_refund_id",
                "status",
                "succeeded_at",
                "last_error",
                "next_attempt_at",
                "updated_at",
            ]
        )
        if refund.status != from_status:
            audit_record(
                subject=refund,
                action=f"refund.{refund.status}",
                from_status=from_status,
                to_status=refund.status,
                data={"stripe_refund_id": stripe_refund.id},
            )
        refunded = (
            payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(total=Sum("amount"))["total"]
            or 0
        )
        if refunded >= payment.amount:
            _payment_set_status(payment, to=Payment.Status.REFUNDED, reason=f"refund {refund.pk}")
        elif refunded > 0:
            _payment_set_status(payment, to=Payment.Status.PARTIALLY_REFUNDED, reason=f"refund {refund.pk}")
        if refund.status == Refund.Status.FAILED and from_status != Refund.Status.FAILED:
            transaction.on_commit(
                partial(admin_alert, subject=f"Refund {refund.pk} failed at Stripe", body=refund.last_error)
            )
        if refund.status == Refund.Status.SUCCEEDED and from_status != Refund.Status.SUCCEEDED:
            booking = Booking.objects.get(pk=refund.booking_id)
            notification_queue(
                key=f"refund-succeeded-{refund.pk}",
                recipient=booking.client,
                template="notifications/refund_succeeded.txt",
                context={"booking": booking, "refund": refund},
            )
    return refund


def refund_sync(*, stripe_refund_id: str) -> Refund | None:
    """Re-read a refund from Stripe and store its state (refund webhooks, the sweeper)."""
    result = gateway.refund_retrieve(refund_id=stripe_refund_id)
    refund = Refund.objects.filter(stripe_refund_id=stripe_refund_id).first()
    if refund is None:
        refund_id = result.metadata.get("refund_id")
        refund = Refund.objects.filter(pk=refund_id).first() if refund_id and refund_id.isdigit() else None
    if refund is None:
        logger.info("refund %s is not one of ours (made in the Stripe dashboard?)", stripe_refund_id)
        return None
    return refund_apply(refund_id=refund.pk, stripe_refund=result)


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
    ids = Refund.objects.filter(payment__charge_id=obj["id"]).exclude(stripe_refund_id=None)
    for stripe_refund_id in ids.values_list("stripe_refund_id", flat=True):
        refund_sync(stripe_refund_id=str(stripe_refund_id))


WEBHOOK_HANDLERS = {
    "checkout.session.completed": _on_checkout_session,
    "checkout.session.async_payment_succeeded": _on_checkout_session,
    "checkout.session.async_payment_failed": _on_checkout_session,
    "checkout.session.expired": _on_checkout_session,
    "refund.created": _on_refund,
    "refund.updated": _on_refund,
    "refund.failed": _on_refund,
    "charge.refunded": _on_charge_refunded,
}


def webhook_event_process(*, webhook_event_id: int) -> None:
    """Process one stored event. Idempotent (a processed event is skipped) and safe in any order: handlers
    re-fetch the object from Stripe instead of trusting the event's copy."""
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
    except (gateway.GatewayError, BookingError, KeyError) as error:
        logger.warning("webhook event %s (%s) failed: %s", event.stripe_event_id, event.type, error)
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.FAILED, last_error=str(error)[:2000]
        )
        if event.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            admin_alert(
                subject=f"Stripe event {event.stripe_event_id} keeps failing",
                body=f"{event.type} failed {event.attempts} times: {error}. Replay it from admin once fixed.",
            )
        return
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=WebhookEvent.Status.PROCESSED, processed_at=timezone.now(), last_error=""
    )


def webhook_event_replay(*, webhook_event_id: int) -> None:
    """Admin action: process an event again, whatever happened to it before."""
    from payments.tasks import webhook_event_process_task

    WebhookEvent.objects.filter(pk=webhook_event_id).update(status=WebhookEvent.Status.PENDING)
    webhook_event_process_task.delay(webhook_event_id=webhook_event_id)


def webhook_events_redrive(*, now: datetime | None = None) -> int:
    """Re-enqueue events still pending after a minute (a lost task) or failed with attempts left."""
    from payments.tasks import webhook_event_process_task

    now = now or timezone.now()
    ids = list(
        WebhookEvent.objects.filter(
            status__in=[WebhookEvent.Status.PENDING, WebhookEvent.Status.FAILED],
            attempts__lt=settings.WEBHOOK_MAX_ATTEMPTS,
            received_at__lte=now - timedelta(minutes=1),
        ).values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        webhook_event_process_task.delay(webhook_event_id=pk)
    return len(ids)
