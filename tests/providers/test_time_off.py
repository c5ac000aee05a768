"""The time-off page: dates in the past are refused; time off over booked sessions asks first, then keeps the
sessions or cancels each with a full refund through the provider's normal cancellation."""

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from bookings.models import Booking
from payments.models import Payment, Refund
from payments.namespace import stripe_key
from payments.services import booking_cancel_with_refund
from providers import time_off as time_off_module
from providers.models import TimeOff
from providers.services import time_off_create
from providers.time_off import time_off_span
from tests.factories import UserFactory
from tests.fixtures.bookings import first_slot
from tests.payments.payout_helpers import paid_booking

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def _day(moment: datetime) -> str:
    return moment.astimezone(BERLIN).date().isoformat()


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def as_bookable_provider(bookable_provider) -> Client:
    browser = Client()
    browser.force_login(bookable_provider.user)
    return browser


@pytest.fixture
def two_sessions(client_user, bookable_service, stripe_emulator, django_capture_on_commit_callbacks):
    """Two paid sessions on consecutive days, four and five days ahead, for two different clients."""
    other = UserFactory(email="second@example.com", name="Sasha Second")
    with django_capture_on_commit_callbacks(execute=True):
        first = paid_booking(
            client_user, bookable_service, first_slot(bookable_service, after_days=4), stripe_emulator
        )
        second = paid_booking(
            other, bookable_service, first_slot(bookable_service, after_days=5), stripe_emulator
        )
    mail.outbox.clear()
    return first, second


def _span(first: Booking, last: Booking) -> dict[str, str]:
    return {"start_date": _day(first.start_at), "end_date": _day(last.start_at), "note": "Conference"}


# --- Dates in the past ---------------------------------------------------------------------------------


def test_a_first_day_in_the_past_is_refused_with_a_field_error(as_provider, provider):
    yesterday = (datetime.now(UTC).astimezone(ZoneInfo(provider.timezone)) - timedelta(days=1)).date()

    response = as_provider.post(
        reverse("providers:time_off"),
        {"start_date": yesterday.isoformat(), "end_date": yesterday.isoformat()},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_start_date_error"' in body
    assert "The first day off cannot be in the past." in body
    assert "has been added" not in body
    assert f'min="{yesterday + timedelta(days=1)}"' in body
    assert not provider.time_off.exists()


def test_a_last_day_in_the_past_is_refused_even_when_the_first_is_too(as_provider, provider):
    response = as_provider.post(
        reverse("providers:time_off"), {"start_date": "2020-01-01", "end_date": "2020-01-05"}
    )

    body = response.content.decode()
    assert "The first day off cannot be in the past." in body
    assert "The last day off cannot be in the past." in body
    assert not provider.time_off.exists()


def test_today_is_accepted_and_listed(as_provider, provider):
    today = datetime.now(UTC).astimezone(ZoneInfo(provider.timezone)).date()

    response = as_provider.post(
        reverse("providers:time_off"), {"start_date": today.isoformat(), "end_date": today.isoformat()}
    )

    assert response.status_code == 302
    assert provider.time_off.get().start_date == today
    assert (
        f"{today:%a} {today.day} {today:%b %Y}"
        in as_provider.get(reverse("providers:time_off")).content.decode()
    )


@pytest.mark.parametrize(
    ("provider_zone", "is_refused"),
    [("Europe/Berlin", True), ("America/New_York", False)],
)
def test_today_is_the_providers_own_day_not_the_servers(provider, provider_zone, is_refused):
    provider.timezone = provider_zone
    provider.save(update_fields=["timezone"])
    # 23:30 UTC on 1 July: already 2 July in Berlin, still 1 July (19:30) in New York.
    with time_machine.travel(datetime(2030, 7, 1, 23, 30, tzinfo=UTC), tick=False):
        browser = Client()
        browser.force_login(provider.user)  # signed in then: a session from today would have expired by 2030
        response = browser.post(
            reverse("providers:time_off"), {"start_date": "2030-07-01", "end_date": "2030-07-01"}
        )

    assert provider.time_off.exists() is not is_refused
    assert response.status_code == (200 if is_refused else 302)


# --- Time off over booked sessions ----------------------------------------------------------------------


def test_time_off_over_booked_sessions_lists_them_and_saves_nothing_yet(
    as_bookable_provider, bookable_provider, two_sessions
):
    first, second = two_sessions

    response = as_bookable_provider.post(reverse("providers:time_off"), _span(first, second))

    body = response.content.decode()
    assert response.status_code == 200
    assert "2 booked sessions in this time off" in body
    for booking in (first, second):
        local = booking.start_at.astimezone(BERLIN)
        assert f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}" in body
        assert booking.client.display_name in body
        assert f'name="covered" value="{booking.reference}"' in body
    assert not bookable_provider.time_off.exists()
    assert Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == 2


def test_the_sessions_are_listed_in_the_providers_zone_not_the_viewers(
    as_bookable_provider, bookable_provider, two_sessions
):
    first, _second = two_sessions
    bookable_provider.user.timezone = "Asia/Tokyo"
    bookable_provider.user.save(update_fields=["timezone"])

    body = as_bookable_provider.post(reverse("providers:time_off"), _span(first, first)).content.decode()

    assert f"{first.start_at.astimezone(BERLIN):%H:%M} CE" in body  # CET / CEST
    assert "JST" not in body


def test_keeping_the_sessions_adds_the_time_off_and_leaves_them_booked(
    as_bookable_provider, bookable_provider, two_sessions, stripe_emulator
):
    first, second = two_sessions
    data = {**_span(first, second), "covered": [first.reference, second.reference], "booked_sessions": "keep"}

    response = as_bookable_provider.post(reverse("providers:time_off"), data)

    assert response.status_code == 302
    assert bookable_provider.time_off.get().note == "Conference"
    assert Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == 2
    assert not Refund.objects.exists()
    assert stripe_emulator.requests(method="POST", path="/v1/refunds") == []
    assert "stay booked" in _messages(response)[0]


def test_cancelling_refunds_each_client_in_full_through_the_provider_cancellation(
    as_bookable_provider, bookable_provider, two_sessions, stripe_emulator, django_capture_on_commit_callbacks
):
    first, second = two_sessions
    data = {
        **_span(first, second),
        "covered": [first.reference, second.reference],
        "booked_sessions": "cancel",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = as_bookable_provider.post(reverse("providers:time_off"), data)

    assert response.status_code == 302
    assert bookable_provider.time_off.exists()
    for booking in (first, second):
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CANCELLED
        [refund] = booking.refunds.all()
        assert (refund.amount, refund.reason, refund.status) == (
            booking.price_amount,
            Refund.Reason.PROVIDER_CANCELLED,
            Refund.Status.SUCCEEDED,
        )
        assert booking.payments.get().status == Payment.Status.REFUNDED
        assert booking.status_changes.last().actor == bookable_provider.user
    keys = sorted(r["idempotency_key"] for r in stripe_emulator.requests(method="POST", path="/v1/refunds"))
    assert keys == sorted(stripe_key(f"refund-{r.pk}") for r in Refund.objects.all())
    [message] = _messages(response)
    assert "2 sessions cancelled" in message
    assert "Chris Client ($45.00)" in message
    recipients = {address for m in mail.outbox if "cancelled" in m.subject.lower() for address in m.to}
    assert {first.client.email, second.client.email} <= recipients


def test_a_refund_stripe_refuses_does_not_stop_the_others(
    as_bookable_provider, two_sessions, stripe_emulator, django_capture_on_commit_callbacks
):
    first, second = two_sessions
    stripe_emulator.set_faults("POST /v1/refunds=400x1")  # the first refund sent is refused, then all is well
    data = {
        **_span(first, second),
        "covered": [first.reference, second.reference],
        "booked_sessions": "cancel",
    }

    with django_capture_on_commit_callbacks(execute=True):
        as_bookable_provider.post(reverse("providers:time_off"), data)

    refunds = {r.booking_id: r for r in Refund.objects.all()}
    assert {booking.pk for booking in (first, second)} == set(refunds)
    assert sorted(r.status for r in refunds.values()) == sorted(
        [Refund.Status.FAILED, Refund.Status.SUCCEEDED]
    )
    assert Booking.objects.filter(status=Booking.Status.CANCELLED).count() == 2


def test_a_session_cancelled_meanwhile_is_reported_and_the_others_still_cancelled(
    as_bookable_provider, two_sessions, django_capture_on_commit_callbacks, monkeypatch
):
    first, second = two_sessions
    data = {
        **_span(first, second),
        "covered": [first.reference, second.reference],
        "booked_sessions": "cancel",
    }
    # The page checks the list first; the client cancels in between that check and the provider's own cancel.
    real_find = time_off_module._find
    assert real_find is not None

    def find_then_client_cancels(provider, start, end):
        found = real_find(provider, start, end)
        if not Booking.objects.filter(pk=first.pk, status=Booking.Status.CANCELLED).exists():
            booking_cancel_with_refund(booking_id=first.pk, actor=first.client, by_client=True)
        return found

    monkeypatch.setattr(time_off_module, "_find", find_then_client_cancels)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_bookable_provider.post(reverse("providers:time_off"), data)

    second.refresh_from_db()
    assert second.status == Booking.Status.CANCELLED
    assert first.refunds.get().reason == Refund.Reason.CLIENT_CANCELLED  # not refunded a second time
    messages = _messages(response)
    assert "1 session cancelled" in messages[0]
    assert first.client.display_name in messages[1]
    assert "was not cancelled by you: it had already been cancelled." in messages[1]


def test_a_session_booked_after_the_question_asks_again(
    as_bookable_provider, bookable_provider, two_sessions
):
    first, second = two_sessions
    data = {**_span(first, second), "covered": [first.reference], "booked_sessions": "cancel"}

    response = as_bookable_provider.post(reverse("providers:time_off"), data)

    assert response.status_code == 200
    assert "have changed" in " ".join(_messages(response))
    assert f'value="{second.reference}"' in response.content.decode()
    assert not bookable_provider.time_off.exists()
    assert Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == 2


def test_another_providers_sessions_are_neither_listed_nor_cancelled(
    as_provider, provider, two_sessions, django_capture_on_commit_callbacks
):
    first, second = two_sessions
    data = {
        **_span(first, second),
        "covered": [first.reference, second.reference],
        "booked_sessions": "cancel",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = as_provider.post(reverse("providers:time_off"), data)

    assert response.status_code == 302
    assert "Your time off has been added." in _messages(response)
    assert provider.time_off.exists()
    assert Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == 2


def test_time_off_next_to_the_sessions_does_not_ask(as_bookable_provider, bookable_provider, two_sessions):
    first, _second = two_sessions
    day_before = date.fromisoformat(_day(first.start_at)) - timedelta(days=1)

    response = as_bookable_provider.post(
        reverse("providers:time_off"),
        {"start_date": day_before.isoformat(), "end_date": day_before.isoformat()},
    )

    assert response.status_code == 302
    assert bookable_provider.time_off.get().end_date == day_before


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        # The day clocks go forward in Berlin is 23 hours long, the day they go back 25.
        (date(2026, 3, 29), datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)),
        (date(2026, 10, 25), datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC)),
    ],
)
def test_a_day_off_is_the_providers_local_day_across_dst(provider, day, start, end):
    provider.timezone = "Europe/Berlin"

    assert time_off_span(provider, day, day) == (start, end)


def test_the_same_days_sent_twice_are_kept_once(bookable_provider):
    days = {"start_date": date(2031, 5, 1), "end_date": date(2031, 5, 3)}
    first = time_off_create(provider=bookable_provider, note="Holiday", **days)
    again = time_off_create(provider=bookable_provider, note="Holiday (sent twice)", **days)

    assert again.pk == first.pk
    assert list(TimeOff.objects.filter(provider=bookable_provider)) == [first]
    # Other days are other time off.
    time_off_create(provider=bookable_provider, start_date=date(2031, 5, 2), end_date=date(2031, 5, 3))
    assert TimeOff.objects.filter(provider=bookable_provider).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_same_days_sent_twice_at_once_are_kept_once(bookable_provider):
    """Two requests at the same moment (a double click): each on its own connection and transaction; the
    provider's row lock makes the second find the first's row instead of adding its own."""
    barrier = threading.Barrier(2)
    made: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            made.append(
                time_off_create(
                    provider=bookable_provider, start_date=date(2031, 6, 1), end_date=date(2031, 6, 7)
                ).pk
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(made) == 2
    assert made[0] == made[1]
    assert TimeOff.objects.filter(provider=bookable_provider).count() == 1
