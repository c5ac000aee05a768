from django.core.management.base import BaseCommand

from payments.payouts import ReleaseSummary, payouts_release


class Command(BaseCommand):
    help = (
        "Transfer every payout whose hold has passed (what the beat job does every 5 minutes); payouts that "
        "must wait are marked on hold with their reason. Safe to run any time, twice, or beside beat."
    )

    def handle(self, *args, **options) -> None:
        def progress(summary: ReleaseSummary) -> None:
            self.stdout.write(f"  ...{summary.sent} sent to transfer, {summary.waiting} waiting")

        summary = payouts_release(on_progress=progress)
        self.stdout.write(
            f"Done: {summary.sent} payout{'s' if summary.sent != 1 else ''} sent to transfer, "
            f"{summary.waiting} waiting (see their reason in admin)."
        )
