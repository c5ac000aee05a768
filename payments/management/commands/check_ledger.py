"""`manage.py check_ledger`: prove the money adds up, booking by booking, and agrees with Stripe."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.ledger import ledger_check
from payments.tasks import ledger_report_alert


class Command(BaseCommand):
    help = (
        "Check every booking with money: our rows add up (charged = refunded + dispute losses + paid to the "
        "provider + held for them + platform share) and agree with Stripe's refunds, charges and transfers. "
        "Lists each mismatch with the booking reference and both sides' figures, alerts admins, and exits "
        "non-zero when there is any. The daily beat job runs the same check."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-stripe", action="store_true", help="Check our own rows only (no calls to Stripe)."
        )

    def handle(self, *args, **options) -> None:
        report = ledger_check(
            with_stripe=not options["no_stripe"],
            on_progress=lambda done: self.stdout.write(f"  ...{done} bookings checked"),
        )
        for ledger in report.mismatches:
            self.stdout.write(f"{ledger.reference}: {ledger.figures()}")
            for problem in ledger.problems:
                self.stdout.write(f"    - {problem}")
        if report.awaiting_events:
            self.stdout.write(
                f"{len(report.awaiting_events)} booking(s) not compared with Stripe yet: a Stripe event "
                f"about them is still being processed ({', '.join(report.awaiting_events[:20])}). The next "
                "run compares them."
            )
        if report.provider_debt:
            self.stdout.write(f"Providers owe {report.provider_debt} (refused reversals not yet netted).")
        if report.mismatches:
            ledger_report_alert(report)
            raise CommandError(
                f"{len(report.mismatches)} of {report.checked} bookings do not add up (listed above)."
            )
        self.stdout.write(self.style.SUCCESS(f"All {report.checked} bookings with money add up."))
