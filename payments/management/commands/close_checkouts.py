from django.core.management.base import BaseCommand

from payments.services import checkouts_sweep


class Command(BaseCommand):
    help = (
        "Close what checkout left behind: attempts that never reached Stripe, open sessions of bookings "
        "that no longer hold their slot, and sessions whose webhook was lost (what the beat job does). "
        "Safe any time."
    )

    def handle(self, *args, **options) -> None:
        count = checkouts_sweep()
        self.stdout.write(f"Closed or re-read {count} checkout attempt{'s' if count != 1 else ''}.")
