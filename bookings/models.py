"""Bookings: a client's claim on a provider's time, from the hold to the finished session."""

import secrets

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Func, Q
from django.utils.translation import gettext_lazy as _


def new_booking_reference() -> str:
    # Public URLs carry this, never the row id: 72 random bits cannot be guessed or enumerated.
    return "bk_" + secrets.token_urlsafe(9)


class TsTzRange(Func):
    """PostgreSQL ``tstzrange(start, end)``, half-open: a session ending at 10:00 leaves 10:00 free."""

    function = "TSTZRANGE"
    output_field = models.DateTimeField()


class Booking(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
        CONFIRMED = "confirmed", _("Confirmed")
        COMPLETED = "completed", _("Completed")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    # Statuses that occupy the provider's time. A pending booking is a hold: it occupies the slot until the
    # hold lapses and a job (or the next booking attempt for the provider) moves it to expired.
    ACTIVE_STATUSES = (Status.PENDING_PAYMENT, Status.CONFIRMED, Status.COMPLETED)

    reference = models.CharField(max_length=20, unique=True, default=new_booking_reference, editable=False)
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT, related_name="bookings")
    service = models.ForeignKey("providers.Service", on_delete=models.PROTECT, related_name="bookings")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT)
    hold_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A pending booking gives the slot back after this moment."
    )
    # Frozen at booking time: later price or fee changes never touch an existing booking.
    service_title = models.CharField(max_length=200)
    price_amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    platform_fee_amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    provider_amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    currency = models.CharField(max_length=3)
    client_notes = models.TextField(blank=True, help_text="Anything the provider should know.")
    address = models.TextField(
        blank=True, help_text="Where the session happens, for services at the client's."
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_at"]
        indexes = [
            models.Index(fields=["provider", "status", "start_at"], name="bookings_provider_status_start"),
            models.Index(fields=["client", "start_at"], name="bookings_client_start"),
            models.Index(
                fields=["hold_expires_at"],
                name="bookings_pending_hold_expiry",
                condition=Q(status="pending_payment"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_at__gt=F("start_at")), name="bookings_booking_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(price_amount=F("platform_fee_amount") + F("provider_amount")),
                name="bookings_booking_fee_split_adds_up",
            ),
            # The last line of defence against double booking: even if the locked re-check in
            # booking_create were wrong, PostgreSQL refuses two active bookings of one provider that overlap.
            ExclusionConstraint(
                name="bookings_booking_no_overlap",
                expressions=[
                    ("provider", RangeOperators.EQUAL),
                    (TsTzRange("start_at", "end_at"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=["pending_payment", "confirmed", "completed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.service_title} at {self.start_at:%Y-%m-%d %H:%M} UTC"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class BookingStatusChange(models.Model):
    """One row per status move: who, when, from, to and why. The booking's timeline is read from here."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=Booking.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Booking.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system moved it (webhook, job).",
    )
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.booking.reference}: {self.from_status or '∅'} → {self.to_status}"


class Review(models.Model):
    """The client's rating (1-5) and words about one completed booking, and the provider's one reply.

    One per booking (the booking is the key). Hidden reviews stay for the record but leave the profile and the
    provider's average. ``provider`` repeats ``booking.provider`` so the profile lists and the average are
    read from one indexed table."""

    RATING_MIN, RATING_MAX = 1, 5

    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="review")
    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT, related_name="reviews")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField(help_text="1 to 5 stars.")
    body = models.TextField(help_text="The client's words.")
    reply = models.TextField(blank=True, help_text="The provider's one answer; empty until given.")
    replied_at = models.DateTimeField(null=True, blank=True)
    is_hidden = models.BooleanField(
        default=False, help_text="Hidden by staff: off the profile and the average."
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The profile's list and the average: a provider's visible reviews, newest first.
            models.Index(
                fields=["provider", "-created_at", "-id"],
                name="bookings_review_visible",
                condition=Q(is_hidden=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="bookings_review_rating_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(reply="") | Q(replied_at__isnull=False), name="bookings_review_reply_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 by client #{self.client_id} of provider #{self.provider_id}"

    @property
    def reviewer_name(self) -> str:
        """What the public profile shows of the reviewer: first name and initial ("Chris C."), never the
        email address."""
        parts = (self.client.name or "").split()
        if not parts:
            return "A client"
        return parts[0] if len(parts) == 1 else f"{parts[0]} {parts[-1][0]}."
