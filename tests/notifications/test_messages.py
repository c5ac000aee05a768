"""Each message: who gets it, what it says, in whose time zone, with which link, and never ahead of the money.
Bookings are paid through the real SDK against the Stripe emulator; invites are parsed back with icalendar."""

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.services import booking_create
from marketplace.models import User
from notifications.calendar import booking_ics_uid
from notifications.messages import booking_confirmed_notify
from notifications.models import Notification
from notifications.services import notification_send
from payments.disputes import Outcome, dispute_open, dispute_resolve
from payments.models import Dispute, Payment, Payout, Refund
from payments.payouts import payouts_release, session_complete
from payments.services import (
    booking_cancel_with_refund,
    checkout_start,
    payment_sync_from_session,
    refund_execute,
)
from tests.payments.payout_helpers import make_payable, paid_booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed(client_user, bookable_service, slot, stripe_emulator) -> Booking:
    # The provider reads times in Tokyo, the client in New York: each message must use its reader's zone.
    User.objects.filter(pk=bookable_service.provider.user_id).update(timezone="Asia/Tokyo")
    return paid_booking(client_user, bookable_service, slot, stripe_emulator)


def _message(key: str) -> Notification:
    return Notification.objects.get(key=key)


def _booking_url(booking: Booking) -> str:
    return f"{settings.SITE_URL}/bookings/{booking.reference}/"


def _local(value: datetime, zone: str, fmt: str = "%H:%M") -> str:
    import zoneinfo

    local = value.astimezone(zoneinfo.ZoneInfo(zone))
    return f"{local.strftime(fmt)} {local.tzname()}"


def _calendar(notification: Notification) -> icalendar.Calendar:
    [attachment] = notification.attachments
    assert attachment["content_type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(attachment["content"])


# --- Confirmed ----------------------------------------------------------------------------------------------


def test_confirmation_goes_to_the_client_in_their_zone_with_a_link_and_an_invite(confirmed):
    message = _message(f"booking-confirmed-client-{confirmed.pk}")

    assert message.to_email == "client@example.com"
    assert message.subject.startswith("Booking confirmed: Guitar lesson")
    assert "$45.00" in message.body_text
    assert _local(confirmed.start_at, "America/New_York") in message.body_text
    assert "America/New_York" in message.body_text
    assert _booking_url(confirmed) in message.body_text
    assert f'href="{_booking_url(confirmed)}"' in message.body_html
    assert "Sessions Marketplace" in message.body_html
    calendar = _calendar(message)
    [event] = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST"
    assert event.decoded("DTSTART") == confirmed.start_at
    assert event.decoded("DTEND") == confirmed.end_at
    assert str(event["UID"]) == booking_ics_uid(confirmed)
    assert str(event["ATTENDEE"]) == "mailto:client@example.com"


def test_confirmation_goes_to_the_provider_in_their_zone_with_the_same_event(confirmed):
    message = _message(f"booking-confirmed-provider-{confirmed.pk}")

    assert message.to_email == confirmed.provider.user.email
    assert message.subject.startswith("New booking: Guitar lesson")
    assert "$40.50" in message.body_text  # their share, not the price
    assert _local(confirmed.start_at, "Asia/Tokyo") in message.body_text
    assert _booking_url(confirmed) in message.body_text
    [event] = _calendar(message).walk("VEVENT")
    assert str(event["UID"]) == booking_ics_uid(confirmed)


def test_nothing_says_confirmed_before_the_payment_is(client_user, bookable_service, slot, stripe_emulator):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    assert not Notification.objects.filter(key__startswith="booking-confirmed").exists()
    with pytest.raises(ValueError, match="never say confirmed"):
        booking_confirmed_notify(booking=booking)

    stripe_emulator.pay(payment.checkout_session_id)
    payment_sync_from_session(session_id=payment.checkout_session_id)

    payment.refresh_from_db()
    confirmed = Notification.objects.get(key=f"booking-confirmed-client-{booking.pk}")
    # The message was written in the transaction that marked the payment paid, never before it.
    assert payment.status == Payment.Status.PAID
    assert confirmed.created_at >= payment.paid_at


def test_the_same_payment_seen_twice_confirms_with_one_message_each(confirmed):
    payment = confirmed.payments.get()

    payment_sync_from_session(session_id=payment.checkout_session_id)
    payment_sync_from_session(session_id=payment.checkout_session_id)

    assert Notification.objects.filter(key__startswith="booking-confirmed").count() == 2


# --- Cancelled and refunded -------------------------------------------------------------------------------


def test_a_cancellation_tells_both_who_cancelled_and_the_refund_without_claiming_it_is_done(confirmed):
    booking, refund = booking_cancel_with_refund(
        booking_id=confirmed.pk, actor=confirmed.client, by_client=True
    )

    client_message = _message(f"booking-cancelled-client-{booking.pk}")
    provider_message = _message(f"booking-cancelled-provider-{booking.pk}")
    assert refund is not None
    assert refund.status != Refund.Status.SUCCEEDED
    assert client_message.to_email == "client@example.com"
    assert "You cancelled your booking" in client_message.body_text
    assert "Refund: $45.00" in client_message.body_text
    assert "5-10 business days" in client_message.body_text
    assert "refunded" not in client_message.subject.lower()
    assert "/p/gabi-guitar/" in client_message.body_text  # book again
    assert _local(booking.start_at, "America/New_York") in client_message.body_text
    assert "Chris Client cancelled the session" in provider_message.body_text
    assert _local(booking.start_at, "Asia/Tokyo") in provider_message.body_text


def test_a_cancellation_carries_the_calendar_cancel_for_the_same_event(confirmed):
    booking_cancel_with_refund(booking_id=confirmed.pk, actor=confirmed.provider.user, by_client=False)

    for party in ("client", "provider"):
        invite = _calendar(_message(f"booking-confirmed-{party}-{confirmed.pk}"))
        cancel = _calendar(_message(f"booking-cancelled-{party}-{confirmed.pk}"))
        [invited] = invite.walk("VEVENT")
        [cancelled] = cancel.walk("VEVENT")
        assert str(cancel["METHOD"]) == "CANCEL"
        assert str(cancelled["UID"]) == str(invited["UID"])
        assert int(cancelled["SEQUENCE"]) > int(invited["SEQUENCE"])
        assert str(cancelled["STATUS"]) == "CANCELLED"
        assert cancelled.decoded("DTSTART") == confirmed.start_at


def test_refund_issued_is_said_only_once_stripe_says_it_succeeded(confirmed, stripe_emulator):
    _, refund = booking_cancel_with_refund(booking_id=confirmed.pk, actor=confirmed.client, by_client=True)
    assert refund is not None
    assert not Notification.objects.filter(key=f"refund-succeeded-{refund.pk}").exists()

    refund_execute(refund_id=refund.pk)

    refund.refresh_from_db()
    message = _message(f"refund-succeeded-{refund.pk}")
    assert refund.status == Refund.Status.SUCCEEDED
    assert message.to_email == "client@example.com"
    assert message.subject == "Your refund of $45.00 has been issued"
    assert _booking_url(confirmed) in message.body_text


# --- Checkout expired --------------------------------------------------------------------------------------


def test_an_expired_checkout_tells_the_client_the_time_was_released_and_where_to_book_again(
    client_user, bookable_service, slot, stripe_emulator
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.expire(payment.checkout_session_id)

    payment_sync_from_session(session_id=payment.checkout_session_id)
    payment_sync_from_session(session_id=payment.checkout_session_id)

    booking.refresh_from_db()
    [message] = Notification.objects.filter(key__startswith="checkout-expired")
    assert booking.status == Booking.Status.EXPIRED
    assert message.to_email == "client@example.com"
    assert "not booked" in message.subject
    assert "Nothing was charged" in message.body_text
    assert _local(slot, "America/New_York") in message.body_text
    assert f"{settings.SITE_URL}/p/gabi-guitar/" in message.body_text
    assert "Pick a time again" in message.body_html


# --- Completed, payouts -------------------------------------------------------------------------------------


def _complete(booking: Booking) -> tuple[Payout, datetime]:
    done_at = booking.start_at + timedelta(hours=1)
    _, payout = session_complete(booking_id=booking.pk, actor=booking.provider.user, now=done_at)
    assert payout is not None
    return payout, done_at + timedelta(hours=settings.PAYOUT_HOLD_HOURS, minutes=1)


def test_session_completed_tells_the_client_until_when_to_report_a_problem(confirmed):
    payout, _ = _complete(confirmed)

    message = _message(f"session-completed-client-{confirmed.pk}")
    assert message.to_email == "client@example.com"
    assert "is complete" in message.subject
    assert _local(payout.due_at, "America/New_York", "%A %-d %B %Y, %H:%M") in message.body_text
    assert _booking_url(confirmed) in message.body_text


def _release(now: datetime, capture) -> None:
    with time_machine.travel(now, tick=True), capture(execute=True):
        payouts_release()


def test_a_payout_waiting_for_setup_tells_the_provider_once(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    payout, after_hold = _complete(confirmed)

    _release(after_hold, django_capture_on_commit_callbacks)
    _release(after_hold + timedelta(minutes=5), django_capture_on_commit_callbacks)

    [message] = Notification.objects.filter(key__startswith="payout-waiting-setup")
    payout.refresh_from_db()
    assert payout.status == Payout.Status.ON_HOLD
    assert message.to_email == confirmed.provider.user.email
    assert "$40.50" in message.subject
    assert f"{settings.SITE_URL}/dashboard/payouts/setup/" in message.body_text


def test_paid_is_said_only_once_the_transfer_exists(
    confirmed, stripe_emulator, django_capture_on_commit_callbacks
):
    make_payable(confirmed.provider, stripe_emulator)
    payout, after_hold = _complete(confirmed)
    assert not Notification.objects.filter(key=f"payout-sent-{payout.pk}").exists()

    _release(after_hold, django_capture_on_commit_callbacks)

    payout.refresh_from_db()
    message = _message(f"payout-sent-{payout.pk}")
    assert payout.status == Payout.Status.PAID
    assert payout.transfer_id
    assert message.to_email == confirmed.provider.user.email
    assert message.subject == "Paid: $40.50 is in your Stripe account"
    assert payout.transfer_id in message.body_text
    assert f"{settings.SITE_URL}/dashboard/payouts/" in message.body_text
    assert not Notification.objects.filter(key__startswith="payout-waiting-setup").exists()


# --- Disputes -----------------------------------------------------------------------------------------------


def test_a_problem_report_is_acknowledged_to_the_client_and_told_to_the_provider(confirmed):
    _complete(confirmed)
    dispute = dispute_open(
        booking_id=confirmed.pk,
        opened_by=Dispute.OpenedBy.CLIENT,
        actor=confirmed.client,
        reason=Dispute.Reason.NO_SHOW,
        now=confirmed.start_at + timedelta(hours=2),
    )

    received = _message(f"dispute-received-client-{dispute.pk}")
    opened = _message(f"dispute-opened-provider-{dispute.pk}")
    assert received.to_email == "client@example.com"
    assert received.subject == "We received your report about Guitar lesson"
    assert _local(confirmed.start_at, "America/New_York") in received.body_text
    assert opened.to_email == confirmed.provider.user.email
    assert "payout for this session is held" in opened.body_text
    assert _booking_url(confirmed) in opened.body_text


def test_a_dispute_opened_by_our_team_is_told_to_the_client_too(confirmed, staff_user):
    _complete(confirmed)
    dispute = dispute_open(
        booking_id=confirmed.pk,
        opened_by=Dispute.OpenedBy.ADMIN,
        actor=staff_user,
        reason=Dispute.Reason.OTHER,
        now=confirmed.start_at + timedelta(hours=2),
    )

    message = _message(f"dispute-opened-client-{dispute.pk}")
    assert message.to_email == "client@example.com"
    assert "Our team opened a review" in message.body_text
    assert _booking_url(confirmed) in message.body_text


# --- Sending -----------------------------------------------------------------------------------------------


def test_the_sent_email_has_text_html_and_the_invite(confirmed):
    message = _message(f"booking-confirmed-client-{confirmed.pk}")

    notification_send(notification_id=message.pk)

    [email] = mail.outbox
    assert email.to == ["client@example.com"]
    assert email.subject == message.subject
    assert email.body == message.body_text
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    assert html == message.body_html
    [part] = email.attachments
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    parsed = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    assert str(parsed.walk("VEVENT")[0]["UID"]) == booking_ics_uid(confirmed)


def test_times_in_messages_are_aware_and_the_invite_is_in_utc(confirmed):
    content = _message(f"booking-confirmed-client-{confirmed.pk}").attachments[0]["content"]

    start = confirmed.start_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert f"DTSTART:{start}" in content
    assert timezone.is_aware(confirmed.start_at)


# --- Duplicate webhooks ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_emulators_duplicated_signed_webhooks_send_one_confirmation_each(
    live_server, client_user, bookable_service, slot, stripe_emulator, settings
):
    # The emulator delivers every event twice, signed, to the running app; workers run tasks inline.
    settings.SITE_URL = live_server.url
    stripe_emulator.set_webhooks(url=live_server.url + reverse("payments:stripe_webhook"), duplicates=True)
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)

    stripe_emulator.pay(payment.checkout_session_id)
    deliveries = stripe_emulator.wait_for_deliveries(timeout=10)
    payment_sync_from_session(session_id=payment.checkout_session_id)  # the success page, racing them

    assert len([d for d in deliveries if d["status"] == "delivered"]) >= 2
    confirmations = Notification.objects.filter(key__startswith="booking-confirmed")
    assert sorted(confirmations.values_list("to_email", flat=True)) == sorted(
        ["client@example.com", bookable_service.provider.user.email]
    )
    sent = sorted(
        m.to[0] for m in mail.outbox if "Booking confirmed" in m.subject or "New booking" in m.subject
    )
    assert sent == sorted(["client@example.com", bookable_service.provider.user.email])  # each once


def test_a_dispute_resolved_with_a_partial_refund_tells_both_their_amounts(confirmed, staff_user):
    _complete(confirmed)
    dispute = dispute_open(
        booking_id=confirmed.pk,
        opened_by=Dispute.OpenedBy.CLIENT,
        actor=confirmed.client,
        reason=Dispute.Reason.QUALITY,
        now=confirmed.start_at + timedelta(hours=2),
    )

    dispute_resolve(dispute_id=dispute.pk, outcome=Outcome.SPLIT, actor=staff_user, refund_amount=2000)

    client_message = _message(f"dispute-resolved-client-{dispute.pk}")
    provider_message = _message(f"dispute-resolved-provider-{dispute.pk}")
    refund = Refund.objects.get(booking=confirmed)
    assert refund.status != Refund.Status.SUCCEEDED  # asked for, so the words say "we are refunding"
    assert client_message.to_email == "client@example.com"
    assert "We are refunding $20.00 to your card, part of what you paid" in client_message.body_text
    assert _booking_url(confirmed) in client_message.body_text
    assert provider_message.to_email == confirmed.provider.user.email
    assert "The client was refunded $20.00. You receive $22.50" in provider_message.body_text


# --- A payment that came too late -------------------------------------------------------------------------


def test_a_payment_after_the_session_started_says_we_are_refunding_and_where_to_book_again(
    client_user, bookable_service, slot, stripe_emulator
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)

    with time_machine.travel(slot + timedelta(minutes=5), tick=True):
        payment_sync_from_session(session_id=payment.checkout_session_id)

    [message] = Notification.objects.filter(key__startswith="late-payment-refunded")
    refund = Refund.objects.get(booking=booking)
    assert refund.status != Refund.Status.SUCCEEDED
    assert not Notification.objects.filter(key__startswith="booking-confirmed").exists()
    assert message.to_email == "client@example.com"
    assert message.subject == "Your payment arrived too late for your session: we are refunding it"
    assert "We are refunding $45.00 in full" in message.body_text
    assert _local(slot, "America/New_York") in message.body_text
    assert f"{settings.SITE_URL}/p/gabi-guitar/" in message.body_text
