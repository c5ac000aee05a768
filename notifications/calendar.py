"""Calendar invites (RFC 5545) for bookings, written by hand: a single VEVENT needs no library.

One UID per booking, so a calendar that received the REQUEST drops exactly that event when the CANCEL with
the same UID and a higher SEQUENCE arrives.
"""

from datetime import UTC, datetime
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from bookings.models import Booking

REQUEST = "REQUEST"
CANCEL = "CANCEL"
# The invite is version 0; the cancellation must carry a higher sequence or calendars ignore it.
_SEQUENCE = {REQUEST: 0, CANCEL: 1}


def booking_ics_uid(booking: Booking) -> str:
    """Stable per booking and per site: the reference never changes, and the host keeps two installations
    (staging, production) from ever touching each other's events."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"booking-{booking.reference}@{host}"


def _text(value: str) -> str:
    # RFC 5545 3.3.11: backslash, semicolon, comma and newlines are escaped in TEXT values.
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 5545 3.1), never inside a UTF-8 character."""
    out: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not out else 74  # continuation lines start with a space
        if len((current + char).encode()) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return "\r\n ".join(out)


def booking_ics(*, booking: Booking, method: str, attendee_email: str, booking_url: str) -> str:
    """The invite (``REQUEST``) or its cancellation (``CANCEL``) for ``booking``, times in UTC so every
    calendar shows them in its own zone."""
    organizer = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@localhost"
    summary = f"{booking.service_title} with {booking.provider.display_name}"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//{_text(settings.SITE_NAME)}//Bookings//EN",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{booking_ics_uid(booking)}",
        f"SEQUENCE:{_SEQUENCE[method]}",
        f"DTSTAMP:{_utc(timezone.now())}",
        f"DTSTART:{_utc(booking.start_at)}",
        f"DTEND:{_utc(booking.end_at)}",
        f"SUMMARY:{_text(summary)}",
        f"DESCRIPTION:{_text(f'Booking {booking.reference}: {booking_url}')}",
        f"URL:{booking_url}",
        f"ORGANIZER;CN={_text(settings.SITE_NAME)}:mailto:{organizer}",
        f"ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:{attendee_email}",
        f"STATUS:{'CANCELLED' if method == CANCEL else 'CONFIRMED'}",
    ]
    if booking.address:
        lines.append(f"LOCATION:{_text(booking.address)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def booking_ics_attachment(*, booking: Booking, method: str, attendee_email: str, booking_url: str) -> dict:
    """The invite as a Notification attachment."""
    return {
        "filename": "cancel.ics" if method == CANCEL else "invite.ics",
        "content_type": f"text/calendar; method={method}; charset=UTF-8",
        "content": booking_ics(
            booking=booking, method=method, attendee_email=attendee_email, booking_url=booking_url
        ),
    }
