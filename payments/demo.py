"""Demo payout accounts for ``seed_demo``: one provider whose payouts are ready and one who started but did
not finish, both opened through the local Stripe emulator (the one ``make dev`` runs) and onboarded there, so
a later payout to the ready one is a real transfer at the emulator."""

from collections.abc import Callable

import requests
from django.conf import settings

from bookings.demo import emulator_reachable
from payments import gateway
from payments.connect import connect_account_open, connect_provider_sync
from providers.models import Provider


def _emulator_complete_onboarding(account_id: str) -> None:
    """Finish onboarding as the provider would on Stripe's page (the emulator's control endpoint)."""
    response = requests.post(
        f"{settings.STRIPE_API_BASE}/_emulator/accounts/{account_id}/complete_onboarding", json={}, timeout=10
    )
    response.raise_for_status()


def seed_demo_payout_accounts(*, ready: Provider, unfinished: Provider, say: Callable[[str], None]) -> None:
    """Give ``ready`` an onboarded Express account and ``unfinished`` one still missing details, both in the
    platform's own country (where payouts work). Idempotent: a provider who has an account keeps it and is
    only brought up to date from the emulator."""
    if not emulator_reachable():
        say("payouts: skipped (no Stripe emulator reachable; `make dev` runs one and sets them up)")
        return
    for number, (provider, complete) in enumerate(((ready, True), (unfinished, False)), start=1):
        step = f"[{number}/2] payouts: {provider.display_name}"
        if provider.stripe_account_id:
            try:
                provider = connect_provider_sync(provider_id=provider.pk)
            except gateway.GatewayError as error:
                say(f"{step}: account {provider.stripe_account_id} unknown to the emulator ({error}); kept")
                continue
            say(f"{step}: {Provider.PayoutSetup(provider.payout_setup).label.lower()} (exists)")
            continue
        account_id = connect_account_open(
            provider_id=provider.pk, country=settings.PLATFORM_COUNTRY
        ).stripe_account_id
        assert account_id is not None  # connect_account_open raises rather than return without one
        if complete:
            _emulator_complete_onboarding(account_id)
        provider = connect_provider_sync(provider_id=provider.pk)
        say(f"{step}: {Provider.PayoutSetup(provider.payout_setup).label.lower()} (created)")
