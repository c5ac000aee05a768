"""The staff outbox pages and the Notification admin: who may see them, and what they show."""

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from notifications.models import Notification
from notifications.services import notification_queue

pytestmark = pytest.mark.django_db

INVITE = {
    "filename": "invite.ics",
    "content_type": "text/calendar; method=REQUEST; charset=UTF-8",
    "content": "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
}


@pytest.fixture
def message(client_user) -> Notification:
    with transaction.atomic():
        return notification_queue(
            key="attack-1",
            recipient=client_user,
            template="notifications/login_attack.txt",
            context={"failures": 21, "client_ip": "203.0.113.9"},
            attachments=[INVITE],
        )


def _pages(message: Notification) -> list[str]:
    return [
        reverse("notifications:outbox"),
        reverse("notifications:outbox_message", args=[message.pk]),
        reverse("notifications:outbox_attachment", args=[message.pk, 0]),
    ]


def test_anonymous_people_are_sent_to_log_in(anonymous, message):
    for url in _pages(message):
        response = anonymous.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["as_client", "as_provider"])
def test_clients_and_providers_never_see_the_outbox(request, persona, message):
    browser = request.getfixturevalue(persona)
    for url in _pages(message):
        assert browser.get(url).status_code == 404


def test_staff_see_recent_messages_with_their_status(as_staff, message):
    page = as_staff.get(reverse("notifications:outbox")).content.decode()

    assert "Someone is trying to log in to your account" in page
    assert "client@example.com" in page
    assert "Pending" in page
    assert "1 attachment" in page


def test_the_status_filter_refuses_a_made_up_status_with_a_message(as_staff, message):
    page = as_staff.get(reverse("notifications:outbox"), {"status": "lost"}).content.decode()

    assert "There is no status called" in page
    assert "client@example.com" in page
    sent_only = as_staff.get(reverse("notifications:outbox"), {"status": "sent"}).content.decode()
    assert "client@example.com" not in sent_only


def test_a_message_is_shown_as_html_and_text_with_its_attachments(as_staff, message):
    page = as_staff.get(reverse("notifications:outbox_message", args=[message.pk])).content.decode()

    assert "203.0.113.9" in page  # the text part
    assert '<iframe class="outbox-html"' in page
    assert "sandbox" in page
    assert "srcdoc=" in page
    assert "Sessions Marketplace" in page
    assert "invite.ics" in page


def test_an_attachment_downloads_as_sent(as_staff, message):
    response = as_staff.get(reverse("notifications:outbox_attachment", args=[message.pk, 0]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; method=REQUEST; charset=UTF-8"
    assert response.content.decode() == INVITE["content"]
    assert as_staff.get(reverse("notifications:outbox_attachment", args=[message.pk, 1])).status_code == 404


def test_the_admin_lists_status_attempts_and_error(as_staff, message):
    Notification.objects.filter(pk=message.pk).update(
        status=Notification.Status.FAILED, attempts=1, last_error="Refused: Invalid `to` field."
    )

    page = as_staff.get(reverse("admin:notifications_notification_changelist")).content.decode()

    assert "Failed" in page
    assert "Refused: Invalid `to` field." in page


def test_the_admin_can_send_a_failed_message_again(as_staff, message, django_capture_on_commit_callbacks):
    Notification.objects.filter(pk=message.pk).update(status=Notification.Status.FAILED, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = as_staff.post(
            reverse("admin:notifications_notification_changelist"),
            {"action": "resend", "_selected_action": [message.pk]},
            follow=True,
        )

    message.refresh_from_db()
    assert "1 message(s) queued to send again." in response.content.decode()
    assert (message.status, message.attempts) == (Notification.Status.SENT, 1)
    assert [m.to for m in mail.outbox] == [["client@example.com"]]


def test_the_admin_leaves_a_sent_message_alone(as_staff, message):
    Notification.objects.filter(pk=message.pk).update(status=Notification.Status.SENT, attempts=1)

    response = as_staff.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "resend", "_selected_action": [message.pk]},
        follow=True,
    )

    assert "already sent or still pending" in response.content.decode()
    assert mail.outbox == []
