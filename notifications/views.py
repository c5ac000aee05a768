"""The signed unsubscribe link, and the staff outbox pages (recent messages as their recipients see them)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from notifications.models import Notification
from notifications.services import REMINDER, TIP, is_wanted, preference_turn_off, unsubscribe_token_read

_CATEGORY_WORDS = {REMINDER: "session reminders", TIP: "tips"}


def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Works without logging in: the signed token says who and what. A GET only asks (mail scanners open
    links), the button POSTs (with CSRF, like every form here) and comes back to the GET, which then says
    it is done."""
    found = unsubscribe_token_read(token)
    if found is None:
        return render(request, "notifications/unsubscribe.html", {"is_broken": True}, status=400)
    user, category = found
    if request.method == "POST":
        preference_turn_off(user=user, category=category)
        return redirect("notifications:unsubscribe", token=token)
    return render(
        request,
        "notifications/unsubscribe.html",
        {"email": user.email, "what": _CATEGORY_WORDS[category], "is_done": not is_wanted(user, category)},
    )


def _staff_only(request: HttpRequest) -> None:
    # Logged-in non-staff get a 404: the page's existence is none of their business.
    if not request.user.is_staff:
        raise Http404


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    status = request.GET.get("status", "")
    rows = Notification.objects.all()
    if status in Notification.Status.values:
        rows = rows.filter(status=status)
    elif status:
        messages.error(request, f"There is no status called “{status}”: showing every message.")
        status = ""
    return render(
        request,
        "notifications/outbox.html",
        {"notifications": rows[:200], "status": status, "statuses": Notification.Status.choices},
    )


@login_required
def outbox_message(request: HttpRequest, notification_id: int) -> HttpResponse:
    _staff_only(request)
    notification = get_object_or_404(Notification, pk=notification_id)
    return render(request, "notifications/outbox_message.html", {"notification": notification})


@login_required
def outbox_attachment(request: HttpRequest, notification_id: int, index: int) -> HttpResponse:
    _staff_only(request)
    notification = get_object_or_404(Notification, pk=notification_id)
    if index >= len(notification.attachments):
        raise Http404
    attachment = notification.attachments[index]
    response = HttpResponse(attachment["content"], content_type=attachment["content_type"])
    response["Content-Disposition"] = f'attachment; filename="{attachment["filename"]}"'
    return response
