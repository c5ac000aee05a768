"""A local stand-in for the slice of Stripe's API this project uses.

The app talks to it through the real `stripe` SDK (`STRIPE_API_BASE` points the SDK here), so the same
gateway code runs against the emulator in development and tests and against Stripe in production. Start it
with `python manage.py stripe_emulator`; tests use the fixtures in `tests/fixtures/stripe.py`.
docs/stripe.md describes endpoints, hosted pages, control endpoints and the fault syntax.

This package never imports Django: it keeps its state in memory (mirrored to a JSON file with
`--state-file`, see persistence.py) and must not touch the app's database.
"""

from payments.emulator.persistence import StateFileError
from payments.emulator.server import StripeEmulator
from payments.emulator.webhooks import WebhookSettings, sign_payload

__all__ = ["StateFileError", "StripeEmulator", "WebhookSettings", "sign_payload"]
