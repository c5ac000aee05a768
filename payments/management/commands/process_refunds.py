from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from payments.models import Refund
from payments.services import refund_execute, refund_sync


class Command(BaseCommand):
    help = (
        "Send due refunds to Stripe and re-read those Stripe still has pending (what the beat sweeper does)."
    )

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        rows = list(
            Refund.objects.filter(
                Q(status__in=[Refund.Status.REQUESTED, Refund.Status.RETRYING], next_attempt_at__lte=now)
                | Q(status=Refund.Status.PROCESSING)
            ).order_by("pk")
        )
        # Run in this process rather than enqueueing, so an operator sees each outcome.
        for index, refund in enumerate(rows, start=1):
            if refund.status == Refund.Status.PROCESSING and refund.stripe_refund_id:
                refund_sync(stripe_refund_id=refund.stripe_refund_id)
            else:
                refund_execute(refund_id=refund.pk, now=now)
            refund.refresh_from_db()
            self.stdout.write(f"[{index}/{len(rows)}] refund {refund.pk}: {refund.status}")
        self.stdout.write(f"Done: {len(rows)} refund{'s' if len(rows) != 1 else ''} looked at.")
