from django.core.management.base import BaseCommand

from notifications.models import Notification
from notifications.services import notification_send, notifications_pending, notifications_retry_failed


class Command(BaseCommand):
    help = (
        "Send every email still pending, now, in this process (what the beat sweeper re-drives through "
        "workers). --include-failed first gives messages that used up their attempts a fresh set."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--include-failed",
            action="store_true",
            help="Also retry messages marked failed (after fixing the email setup).",
        )

    def handle(self, *args, include_failed: bool = False, **options) -> None:
        if include_failed:
            self.stdout.write(f"{notifications_retry_failed()} failed message(s) moved back to pending.")
        ids = notifications_pending()
        # Run in this process rather than enqueueing, so an operator sees each outcome (and it works with the
        # broker down).
        for index, pk in enumerate(ids, start=1):
            notification_send(notification_id=pk)
            row = Notification.objects.get(pk=pk)
            error = (
                f" ({row.last_error})" if row.status != Notification.Status.SENT and row.last_error else ""
            )
            self.stdout.write(f"[{index}/{len(ids)}] email {pk} to {row.to_email}: {row.status}{error}")
        self.stdout.write(f"Done: {len(ids)} email{'s' if len(ids) != 1 else ''} looked at.")
