"""Writes to bookings. Lock order everywhere: provider (only when creating), booking, then payment, then
refund. Money is never touched here: payments' services call these to move a booking's state."""

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.models import Booking, BookingStatusChange
from bookings.selectors import is_slot_bookable
from marketplace.models import User
from marketplace.money import fee_split
from providers.models import Provider, Service

logger = logging.getLogger(__name__)

S = Booking.Status
ALLOWED_MOVES: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.CONFIRMED, S.EXPIRED},
    # A late payment may revive an expired hold, if the slot is still free.
    S.EXPIRED: {S.CONFIRMED},
    S.CONFIRMED: {S.COMPLETED, S.CANCELLED},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
}


class BookingError(Exception):
    """A booking request that cannot be carried out; the message is fit to show the person."""


class SlotUnavailableError(BookingError):
    pass


class InvalidTransitionError(BookingError):
    pass


def booking_transition(
    booking: Booking, *, to: str, actor: User | None, reason: str, now: datetime | None = None
) -> None:
    """Move ``booking`` (already locked by the caller) to ``to`` and write the history row.

    Raises InvalidTransitionError for a move the state machine does not allow, and SlotUnavailableError when
    PostgreSQL's no-overlap constraint refuses the move (an expired hold revived for a slot now taken).
    """
    if to not in ALLOWED_MOVES[booking.status]:
        raise InvalidTransitionError(f"A {booking.get_status_display().lower()} booking cannot become {to}.")
    now = now or timezone.now()
    from_status = booking.status
    booking.status = to
    fields = ["status", "updated_at"]
    stamps: dict[str, str] = {
        S.CONFIRMED: "confirmed_at",
        S.COMPLETED: "completed_at",
        S.CANCELLED: "cancelled_at",
    }
    stamp = stamps.get(to)
    if stamp:
        setattr(booking, stamp, now)
        fields.append(stamp)
    try:
        # A savepoint, so that a refused move leaves the caller's transaction usable (to refund, say).
        with transaction.atomic():
            booking.save(update_fields=fields)
    except IntegrityError as error:
        booking.status = from_status
        raise SlotUnavailableError("That time is no longer free.") from error
    BookingStatusChange.objects.create(
        booking=booking, from_status=from_status, to_status=to, actor=actor, reason=reason[:255]
    )


def _refresh_next_available(provider_id: int) -> None:
    from providers.services import provider_refresh_next_available

    provider_refresh_next_available(provider_id=provider_id)


@transaction.atomic
def booking_create(
    *,
    client: User,
    service: Service,
    start_at: datetime,
    client_notes: str = "",
    address: str = "",
    now: datetime | None = None,
) -> Booking:
    """Hold a slot for ``client``: a ``pending_payment`` booking with ``hold_expires_at``.

    Serialises on the provider row, so two clients racing for one slot queue here; expires this provider's
    lapsed holds; re-checks the slot against availability, buffers and bookings; freezes price and fee split.
    The exclusion constraint still refuses an overlap should this check ever be wrong.
    """
    now = now or timezone.now()
    provider = Provider.objects.select_for_update().get(pk=service.provider_id)
    if not service.is_active or not provider.is_active:
        raise BookingError("This service is not available for booking.")
    if provider.user_id == client.pk:
        raise BookingError("You cannot book your own service.")
    booking_expire_lapsed_holds(provider_id=provider.pk, now=now)
    if not is_slot_bookable(service=service, start_at=start_at, now=now):
        raise SlotUnavailableError(
            "Sorry, that time was just taken or is no longer available. Please pick another."
        )
    fee_percent = (
        provider.platform_fee_percent
        if provider.platform_fee_percent is not None
        else settings.PLATFORM_FEE_PERCENT
    )
    split = fee_split(amount=service.price_amount, fee_percent=fee_percent)
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                client=client,
                provider=provider,
                service=service,
                start_at=start_at,
                end_at=start_at + timedelta(minutes=service.duration_minutes),
                status=S.PENDING_PAYMENT,
                hold_expires_at=now + timedelta(minutes=settings.BOOKING_HOLD_MINUTES),
                service_title=service.title,
                price_amount=split.amount,
                platform_fee_amount=split.platform_fee,
                provider_amount=split.provider_amount,
                currency=service.currency,
                client_notes=client_notes,
                address=address,
            )
    except IntegrityError as error:
        raise SlotUnavailableError("Sorry, that time was just taken. Please pick another.") from error
    BookingStatusChange.objects.create(
        booking=booking,
        from_status="",
        to_status=S.PENDING_PAYMENT,
        actor=client,
        reason="slot held for checkout",
    )
    transaction.on_commit(partial(_refresh_next_available, provider.pk))
    return booking


@transaction.atomic
def booking_extend_hold(*, booking_id: int, until: datetime) -> Booking:
    """Keep a pending hold at least until ``until`` (a new Checkout Session outlives the old hold)."""
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    if booking.status == S.PENDING_PAYMENT and (
        booking.hold_expires_at is None or booking.hold_expires_at < until
    ):
        booking.hold_expires_at = until
        booking.save(update_fields=["hold_expires_at", "updated_at"])
    return booking


@transaction.atomic
def booking_confirm(*, booking_id: int, reason: str, now: datetime | None = None) -> Booking:
    """Confirm a paid booking. Idempotent: an already confirmed booking is returned as it is.

    Raises SlotUnavailableError when an expired hold cannot be revived because the slot was taken since, and
    InvalidTransitionError for a cancelled or completed booking; the caller refunds in both cases.
    """
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    if booking.status == S.CONFIRMED:
        return booking
    booking_transition(booking, to=S.CONFIRMED, actor=None, reason=reason, now=now)
    if booking.hold_expires_at is not None:
        booking.hold_expires_at = None
        booking.save(update_fields=["hold_expires_at", "updated_at"])
    transaction.on_commit(partial(_refresh_next_available, booking.provider_id))
    return booking


@transaction.atomic
def booking_expire(*, booking_id: int, reason: str) -> Booking:
    """Give a pending booking's slot back. Idempotent: anything not pending is left alone."""
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    if booking.status != S.PENDING_PAYMENT:
        return booking
    booking_transition(booking, to=S.EXPIRED, actor=None, reason=reason)
    transaction.on_commit(partial(_refresh_next_available, booking.provider_id))
    return booking


def booking_expire_lapsed_holds(*, provider_id: int | None = None, now: datetime | None = None) -> int:
    """Expire pending bookings whose hold has lapsed (for one provider, or all). Returns how many.

    Safe to run concurrently: each booking is locked and re-checked, and ``skip_locked`` lets two runs share
    the work instead of queueing on each other.
    """
    now = now or timezone.now()
    expired = 0
    with transaction.atomic():
        lapsed = Booking.objects.select_for_update(skip_locked=True).filter(
            status=S.PENDING_PAYMENT, hold_expires_at__lte=now
        )
        if provider_id is not None:
            lapsed = lapsed.filter(provider_id=provider_id)
        providers = set()
        for booking in lapsed.order_by("pk"):
            booking_transition(
                booking, to=S.EXPIRED, actor=None, reason="hold lapsed before payment", now=now
            )
            providers.add(booking.provider_id)
            expired += 1
        for pid in providers:
            transaction.on_commit(partial(_refresh_next_available, pid))
    return expired


@transaction.atomic
def booking_cancel(
    *, booking_id: int, actor: User | None, reason: str, now: datetime | None = None
) -> Booking:
    """Cancel a confirmed booking (state only: the caller, a payments service, handles the refund).

    Only before the session starts. Raises InvalidTransitionError otherwise.
    """
    now = now or timezone.now()
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    if booking.status == S.CONFIRMED and booking.start_at <= now:
        raise InvalidTransitionError("A session that has already started cannot be cancelled.")
    booking_transition(booking, to=S.CANCELLED, actor=actor, reason=reason, now=now)
    transaction.on_commit(partial(_refresh_next_available, booking.provider_id))
    return booking


@transaction.atomic
def booking_complete(
    *, booking_id: int, actor: User | None, reason: str, now: datetime | None = None
) -> Booking:
    """Mark a confirmed session completed (state only: the caller, a payments service, schedules the payout).

    Only once the session has started. Raises InvalidTransitionError otherwise; an already completed booking
    is returned as it is.
    """
    now = now or timezone.now()
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    if booking.status == S.COMPLETED:
        return booking
    if booking.status == S.CONFIRMED and booking.start_at > now:
        raise InvalidTransitionError("A session can be marked complete once it has started.")
    booking_transition(booking, to=S.COMPLETED, actor=actor, reason=reason, now=now)
    return booking
