"""Disputes of both kinds: inquiries (no money moves, still refundable) and chargebacks (funds withdrawn)."""

import pytest
import requests

from payments import gateway


def _refund(paid_session, amount: int | None = None, key: str = "refund-1") -> gateway.Refund:
    return gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=amount, metadata={}, idempotency_key=key
    )


def _event_types(stripe_emulator, since: int) -> list[str]:
    return [e["type"] for e in stripe_emulator.events()[since:]]


def test_chargeback_withdraws_the_amount_and_the_dispute_fee_at_once(stripe_emulator, charge_id):
    stripe_emulator.settle_balance()
    before = len(stripe_emulator.events())

    dispute = stripe_emulator.open_dispute(charge_id, kind="chargeback")

    [txn] = dispute["balance_transactions"]
    assert (dispute["status"], dispute["is_charge_refundable"]) == ("needs_response", False)
    assert (txn["type"], txn["reporting_category"], txn["amount"], txn["fee"], txn["net"]) == (
        "adjustment",
        "dispute",
        -5000,
        1500,
        -6500,
    )
    assert _event_types(stripe_emulator, before) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
    ]
    assert stripe_emulator.balance() == {"available": {"usd": 4825 - 6500}, "pending": {}}


def test_inquiry_moves_no_money_and_leaves_the_charge_refundable(stripe_emulator, charge_id):
    before = len(stripe_emulator.events())

    dispute = stripe_emulator.open_dispute(charge_id, kind="inquiry")

    assert (dispute["status"], dispute["is_charge_refundable"]) == ("warning_needs_response", True)
    assert dispute["balance_transactions"] == []
    assert _event_types(stripe_emulator, before) == ["charge.dispute.created"]
    assert stripe_emulator.balance() == {"available": {}, "pending": {"usd": 4825}}


def test_inquiry_allows_refunds(stripe_emulator, paid_session, charge_id):
    stripe_emulator.open_dispute(charge_id, kind="inquiry")

    refund = _refund(paid_session, amount=1000)

    assert refund.status == "succeeded"


def test_refunding_in_full_closes_the_inquiry(stripe_emulator, paid_session, charge_id):
    dispute = stripe_emulator.open_dispute(charge_id, kind="inquiry")
    before = len(stripe_emulator.events())

    _refund(paid_session)

    closed = stripe_emulator.state()["disputes"][dispute["id"]]
    assert closed["status"] == "warning_closed"
    assert _event_types(stripe_emulator, before) == [
        "refund.created",
        "charge.refunded",
        "charge.dispute.updated",
        "charge.dispute.closed",
    ]
    assert stripe_emulator.events("charge.dispute.updated")[0]["data"]["previous_attributes"] == {
        "status": "warning_needs_response"
    }


def test_a_partial_refund_leaves_the_inquiry_open(stripe_emulator, paid_session, charge_id):
    dispute = stripe_emulator.open_dispute(charge_id, kind="inquiry")

    _refund(paid_session, amount=1000)

    assert stripe_emulator.state()["disputes"][dispute["id"]]["status"] == "warning_needs_response"


def test_won_chargeback_reinstates_the_amount_but_not_the_fee(stripe_emulator, charge_id):
    stripe_emulator.settle_balance()
    dispute = stripe_emulator.open_dispute(charge_id)
    before = len(stripe_emulator.events())

    won = stripe_emulator.close_dispute(dispute["id"], status="won")

    assert [(t["amount"], t["fee"], t["reporting_category"]) for t in won["balance_transactions"]] == [
        (-5000, 1500, "dispute"),
        (5000, 0, "dispute_reversal"),
    ]
    assert _event_types(stripe_emulator, before) == [
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    assert stripe_emulator.balance()["available"] == {"usd": 4825 - 1500}


def test_lost_chargeback_keeps_the_funds_withdrawn(stripe_emulator, charge_id):
    stripe_emulator.settle_balance()
    dispute = stripe_emulator.open_dispute(charge_id)
    before = len(stripe_emulator.events())

    lost = stripe_emulator.close_dispute(dispute["id"], status="lost")

    assert len(lost["balance_transactions"]) == 1
    assert _event_types(stripe_emulator, before) == ["charge.dispute.updated", "charge.dispute.closed"]
    assert stripe_emulator.balance()["available"] == {"usd": 4825 - 6500}


@pytest.mark.parametrize(("kind", "status"), [("inquiry", "won"), ("chargeback", "warning_closed")])
def test_a_dispute_closes_only_as_its_kind_can(stripe_emulator, charge_id, kind, status):
    dispute = stripe_emulator.open_dispute(charge_id, kind=kind)

    response = requests.post(
        f"{stripe_emulator.url}/_emulator/disputes/{dispute['id']}/close", json={"status": status}, timeout=5
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "status"


def test_submitting_evidence_puts_the_dispute_under_review(stripe_emulator, charge_id):
    dispute = stripe_emulator.open_dispute(charge_id)

    response = requests.post(f"{stripe_emulator.url}/_emulator/disputes/{dispute['id']}/evidence", timeout=5)

    (updated,) = stripe_emulator.events("charge.dispute.updated")
    assert response.json()["status"] == "under_review"
    assert updated["data"]["previous_attributes"] == {"status": "needs_response"}


def test_dispute_control_opens_either_kind_over_http(stripe_emulator, charge_id):
    response = requests.post(
        f"{stripe_emulator.url}/_emulator/charges/{charge_id}/dispute",
        json={"reason": "product_not_received", "kind": "inquiry"},
        timeout=5,
    )

    assert (response.json()["status"], response.json()["reason"]) == (
        "warning_needs_response",
        "product_not_received",
    )


def test_a_fully_refunded_charge_cannot_be_disputed(stripe_emulator, paid_session, charge_id):
    _refund(paid_session)

    response = requests.post(
        f"{stripe_emulator.url}/_emulator/charges/{charge_id}/dispute", json={}, timeout=5
    )

    assert response.status_code == 400


def test_disputes_and_charges_can_be_retrieved(stripe_emulator, stripe_sdk, charge_id):
    dispute = stripe_emulator.open_dispute(charge_id)

    retrieved = stripe_sdk.v1.disputes.retrieve(dispute["id"], {"expand": ["charge"]})
    charge = stripe_sdk.v1.charges.retrieve(charge_id)

    assert (retrieved.status, retrieved.amount, retrieved.charge.id) == ("needs_response", 5000, charge_id)
    assert retrieved.balance_transactions[0].fee == 1500
    assert (charge.disputed, charge.amount) == (True, 5000)


def test_console_offers_both_kinds_and_their_closes(stripe_emulator, paid_session, charge_id):
    requests.post(
        f"{stripe_emulator.url}/_emulator/charges/{charge_id}/dispute",
        data={"kind": "inquiry"},
        allow_redirects=False,
        timeout=5,
    )

    html = requests.get(f"{stripe_emulator.url}/_emulator/", timeout=5).text

    assert next(iter(stripe_emulator.state()["disputes"].values()))["status"] == "warning_needs_response"
    assert ">Close inquiry</button>" in html
    assert ">Submit evidence</button>" in html
