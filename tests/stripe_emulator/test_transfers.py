"""Transfers with `source_transaction`: accepted while the charge's funds are pending, paid out to the
connected account only when they become available, never more than what is left of the charge."""

import pytest

from payments import gateway
from tests.payments.gateway_calls import checkout_create, transfer


def _processing_bank_debit(stripe_emulator, *, succeeds: bool = True) -> tuple[str, str]:
    """A "pay later" payment still processing: (session id, charge id)."""
    session = checkout_create(bank_debits=True)
    stripe_emulator.pay(session.id, method="delayed_success" if succeeds else "delayed_failure")
    return session.id, gateway.checkout_session_retrieve(session_id=session.id).charge_id


def test_transfer_from_a_card_charge_reaches_the_account_when_the_charge_funds_do(
    stripe_emulator, charge_id, provider_account
):
    transfer(charge_id, provider_account.id, amount=4500)
    pending = stripe_emulator.balance(provider_account.id)

    stripe_emulator.settle_balance()

    assert pending == {"available": {}, "pending": {"usd": 4500}}
    assert stripe_emulator.balance(provider_account.id) == {"available": {"usd": 4500}, "pending": {}}


def test_transfer_from_a_processing_bank_debit_waits_for_the_payment(stripe_emulator, provider_account):
    session_id, charge_id = _processing_bank_debit(stripe_emulator)
    transfer(charge_id, provider_account.id, amount=4500)

    stripe_emulator.settle_balance()  # nothing to release yet: the bank has not paid
    waiting = stripe_emulator.balance(provider_account.id)
    stripe_emulator.settle(session_id)
    stripe_emulator.settle_balance()

    assert waiting == {"available": {}, "pending": {"usd": 4500}}
    assert stripe_emulator.balance(provider_account.id) == {"available": {"usd": 4500}, "pending": {}}
    # 5000 - 0.8% (40) - 4500 transferred.
    assert stripe_emulator.balance() == {"available": {"usd": 460}, "pending": {}}


def test_a_bank_debit_books_its_funds_only_once_it_succeeds(stripe_emulator):
    session_id, charge_id = _processing_bank_debit(stripe_emulator)
    before = stripe_emulator.state()["charges"][charge_id]["balance_transaction"]

    stripe_emulator.settle(session_id)

    charge = stripe_emulator.state()["charges"][charge_id]
    txn = stripe_emulator.state()["balance_transactions"][charge["balance_transaction"]]
    assert before is None
    assert (txn["amount"], txn["fee"], txn["status"]) == (5000, 40, "pending")


def test_a_failed_bank_debit_takes_its_transfers_back(stripe_emulator, provider_account):
    session_id, charge_id = _processing_bank_debit(stripe_emulator, succeeds=False)
    created = transfer(charge_id, provider_account.id, amount=4500)

    stripe_emulator.settle(session_id)

    state = stripe_emulator.state()
    assert state["transfers"][created.id]["reversed"] is True
    assert "transfer.reversed" in [e["type"] for e in stripe_emulator.events()]
    assert state["account_balances"][provider_account.id] == {"available": {"usd": 0}, "pending": {}}
    assert state["balance"] == {"available": {"usd": 0}, "pending": {}}


def test_transfers_from_one_charge_cannot_exceed_what_is_left_of_it(
    stripe_emulator, charge_id, provider_account
):
    transfer(charge_id, provider_account.id, amount=3000, key="payout-1")

    with pytest.raises(gateway.GatewayRejectedError) as caught:
        transfer(charge_id, provider_account.id, amount=2001, key="payout-2")

    assert caught.value.code == "balance_insufficient"
    assert caught.value.param == "amount"
    assert "2000" in caught.value.message  # what was left


def test_transfer_names_its_charge_and_can_be_retrieved(
    stripe_emulator, stripe_sdk, charge_id, provider_account
):
    created = transfer(charge_id, provider_account.id, amount=4500)

    retrieved = stripe_sdk.v1.transfers.retrieve(created.id, {"expand": ["balance_transaction"]})

    assert (retrieved.source_transaction, retrieved.amount) == (charge_id, 4500)
    assert (retrieved.balance_transaction.type, retrieved.balance_transaction.status) == (
        "transfer",
        "pending",
    )
