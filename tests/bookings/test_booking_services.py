from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.models import Booking
from bookings.selectors import bookable_slots
from bookings.services import (
    BookingError,
    SlotUnavailableError,
    booking_create,
    booking_expire_lapsed_holds,
)
from tests.factories import UserFactory
from tests.fixtures.bookings import first_slot


@pytest.mark.django_db
def test_booking_holds_the_slot_and_freezes_price_and_fee(client_user, bookable_service, slot, settings):
    settings.PLATFORM_FEE_PERCENT = 10

    booking = booking_create(
        client=client_user, service=bookable_service, start_at=slot, client_notes="Beginner"
    )

    assert booking.status == Booking.Status.PENDING_PAYMENT
    assert booking.end_at - booking.start_at == timedelta(minutes=60)
    assert booking.hold_expires_at > timezone.now() + timedelta(minutes=30)
    assert (booking.price_amount, booking.platform_fee_amount, booking.provider_amount) == (4500, 450, 4050)
    assert booking.reference.startswith("bk_")
    assert len(booking.reference) > 12
    assert [(c.from_status, c.to_status) for c in booking.status_changes.all()] == [("", "pending_payment")]


@pytest.mark.django_db
def test_provider_fee_override_wins(client_user, bookable_service, slot):
    bookable_service.provider.platform_fee_percent = 20
    bookable_service.provider.save()

    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)

    assert (booking.platform_fee_amount, booking.provider_amount) == (900, 3600)


@pytest.mark.django_db
def test_a_held_slot_is_not_offered_or_bookable_again(client_user, other_client_user, bookable_service, slot):
    booking_create(client=client_user, service=bookable_service, start_at=slot)

    assert slot not in bookable_slots(
        service=bookable_service, start=slot - timedelta(hours=3), end=slot + timedelta(hours=3)
    )
    with pytest.raises(SlotUnavailableError):
        booking_create(client=other_client_user, service=bookable_service, start_at=slot)
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_an_overlapping_slot_is_refused_too(client_user, other_client_user, bookable_service, slot):
    booking_create(client=client_user, service=bookable_service, start_at=slot)

    with pytest.raises(SlotUnavailableError):
        booking_create(
            client=other_client_user, service=bookable_service, start_at=slot + timedelta(minutes=30)
        )


@pytest.mark.django_db
def test_a_lapsed_hold_gives_the_slot_back(client_user, other_client_user, bookable_service, slot):
    first = booking_create(client=client_user, service=bookable_service, start_at=slot)
    later = first.hold_expires_at + timedelta(seconds=1)

    second = booking_create(client=other_client_user, service=bookable_service, start_at=slot, now=later)

    first.refresh_from_db()
    assert first.status == Booking.Status.EXPIRED
    assert second.status == Booking.Status.PENDING_PAYMENT


@pytest.mark.django_db
def test_expire_lapsed_holds_only_touches_lapsed_ones(client_user, bookable_service, slot):
    lapsed = booking_create(client=client_user, service=bookable_service, start_at=slot)
    # Another day, not "three hours later": that may fall after the provider's hours at some times of day.
    fresh = booking_create(
        client=client_user, service=bookable_service, start_at=first_slot(bookable_service, after_days=5)
    )
    Booking.objects.filter(pk=lapsed.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))

    assert booking_expire_lapsed_holds() == 1

    lapsed.refresh_from_db()
    fresh.refresh_from_db()
    assert (lapsed.status, fresh.status) == (Booking.Status.EXPIRED, Booking.Status.PENDING_PAYMENT)
    assert lapsed.status_changes.last().reason == "hold lapsed before payment"


@pytest.mark.django_db
def test_the_database_refuses_overlapping_active_bookings_even_without_the_service(
    client_user, bookable_service, slot
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    clone = {
        f.name: getattr(booking, f.name) for f in Booking._meta.fields if f.name not in {"id", "reference"}
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            **{**clone, "start_at": slot + timedelta(minutes=59), "end_at": slot + timedelta(minutes=119)}
        )


@pytest.mark.django_db
def test_back_to_back_sessions_do_not_overlap(client_user, bookable_service, slot):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    clone = {
        f.name: getattr(booking, f.name) for f in Booking._meta.fields if f.name not in {"id", "reference"}
    }

    Booking.objects.create(
        **{**clone, "start_at": booking.end_at, "end_at": booking.end_at + timedelta(hours=1)}
    )


@pytest.mark.django_db
def test_expired_and_cancelled_bookings_do_not_block_the_database(client_user, bookable_service, slot):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.EXPIRED)
    clone = {
        f.name: getattr(booking, f.name) for f in Booking._meta.fields if f.name not in {"id", "reference"}
    }

    Booking.objects.create(**clone)


@pytest.mark.django_db
def test_a_provider_cannot_book_themselves(bookable_service, slot):
    with pytest.raises(BookingError, match="your own"):
        booking_create(client=bookable_service.provider.user, service=bookable_service, start_at=slot)


@pytest.mark.django_db
def test_an_inactive_service_cannot_be_booked(client_user, bookable_service, slot):
    bookable_service.is_active = False
    bookable_service.save()

    with pytest.raises(BookingError):
        booking_create(client=client_user, service=bookable_service, start_at=slot)


@pytest.mark.django_db
def test_a_time_outside_availability_is_refused(client_user, bookable_service, slot):
    with pytest.raises(SlotUnavailableError):
        booking_create(client=client_user, service=bookable_service, start_at=slot.replace(minute=7))


@pytest.mark.django_db
def test_holds_refresh_the_providers_next_available_time(
    bookable_service, django_capture_on_commit_callbacks
):
    provider = bookable_service.provider
    first = provider.next_available_at
    assert first is not None

    with django_capture_on_commit_callbacks(execute=True):
        booking_create(client=UserFactory(), service=bookable_service, start_at=first)

    provider.refresh_from_db()
    assert provider.next_available_at > first
