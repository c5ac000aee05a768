"""Reminders before a session (beat job ``send-reminders`` and ``manage.py send_reminders``).

Each booking gets one reminder per person, however often, however late and however many times at once the
job runs: the outbox key ``booking-reminder-<party>-<booking id>`` is unique, and a booking that already
has its reminder is not even looked at again. "Before" is measured in elapsed hours on UTC instants, so a
change of clocks between the reminder and the session moves nothing (24 hours before 09:00 the day after
clocks go forward is 08:00 local the day before: still 24 hours).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from bookings.models import Booking
from notifications.messages import booking_reminder_notify
from notifications.models import Notification

BATCH = 500


def reminders_due(*, now: datetime) -> list[int]:
    """Ids of confirmed bookings starting within ``REMINDER_HOURS_BEFORE`` from ``now`` that have no
    reminder yet. A job that ran late still reminds a session that has not started; one booked after its
    reminder moment is not reminded (the confirmation just said the same)."""
    lead = timedelta(hours=settings.REMINDER_HOURS_BEFORE)
    reminded = Notification.objects.filter(
        key=Concat(Value("booking-reminder-client-"), Cast(OuterRef("pk"), CharField()))
    )
    due = (
        Booking.objects.filter(
            status=Booking.Status.CONFIRMED,
            start_at__gt=now,
            start_at__lte=now + lead,
        )
        .exclude(confirmed_at__gt=F("start_at") - lead)
        .exclude(Exists(reminded))
    )
    return list(due.order_by("start_at").values_list("pk", flat=True)[:BATCH])


def reminders_send(*, now: datetime | None = None) -> int:
    """Queue the reminders that are due. Returns how many bookings were reminded."""
    now = now or timezone.now()
    lead = timedelta(hours=settings.REMINDER_HOURS_BEFORE)
    sent = 0
    for booking_id in reminders_due(now=now):
        with transaction.atomic():
            # Re-read under the booking's lock: a cancellation racing the job wins or waits, never both.
            booking = (
                Booking.objects.select_for_update()
                .select_related("client", "provider__user")
                .get(pk=booking_id)
            )
            if booking.status != Booking.Status.CONFIRMED or booking.start_at <= now:
                continue
            if booking.confirmed_at and booking.confirmed_at > booking.start_at - lead:
                continue
            booking_reminder_notify(booking=booking)
            sent += 1
    return sent
