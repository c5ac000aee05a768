from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from bookings.models import Booking, BookingStatusChange, Review
from bookings.reviews import review_set_hidden
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


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Staff read reviews and hide the ones that break the rules (or show them again). Every field is
    read-only: hiding goes through ``review_set_hidden``, which recomputes the provider's rating in the same
    transaction and writes an audit entry."""

    list_display = ("created_at", "provider", "client", "rating", "short_body", "has_reply", "is_hidden")
    list_filter = ("is_hidden", "rating")
    search_fields = ("booking__reference", "provider__display_name", "client__email", "body")
    list_select_related = ("provider", "client")
    date_hierarchy = "created_at"
    actions = ["hide", "unhide"]

    @admin.display(description="Review")
    def short_body(self, review: Review) -> str:
        return review.body if len(review.body) <= 80 else review.body[:79] + "…"

    @admin.display(description="Replied", boolean=True)
    def has_reply(self, review: Review) -> bool:
        return bool(review.reply)

    def _set_hidden(self, request: HttpRequest, queryset: QuerySet[Review], *, is_hidden: bool) -> None:
        changed = 0
        for review in queryset.order_by("pk"):
            if review.is_hidden != is_hidden:
                review_set_hidden(review_id=review.pk, is_hidden=is_hidden, actor=request.user)  # type: ignore[arg-type]
                changed += 1
        verb = "hidden" if is_hidden else "shown again"
        self.message_user(request, f"{changed} review{'s' if changed != 1 else ''} {verb}.")

    @admin.action(description="Hide the selected reviews (off the profile and the provider's average)")
    def hide(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        self._set_hidden(request, queryset, is_hidden=True)

    @admin.action(description="Show the selected hidden reviews again")
    def unhide(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        self._set_hidden(request, queryset, is_hidden=False)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Actions need change permission on the changelist; every field stays read-only (below).
        return request.user.is_staff

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
