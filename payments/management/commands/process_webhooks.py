from django.conf import settings
from django.core.management.base import BaseCommand

from payments.models import WebhookEvent
from payments.services import webhook_event_process


class Command(BaseCommand):
    help = (
        "Process stored Stripe events that are pending, or failed with attempts left, now, in this process "
        "(what the beat sweeper re-drives through workers)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--include-exhausted",
            action="store_true",
            help=f"Also events that failed WEBHOOK_MAX_ATTEMPTS ({settings.WEBHOOK_MAX_ATTEMPTS}) times.",
        )

    def handle(self, *args, include_exhausted: bool = False, **options) -> None:
        events = WebhookEvent.objects.filter(
            status__in=[WebhookEvent.Status.PENDING, WebhookEvent.Status.FAILED]
        )
        if not include_exhausted:
            events = events.filter(attempts__lt=settings.WEBHOOK_MAX_ATTEMPTS)
        rows = list(events.order_by("received_at", "pk"))
        # Run in this process rather than enqueueing, so an operator sees each outcome (and it works with the
        # broker down).
        for index, event in enumerate(rows, start=1):
            webhook_event_process(webhook_event_id=event.pk)
            event.refresh_from_db()
            error = f" ({event.last_error})" if event.status == WebhookEvent.Status.FAILED else ""
            self.stdout.write(
                f"[{index}/{len(rows)}] event {event.stripe_event_id} ({event.type}): {event.status}{error}"
            )
        self.stdout.write(f"Done: {len(rows)} event{'s' if len(rows) != 1 else ''} looked at.")
