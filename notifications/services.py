"""Queue and send email. Messages are rendered when queued, in the recipient's own time zone."""

import logging
import zoneinfo
from datetime import timedelta
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from marketplace.enqueue import enqueue_after_commit
from marketplace.models import User
from notifications.models import Notification

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RESEND_EXPIRES_SECONDS = 60


def notification_queue(*, key: str, recipient: User, template: str, context: dict[str, Any]) -> Notification:
    """Render ``template`` (``notifications/<name>.txt``, first line the subject) for ``recipient`` and queue
    it. Idempotent per ``key``. Call inside the transaction that caused the message."""
    existing = Notification.objects.filter(key=key).first()
    if existing:
        return existing
    with timezone.override(zoneinfo.ZoneInfo(recipient.timezone or "UTC")):
        rendered = render_to_string(
            template, {**context, "recipient": recipient, "recipient_timezone": recipient.timezone}
        )
    subject, _, body = rendered.strip().partition("\n")
    # Not there a moment ago: insert, and only if someone else inserted it since, take theirs (get_or_create
    # would look a second time first, a round trip per message for nothing).
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                key=key, to_email=recipient.email, subject=subject.strip(), body_text=body.strip() + "\n"
            )
    except IntegrityError:
        return Notification.objects.get(key=key)
    from notifications.tasks import notification_send_task

    enqueue_after_commit(notification_send_task, notification_id=notification.pk)
    return notification


def notification_send(*, notification_id: int) -> None:
    """Send one queued message. Idempotent: a sent message is never sent again."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True).filter(pk=notification_id).first()
        )
        if notification is None or notification.status != Notification.Status.PENDING:
            return
        notification.attempts += 1
        try:
            send_mail(notification.subject, notification.body_text, None, [notification.to_email])
        except Exception as error:
            logger.warning("email %s failed (attempt %s): %s", notification.pk, notification.attempts, error)
            notification.last_error = str(error)[:2000]
            if notification.attempts >= MAX_ATTEMPTS:
                notification.status = Notification.Status.FAILED
            notification.save(update_fields=["attempts", "last_error", "status"])
            return
        notification.status = Notification.Status.SENT
        notification.sent_at = timezone.now()
        notification.save(update_fields=["attempts", "status", "sent_at"])


def notifications_pending(*, older_than_seconds: int = 0) -> list[int]:
    """Ids of messages still waiting to go out, oldest first (at most 500)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = Notification.objects.filter(status=Notification.Status.PENDING, created_at__lte=cutoff)
    return list(pending.order_by("created_at").values_list("pk", flat=True)[:500])


def notifications_resend_pending(*, older_than_seconds: int = 60) -> int:
    """Re-enqueue messages still pending after a while (a lost Celery message, a Redis outage). Each nudge
    expires after a minute: while workers are away the sweeper runs every minute, and expired nudges are
    dropped instead of piling up behind each other."""
    from notifications.tasks import notification_send_task

    ids = notifications_pending(older_than_seconds=older_than_seconds)
    for pk in ids:
        notification_send_task.apply_async(kwargs={"notification_id": pk}, expires=RESEND_EXPIRES_SECONDS)
    return len(ids)


def notifications_retry_failed() -> int:
    """Give messages that used up their attempts a fresh set (an operator fixed the mail setup). Returns how
    many were moved back to pending."""
    return Notification.objects.filter(status=Notification.Status.FAILED).update(
        status=Notification.Status.PENDING, attempts=0
    )


def admin_alert(*, subject: str, body: str) -> None:
    """Tell the operators about something that needs a person (a refund that keeps failing, say)."""
    from django.conf import settings
    from django.core.mail import mail_admins

    logger.error("admin alert: %s", subject)
    if settings.ADMIN_ALERT_EMAILS:
        mail_admins(subject, body, fail_silently=True)
