"""Many clients racing for one slot on the real PostgreSQL: exactly one gets it, nobody gets an error."""

import threading

import pytest
from django.db import connection

from bookings.models import Booking
from bookings.services import SlotUnavailableError, booking_create
from tests.factories import UserFactory

RACERS = 8


@pytest.mark.django_db(transaction=True)
def test_racing_clients_get_one_booking_and_clean_refusals(bookable_service, slot):
    clients = [UserFactory() for _ in range(RACERS)]
    start_line = threading.Barrier(RACERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def race(client) -> None:
        try:
            start_line.wait()
            booking_create(client=client, service=bookable_service, start_at=slot)
            result = "booked"
        except SlotUnavailableError:
            result = "refused"
        except Exception as error:  # anything else is a bug this test exists to catch
            result = f"error: {error!r}"
        finally:
            connection.close()  # each thread has its own connection; give it back
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=race, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["booked"] + ["refused"] * (RACERS - 1)
    assert Booking.objects.filter(start_at=slot).count() == 1


@pytest.mark.django_db(transaction=True)
def test_racing_for_overlapping_slots_of_two_services_still_books_one(bookable_service, slot):
    from tests.factories import ServiceFactory

    other_service = ServiceFactory(provider=bookable_service.provider, title="Theory", duration_minutes=90)
    start_line = threading.Barrier(2)
    outcomes: list[str] = []

    def race(service, start) -> None:
        try:
            start_line.wait()
            booking_create(client=UserFactory(), service=service, start_at=start)
            outcomes.append("booked")
        except SlotUnavailableError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=race, args=(bookable_service, slot)),
        threading.Thread(
            target=race, args=(other_service, slot.replace(minute=30) if slot.minute == 0 else slot)
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["booked", "refused"]
