"""Money rows. Each Stripe side effect is a row first (the outbox), then a task makes the call with an
idempotency key derived from the row, so a retry can never move money twice."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from payments.namespace import stripe_key


class Installation(models.Model):
    """This database's identity at Stripe: one row, made on first use.

    Staging, CI and development databases may share one Stripe test account (and ``make dev`` may reset its
    database while the emulator keeps its state). Every idempotency key, ``transfer_group`` and metadata tag
    carries ``key_namespace``, so two databases never reuse each other's keys or adopt each other's objects.
    A reset database makes a new row, and so a new namespace. ``STRIPE_KEY_NAMESPACE`` overrides it.
    """

    SINGLETON_ID = 1

    key_namespace = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="payments_installation_singleton")]

    def __str__(self) -> str:
        return f"Installation {self.key_namespace}"


class Payment(models.Model):
    """One Checkout attempt for a booking. A booking may have several (the client backed out and retried);
    normally at most one is ever paid, and a second paid one is refunded automatically."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    # Statuses in which the client's money reached us (some of it may have gone back since).
    PAID_STATUSES = (Status.PAID, Status.PARTIALLY_REFUNDED, Status.REFUNDED)

    booking = models.ForeignKey("bookings.Booking", on_delete=models.PROTECT, related_name="payments")
    attempt = models.PositiveSmallIntegerField(help_text="1 for the first Checkout Session of the booking.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    currency = models.CharField(max_length=3)
    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.TextField(blank=True)
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a newer checkout attempt replaced it: closing it then keeps the booking's hold.",
    )
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the client's bank first opened a dispute on this payment."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "attempt"], name="payments_payment_one_per_attempt"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk} ({self.status}) for {self.booking_id}"

    @property
    def idempotency_key(self) -> str:
        return stripe_key(f"checkout-{self.booking_id}-{self.attempt}")

    @property
    def has_session(self) -> bool:
        return bool(self.checkout_session_id)


class Refund(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        PROCESSING = "processing", _("Processing")
        RETRYING = "retrying", _("Retrying")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Reason(models.TextChoices):
        CLIENT_CANCELLED = "client_cancelled", _("Cancelled by the client")
        PROVIDER_CANCELLED = "provider_cancelled", _("Cancelled by the provider")
        ADMIN_CANCELLED = "admin_cancelled", _("Cancelled by an admin")
        SLOT_UNAVAILABLE = "slot_unavailable", _("Paid for a slot that was no longer free")
        DUPLICATE_PAYMENT = "duplicate_payment", _("A second payment for one booking")
        DISPUTE = "dispute", _("Dispute resolved for the client")
        SESSION_STARTED = "session_started", _("Paid after the session had started or was too near")
        EXTERNAL = "external", _("Made outside the app (Stripe dashboard)")

    # Statuses in which the money is on its way back or already back: they count against the payment.
    COMMITTED_STATUSES = (Status.REQUESTED, Status.PROCESSING, Status.RETRYING, Status.SUCCEEDED)

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    booking = models.ForeignKey("bookings.Booking", on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    retry_of = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="retried_by",
        help_text="The failed refund this one sends again (staff retry).",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    first_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it was first sent: past Stripe's 24-hour key window a resend looks it up first.",
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="payments_refund_due",
                condition=Q(status__in=["requested", "retrying"]),
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"Refund {self.pk} ({self.status}) of {self.amount} {self.currency}"

    @property
    def idempotency_key(self) -> str:
        return stripe_key(f"refund-{self.pk}")

    @property
    def is_external(self) -> bool:
        return self.reason == self.Reason.EXTERNAL


class WebhookEvent(models.Model):
    """The inbox of Stripe events: stored on arrival (the Stripe id is unique, so a redelivery is a no-op),
    processed by a task, replayable from admin."""

    class Endpoint(models.TextChoices):
        PLATFORM = "platform", _("Platform")
        CONNECT = "connect", _("Connect")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored (type not handled)")
        FAILED = "failed", _("Failed, will be retried")
        GAVE_UP = "gave_up", _("Failed for good: replay it once fixed")

    stripe_event_id = models.CharField(max_length=255, unique=True)
    endpoint = models.CharField(max_length=16, choices=Endpoint.choices)
    type = models.CharField(max_length=100, db_index=True)
    account = models.CharField(max_length=255, blank=True, help_text="Connected account, for Connect events.")
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # After a failure, when the sweeper may try again (``payments.retries.backoff``): a Stripe outage of an
    # hour must not use up every attempt in minutes.
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="payments_webhook_unfinished",
                condition=Q(status__in=["pending", "failed"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"


class Dispute(models.Model):
    """A problem raised about a booking: by an admin (flagged in admin), by the client ("report a problem",
    inside the hold window) or by the client's bank (Stripe: an inquiry or a chargeback, from
    ``charge.dispute.*`` events). At most one open dispute per booking; while one is open the booking's payout
    is never transferred. Admins resolve their own and clients' disputes (refund, split, release); Stripe
    closes its own (won, lost). Every status change is a ``DisputeStatusChange`` row."""

    class OpenedBy(models.TextChoices):
        STRIPE = "stripe", _("The client's bank (Stripe)")
        ADMIN = "admin", _("An admin")
        CLIENT = "client", _("The client")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED_REFUND = "resolved_refund", _("Resolved: refunded in full")
        RESOLVED_SPLIT = "resolved_split", _("Resolved: refunded in part")
        RESOLVED_RELEASE = "resolved_release", _("Resolved: released to the provider")
        WON = "won", _("Won (Stripe)")
        LOST = "lost", _("Lost (Stripe)")
        CLOSED = "closed", _("Closed without a chargeback (Stripe)")

    class Reason(models.TextChoices):
        """Why a client or admin raised it (Stripe disputes keep Stripe's own reason code)."""

        NO_SHOW = "no_show", _("The provider did not show up")
        NOT_AS_DESCRIBED = "not_as_described", _("The session was not as described")
        QUALITY = "quality", _("The session was of poor quality")
        CHARGED_WRONGLY = "charged_wrongly", _("I was charged the wrong amount")
        OTHER = "other", _("Something else")

    OPEN_STATUSES = (Status.OPEN,)

    booking = models.ForeignKey("bookings.Booking", on_delete=models.PROTECT, related_name="disputes")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.CharField(max_length=16, choices=OpenedBy.choices)
    opened_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    reason = models.CharField(max_length=64, blank=True, help_text="Stripe's reason code, or the form's.")
    description = models.TextField(blank=True, max_length=4000)
    refund_amount = models.PositiveIntegerField(
        default=0, help_text="Minor units refunded to the client by the resolution."
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True, max_length=4000)
    amount = models.PositiveIntegerField(help_text="Minor units (cents) in dispute.")
    currency = models.CharField(max_length=3)
    stripe_dispute_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_status = models.CharField(
        max_length=32,
        blank=True,
        help_text="Stripe's own status (warning_needs_response, needs_response...).",
    )
    is_inquiry = models.BooleanField(
        default=False, help_text="An inquiry moves no money; a chargeback withdraws it at once."
    )
    funds_withdrawn = models.PositiveIntegerField(default=0, help_text="Minor units Stripe took back.")
    funds_reinstated = models.PositiveIntegerField(default=0, help_text="Minor units Stripe gave back.")
    fee = models.PositiveIntegerField(default=0, help_text="Stripe's dispute fee, minor units.")
    payout_reversed = models.BooleanField(
        default=False, help_text="A chargeback after the payout: the provider's share was taken back."
    )
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was resolved or closed.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking"], condition=Q(status="open"), name="payments_dispute_one_open_per_booking"
            )
        ]

    def __str__(self) -> str:
        return f"Dispute {self.pk} ({self.status}) on {self.booking_id}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def reason_label(self) -> str:
        """The reason in words: ours from the form, or Stripe's code as it came."""
        return str(dict(self.Reason.choices).get(self.reason, self.reason.replace("_", " ")))

    @property
    def is_from_stripe(self) -> bool:
        return self.opened_by == self.OpenedBy.STRIPE

    @property
    def amount_lost(self) -> int:
        """Minor units Stripe kept for good (a lost chargeback): withdrawn and not reinstated."""
        return max(self.funds_withdrawn - self.funds_reinstated, 0) if self.status == self.Status.LOST else 0


class DisputeStatusChange(models.Model):
    """One row per dispute status change: who, when, from, to and why."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=Dispute.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Dispute.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when Stripe or the system moved it.",
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Dispute {self.dispute_id}: {self.from_status or '∅'} → {self.to_status}"


class Payout(models.Model):
    """The provider's share of one booking, held for ``PAYOUT_HOLD_HOURS`` and then transferred to their
    Stripe Connect account (key ``<namespace>:payout-<id>``). One per booking that owes its provider money (a
    completed session, or a late cancellation that kept part of the price); a second one (``sequence`` 2)
    only when a chargeback won after the first was taken back owes the provider their share again.

    ``amount`` is the provider's share; ``debt_netted`` of it repays what the provider owes from an earlier
    reversal Stripe refused, so the transfer is ``amount - debt_netted``."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        ON_HOLD = "on_hold", _("Waiting")
        PROCESSING = "processing", _("Sending")
        RETRYING = "retrying", _("Retrying")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        PARTIALLY_REVERSED = "partially_reversed", _("Partly taken back")
        REVERSED = "reversed", _("Taken back")

    # Waiting for its due time, or for what keeps it on hold: the release job looks at these.
    RELEASABLE_STATUSES = (Status.SCHEDULED, Status.ON_HOLD, Status.RETRYING)
    TRANSFERRED_STATUSES = (Status.PAID, Status.PARTIALLY_REVERSED, Status.REVERSED)

    booking = models.ForeignKey("bookings.Booking", on_delete=models.PROTECT, related_name="payouts")
    sequence = models.PositiveSmallIntegerField(default=1, help_text="1 for a booking's first payout.")
    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT, related_name="payouts")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="payouts")
    amount = models.PositiveIntegerField(
        help_text="Minor units (cents): the provider's share of what was kept."
    )
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField(help_text="Not transferred before this (completion + the hold).")
    hold_reason = models.CharField(
        max_length=255, blank=True, help_text="Why it waits, in words the provider understands."
    )
    is_held = models.BooleanField(
        default=False, help_text="Held by staff or by an open dispute: never transferred while set."
    )
    held_note = models.CharField(max_length=255, blank=True, help_text="Why staff (or a dispute) hold it.")
    destination_account_id = models.CharField(max_length=255, blank=True)
    transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    amount_reversed = models.PositiveIntegerField(default=0, help_text="Minor units taken back (clawbacks).")
    debt_netted = models.PositiveIntegerField(
        default=0, help_text="Minor units of this share kept back to repay the provider's debt."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    first_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it was first sent: past Stripe's 24-hour key window a resend looks it up first.",
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_at"]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="payments_payout_releasable",
                condition=Q(status__in=["scheduled", "on_hold", "retrying"]),
            ),
            models.Index(fields=["provider", "status"], name="payments_payout_provider"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["booking", "sequence"], name="payments_payout_one_per_sequence"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_payout_amount_positive"),
            models.CheckConstraint(
                condition=Q(debt_netted__lte=F("amount")), name="payments_payout_netted_le_amount"
            ),
            models.CheckConstraint(
                condition=Q(amount_reversed__lte=F("amount")), name="payments_payout_reversal_le_amount"
            ),
            # Paid means a transfer exists, unless all of it went to repay the provider's debt.
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(transfer_id__isnull=False) | Q(debt_netted=F("amount")),
                name="payments_payout_paid_has_transfer",
            ),
        ]

    def __str__(self) -> str:
        return f"Payout {self.pk} ({self.status}) of {self.amount} {self.currency}"

    @property
    def idempotency_key(self) -> str:
        return stripe_key(f"payout-{self.pk}")

    @property
    def transfer_amount(self) -> int:
        """What is sent to Stripe: the share less what repays the provider's debt."""
        return self.amount - self.debt_netted


class PayoutReversal(models.Model):
    """Taking back (part of) a transferred payout from the provider's Stripe account: their share of a refund
    made after the payout (key ``<namespace>:reversal-<refund id>``), or of a chargeback
    (``reversal-dispute-<dispute id>``). A row first, then a task calls Stripe. When Stripe refuses (the
    account's balance cannot cover it) the amount is ``owed`` by the provider and netted from their next
    payouts (``DebtRecovery``), and admins are alerted."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        RETRYING = "retrying", _("Retrying")
        SUCCEEDED = "succeeded", _("Taken back")
        OWED = "owed", _("Refused by Stripe: owed by the provider")

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="reversals")
    booking = models.ForeignKey("bookings.Booking", on_delete=models.PROTECT, related_name="payout_reversals")
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.PROTECT, related_name="payout_reversals"
    )
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="payout_reversal"
    )
    dispute = models.OneToOneField(
        Dispute, on_delete=models.PROTECT, null=True, blank=True, related_name="payout_reversal"
    )
    amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    stripe_reversal_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    recovered = models.PositiveIntegerField(
        default=0, help_text="Of an owed amount, minor units netted from later payouts so far."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_reversal_amount_positive"),
            models.CheckConstraint(
                condition=Q(recovered__lte=F("amount")), name="payments_reversal_recovered_le_amount"
            ),
            models.CheckConstraint(
                condition=Q(refund__isnull=False) | Q(dispute__isnull=False),
                name="payments_reversal_has_a_cause",
            ),
        ]

    def __str__(self) -> str:
        return f"Reversal {self.pk} ({self.status}) of {self.amount} {self.currency}"

    @property
    def idempotency_key(self) -> str:
        cause = f"reversal-{self.refund_id}" if self.refund_id else f"reversal-dispute-{self.dispute_id}"
        return stripe_key(cause)

    @property
    def outstanding(self) -> int:
        """What the provider still owes of a refused reversal."""
        return self.amount - self.recovered if self.status == self.Status.OWED else 0


class DebtRecovery(models.Model):
    """Part of a later payout kept back to repay what a provider owes from a refused reversal."""

    reversal = models.ForeignKey(PayoutReversal, on_delete=models.PROTECT, related_name="recoveries")
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="debt_recoveries")
    amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_debtrecovery_amount_positive"),
            models.UniqueConstraint(
                fields=["reversal", "payout"], name="payments_debtrecovery_once_per_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of reversal {self.reversal_id} from payout {self.payout_id}"
