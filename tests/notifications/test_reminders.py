"""Reminders: once per booking and person, when the job runs on time, late, twice, at once, or across a change
of clocks; turned off by a preference or the signed link in the email, which works without logging in."""

import threading
import zoneinfo
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from bookings.models import Booking
from marketplace.models import User
from notifications.models import Notification
from notifications.reminders import reminders_send
from notifications.services import notification_send
from payments.services import booking_cancel_with_refund
from tests.payments.payout_helpers import paid_booking

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def confirmed(client_user, bookable_service, slot, stripe_emulator) -> Booking:
    return paid_booking(client_user, bookable_service, slot, stripe_emulator)


def _move(booking: Booking, start: datetime, *, confirmed_at: datetime | None = None) -> Booking:
    """Put a paid booking at ``start`` (its payment made well before), as if it had been booked there."""
    Booking.objects.filter(pk=booking.pk).update(
        start_at=start,
        end_at=start + (booking.end_at - booking.start_at),
        confirmed_at=confirmed_at or start - timedelta(days=7),
    )
    booking.refresh_from_db()
    return booking


def _reminders() -> list[Notification]:
    return list(Notification.objects.filter(key__startswith="booking-reminder").order_by("key"))


def test_no_reminder_before_the_window_then_one_to_each_person(confirmed):
    start = confirmed.start_at

    assert reminders_send(now=start - timedelta(hours=24, minutes=1)) == 0
    assert reminders_send(now=start - timedelta(hours=23, minutes=55)) == 1

    client_reminder, provider_reminder = _reminders()
    assert client_reminder.key == f"booking-reminder-client-{confirmed.pk}"
    assert client_reminder.to_email == "client@example.com"
    assert client_reminder.subject.startswith("Reminder: Guitar lesson with Gabi Guitar")
    local = start.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert f"{local:%H:%M} {local.tzname()}" in client_reminder.body_text
    assert f"/bookings/{confirmed.reference}/" in client_reminder.body_text
    assert provider_reminder.to_email == confirmed.provider.user.email
    assert "with Chris Client" in provider_reminder.subject


def test_running_twice_or_again_later_sends_nothing_more(confirmed):
    start = confirmed.start_at
    reminders_send(now=start - timedelta(hours=23))

    assert reminders_send(now=start - timedelta(hours=23)) == 0
    assert reminders_send(now=start - timedelta(hours=2)) == 0
    assert len(_reminders()) == 2


def test_a_job_that_runs_late_still_reminds_before_the_session_but_not_after(confirmed):
    start = confirmed.start_at

    assert reminders_send(now=start + timedelta(minutes=1)) == 0  # too late: the session began
    assert reminders_send(now=start - timedelta(hours=3)) == 1  # beat was down for 21 hours
    assert len(_reminders()) == 2


def test_a_cancelled_booking_is_not_reminded(confirmed):
    Booking.objects.filter(pk=confirmed.pk).update(status=Booking.Status.CANCELLED)

    assert reminders_send(now=confirmed.start_at - timedelta(hours=1)) == 0
    assert _reminders() == []


def test_a_reminder_still_waiting_when_the_booking_is_cancelled_is_not_sent(confirmed):
    reminders_send(now=confirmed.start_at - timedelta(hours=3))
    client_reminder, provider_reminder = _reminders()
    notification_send(notification_id=provider_reminder.pk)  # went out while the booking stood
    booking_cancel_with_refund(booking_id=confirmed.pk, actor=confirmed.client, by_client=True)

    notification_send(notification_id=client_reminder.pk)  # the worker gets to it only now

    client_reminder.refresh_from_db()
    provider_reminder.refresh_from_db()
    assert client_reminder.status == Notification.Status.SKIPPED
    assert client_reminder.last_error == "Not sent: the booking is now cancelled."
    assert provider_reminder.status == Notification.Status.SENT
    assert [m.to for m in mail.outbox if m.subject.startswith("Reminder")] == [[provider_reminder.to_email]]


def test_a_booking_made_after_its_reminder_moment_gets_no_reminder(confirmed):
    # Booked and paid three hours ahead: the confirmation email said it all a moment ago.
    booking = _move(confirmed, confirmed.start_at, confirmed_at=confirmed.start_at - timedelta(hours=3))

    assert reminders_send(now=booking.start_at - timedelta(hours=2)) == 0


def test_across_the_spring_clock_change_one_reminder_24_real_hours_ahead_naming_the_new_zone(
    confirmed,
):
    # Berlin moves its clocks forward at 02:00 on Sunday 28 March 2027. The session is that Sunday at 10:00
    # CEST; 24 real hours earlier is Saturday 09:00 CET.
    User.objects.filter(pk=confirmed.client_id).update(timezone="Europe/Berlin")
    start = datetime(2027, 3, 28, 10, 0, tzinfo=BERLIN)
    booking = _move(confirmed, start)
    runs = [datetime(2027, 3, 27, 0, 0, tzinfo=UTC) + timedelta(minutes=10 * n) for n in range(12 * 6 * 2)]

    sent_at = [now for now in runs if now < start and reminders_send(now=now)]

    assert sent_at == [datetime(2027, 3, 27, 9, 0, tzinfo=BERLIN)]
    assert start - sent_at[0] == timedelta(hours=24)
    client_reminder = Notification.objects.get(key=f"booking-reminder-client-{booking.pk}")
    assert "Sun 28 Mar, 10:00 CEST" in client_reminder.subject
    assert "10:00 CEST to 11:00 CEST (Europe/Berlin)" in client_reminder.body_text


def test_across_the_autumn_clock_change_the_repeated_hour_is_reminded_once(confirmed):
    # Clocks go back at 03:00 CEST on Sunday 31 October 2027: 02:30 happens twice. The session is the second
    # 02:30 (CET); the job runs every 10 minutes through both.
    User.objects.filter(pk=confirmed.client_id).update(timezone="Europe/Berlin")
    start = datetime(2027, 10, 31, 2, 30, tzinfo=BERLIN, fold=1)
    booking = _move(confirmed, start)
    runs = [datetime(2027, 10, 30, 0, 0, tzinfo=UTC) + timedelta(minutes=10 * n) for n in range(6 * 30)]

    sent = sum(reminders_send(now=now) for now in runs if now < start)

    assert sent == 1
    client_reminder = Notification.objects.get(key=f"booking-reminder-client-{booking.pk}")
    assert "02:30 CET" in client_reminder.body_text


@pytest.mark.django_db(transaction=True)
def test_two_jobs_at_once_send_each_reminder_once(client_user, bookable_service, slot, stripe_emulator):
    booking = paid_booking(client_user, bookable_service, slot, stripe_emulator)
    now = booking.start_at - timedelta(hours=1)
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def job() -> None:
        try:
            barrier.wait()
            reminders_send(now=now)
        except Exception as error:  # a unique-key clash would land here
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(_reminders()) == 2


def test_the_command_reports_what_it_did(confirmed, time_machine):
    time_machine.move_to(confirmed.start_at - timedelta(hours=2))
    output = StringIO()

    call_command("send_reminders", stdout=output)
    call_command("send_reminders", stdout=output)

    assert "Done: 1 booking reminded" in output.getvalue()
    assert "Done: 0 bookings reminded" in output.getvalue()


# --- Preferences and unsubscribing ------------------------------------------------------------------------


def test_someone_who_turned_reminders_off_gets_none_and_the_other_person_still_does(confirmed):
    User.objects.filter(pk=confirmed.client_id).update(has_reminders_on=False)
    confirmed.refresh_from_db()

    reminders_send(now=confirmed.start_at - timedelta(hours=1))

    client_reminder, provider_reminder = _reminders()
    assert client_reminder.status == Notification.Status.SKIPPED
    assert provider_reminder.status == Notification.Status.PENDING
    notification_send(notification_id=client_reminder.pk)
    client_reminder.refresh_from_db()
    assert client_reminder.attempts == 0  # never handed to the mail service


def test_money_messages_go_even_with_every_preference_off(
    client_user, bookable_service, slot, stripe_emulator
):
    User.objects.filter(pk=client_user.pk).update(has_reminders_on=False, has_tips_on=False)
    client_user.refresh_from_db()

    booking = paid_booking(client_user, bookable_service, slot, stripe_emulator)

    confirmation = Notification.objects.get(key=f"booking-confirmed-client-{booking.pk}")
    assert confirmation.status == Notification.Status.PENDING
    assert "unsubscribe" not in confirmation.body_text


def _unsubscribe_link(text: str) -> str:
    return next(word for word in text.split() if "/emails/unsubscribe/" in word)


def test_the_unsubscribe_link_in_a_reminder_works_without_logging_in(confirmed, anonymous, settings):
    reminders_send(now=confirmed.start_at - timedelta(hours=1))
    client_reminder = _reminders()[0]
    link = _unsubscribe_link(client_reminder.body_text)
    assert f'href="{link}"' in client_reminder.body_html
    notification_send(notification_id=client_reminder.pk)
    [email] = mail.outbox
    assert email.extra_headers["List-Unsubscribe"] == f"<{link}>"
    path = link.removeprefix(settings.SITE_URL)

    asked = anonymous.get(path)  # opening the link (or a mail scanner) changes nothing
    assert asked.status_code == 200
    assert "Stop session reminders?" in asked.content.decode()
    assert User.objects.get(pk=confirmed.client_id).has_reminders_on

    done = anonymous.post(path, follow=True)

    assert done.redirect_chain == [(path, 302)]
    assert "no more session reminders" in done.content.decode()
    assert not User.objects.get(pk=confirmed.client_id).has_reminders_on
    assert User.objects.get(pk=confirmed.provider.user_id).has_reminders_on


def test_the_unsubscribe_form_needs_its_csrf_token(confirmed, settings):
    from django.test import Client

    reminders_send(now=confirmed.start_at - timedelta(hours=1))
    path = _unsubscribe_link(_reminders()[0].body_text).removeprefix(settings.SITE_URL)

    response = Client(enforce_csrf_checks=True).post(path)

    assert response.status_code == 403
    assert User.objects.get(pk=confirmed.client_id).has_reminders_on


def test_a_changed_unsubscribe_link_is_refused_with_a_clear_message(confirmed, anonymous, settings):
    reminders_send(now=confirmed.start_at - timedelta(hours=1))
    path = _unsubscribe_link(_reminders()[0].body_text).removeprefix(settings.SITE_URL)
    forged = path.replace(path.rstrip("/")[-6:], "AAAAAA")

    response = anonymous.post(forged)

    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    assert User.objects.get(pk=confirmed.client_id).has_reminders_on


def test_the_profile_page_turns_reminders_and_tips_off_and_on(as_client, client_user):
    page = as_client.get(reverse("profile"))
    assert 'name="has_reminders_on"' in page.content.decode()
    assert "Email me a reminder before each session" in page.content.decode()

    as_client.post(reverse("profile"), {"name": "Chris", "timezone": "America/New_York"})

    client_user.refresh_from_db()
    assert (client_user.has_reminders_on, client_user.has_tips_on) == (False, False)

    as_client.post(
        reverse("profile"),
        {"name": "Chris", "timezone": "America/New_York", "has_reminders_on": "on", "has_tips_on": "on"},
    )
    client_user.refresh_from_db()
    assert (client_user.has_reminders_on, client_user.has_tips_on) == (True, True)
