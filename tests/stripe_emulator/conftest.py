"""The emulator's own tests share the payments tests' setup: a paid checkout and an onboarded provider
account, made through the gateway (the `stripe_emulator` fixture comes from tests/fixtures/stripe.py)."""

from tests.payments.conftest import (
    bank_debit_session,
    charge_id,
    open_session,
    paid_session,
    provider_account,
)

__all__ = ["bank_debit_session", "charge_id", "open_session", "paid_session", "provider_account"]
