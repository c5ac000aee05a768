"""Refunds that fail after succeeding, and listing a payment's refunds, as Stripe does both."""

import pytest
import requests
import stripe

from payments import gateway
from tests.payments.gateway_calls import checkout_create


def _refund(paid_session, amount: int | None = None, key: str = "refund-1") -> gateway.Refund:
    return gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=amount, metadata={}, idempotency_key=key
    )


def test_succeeded_refund_that_fails_later_sends_what_stripe_sends(stripe_emulator, paid_session):
    refund = _refund(paid_session)
    before = len(stripe_emulator.events())

    stripe_emulator.settle_refund(refund.id, status="failed")

    events = stripe_emulator.events()[before:]
    assert [e["type"] for e in events] == ["charge.refund.updated", "refund.updated", "refund.failed"]
    assert [e["data"].get("previous_attributes") for e in events] == [
        {"status": "succeeded", "failure_reason": None},
        {"status": "succeeded", "failure_reason": None},
        None,
    ]
    assert events[-1]["data"]["object"]["failure_reason"] == "expired_or_canceled_card"


def test_failed_refund_gives_the_amount_back_to_the_charge(stripe_emulator, paid_session, charge_id):
    refund = _refund(paid_session, amount=2000)

    stripe_emulator.settle_refund(refund.id, status="failed", failure_reason="lost_or_stolen_card")

    charge = stripe_emulator.state()["charges"][charge_id]
    retrieved = gateway.refund_retrieve(refund_id=refund.id)
    assert (charge["amount_refunded"], charge["refunded"]) == (0, False)
    assert (retrieved.status, retrieved.raw["failure_reason"]) == ("failed", "lost_or_stolen_card")


def test_failed_refund_credits_the_platform_balance_back(stripe_emulator, paid_session):
    refund = _refund(paid_session)
    stripe_emulator.settle_balance()

    stripe_emulator.settle_refund(refund.id, status="failed")

    state = stripe_emulator.state()
    failure_txn = state["balance_transactions"][state["refunds"][refund.id]["failure_balance_transaction"]]
    assert (failure_txn["type"], failure_txn["amount"], failure_txn["source"]) == (
        "refund_failure",
        5000,
        refund.id,
    )
    assert stripe_emulator.balance() == {"available": {"usd": 4825}, "pending": {}}


def test_pending_refund_can_fail_too(stripe_emulator, paid_session, charge_id):
    stripe_emulator.set_refunds_pending()
    refund = _refund(paid_session)

    stripe_emulator.settle_refund(refund.id, status="failed")

    assert stripe_emulator.state()["charges"][charge_id]["amount_refunded"] == 0
    assert stripe_emulator.events()[-2]["data"]["previous_attributes"]["status"] == "pending"


def test_a_failed_refund_cannot_change_again(stripe_emulator, paid_session):
    refund = _refund(paid_session)
    stripe_emulator.settle_refund(refund.id, status="failed")

    response = requests.post(
        f"{stripe_emulator.url}/_emulator/refunds/{refund.id}/settle", json={"status": "succeeded"}, timeout=5
    )

    assert response.status_code == 400


def test_console_offers_to_make_a_refund_fail_and_does_it(stripe_emulator, paid_session):
    refund = _refund(paid_session)

    html = requests.get(f"{stripe_emulator.url}/_emulator/", timeout=5).text
    response = requests.post(
        f"{stripe_emulator.url}/_emulator/refunds/{refund.id}/settle",
        data={"status": "failed"},
        allow_redirects=False,
        timeout=5,
    )

    assert ">Make this refund fail</button>" in html
    assert response.headers["Location"] == "/_emulator/"
    assert gateway.refund_retrieve(refund_id=refund.id).status == "failed"


def test_refunds_of_a_payment_are_listed_newest_first(stripe_emulator, stripe_sdk, paid_session):
    first = _refund(paid_session, amount=100, key="refund-1")
    second = _refund(paid_session, amount=200, key="refund-2")
    other = checkout_create(booking_ref="43")
    stripe_emulator.pay(other.id)
    gateway.refund_create(
        payment_intent_id=gateway.checkout_session_retrieve(session_id=other.id).payment_intent_id,
        amount=None,
        metadata={},
        idempotency_key="refund-other",
    )

    listed = stripe_sdk.v1.refunds.list({"payment_intent": paid_session.payment_intent_id})

    assert [r.id for r in listed.data] == [second.id, first.id]
    assert listed.has_more is False


def test_refunds_of_a_charge_can_be_listed_too(stripe_emulator, stripe_sdk, paid_session, charge_id):
    refund = _refund(paid_session, amount=100)

    listed = stripe_sdk.v1.refunds.list({"charge": charge_id, "expand": ["data.charge"]})

    assert [r.id for r in listed.data] == [refund.id]
    assert listed.data[0].charge.id == charge_id


def test_refund_list_pages_like_stripe(stripe_emulator, stripe_sdk, paid_session):
    made = [_refund(paid_session, amount=100, key=f"refund-{n}").id for n in range(5)]
    newest_first = made[::-1]

    page = stripe_sdk.v1.refunds.list({"payment_intent": paid_session.payment_intent_id, "limit": 2})
    after = stripe_sdk.v1.refunds.list(
        {"payment_intent": paid_session.payment_intent_id, "limit": 2, "starting_after": page.data[-1].id}
    )
    before = stripe_sdk.v1.refunds.list(
        {"payment_intent": paid_session.payment_intent_id, "limit": 2, "ending_before": newest_first[3]}
    )
    every = stripe_sdk.v1.refunds.list({"payment_intent": paid_session.payment_intent_id, "limit": 2})

    assert ([r.id for r in page.data], page.has_more) == (newest_first[:2], True)
    assert [r.id for r in after.data] == newest_first[2:4]
    assert ([r.id for r in before.data], before.has_more) == (newest_first[1:3], True)
    assert [r.id for r in every.auto_paging_iter()] == newest_first


def test_refund_list_refuses_a_cursor_it_does_not_know(stripe_emulator, stripe_sdk, paid_session):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_sdk.v1.refunds.list({"starting_after": "re_unknown"})

    assert caught.value.param == "starting_after"
