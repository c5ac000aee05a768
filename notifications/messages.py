"""Messages about a booking that go to both people or carry a calendar invite, queued from one place so the
payments code only says what happened. Call each inside the transaction that made it true: the message is
rendered from the rows as they are then, so it never runs ahead of the money."""

from typing import Any

from django.conf import settings
from django.urls import reverse

from bookings.models import Booking
from marketplace.models import User
from notifications.calendar import CANCEL, REQUEST, booking_ics_attachment
from notifications.services import REMINDER, notification_queue


def booking_url(booking: Booking) -> str:
    return settings.SITE_URL + reverse("bookings:detail", args=[booking.reference])


def provider_page_url(booking: Booking) -> str:
    return settings.SITE_URL + reverse("providers:profile", args=[booking.provider.slug])


def _parties(booking: Booking) -> tuple[tuple[str, User], tuple[str, User]]:
    return (("client", booking.client), ("provider", booking.provider.user))


def booking_confirmed_notify(*, booking: Booking) -> None:
    """Both people, each with the calendar invite. Only for a confirmed booking (a paid one)."""
    if booking.status != Booking.Status.CONFIRMED:
        raise ValueError(f"booking {booking.pk} is {booking.status}: never say confirmed before it is paid")
    url = booking_url(booking)
    for party, recipient in _parties(booking):
        notification_queue(
            key=f"booking-confirmed-{party}-{booking.pk}",
            recipient=recipient,
            template=f"notifications/booking_confirmed_{party}.txt",
            context={"booking": booking, "booking_url": url},
            attachments=[
                booking_ics_attachment(
                    booking=booking, method=REQUEST, attendee_email=recipient.email, booking_url=url
                )
            ],
        )


def booking_cancelled_notify(*, booking: Booking, refund: Any, cancelled_by: str) -> None:
    """Both people, each with the calendar cancellation that removes the invite's event. ``refund`` is the
    Refund row just requested (not yet at Stripe), or None; typed loosely because payments imports this
    module, not the other way round."""
    url = booking_url(booking)
    for party, recipient in _parties(booking):
        notification_queue(
            key=f"booking-cancelled-{party}-{booking.pk}",
            recipient=recipient,
            template=f"notifications/booking_cancelled_{party}.txt",
            context={
                "booking": booking,
                "refund": refund,
                "cancelled_by": cancelled_by,
                "booking_url": url,
                "book_again_url": provider_page_url(booking),
            },
            attachments=[
                booking_ics_attachment(
                    booking=booking, method=CANCEL, attendee_email=recipient.email, booking_url=url
                )
            ],
        )


def checkout_expired_notify(*, booking: Booking, bank_failed: bool) -> None:
    """The client's payment page lapsed unpaid (or their bank payment failed) and the slot was released."""
    notification_queue(
        key=f"checkout-expired-client-{booking.pk}",
        recipient=booking.client,
        template="notifications/checkout_expired_client.txt",
        context={
            "booking": booking,
            "bank_failed": bank_failed,
            "action_url": provider_page_url(booking),
            "action_label": "Pick a time again",
        },
    )


def booking_reminder_notify(*, booking: Booking) -> None:
    """The reminder before the session, to both. Once per booking and person, whatever the job does."""
    url = booking_url(booking)
    for party, recipient in _parties(booking):
        notification_queue(
            key=f"booking-reminder-{party}-{booking.pk}",
            recipient=recipient,
            template="notifications/booking_reminder.txt",
            context={"booking": booking, "party": party, "booking_url": url},
            category=REMINDER,
            only_while_booking=(booking, Booking.Status.CONFIRMED),
        )
