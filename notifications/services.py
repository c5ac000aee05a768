"""Queue and send email. Messages are rendered when queued (``rendering.message_render``), in the recipient's
own time zone, so each says what the rows said at that moment."""

import logging
from datetime import datetime, timedelta
from email.mime.base import MIMEBase
from email.mime.text import MIMEText
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from marketplace.enqueue import enqueue_after_commit
from marketplace.models import User
from notifications.backends import EmailRejected
from notifications.models import Notification
from notifications.rendering import message_render

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RESEND_EXPIRES_SECONDS = 60


# What a message is, for the recipient's preferences: essentials (receipts, anything about their booking or
# their money) always go; reminders and tips can be turned off on the profile page.
ESSENTIAL = "essential"
REMINDER = "reminder"
TIP = "tip"
_PREFERENCE_FIELD = {REMINDER: "has_reminders_on", TIP: "has_tips_on"}


def is_wanted(user: User, category: str) -> bool:
    """Whether ``user`` receives messages of ``category`` (essentials always)."""
    return getattr(user, _PREFERENCE_FIELD[category]) if category in _PREFERENCE_FIELD else True


def notification_queue(
    *,
    key: str,
    recipient: User,
    template: str,
    context: dict[str, Any],
    attachments: list[dict[str, str]] | None = None,
    category: str = ESSENTIAL,
    only_while_booking: tuple[Any, str] | None = None,
) -> Notification:
    """Render ``template`` (``notifications/<name>.txt``, first line the subject) for ``recipient`` and queue
    it. Idempotent per ``key``. Call inside the transaction that caused the message, so the words are held
    to the rows as they are when it is queued. A reminder or tip for someone who turned that kind off is
    recorded as skipped (the key stays taken) and never sent. ``only_while_booking`` = (booking, status):
    when the message goes out the booking must still have that status, or it is skipped (a reminder of a
    session cancelled since)."""
    existing = Notification.objects.filter(key=key).first()
    if existing:
        return existing
    fields = _notification_fields(
        recipient=recipient,
        template=template,
        context=context,
        attachments=attachments,
        category=category,
        only_while_booking=only_while_booking,
    )
    notification, created = Notification.objects.get_or_create(key=key, defaults=fields)
    if created:
        _send_when_committed(notification)
    return notification


def notification_queue_many(messages: list[dict[str, Any]]) -> list[Notification]:
    """``notification_queue`` for many messages at once (each a dict of its keyword arguments), in a constant
    number of statements: one look for the keys already taken, one insert of the rest. Same semantics: a
    key already queued keeps its message; a key taken meanwhile by someone else (the insert hits the unique
    key) sends every message through ``notification_queue`` one by one instead. Returns the notifications
    in the order of ``messages``."""
    if not messages:
        return []
    found = {n.key: n for n in Notification.objects.filter(key__in=[m["key"] for m in messages])}
    new: dict[str, Notification] = {}
    for message in messages:
        key = message["key"]
        if key in found or key in new:
            continue
        fields = _notification_fields(
            recipient=message["recipient"],
            template=message["template"],
            context=message["context"],
            attachments=message.get("attachments"),
            category=message.get("category", ESSENTIAL),
            only_while_booking=message.get("only_while_booking"),
        )
        new[key] = Notification(key=key, **fields)
    if new:
        try:
            with transaction.atomic():
                Notification.objects.bulk_create(new.values())
        except IntegrityError:
            return [notification_queue(**message) for message in messages]
        for notification in new.values():
            _send_when_committed(notification)
    return [found.get(m["key"]) or new[m["key"]] for m in messages]


def _notification_fields(
    *,
    recipient: User,
    template: str,
    context: dict[str, Any],
    attachments: list[dict[str, str]] | None,
    category: str,
    only_while_booking: tuple[Any, str] | None,
) -> dict[str, Any]:
    """The row ``notification_queue`` writes for a new key, rendered now."""
    wants_it = is_wanted(recipient, category)
    headers: dict[str, str] = {}
    if category in _PREFERENCE_FIELD:
        link = unsubscribe_url(user=recipient, category=category)
        context = {**context, "unsubscribe_url": link}
        # Mail clients show their own "unsubscribe" for this; it opens the same confirming page.
        headers["List-Unsubscribe"] = f"<{link}>"
    message = message_render(template=template, recipient=recipient, context=context, attachments=attachments)
    return {
        "to_email": recipient.email,
        "subject": message.subject[:255],
        "body_text": message.text,
        "body_html": message.html,
        "attachments": message.attachments,
        "headers": headers,
        "booking": only_while_booking[0] if only_while_booking else None,
        "booking_status_required": only_while_booking[1] if only_while_booking else "",
        "status": Notification.Status.PENDING if wants_it else Notification.Status.SKIPPED,
        "last_error": "" if wants_it else f"{recipient.email} turned {category} emails off",
    }


def _send_when_committed(notification: Notification) -> None:
    if notification.status == Notification.Status.PENDING:
        from notifications.tasks import notification_send_task

        enqueue_after_commit(notification_send_task, notification_id=notification.pk)


# --- Unsubscribing without logging in ---------------------------------------------------------------------

_UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def unsubscribe_url(*, user: User, category: str) -> str:
    """A link that turns ``category`` emails off for ``user`` without logging in. Signed with SECRET_KEY, so
    nobody can make one for someone else; it never expires, as a link in an old email must still work."""
    token = signing.dumps({"user": user.pk, "category": category}, salt=_UNSUBSCRIBE_SALT)
    return settings.SITE_URL + reverse("notifications:unsubscribe", args=[token])


def unsubscribe_token_read(token: str) -> tuple[User, str] | None:
    """The user and category a token was made for, or None when it was tampered with."""
    try:
        data = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    category = data.get("category") if isinstance(data, dict) else None
    user = User.objects.filter(pk=data.get("user")).first() if category in _PREFERENCE_FIELD else None
    return (user, category) if user is not None and category else None


def preference_turn_off(*, user: User, category: str) -> None:
    """Stop ``category`` emails for ``user``. Idempotent."""
    field_name = _PREFERENCE_FIELD[category]
    setattr(user, field_name, False)
    user.save(update_fields=[field_name])


# --- Sending ------------------------------------------------------------------------------------------------


def _send_backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each temporary failure, at most an hour."""
    return min(timedelta(minutes=2 ** (attempts - 1)), timedelta(hours=1))


def _mime_part(attachment: dict[str, str]) -> MIMEBase:
    """A stored text attachment as a MIME part. Built by hand because a calendar invite's type carries a
    parameter (``text/calendar; method=REQUEST``) that mail clients need and ``EmailMessage.attach``
    would mangle."""
    mimetype, *params = (piece.strip() for piece in attachment["content_type"].split(";"))
    subtype = mimetype.split("/", 1)[1]  # text only: invites and receipts
    part: MIMEBase = MIMEText(attachment["content"], subtype, "utf-8")
    for param in params:
        name, _, value = param.partition("=")
        if name.lower() != "charset":
            part.set_param(name, value)
    part.add_header("Content-Disposition", "attachment", filename=attachment["filename"])
    return part


def _email_for(notification: Notification) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        notification.subject,
        notification.body_text,
        None,
        [notification.to_email],
        headers=notification.headers,
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    for attachment in notification.attachments:
        message.attach(_mime_part(attachment))
    # Read by the Resend backend (and ignored by the others): Resend then sends one email per key even if
    # this worker dies after Resend accepted the message but before the row says so. The namespace keeps a
    # reset or second database's "booking-confirmed-client-1" from being taken for this one's.
    from payments.namespace import stripe_namespace  # the installation's namespace; payments owns it

    message.idempotency_key = f"{stripe_namespace()}-{notification.key}"  # type: ignore[attr-defined]
    return message


def notification_send(*, notification_id: int, now: datetime | None = None) -> None:
    """Send one queued message. Idempotent: a sent message is never sent again. A refused address (the
    backend raises ``EmailRejected``) fails for good at once; anything else is retried with backoff, up to
    ``MAX_ATTEMPTS``."""
    now = now or timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True).filter(pk=notification_id).first()
        )
        if notification is None or notification.status != Notification.Status.PENDING:
            return
        if notification.next_attempt_at and notification.next_attempt_at > now:
            return  # backing off after a temporary failure
        if notification.booking_status_required:
            status = notification.booking.status if notification.booking else "deleted"
            if status != notification.booking_status_required:
                notification.status = Notification.Status.SKIPPED
                notification.last_error = f"Not sent: the booking is now {status}."
                notification.save(update_fields=["status", "last_error"])
                return
        notification.attempts += 1
        try:
            _email_for(notification).send()
        except Exception as error:
            permanent = isinstance(error, EmailRejected)
            logger.warning(
                "email %s failed (attempt %s, %s): %s",
                notification.pk,
                notification.attempts,
                "permanent" if permanent else "temporary",
                error,
            )
            notification.last_error = f"{'Refused' if permanent else 'Temporary'}: {error}"[:2000]
            if permanent or notification.attempts >= MAX_ATTEMPTS:
                notification.status = Notification.Status.FAILED
                notification.next_attempt_at = None
            else:
                notification.next_attempt_at = now + _send_backoff(notification.attempts)
            notification.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return
        notification.status = Notification.Status.SENT
        notification.sent_at = timezone.now()
        notification.next_attempt_at = None
        notification.save(update_fields=["attempts", "status", "sent_at", "next_attempt_at"])


def notification_resend(*, notification_id: int) -> bool:
    """Admin action: send a failed or skipped message again with a fresh set of attempts (the address was
    fixed, the recipient asked). A sent message is sent again only by queuing a new one. Returns whether it
    was queued."""
    from notifications.tasks import notification_send_task

    with transaction.atomic():
        moved = Notification.objects.filter(
            pk=notification_id, status__in=[Notification.Status.FAILED, Notification.Status.SKIPPED]
        ).update(status=Notification.Status.PENDING, attempts=0, next_attempt_at=None, last_error="")
        if moved:
            enqueue_after_commit(notification_send_task, notification_id=notification_id)
    return bool(moved)


def notifications_pending(*, older_than_seconds: int = 0) -> list[int]:
    """Ids of messages still waiting to go out, oldest first (at most 500)."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    pending = Notification.objects.filter(
        Q(next_attempt_at__isnull=True, created_at__lte=cutoff) | Q(next_attempt_at__lte=now),
        status=Notification.Status.PENDING,
    )
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
        status=Notification.Status.PENDING, attempts=0, next_attempt_at=None
    )


def admin_alert(*, subject: str, body: str) -> None:
    """Tell the operators about something that needs a person (a refund that keeps failing, say)."""
    from django.conf import settings
    from django.core.mail import mail_admins

    logger.error("admin alert: %s", subject)
    if settings.ADMIN_ALERT_EMAILS:
        mail_admins(subject, body, fail_silently=True)
