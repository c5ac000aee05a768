from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """An email to send: written in the transaction that caused it (the outbox), sent by a task after
    commit, re-sent by the sweeper if a message was lost. ``key`` makes queuing the same message twice a
    no-op, so a retried webhook never emails the client twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        # Queued for someone who turned this kind of message off: kept so the key stays taken and the admin
        # shows why nothing went out.
        SKIPPED = "skipped", _("Skipped (turned off by the recipient)")

    key = models.CharField(
        max_length=200, unique=True, help_text="What this message is about, e.g. booking-confirmed-client-42."
    )
    to_email = models.EmailField()
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    attachments = models.JSONField(
        default=list,
        blank=True,
        help_text="[{filename, content_type, content}]: text attachments such as a calendar invite.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A reminder is only true while its booking is confirmed: if the booking is cancelled between queuing
    # and sending (workers away for a while), the message is skipped rather than sent.
    booking = models.ForeignKey(
        "bookings.Booking", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    booking_status_required = models.CharField(
        max_length=20, blank=True, help_text="Sent only while the booking has this status; empty: always."
    )
    headers = models.JSONField(
        default=dict, blank=True, help_text="Extra email headers, e.g. List-Unsubscribe on reminders."
    )
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="After a temporary failure: not retried before this time."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"], name="notifications_pending", condition=models.Q(status="pending")
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email} ({self.status})"
