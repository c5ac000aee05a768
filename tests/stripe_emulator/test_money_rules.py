"""The money rules the emulator enforces, as Stripe does (reached through the gateway and the real SDK)."""

import pytest
import stripe

from payments import gateway
from tests.payments.gateway_calls import checkout_create, transfer


def _rejected_code(call) -> str | None:
    with pytest.raises(gateway.GatewayRejectedError) as caught:
        call()
    return caught.value.code


def test_transfer_to_account_without_active_transfers_capability_is_refused(stripe_emulator, charge_id):
    account = gateway.connect_account_create(
        email="p@example.com", country="US", metadata={}, idempotency_key="a"
    )

    code = _rejected_code(lambda: transfer(charge_id, account.id))

    assert code == "insufficient_capabilities_for_transfer"


def test_transfer_with_source_transaction_does_not_need_platform_balance(
    stripe_emulator, charge_id, provider_account
):
    created = transfer(charge_id, provider_account.id)

    assert created.source_transaction == charge_id
    assert stripe_emulator.balance()["available"] == {}


def test_transfers_from_one_charge_cannot_exceed_it(stripe_emulator, charge_id, provider_account):
    transfer(charge_id, provider_account.id, amount=4500, key="payout-1")

    code = _rejected_code(lambda: transfer(charge_id, provider_account.id, amount=501, key="payout-2"))

    assert code == "balance_insufficient"


def test_transfers_from_one_charge_may_add_up_to_it_exactly(stripe_emulator, charge_id, provider_account):
    transfer(charge_id, provider_account.id, amount=4500, key="payout-1")

    second = transfer(charge_id, provider_account.id, amount=500, key="payout-2")

    assert second.amount == 500


def _transfer_from_balance(destination: str, amount: int) -> dict:
    # The gateway always sends source_transaction; the platform-balance path is Stripe's other mode.
    client = gateway.stripe_client()
    return client.v1.transfers.create(
        {"amount": amount, "currency": "usd", "destination": destination},
        {"idempotency_key": f"bal-{amount}"},
    )


def test_transfer_without_source_transaction_needs_available_balance(stripe_emulator, provider_account):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        _transfer_from_balance(provider_account.id, 1000)

    assert caught.value.code == "balance_insufficient"


def test_transfer_without_source_transaction_draws_on_available_balance(stripe_emulator, provider_account):
    stripe_emulator.set_balance(1500)

    _transfer_from_balance(provider_account.id, 1000)

    assert stripe_emulator.balance()["available"] == {"usd": 500}
    assert stripe_emulator.balance(provider_account.id)["available"] == {"usd": 1000}


def test_transfer_from_a_bank_debit_still_processing_is_accepted(stripe_emulator, provider_account):
    # Stripe accepts it; the money reaches the provider only once the payment has settled (see test_balances).
    session = checkout_create(bank_debits=True)
    stripe_emulator.pay(session.id, method="delayed_success")
    processing_charge = gateway.checkout_session_retrieve(session_id=session.id).charge_id

    created = transfer(processing_charge, provider_account.id)

    assert created.source_transaction == processing_charge
    assert stripe_emulator.balance(provider_account.id) == {"available": {}, "pending": {"usd": 4500}}


def test_transfer_from_a_failed_bank_debit_is_refused(stripe_emulator, provider_account):
    session = checkout_create(bank_debits=True)
    stripe_emulator.pay(session.id, method="delayed_failure")
    stripe_emulator.settle(session.id)
    failed_charge = gateway.checkout_session_retrieve(session_id=session.id).charge_id

    with pytest.raises(gateway.GatewayRejectedError) as caught:
        transfer(failed_charge, provider_account.id)

    assert caught.value.param == "source_transaction"


def test_transfer_cannot_take_what_was_refunded_from_its_charge(
    stripe_emulator, paid_session, charge_id, provider_account
):
    gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=1000, metadata={}, idempotency_key="refund-1"
    )

    code = _rejected_code(lambda: transfer(charge_id, provider_account.id, amount=4001))

    assert code == "balance_insufficient"
    assert transfer(charge_id, provider_account.id, amount=4000, key="payout-2").amount == 4000


def test_refund_cannot_exceed_what_is_left(stripe_emulator, paid_session):
    gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=4000, metadata={}, idempotency_key="refund-1"
    )

    code = _rejected_code(
        lambda: gateway.refund_create(
            payment_intent_id=paid_session.payment_intent_id,
            amount=1001,
            metadata={},
            idempotency_key="refund-2",
        )
    )

    assert code == "amount_too_large"


def test_refund_of_fully_refunded_charge_is_charge_already_refunded(stripe_emulator, paid_session):
    gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=None, metadata={}, idempotency_key="refund-1"
    )

    code = _rejected_code(
        lambda: gateway.refund_create(
            payment_intent_id=paid_session.payment_intent_id,
            amount=None,
            metadata={},
            idempotency_key="refund-2",
        )
    )

    assert code == "charge_already_refunded"


@pytest.mark.parametrize("closed_as", [None, "lost"], ids=["dispute-open", "dispute-lost"])
def test_disputed_charge_cannot_be_refunded(stripe_emulator, paid_session, charge_id, closed_as):
    dispute = stripe_emulator.open_dispute(charge_id)
    if closed_as:
        stripe_emulator.close_dispute(dispute["id"], status=closed_as)

    code = _rejected_code(
        lambda: gateway.refund_create(
            payment_intent_id=paid_session.payment_intent_id,
            amount=None,
            metadata={},
            idempotency_key="refund-1",
        )
    )

    assert code == "charge_disputed"


def test_charge_whose_dispute_was_won_can_be_refunded(stripe_emulator, paid_session, charge_id):
    dispute = stripe_emulator.open_dispute(charge_id)
    stripe_emulator.close_dispute(dispute["id"], status="won")

    refund = gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=100, metadata={}, idempotency_key="refund-1"
    )

    assert refund.status == "succeeded"


def test_unpaid_payment_cannot_be_refunded(stripe_emulator):
    session = checkout_create(bank_debits=True)
    stripe_emulator.pay(session.id, method="delayed_success")
    intent_id = gateway.checkout_session_retrieve(session_id=session.id).payment_intent_id

    code = _rejected_code(
        lambda: gateway.refund_create(
            payment_intent_id=intent_id, amount=None, metadata={}, idempotency_key="r-1"
        )
    )

    assert code == "charge_not_refundable"


def test_failed_refund_gives_the_amount_back_to_the_charge(stripe_emulator, paid_session, charge_id):
    stripe_emulator.set_refunds_pending()
    refund = gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=None, metadata={}, idempotency_key="refund-1"
    )

    stripe_emulator.settle_refund(refund.id, status="failed")

    assert stripe_emulator.state()["charges"][charge_id]["amount_refunded"] == 0
    assert gateway.refund_retrieve(refund_id=refund.id).status == "failed"


def test_reversal_cannot_exceed_what_was_transferred(stripe_emulator, charge_id, provider_account):
    created = transfer(charge_id, provider_account.id, amount=4500)
    gateway.transfer_reversal_create(
        transfer_id=created.id, amount=4000, metadata={}, idempotency_key="rev-1"
    )

    code = _rejected_code(
        lambda: gateway.transfer_reversal_create(
            transfer_id=created.id, amount=501, metadata={}, idempotency_key="rev-2"
        )
    )

    assert code == "amount_too_large"


def test_fully_reversed_transfer_cannot_be_reversed_again(stripe_emulator, charge_id, provider_account):
    created = transfer(charge_id, provider_account.id, amount=4500)
    gateway.transfer_reversal_create(
        transfer_id=created.id, amount=None, metadata={}, idempotency_key="rev-1"
    )

    code = _rejected_code(
        lambda: gateway.transfer_reversal_create(
            transfer_id=created.id, amount=None, metadata={}, idempotency_key="rev-2"
        )
    )

    assert code == "transfer_already_reversed"


def test_reversal_needs_the_connected_account_balance_to_cover_it(
    stripe_emulator, charge_id, provider_account
):
    created = transfer(charge_id, provider_account.id, amount=4500)
    stripe_emulator.settle_balance()  # the provider's funds became available...
    stripe_emulator.payout(provider_account.id, amount=3500)  # ...and most went to their bank

    code = _rejected_code(
        lambda: gateway.transfer_reversal_create(
            transfer_id=created.id, amount=2000, metadata={}, idempotency_key="rev-1"
        )
    )

    assert code == "balance_insufficient"


def test_reversal_returns_money_to_the_platform_balance(stripe_emulator, charge_id, provider_account):
    created = transfer(charge_id, provider_account.id, amount=4500)
    stripe_emulator.settle_balance()

    gateway.transfer_reversal_create(
        transfer_id=created.id, amount=1500, metadata={}, idempotency_key="rev-1"
    )

    state = stripe_emulator.state()
    # 5000 charged - 175 fee - 4500 transferred + 1500 reversed.
    assert state["balance"] == {"available": {"usd": 1825}, "pending": {}}
    assert state["account_balances"][provider_account.id] == {"available": {"usd": 3000}, "pending": {}}
    assert state["transfers"][created.id]["amount_reversed"] == 1500
