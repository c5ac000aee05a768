from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from bookings.models import Booking, BookingStatusChange
from bookings.services import BookingError
from marketplace.admin import MoneyColumnsMixin
from payments.admin_disputes import flag_disputes
from payments.payouts import session_complete


class StatusChangeInline(admin.TabularInline):
    model = BookingStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Booking)
class BookingAdmin(MoneyColumnsMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "service_title",
        "provider",
        "client",
        "start_at",
        "status",
        "price_amount",
        "currency",
    )
    list_filter = ("status",)
    search_fields = ("reference", "client__email", "provider__display_name")
    raw_id_fields = ("client", "provider", "service")
    inlines = [StatusChangeInline]
    date_hierarchy = "start_at"
    actions = ["mark_complete", "flag_dispute"]

    @admin.action(description="Flag dispute (holds the payout; asks for a reason)")
    def flag_dispute(self, request: HttpRequest, queryset: QuerySet[Booking]):
        return flag_disputes(
            self, request, list(queryset), "flag_dispute", list(queryset.values_list("pk", flat=True))
        )

    @admin.action(description="Mark the selected sessions complete (schedules the provider's payout)")
    def mark_complete(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        for booking in queryset.order_by("pk"):
            try:
                session_complete(booking_id=booking.pk, actor=request.user, reason="completed by staff")  # type: ignore[arg-type]
            except BookingError as error:
                self.message_user(request, f"{booking.reference}: {error}", messages.WARNING)
            else:
                self.message_user(request, f"{booking.reference}: marked complete.")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Actions need change permission on the changelist; every field stays read-only (below).
        return request.user.is_staff

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # Status and money move only through services: admin shows them.
        return self._money_names([field.name for field in self.model._meta.fields])

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
