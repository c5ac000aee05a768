"""`python manage.py stripe_emulator`: run the local Stripe emulator (see docs/stripe.md).

Reads the webhook URLs and signing secrets from settings (`SITE_URL`, `STRIPE_WEBHOOK_SECRET`,
`STRIPE_CONNECT_WEBHOOK_SECRET`, `STRIPE_EMULATOR_PORT`); every option overrides its setting.
`--state-file PATH` keeps the emulated account in a JSON file across restarts (default: memory only).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.emulator import StateFileError, StripeEmulator, WebhookSettings
from payments.emulator.faults import FaultSpecError, parse_fault


class Command(BaseCommand):
    help = "Run the local Stripe emulator: Stripe's API subset, hosted checkout/onboarding pages, webhooks."

    def add_arguments(self, parser: CommandParser) -> None:
        site_url = settings.SITE_URL.rstrip("/")
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
        parser.add_argument(
            "--port",
            type=int,
            default=getattr(settings, "STRIPE_EMULATOR_PORT", 12111),
            help="Port (default 12111).",
        )
        parser.add_argument(
            "--public-url",
            default=None,
            help="Origin the browser uses to reach the emulator's pages (default http://HOST:PORT).",
        )
        parser.add_argument(
            "--webhook-url", default=f"{site_url}/webhooks/stripe/", help="Platform events go here."
        )
        parser.add_argument(
            "--connect-webhook-url",
            default=f"{site_url}/webhooks/stripe/connect/",
            help="Connect events go here.",
        )
        parser.add_argument("--webhook-secret", default=settings.STRIPE_WEBHOOK_SECRET)
        parser.add_argument("--connect-webhook-secret", default=settings.STRIPE_CONNECT_WEBHOOK_SECRET)
        parser.add_argument("--no-webhooks", action="store_true", help="Record events but deliver none.")
        parser.add_argument(
            "--max-attempts", type=int, default=5, help="Delivery attempts per event (default 5)."
        )
        parser.add_argument(
            "--backoff", type=float, default=2.0, help="First retry delay in seconds, doubling (default 2)."
        )
        parser.add_argument("--duplicates", action="store_true", help="Deliver every event twice.")
        parser.add_argument(
            "--out-of-order", action="store_true", help="Deliver events raised together newest first."
        )
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="SPEC",
            help='Inject faults, e.g. "POST /v1/transfers=500:0.5" or "POST /v1/refunds=429x2" (repeatable).',
        )
        parser.add_argument(
            "--fault-delay",
            type=float,
            default=30.0,
            help="Seconds a `timeout` fault holds the answer (default 30).",
        )
        parser.add_argument(
            "--async-delay",
            type=float,
            default=10.0,
            help='Seconds until a "Pay later" payment settles by itself; 0 = only when told (default 10).',
        )

        parser.add_argument(
            "--state-file",
            default=None,
            metavar="PATH",
            help="Keep sessions, payments, refunds, accounts, balances, idempotency keys and events in this "
            "JSON file: loaded at start if it exists, saved after every change (default: memory only, "
            "forgotten on exit).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for spec in options["fault"]:
            try:
                parse_fault(spec)
            except FaultSpecError as exc:
                raise CommandError(str(exc)) from exc
        webhooks = WebhookSettings(
            url=options["webhook_url"] or None,
            connect_url=options["connect_webhook_url"] or None,
            secret=options["webhook_secret"],
            connect_secret=options["connect_webhook_secret"],
            max_attempts=options["max_attempts"],
            backoff_seconds=options["backoff"],
            duplicates=options["duplicates"],
            out_of_order=options["out_of_order"],
            enabled=not options["no_webhooks"],
        )
        try:
            emulator = StripeEmulator(
                host=options["host"],
                port=options["port"],
                public_url=options["public_url"],
                webhooks=webhooks,
                faults=options["fault"],
                fault_delay=options["fault_delay"],
                state_file=options["state_file"],
            )
        except StateFileError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        emulator.state.async_delay_seconds = options["async_delay"] or None
        # Failed deliveries are expected while the app's webhook views are missing: keep them at DEBUG.
        logging.getLogger("payments.emulator").setLevel(logging.INFO)
        self.stdout.write(
            f"Stripe emulator on {emulator.url} (console: {emulator.url}/_emulator/)\n"
            f"  webhooks -> {webhooks.url} and {webhooks.connect_url}"
            + (" (disabled)" if options["no_webhooks"] else "")
            + (f"\n  state kept in {options['state_file']}" if options["state_file"] else "")
        )
        try:
            emulator.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stripe emulator stopped.")
