"""`python manage.py stripe_emulator`: run the local Stripe emulator (see docs/stripe.md).

The emulator itself is the top-level `stripe_emulator` package (no Django in it); this command only fills
its options' defaults from settings (`SITE_URL`, `STRIPE_WEBHOOK_SECRET`, `STRIPE_CONNECT_WEBHOOK_SECRET`,
`STRIPE_EMULATOR_PORT`); every option overrides its setting. `python -m stripe_emulator` takes the same
options. `--state-file PATH` keeps the emulated account in a JSON file across restarts (default: memory).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from stripe_emulator.cli import CliError, Defaults, add_arguments, banner, build, serve


class Command(BaseCommand):
    help = "Run the local Stripe emulator: Stripe's API subset, hosted checkout/onboarding pages, webhooks."

    def add_arguments(self, parser: CommandParser) -> None:
        site_url = settings.SITE_URL.rstrip("/")
        add_arguments(
            parser,
            Defaults(
                port=getattr(settings, "STRIPE_EMULATOR_PORT", 12111),
                webhook_url=f"{site_url}/webhooks/stripe/",
                connect_webhook_url=f"{site_url}/webhooks/stripe/connect/",
                webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
                connect_webhook_secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET,
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            emulator = build(options)
        except CliError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(banner(emulator, options))
        serve(emulator, self.stdout.write)
