from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from payments.models import Payment, Refund, WebhookEvent
from payments.services import webhook_event_replay


class ReadOnlyMoneyAdmin(admin.ModelAdmin):
    """Money rows change only through services (with locks, audit entries and Stripe calls); admin shows
    them and offers the actions that are safe."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RefundInline(admin.TabularInline):
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
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("booking__reference", "checkout_session_id", "payment_intent_id", "charge_id")
    inlines = [RefundInline]


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
        return [field.name for field in self.model._meta.fields]
