from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("emails/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    # Staff only: every message as its recipient sees it, so the demo can be followed without a mail server.
    path("staff/outbox/", views.outbox, name="outbox"),
    path("staff/outbox/<int:notification_id>/", views.outbox_message, name="outbox_message"),
    path(
        "staff/outbox/<int:notification_id>/attachments/<int:index>/",
        views.outbox_attachment,
        name="outbox_attachment",
    ),
]
