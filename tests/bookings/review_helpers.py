"""Completed sessions to review: one the whole way (paid at the emulator, completed by its provider), or
many at once for tests that only read them."""

from datetime import datetime, timedelta

from django.db.models import Min
from django.utils import timezone

from bookings.models import Booking
from marketplace.models import User
from payments.payouts import session_complete
from providers.models import Service
from tests.payments.payout_helpers import completed_sessions_in_bulk, paid_booking


def completed_booking(client: User, service: Service, start: datetime, stripe_emulator) -> Booking:
    """Booked, paid by card at the emulator, and marked complete by its provider once it had started."""
    booking = paid_booking(client, service, start, stripe_emulator)
    session_complete(
        booking_id=booking.pk, actor=booking.provider.user, now=booking.start_at + timedelta(hours=1)
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.COMPLETED
    return booking


def completed_bookings_in_bulk(*, service: Service, clients: list[User]) -> list[Booking]:
    """One completed past session of ``service`` per client, back to back, written in one statement (no
    payment: for tests of pages that list reviews, not of money)."""
    duration = timedelta(minutes=service.duration_minutes)
    # Before anything the provider already has, so calls can repeat without overlapping sessions.
    earliest = Booking.objects.filter(provider=service.provider).aggregate(Min("start_at"))["start_at__min"]
    first = min(timezone.now() - timedelta(days=30), earliest or timezone.now()) - len(clients) * duration
    return completed_sessions_in_bulk(service=service, clients=clients, first_start=first)
