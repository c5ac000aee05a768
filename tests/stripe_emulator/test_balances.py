"""Balances that add up: every movement of money is a balance transaction, as in Stripe's ledger."""

import time

import pytest
import requests
import stripe

from payments import gateway
from stripe_emulator.ledger import processing_fee
from tests.payments.gateway_calls import checkout_create, transfer

AUTH = {"Authorization": "Bearer sk_test_emulator"}


@pytest.mark.parametrize(
    ("amount", "method", "fee"),
    [
        (5000, "card", 175),  # 2.9% = 145, + 30
        (500, "card", 45),  # 2.9% = 14.5, rounded half up to 15, + 30
        (1000, "card", 59),  # 2.9% = 29, + 30
        (5000, "us_bank_account", 40),  # 0.8%
        (100_000, "us_bank_account", 500),  # 0.8% = 800, capped at 5.00
    ],
)
def test_stripe_processing_fee(amount, method, fee):
    assert processing_fee(amount, method) == fee


def test_card_charge_credits_pending_balance_minus_the_fee(stripe_emulator, charge_id):
    balance = stripe_emulator.balance()

    assert balance == {"available": {}, "pending": {"usd": 4825}}


def test_charge_names_its_balance_transaction_in_stripes_shape(stripe_emulator, stripe_sdk, charge_id):
    charge = stripe_sdk.v1.charges.retrieve(charge_id)

    txn = stripe_sdk.v1.balance_transactions.retrieve(charge.balance_transaction).to_dict()

    assert txn["id"].startswith("txn_")
    assert {key: txn[key] for key in ("object", "amount", "fee", "net", "currency", "type", "status")} == {
        "object": "balance_transaction",
        "amount": 5000,
        "fee": 175,
        "net": 4825,
        "currency": "usd",
        "type": "charge",
        "status": "pending",
    }
    assert (txn["source"], txn["reporting_category"]) == (charge_id, "charge")
    assert txn["fee_details"] == [
        {
            "amount": 175,
            "application": None,
            "currency": "usd",
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        }
    ]
    assert txn["available_on"] - txn["created"] == 2 * 24 * 3600


def test_settle_control_makes_pending_funds_available(stripe_emulator, charge_id):
    response = requests.post(f"{stripe_emulator.url}/_emulator/balance/settle", json={}, timeout=5)

    assert response.status_code == 200
    assert stripe_emulator.balance() == {"available": {"usd": 4825}, "pending": {}}
    assert stripe_emulator.events()[-1]["type"] == "balance.available"


def test_clock_makes_funds_available_when_available_on_passes(stripe_emulator, charge_id):
    state = stripe_emulator.server.state
    txn_id = state.charges[charge_id]["balance_transaction"]
    with state.lock:
        state.balance_transactions[txn_id]["available_on"] = int(time.time()) - 1
        state.reindex_clock()  # the clock's index does not see edits made behind the state's back

    deadline = time.monotonic() + 3
    while stripe_emulator.balance()["pending"]:
        assert time.monotonic() < deadline, "the clock never released the funds"
        time.sleep(0.02)

    assert stripe_emulator.balance() == {"available": {"usd": 4825}, "pending": {}}


def test_refund_debits_the_platform_and_keeps_the_fee(stripe_emulator, paid_session):
    stripe_emulator.settle_balance()

    refund = gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=None, metadata={}, idempotency_key="refund-1"
    )

    txn = stripe_emulator.state()["balance_transactions"][
        stripe_emulator.state()["refunds"][refund.id]["balance_transaction"]
    ]
    assert (txn["type"], txn["amount"], txn["source"]) == ("refund", -5000, refund.id)
    # Stripe's fee is not returned: the platform is 1.75 short and its available balance goes negative.
    assert stripe_emulator.balance() == {"available": {"usd": -175}, "pending": {}}


def test_balance_endpoint_answers_stripes_balance_object(stripe_emulator, stripe_sdk, charge_id):
    balance = stripe_sdk.v1.balance.retrieve().to_dict()

    assert balance == {
        "object": "balance",
        "available": [{"amount": 0, "currency": "usd"}],
        "livemode": False,
        "pending": [{"amount": 4825, "currency": "usd"}],
    }


def test_balance_with_stripe_account_header_is_the_connected_accounts(
    stripe_emulator, stripe_sdk, charge_id, provider_account
):
    transfer(charge_id, provider_account.id, amount=4500)
    stripe_emulator.settle_balance()

    platform = stripe_sdk.v1.balance.retrieve()
    provider = stripe_sdk.v1.balance.retrieve(options={"stripe_account": provider_account.id})

    assert [(a.amount, a.currency) for a in platform.available] == [(325, "usd")]
    assert [(a.amount, a.currency) for a in provider.available] == [(4500, "usd")]


def test_unknown_stripe_account_is_refused(stripe_emulator, stripe_sdk):
    with pytest.raises(stripe.PermissionError) as caught:
        stripe_sdk.v1.balance.retrieve(options={"stripe_account": "acct_nobody"})

    assert (caught.value.http_status, caught.value.json_body["error"]["code"]) == (403, "account_invalid")


def test_stripe_account_header_is_refused_where_the_emulator_does_not_implement_it(
    stripe_emulator, charge_id, provider_account
):
    response = requests.get(
        f"{stripe_emulator.url}/v1/charges/{charge_id}",
        headers={**AUTH, "Stripe-Account": provider_account.id},
        timeout=5,
    )

    assert response.status_code == 400
    assert "Stripe-Account" in response.json()["error"]["message"]


def test_transfer_books_a_transaction_on_each_side(stripe_emulator, stripe_sdk, charge_id, provider_account):
    created = transfer(charge_id, provider_account.id, amount=4500)

    platform_txn = stripe_sdk.v1.balance_transactions.retrieve(created.raw["balance_transaction"])
    account_txns = [
        txn
        for txn_id, txn in stripe_emulator.state()["balance_transactions"].items()
        if stripe_emulator.state()["account_of"].get(txn_id) == provider_account.id
    ]

    assert (platform_txn.type, platform_txn.amount, platform_txn.source) == ("transfer", -4500, created.id)
    assert [(t["type"], t["amount"], t["source"]) for t in account_txns] == [
        ("payment", 4500, created.raw["destination_payment"])
    ]


def test_a_connected_accounts_transaction_is_only_visible_with_its_header(
    stripe_emulator, stripe_sdk, charge_id, provider_account
):
    created = transfer(charge_id, provider_account.id, amount=4500)
    state = stripe_emulator.state()
    account_txn_id = next(
        txn_id for txn_id, owner in state["account_of"].items() if owner == provider_account.id
    )

    seen = stripe_sdk.v1.balance_transactions.retrieve(
        account_txn_id, options={"stripe_account": provider_account.id}
    )
    with pytest.raises(stripe.InvalidRequestError) as hidden:
        stripe_sdk.v1.balance_transactions.retrieve(account_txn_id)

    assert seen.source == created.raw["destination_payment"]
    assert hidden.value.code == "resource_missing"


def test_set_balance_control_is_an_adjustment(stripe_emulator):
    stripe_emulator.set_balance(2500)

    [txn] = stripe_emulator.state()["balance_transactions"].values()
    assert (txn["type"], txn["amount"], txn["status"]) == ("adjustment", 2500, "available")
    assert stripe_emulator.balance()["available"] == {"usd": 2500}


def test_payout_control_empties_the_connected_accounts_available_balance(
    stripe_emulator, charge_id, provider_account
):
    transfer(charge_id, provider_account.id, amount=4500)
    stripe_emulator.settle_balance()

    response = requests.post(
        f"{stripe_emulator.url}/_emulator/accounts/{provider_account.id}/payout", json={}, timeout=5
    )

    payout = response.json()
    assert (payout["object"], payout["amount"], payout["status"]) == ("payout", 4500, "paid")
    assert stripe_emulator.balance(provider_account.id) == {"available": {"usd": 0}, "pending": {}}
    assert [(e["type"], e["account"]) for e in stripe_emulator.events()[-2:]] == [
        ("payout.created", provider_account.id),
        ("payout.paid", provider_account.id),
    ]


def test_payout_of_more_than_is_available_is_refused(stripe_emulator, charge_id, provider_account):
    transfer(charge_id, provider_account.id, amount=4500)
    stripe_emulator.settle_balance()

    response = requests.post(
        f"{stripe_emulator.url}/_emulator/accounts/{provider_account.id}/payout",
        json={"amount": 4501},
        timeout=5,
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "balance_insufficient"


def test_reversal_after_a_payout_emptied_the_account_is_refused(stripe_emulator, charge_id, provider_account):
    created = transfer(charge_id, provider_account.id, amount=4500)
    stripe_emulator.settle_balance()
    stripe_emulator.payout(provider_account.id)

    with pytest.raises(gateway.GatewayRejectedError) as caught:
        gateway.transfer_reversal_create(
            transfer_id=created.id, amount=100, metadata={}, idempotency_key="rev-1"
        )

    assert caught.value.code == "balance_insufficient"


def test_reversal_of_funds_still_pending_on_the_account_takes_them_back(
    stripe_emulator, charge_id, provider_account
):
    created = transfer(charge_id, provider_account.id, amount=4500)

    gateway.transfer_reversal_create(
        transfer_id=created.id, amount=1500, metadata={}, idempotency_key="rev-1"
    )

    assert stripe_emulator.balance(provider_account.id) == {"available": {}, "pending": {"usd": 3000}}
    assert stripe_emulator.balance() == {"available": {}, "pending": {"usd": 1825}}


def test_every_balance_is_the_sum_of_its_transactions(
    stripe_emulator, paid_session, charge_id, provider_account
):
    # A busy day: a transfer, a partial refund, a reversal, a payout, a second payment still pending.
    created = transfer(charge_id, provider_account.id, amount=3000)
    gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=1000, metadata={}, idempotency_key="refund-1"
    )
    stripe_emulator.settle_balance()
    gateway.transfer_reversal_create(transfer_id=created.id, amount=500, metadata={}, idempotency_key="rev-1")
    stripe_emulator.payout(provider_account.id, amount=2000)
    stripe_emulator.pay(checkout_create(booking_ref="43").id)

    state = stripe_emulator.state()
    owners = state["account_of"]
    for account in (None, provider_account.id):
        txns = [t for txn_id, t in state["balance_transactions"].items() if owners.get(txn_id) == account]
        summed = {
            status: sum(t["net"] for t in txns if t["status"] == status)
            for status in ("available", "pending")
        }
        balance = state["balance"] if account is None else state["account_balances"][account]
        assert summed == {status: balance[status].get("usd", 0) for status in summed}
    # Platform: 4825 - 3000 - 1000 + 500 available, the second payment's 4825 pending.
    assert state["balance"] == {"available": {"usd": 1325}, "pending": {"usd": 4825}}
    assert state["account_balances"][provider_account.id] == {"available": {"usd": 500}, "pending": {}}
