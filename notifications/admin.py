from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from notifications.models import Notification
from notifications.services import notification_resend


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to_email", "subject", "status", "attempts", "short_error", "sent_at"]
    list_filter = ["status"]
    search_fields = ["key", "to_email", "subject"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    # The outbox is a record of what was said: nobody edits a message after it was queued.
    readonly_fields = [
        "key",
        "to_email",
        "subject",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "preview",
        "attachment_names",
    ]
    exclude = ["body_text", "body_html", "attachments"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False

    @admin.display(description="error")
    def short_error(self, obj: Notification) -> str:
        return obj.last_error[:80]

    @admin.display(description="as the recipient sees it")
    def preview(self, obj: Notification) -> str:
        return format_html(
            '<a href="{}">Open in the outbox</a>', reverse("notifications:outbox_message", args=[obj.pk])
        )

    @admin.display(description="attachments")
    def attachment_names(self, obj: Notification) -> str:
        return ", ".join(a["filename"] for a in obj.attachments) or "none"

    @admin.action(description="Send again (failed or skipped messages)")
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        queued = sum(notification_resend(notification_id=pk) for pk in queryset.values_list("pk", flat=True))
        skipped = queryset.count() - queued
        self.message_user(request, f"{queued} message(s) queued to send again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} already sent or still pending: left as they are.", messages.WARNING
            )
