from django.contrib import admin, messages
from django.db.models import Case, QuerySet, When
from django.http import HttpRequest

from marketplace.admin import MoneyColumnsMixin
from payments.admin_disputes import _staff, flag_disputes, resolve_view
from payments.models import (
    Dispute,
    DisputeStatusChange,
    Payment,
    Payout,
    PayoutReversal,
    Refund,
    WebhookEvent,
)
from payments.payouts import payout_hold, payout_release_hold, payout_retry
from payments.services import refund_retry, webhook_event_replay


class ReadOnlyMoneyAdmin(MoneyColumnsMixin, admin.ModelAdmin):
    """Money rows change only through services (with locks, audit entries and Stripe calls); admin shows
    them and offers the actions that are safe."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RefundInline(MoneyColumnsMixin, admin.TabularInline):
    model = Refund
    fields = (
        "amount",
        "currency",
        "reason",
        "status",
        "stripe_refund_id",
        "attempts",
        "last_error",
        "created_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class DisputeInline(MoneyColumnsMixin, admin.TabularInline):
    model = Dispute
    fields = ("opened_by", "status", "stripe_status", "reason", "amount", "funds_withdrawn", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyMoneyAdmin):
    list_display = (
        "pk",
        "booking",
        "attempt",
        "amount",
        "currency",
        "status",
        "charge_id",
        "paid_at",
        "disputed_at",
        "created_at",
    )
    list_filter = ("status", ("disputed_at", admin.EmptyFieldListFilter))
    search_fields = ("booking__reference", "checkout_session_id", "payment_intent_id", "charge_id")
    inlines = [RefundInline, DisputeInline]


@admin.register(Refund)
class RefundAdmin(ReadOnlyMoneyAdmin):
    list_display = (
        "pk",
        "booking",
        "amount",
        "currency",
        "reason",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", "reason")
    search_fields = ("booking__reference", "stripe_refund_id")
    actions = ["retry"]

    @admin.action(description="Retry the selected failed refunds (a new refund at Stripe)")
    def retry(self, request: HttpRequest, queryset: QuerySet[Refund]) -> None:
        for refund in queryset.order_by("pk"):
            try:
                new = refund_retry(refund_id=refund.pk, actor=_staff(request))
            except ValueError as error:
                self.message_user(request, str(error), messages.WARNING)
                continue
            if new is None:
                self.message_user(
                    request, f"Refund {refund.pk}: nothing is left to refund.", messages.WARNING
                )
            else:
                self.message_user(request, f"Refund {refund.pk} is being sent again as refund {new.pk}.")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Actions need change permission on the changelist; every field stays read-only.
        return request.user.is_staff

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return self._money_names([field.name for field in self.model._meta.fields])


class DisputeHistoryInline(admin.TabularInline):
    model = DisputeStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyMoneyAdmin):
    """Open disputes first. Opened from the booking or payout admin ("Flag dispute"), by the client, or by
    the client's bank; resolved from their page ("Resolve"), never by editing fields."""

    list_display = (
        "pk",
        "booking",
        "opened_by",
        "status",
        "reason",
        "amount",
        "currency",
        "refund_amount",
        "created_at",
        "closed_at",
    )
    list_filter = ("status", "opened_by", "is_inquiry", ("created_at", admin.DateFieldListFilter))
    search_fields = ("booking__reference", "stripe_dispute_id", "payment__charge_id", "description")
    inlines = [DisputeHistoryInline]
    change_form_template = "admin/payments/dispute_change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dispute]:
        # Open disputes first: they are the ones that need someone.
        return (
            super()
            .get_queryset(request)
            .order_by(Case(When(status="open", then=0), default=1), "-created_at")
        )

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "<int:dispute_id>/resolve/",
                self.admin_site.admin_view(
                    lambda request, dispute_id: resolve_view(self, request, dispute_id)
                ),
                name="payments_dispute_resolve",
            ),
            *super().get_urls(),
        ]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_staff  # to see the page and its Resolve button; every field is read-only

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return self._money_names([field.name for field in self.model._meta.fields])


class ReversalInline(MoneyColumnsMixin, admin.TabularInline):
    model = PayoutReversal
    fields = ("amount", "status", "refund", "dispute", "stripe_reversal_id", "recovered", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMoneyAdmin):
    list_display = (
        "stripe_event_id",
        "type",
        "endpoint",
        "status",
        "attempts",
        "received_at",
        "processed_at",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "endpoint", "type")
    search_fields = ("stripe_event_id", "type", "account")
    actions = ["replay"]

    @admin.action(description="Replay the selected events")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        for event in queryset:
            webhook_event_replay(webhook_event_id=event.pk)
        self.message_user(
            request, f"Queued {queryset.count()} event(s) for processing again.", messages.SUCCESS
        )

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Actions need change permission on the changelist; the form itself stays read-only (no fields
        # are editable because every field is read-only below).
        return request.user.is_staff

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return self._money_names([field.name for field in self.model._meta.fields])


@admin.register(PayoutReversal)
class PayoutReversalAdmin(ReadOnlyMoneyAdmin):
    list_display = ("pk", "booking", "provider", "amount", "currency", "status", "recovered", "created_at")
    list_filter = ("status",)
    search_fields = ("booking__reference", "stripe_reversal_id", "provider__display_name")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyMoneyAdmin):
    """Money and status are read-only: they change only through the actions, which call the payout services
    (locks, audit entries) and never touch a payout whose transfer has begun."""

    list_display = (
        "pk",
        "booking",
        "provider",
        "amount",
        "currency",
        "status",
        "due_at",
        "hold_reason",
        "attempts",
        "transfer_id",
        "paid_at",
    )
    list_filter = ("status", "is_held", ("due_at", admin.DateFieldListFilter), "provider")
    search_fields = ("booking__reference", "transfer_id", "provider__display_name")
    date_hierarchy = "due_at"
    actions = ["retry", "hold", "release_hold", "flag_dispute"]
    inlines = [ReversalInline]

    def _each(self, request: HttpRequest, queryset: QuerySet[Payout], action, done: str) -> None:
        for payout in queryset.order_by("pk"):
            try:
                action(payout)
            except ValueError as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                self.message_user(request, f"Payout {payout.pk}: {done}.")

    @admin.action(description="Retry the selected failed payouts")
    def retry(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        self._each(
            request,
            queryset,
            lambda p: payout_retry(payout_id=p.pk, actor=_staff(request)),
            "will be sent with the next release",
        )

    @admin.action(description="Hold the selected payouts (never sent while held)")
    def hold(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        note = f"Held by {request.user.get_username()}"
        self._each(
            request, queryset, lambda p: payout_hold(payout_id=p.pk, actor=_staff(request), note=note), "held"
        )

    @admin.action(description="Flag dispute (holds the payout; asks for a reason)")
    def flag_dispute(self, request: HttpRequest, queryset: QuerySet[Payout]):
        bookings = [payout.booking for payout in queryset.select_related("booking")]
        selected = list(queryset.values_list("pk", flat=True))
        return flag_disputes(self, request, bookings, "flag_dispute", selected)

    @admin.action(description="Release the hold on the selected payouts")
    def release_hold(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        self._each(
            request,
            queryset,
            lambda p: payout_release_hold(payout_id=p.pk, actor=_staff(request)),
            "hold lifted",
        )

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_staff

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return self._money_names([field.name for field in self.model._meta.fields])
