"""The email outbox when things fail: a message queued while Redis is away is committed and sent later, by
the sweeper or by ``manage.py send_notifications``. Redis here is a private one the test stops."""

import json
import logging
from datetime import timedelta
from io import StringIO

import pytest
import redis
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notification_queue, notifications_resend_pending

pytestmark = pytest.mark.django_db


def _queue(user, key="hello-1") -> Notification:
    with transaction.atomic():
        return notification_queue(
            key=key, recipient=user, template="notifications/login_attack.txt", context={"failures": 21}
        )


def test_an_email_queued_while_the_broker_is_down_is_kept_for_later(
    client_user, app_on_private_redis, django_capture_on_commit_callbacks, caplog
):
    app_on_private_redis.stop()

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        notification = _queue(client_user)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert mail.outbox == []
    assert "could not enqueue notifications.tasks.notification_send_task" in caplog.text


def test_send_notifications_sends_every_pending_email_in_process(client_user, other_client_user):
    _queue(client_user, key="one")
    _queue(other_client_user, key="two")
    output = StringIO()

    call_command("send_notifications", stdout=output)

    assert set(Notification.objects.values_list("status", flat=True)) == {Notification.Status.SENT}
    assert sorted(message.to[0] for message in mail.outbox) == [
        "client@example.com",
        "other-client@example.com",
    ]
    assert "to client@example.com: sent" in output.getvalue()
    assert "Done: 2 emails looked at." in output.getvalue()


def test_send_notifications_retries_failed_emails_only_when_asked(client_user):
    notification = _queue(client_user)
    Notification.objects.filter(pk=notification.pk).update(status=Notification.Status.FAILED, attempts=5)

    call_command("send_notifications", stdout=StringIO())
    assert mail.outbox == []

    call_command("send_notifications", "--include-failed", stdout=StringIO())
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.SENT, 1)


def test_the_sweepers_nudges_expire_so_they_never_pile_up_while_workers_are_away(
    client_user, app_on_private_redis
):
    notification = _queue(client_user)
    Notification.objects.filter(pk=notification.pk).update(created_at=timezone.now() - timedelta(hours=1))

    assert notifications_resend_pending() == 1

    queued = redis.Redis.from_url(app_on_private_redis.url()).lrange("celery", 0, -1)
    message = json.loads(queued[0])
    assert message["headers"]["task"] == "notifications.tasks.notification_send_task"
    assert message["headers"]["expires"] is not None
