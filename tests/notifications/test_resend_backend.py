"""The Resend email backend, against a local HTTP server that records what Resend would receive."""

import base64
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import icalendar
import pytest
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone

from notifications.backends import EmailRejected
from notifications.models import Notification
from notifications.services import notification_queue, notification_send, notifications_pending
from payments.namespace import stripe_namespace


class _FakeResend(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200
    error_name = "validation_error"
    error_message = "bad from"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(
            {
                "path": self.path,
                "auth": self.headers["Authorization"],
                "idempotency_key": self.headers.get("Idempotency-Key"),
                "json": json.loads(body),
            }
        )
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        payload = (
            {"id": "email_123"}
            if self.status == 200
            else {"name": type(self).error_name, "message": type(self).error_message}
        )
        self.wfile.write(json.dumps(payload).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def resend_server(settings):
    _FakeResend.received = []
    _FakeResend.status = 200
    _FakeResend.error_name = "validation_error"
    _FakeResend.error_message = "bad from"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeResend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.RESEND_API_KEY = "re_test_key"
    settings.RESEND_API_URL = f"http://127.0.0.1:{server.server_port}"
    yield _FakeResend
    server.shutdown()


def test_sends_text_and_html_through_resend(resend_server):
    message = EmailMultiAlternatives(
        subject="Your booking",
        body="Plain text",
        from_email="Sessions <hello@example.com>",
        to=["Ann <ann@example.com>"],
        reply_to=["help@example.com"],
    )
    message.attach_alternative("<p>HTML</p>", "text/html")

    sent = get_connection("notifications.backends.ResendEmailBackend").send_messages([message])

    assert sent == 1
    [request] = resend_server.received
    assert request["path"] == "/emails"
    assert request["auth"] == "Bearer re_test_key"
    assert request["json"] == {
        "from": "Sessions <hello@example.com>",
        "to": ["Ann <ann@example.com>"],
        "subject": "Your booking",
        "text": "Plain text",
        "html": "<p>HTML</p>",
        "reply_to": ["help@example.com"],
    }


def test_a_refused_message_raises_unless_failing_silently(resend_server):
    resend_server.status = 422
    message = EmailMultiAlternatives(subject="x", body="y", from_email="bad", to=["ann@example.com"])

    with pytest.raises(EmailRejected, match="bad from"):
        get_connection("notifications.backends.ResendEmailBackend").send_messages([message])
    assert (
        get_connection("notifications.backends.ResendEmailBackend", fail_silently=True).send_messages(
            [message]
        )
        == 0
    )


def test_without_an_api_key_it_refuses_to_pretend(settings):
    settings.RESEND_API_KEY = ""
    message = EmailMultiAlternatives(subject="x", body="y", to=["ann@example.com"])

    with pytest.raises(ValueError, match="RESEND_API_KEY"):
        get_connection("notifications.backends.ResendEmailBackend").send_messages([message])


# --- The outbox through Resend ------------------------------------------------------------------------------

INVITE = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
INVITE += "UID:booking-1@example.com\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270102T090000Z\r\n"
INVITE += "DTEND:20270102T100000Z\r\nSUMMARY:Lesson\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def through_resend(settings, resend_server):
    settings.EMAIL_BACKEND = "notifications.backends.ResendEmailBackend"
    return resend_server


def _queued(user, key="invite-1") -> Notification:
    with transaction.atomic():
        return notification_queue(
            key=key,
            recipient=user,
            template="notifications/login_attack.txt",
            context={"failures": 21, "action_url": "http://localhost:8000/accounts/profile/"},
            attachments=[
                {
                    "filename": "invite.ics",
                    "content_type": "text/calendar; method=REQUEST; charset=UTF-8",
                    "content": INVITE,
                }
            ],
        )


@pytest.mark.django_db
def test_the_outbox_sends_its_key_as_resends_idempotency_key_with_the_attachment(through_resend, client_user):
    notification = _queued(client_user)

    notification_send(notification_id=notification.pk)

    [request] = through_resend.received
    assert request["idempotency_key"] == f"{stripe_namespace()}-invite-1"
    body = request["json"]
    assert body["to"] == ["client@example.com"]
    assert body["subject"] == notification.subject
    assert body["text"] == notification.body_text
    assert body["html"] == notification.body_html
    [attachment] = body["attachments"]
    assert attachment["filename"] == "invite.ics"
    assert attachment["content_type"] == "text/calendar; method=REQUEST"
    event = icalendar.Calendar.from_ical(base64.b64decode(attachment["content"])).walk("VEVENT")[0]
    assert str(event["UID"]) == "booking-1@example.com"
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.SENT, 1)


@pytest.mark.django_db
def test_a_refused_address_fails_for_good_at_once_and_says_why(through_resend, client_user):
    through_resend.status = 422
    through_resend.error_message = "Invalid `to` field."
    notification = _queued(client_user)

    notification_send(notification_id=notification.pk)
    notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert len(through_resend.received) == 1
    assert notification.status == Notification.Status.FAILED
    assert notification.attempts == 1
    assert notification.last_error == "Refused: Invalid `to` field."


@pytest.mark.django_db
def test_a_temporary_failure_backs_off_then_sends_with_the_same_key(through_resend, client_user):
    through_resend.status = 500
    through_resend.error_name = "internal_server_error"
    through_resend.error_message = "try later"
    notification = _queued(client_user)
    now = timezone.now()

    notification_send(notification_id=notification.pk, now=now)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.last_error.startswith("Temporary:")
    assert notification.next_attempt_at == now + timedelta(minutes=1)
    assert notification.pk not in notifications_pending()  # the sweeper leaves it alone while it waits
    notification_send(notification_id=notification.pk, now=now + timedelta(seconds=30))
    assert len(through_resend.received) == 1

    through_resend.status = 200
    notification_send(notification_id=notification.pk, now=now + timedelta(minutes=2))

    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.SENT, 2)
    first, second = through_resend.received
    assert first["idempotency_key"] == second["idempotency_key"] == f"{stripe_namespace()}-invite-1"


@pytest.mark.django_db
def test_a_rate_limit_is_temporary(through_resend, client_user):
    through_resend.status = 429
    through_resend.error_name = "rate_limit_exceeded"
    notification = _queued(client_user)

    notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.next_attempt_at is not None
