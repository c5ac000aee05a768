"""Reads with logic: what a client can still book."""

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from bookings.models import Booking
from providers.models import Provider, Service
from providers.selectors import service_slots
from providers.time_off import CoveredSession

# Written out: the profile page runs it on every view, and Django's compiler took three quarters of its
# time (docs/benchmarks.md). tests/bookings/test_busy_intervals.py holds it to the ORM's answer.
_BUSY_SQL = f"""
SELECT start_at, end_at FROM {Booking._meta.db_table}
WHERE provider_id = %(provider)s AND start_at < %(end)s AND end_at > %(start)s
  AND (status IN (%(confirmed)s, %(completed)s) OR (status = %(pending)s AND hold_expires_at > %(now)s))
"""  # noqa: S608 - the table name from the model, values as parameters


def busy_intervals(
    *, provider: Provider, start: datetime, end: datetime, now: datetime
) -> list[tuple[datetime, datetime]]:
    """The provider's time taken by bookings between ``start`` and ``end``: confirmed and completed
    sessions, and pending ones whose hold has not lapsed (a lapsed hold is free even before the job
    expires it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _BUSY_SQL,
            {
                "provider": provider.pk,
                "start": start,
                "end": end,
                "now": now,
                "confirmed": Booking.Status.CONFIRMED.value,
                "completed": Booking.Status.COMPLETED.value,
                "pending": Booking.Status.PENDING_PAYMENT.value,
            },
        )
        return [(start_at, end_at) for start_at, end_at in cursor.fetchall()]


def busy_intervals_source(
    provider: Provider, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The shape ``providers.slots.register_busy_source`` expects."""
    return busy_intervals(provider=provider, start=start, end=end, now=timezone.now())


def bookable_slots(
    *, service: Service, start: datetime, end: datetime, now: datetime | None = None
) -> list[datetime]:
    """Open slot starts of ``service`` between ``start`` and ``end``: the provider's own windows (rules, time
    off, notice, horizon, buffers) minus the time bookings take."""
    now = now or timezone.now()
    # Widen the window: a booking just outside it still blocks slots inside through duration and buffers.
    margin = timedelta(days=1)
    busy = busy_intervals(provider=service.provider, start=start - margin, end=end + margin, now=now)
    return service_slots(service=service, start=start, end=end, now=now, busy=busy)


def is_slot_bookable(*, service: Service, start_at: datetime, now: datetime | None = None) -> bool:
    """Whether ``start_at`` (any aware datetime, however odd) is an open slot of ``service`` right now."""
    now = now or timezone.now()
    # Slots lie between now and the provider's horizon. Refuse anything else with a plain subtraction, which
    # works for every aware datetime, before the arithmetic below: near datetime's limits (year 1, 9999,
    # offsets of almost a day) adding a duration or converting to UTC overflows.
    if not timedelta(0) <= start_at - now <= timedelta(days=service.provider.booking_horizon_days + 1):
        return False
    # In UTC from here: PostgreSQL refuses offsets beyond ±15:59, which Python accepts up to ±23:59.
    start_at = start_at.astimezone(UTC)
    duration = timedelta(minutes=service.duration_minutes)
    return start_at in bookable_slots(
        service=service, start=start_at - duration, end=start_at + duration, now=now
    )


def covered_sessions(provider: Provider, start: datetime, end: datetime) -> list[CoveredSession]:
    """Confirmed sessions of ``provider`` not yet started that overlap ``[start, end)``: what a time off over
    those instants would land on (``providers.time_off``). A session already under way is left out: it
    cannot be cancelled any more."""
    rows = (
        Booking.objects.filter(
            provider=provider,
            status=Booking.Status.CONFIRMED,
            start_at__lt=end,
            end_at__gt=start,
            start_at__gt=timezone.now(),
        )
        .select_related("client")
        .order_by("start_at")
    )
    return [covered_session_of(booking) for booking in rows]


def covered_session_of(booking: Booking) -> CoveredSession:
    return CoveredSession(
        reference=booking.reference,
        start_at=booking.start_at,
        end_at=booking.end_at,
        client_name=booking.client.display_name,
        service_title=booking.service_title,
        price_amount=booking.price_amount,
        currency=booking.currency,
    )
