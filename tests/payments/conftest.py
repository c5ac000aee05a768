"""Shared setup for the payments tests: a paid checkout and an onboarded provider account, made through the
gateway against the emulator (the `stripe_emulator` fixture comes from tests/fixtures/stripe.py)."""

import pytest

from payments import gateway
from tests.payments.gateway_calls import checkout_create


@pytest.fixture
def open_session(stripe_emulator) -> gateway.CheckoutSession:
    return checkout_create()


@pytest.fixture
def bank_debit_session(stripe_emulator) -> gateway.CheckoutSession:
    """An open session that also offers a bank debit ("pay later")."""
    return checkout_create(booking_ref="43", bank_debits=True)


@pytest.fixture
def paid_session(stripe_emulator, open_session) -> gateway.CheckoutSession:
    stripe_emulator.pay(open_session.id)
    return gateway.checkout_session_retrieve(session_id=open_session.id)


@pytest.fixture
def charge_id(paid_session) -> str:
    assert paid_session.charge_id is not None
    return paid_session.charge_id


@pytest.fixture
def provider_account(stripe_emulator) -> gateway.ConnectAccount:
    account = gateway.connect_account_create(
        email="provider@example.com", country="US", metadata={"provider_id": "7"}, idempotency_key="account-7"
    )
    stripe_emulator.complete_onboarding(account.id)
    return gateway.connect_account_retrieve(account_id=account.id)
