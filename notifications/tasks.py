from celery import shared_task

from notifications.services import notification_send, notifications_resend_pending


@shared_task
def notification_send_task(*, notification_id: int) -> None:
    notification_send(notification_id=notification_id)


@shared_task
def notifications_resend_pending_task() -> None:
    notifications_resend_pending()


@shared_task
def send_reminders_task() -> None:
    from notifications.reminders import reminders_send

    reminders_send()
