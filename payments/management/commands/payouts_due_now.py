from django.core.management.base import BaseCommand, CommandError

from payments.payouts import payouts_make_due_now


class Command(BaseCommand):
    help = (
        "Development only: make every waiting payout due now, to watch one go out without waiting the "
        "72-hour hold. Then run release_payouts (or wait for beat)."
    )

    def handle(self, *args, **options) -> None:
        try:
            count = payouts_make_due_now()
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        plural = "s" if count != 1 else ""
        self.stdout.write(f"{count} payout{plural} now due. Run: manage.py release_payouts")
