"""``busy_intervals`` is hand-written SQL (the profile page runs it on every view): it must take exactly the
time the booking rules say is taken."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking
from bookings.selectors import busy_intervals
from bookings.services import booking_create
from tests.factories import ServiceFactory, listed_provider


@pytest.mark.django_db
def test_busy_time_is_confirmed_completed_and_live_holds_of_this_provider_in_the_window(
    client_user, bookable_service, slot
):
    now = timezone.now()
    first = booking_create(client=client_user, service=bookable_service, start_at=slot)
    template = {
        f.name: getattr(first, f.name) for f in Booking._meta.fields if f.name not in {"id", "reference"}
    }

    def booking(
        hours_after: int, status: str, *, hold_expires_at=None, provider=None, service=None
    ) -> Booking:
        start = slot + timedelta(hours=hours_after)
        return Booking.objects.create(
            **{
                **template,
                "start_at": start,
                "end_at": start + timedelta(hours=1),
                "status": status,
                "hold_expires_at": hold_expires_at,
                **({"provider": provider, "service": service} if provider else {}),
            }
        )

    S = Booking.Status
    Booking.objects.filter(pk=first.pk).update(status=S.CONFIRMED)
    completed = booking(2, S.COMPLETED)
    live_hold = booking(4, S.PENDING_PAYMENT, hold_expires_at=now + timedelta(minutes=10))
    booking(6, S.PENDING_PAYMENT, hold_expires_at=now - timedelta(seconds=1))  # lapsed: free
    booking(8, S.CANCELLED)
    booking(10, S.EXPIRED)
    booking(12, S.CONFIRMED)  # outside the window below
    other = listed_provider()
    booking(0, S.CONFIRMED, provider=other, service=ServiceFactory(provider=other))

    taken = busy_intervals(
        provider=bookable_service.provider,
        start=slot - timedelta(minutes=30),
        end=slot + timedelta(hours=11),
        now=now,
    )

    assert sorted(taken) == [
        (first.start_at, first.end_at),
        (completed.start_at, completed.end_at),
        (live_hold.start_at, live_hold.end_at),
    ]
    assert all(start.tzinfo is not None for start, _ in taken)
    # An interval touching the window's edge only is not in it.
    assert (
        busy_intervals(
            provider=bookable_service.provider, start=first.end_at, end=completed.start_at, now=now
        )
        == []
    )
