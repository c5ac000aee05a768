from django.contrib import admin

from bookings.models import Booking, BookingStatusChange


class StatusChangeInline(admin.TabularInline):
    model = BookingStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
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

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # Status and money move only through services: admin shows them.
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
