"""The emulator's command line, shared by `python -m stripe_emulator` and `python manage.py stripe_emulator`.

Both take the same options; they differ only in their defaults: the Django command reads the webhook URLs,
secrets and port from the app's settings, `python -m stripe_emulator` uses the development values below.
`add_arguments` declares the options on any `argparse` parser (Django's `CommandParser` is one), `build`
turns the parsed options into a `StripeEmulator` ready to serve, and `serve` runs it in the foreground.
Errors a person can fix (a bad fault spec, a port in use, an unreadable state file) raise `CliError` with a
message naming the problem; each front end reports it in its own way.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stripe_emulator.faults import FaultSpecError, parse_fault
from stripe_emulator.persistence import StateFileError
from stripe_emulator.server import StripeEmulator
from stripe_emulator.webhooks import WebhookSettings


class CliError(Exception):
    """Something in the options (or the machine) stops the emulator from starting."""


@dataclass(frozen=True)
class Defaults:
    port: int = 12111
    webhook_url: str = "http://localhost:8000/webhooks/stripe/"
    connect_webhook_url: str = "http://localhost:8000/webhooks/stripe/connect/"
    webhook_secret: str = "whsec_dev_platform"  # noqa: S105 - a development default, not a credential
    connect_webhook_secret: str = "whsec_dev_connect"  # noqa: S105


def add_arguments(parser: argparse.ArgumentParser, defaults: Defaults) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=defaults.port, help=f"Port (default {defaults.port}).")
    parser.add_argument(
        "--public-url",
        default=None,
        help="Origin the browser uses to reach the emulator's pages (default http://HOST:PORT).",
    )
    parser.add_argument("--webhook-url", default=defaults.webhook_url, help="Platform events go here.")
    parser.add_argument(
        "--connect-webhook-url", default=defaults.connect_webhook_url, help="Connect events go here."
    )
    parser.add_argument("--webhook-secret", default=defaults.webhook_secret)
    parser.add_argument("--connect-webhook-secret", default=defaults.connect_webhook_secret)
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
        help='Inject faults, e.g. "POST /v1/transfers=500:0.5", "POST /v1/refunds=429x2" or '
        '"POST /v1/refunds=crashx1" (repeatable; syntax in docs/stripe.md).',
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
        default=0.0,
        help='Seconds until a "Pay later" payment settles by itself; 0 = only when told, from the console '
        "or a control endpoint, as a real bank debit stays processing for days (default 0).",
    )
    parser.add_argument(
        "--state-file",
        default=None,
        metavar="PATH",
        help="Keep sessions, payments, refunds, accounts, balances, idempotency keys and events in this "
        "JSON file: loaded at start if it exists, saved after every change (default: memory only, "
        "forgotten on exit).",
    )


def build(options: dict[str, Any]) -> StripeEmulator:
    """A `StripeEmulator` bound to its port, with the state file loaded; raises `CliError`."""
    for spec in options["fault"]:
        try:
            parse_fault(spec)
        except FaultSpecError as exc:
            raise CliError(str(exc)) from exc
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
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
    emulator.state.async_delay_seconds = options["async_delay"] or None
    return emulator


def banner(emulator: StripeEmulator, options: dict[str, Any]) -> str:
    settings = emulator.dispatcher.settings
    return (
        f"Stripe emulator on {emulator.url} (console: {emulator.url}/_emulator/)\n"
        f"  webhooks -> {settings.url} and {settings.connect_url}"
        + (" (disabled)" if options["no_webhooks"] else "")
        + (f"\n  state kept in {options['state_file']}" if options["state_file"] else "")
    )


def serve(emulator: StripeEmulator, write: Callable[[str], Any]) -> None:
    """Serve in the foreground until Ctrl-C."""
    # Failed deliveries are expected while the app's webhook views are missing: keep them at DEBUG.
    logging.getLogger("stripe_emulator").setLevel(logging.INFO)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        write("Stripe emulator stopped.")


def main(argv: list[str] | None = None) -> None:
    """`python -m stripe_emulator [options]`."""
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator",
        description="Run the local Stripe emulator: Stripe's API subset, hosted checkout and onboarding "
        "pages, signed webhooks (see docs/stripe.md).",
    )
    add_arguments(parser, Defaults())
    options = vars(parser.parse_args(argv))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        emulator = build(options)
    except CliError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    print(banner(emulator, options), flush=True)
    serve(emulator, print)
