"""A local stand-in for the slice of Stripe's API this project uses.

The app talks to it through the real `stripe` SDK (`STRIPE_API_BASE` points the SDK here), so the same
gateway code runs against the emulator in development and tests and against Stripe in production. Start it
with `python manage.py stripe_emulator` (defaults from the app's settings) or `python -m stripe_emulator`
(same options, see cli.py); tests run it in-process through the fixtures in `tests/fixtures/stripe.py`.
docs/stripe.md describes endpoints, hosted pages, control endpoints and the fault syntax.

It is a top-level package of its own, standard library only, and never imports Django: it keeps its state
in memory (mirrored to a JSON file with `--state-file`, see persistence.py) and must not touch the app's
database. Modules: server.py (HTTP, control endpoints, clock), api.py (`/v1/...` routing, idempotency,
faults), wire.py (form decoding, parameter schemas, errors), state.py (the account: objects and money
rules), faults.py, webhooks.py, persistence.py, pages.py (hosted pages and the console), cli.py.
"""

from stripe_emulator.persistence import StateFileError
from stripe_emulator.server import StripeEmulator
from stripe_emulator.webhooks import WebhookSettings, sign_payload

__all__ = ["StateFileError", "StripeEmulator", "WebhookSettings", "sign_payload"]
