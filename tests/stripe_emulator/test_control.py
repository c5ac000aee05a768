"""The `/_emulator/...` control endpoints that tests and humans use to steer the emulator over HTTP."""

import requests

from payments import gateway
from tests.payments.gateway_calls import checkout_create, transfer


def _control(stripe_emulator, path: str, body: dict | None = None) -> requests.Response:
    return requests.post(f"{stripe_emulator.url}/_emulator{path}", json=body or {}, timeout=5)


def test_state_lists_every_kind_of_object(stripe_emulator):
    state = requests.get(f"{stripe_emulator.url}/_emulator/state", timeout=5).json()

    assert {
        "checkout_sessions",
        "payment_intents",
        "charges",
        "refunds",
        "transfers",
        "transfer_reversals",
        "disputes",
        "accounts",
        "balance",
        "events",
        "deliveries",
        "requests",
        "faults",
        "webhooks",
    } <= set(state)


def test_reset_forgets_every_object(stripe_emulator, paid_session):
    _control(stripe_emulator, "/reset")

    state = stripe_emulator.state()
    assert (state["checkout_sessions"], state["charges"], state["events"]) == ({}, {}, [])


def test_pay_control_pays_a_session(stripe_emulator, open_session):
    response = _control(stripe_emulator, f"/checkout/sessions/{open_session.id}/pay", {"method": "card"})

    assert response.json()["outcome"] == "paid"
    assert gateway.checkout_session_retrieve(session_id=open_session.id).is_paid


def test_settle_control_finishes_a_delayed_payment(stripe_emulator, bank_debit_session):
    stripe_emulator.pay(bank_debit_session.id, method="delayed_failure")

    response = _control(stripe_emulator, f"/checkout/sessions/{bank_debit_session.id}/settle")

    assert response.status_code == 200
    assert stripe_emulator.events()[-1]["type"] == "checkout.session.async_payment_failed"


def test_settle_control_refuses_a_session_with_nothing_to_settle(stripe_emulator, paid_session):
    response = _control(stripe_emulator, f"/checkout/sessions/{paid_session.id}/settle")

    assert response.status_code == 400


def test_expire_control_expires_a_session(stripe_emulator, open_session):
    _control(stripe_emulator, f"/checkout/sessions/{open_session.id}/expire")

    assert gateway.checkout_session_retrieve(session_id=open_session.id).status == "expired"


def test_dispute_controls_open_and_close_a_dispute(stripe_emulator, charge_id):
    dispute = _control(stripe_emulator, f"/charges/{charge_id}/dispute").json()
    closed = _control(stripe_emulator, f"/disputes/{dispute['id']}/close", {"status": "lost"}).json()

    assert dispute["id"].startswith("dp_")
    assert (dispute["status"], closed["status"]) == ("needs_response", "lost")
    assert [e["type"] for e in stripe_emulator.events()[-4:]] == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.closed",
    ]


def test_balance_control_sets_the_platform_available_balance(stripe_emulator):
    _control(stripe_emulator, "/balance", {"available": 2500})

    assert stripe_emulator.state()["balance"]["available"] == {"usd": 2500}


def test_onboarding_control_activates_an_account(stripe_emulator):
    account = gateway.connect_account_create(
        email="p@example.com", country="US", metadata={}, idempotency_key="a"
    )

    _control(stripe_emulator, f"/accounts/{account.id}/complete_onboarding")

    assert gateway.connect_account_retrieve(account_id=account.id).can_receive_transfers


def test_webhooks_control_changes_delivery_settings(stripe_emulator):
    response = _control(stripe_emulator, "/webhooks", {"url": "http://127.0.0.1:9/hook", "duplicates": True})

    assert (response.json()["url"], response.json()["duplicates"]) == ("http://127.0.0.1:9/hook", True)
    assert "secret" not in response.json()


def test_webhooks_control_refuses_unknown_settings(stripe_emulator):
    assert _control(stripe_emulator, "/webhooks", {"colour": "red"}).status_code == 400


def test_config_control_sets_refunds_pending(stripe_emulator, paid_session):
    _control(stripe_emulator, "/config", {"refunds_start_pending": True})

    refund = gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=None, metadata={}, idempotency_key="refund-1"
    )

    assert refund.status == "pending"


def test_unknown_control_endpoint_is_404(stripe_emulator):
    assert _control(stripe_emulator, "/nothing").status_code == 404


def test_console_page_lists_sessions_with_buttons(stripe_emulator, paid_session):
    other = checkout_create(booking_ref="43")

    html = requests.get(f"{stripe_emulator.url}/_emulator/", timeout=5).text

    assert other.id[:20] in html
    assert ">Open chargeback</button>" in html
    assert ">Open inquiry</button>" in html
    assert ">Expire</button>" in html


def test_console_page_lists_transfers_with_their_destination_and_source(
    stripe_emulator, charge_id, provider_account
):
    made = transfer(charge_id, provider_account.id)

    html = requests.get(f"{stripe_emulator.url}/_emulator/", timeout=5).text

    row = html[html.index("<h2>Transfers</h2>") :].split("</tr>")[1]
    assert made.id in row
    assert provider_account.id in row
    assert charge_id in row
    assert "booking-42" in row


def test_console_form_runs_the_action_and_returns_to_the_console(stripe_emulator, charge_id):
    response = requests.post(
        f"{stripe_emulator.url}/_emulator/charges/{charge_id}/dispute",
        data={"reason": "fraudulent"},
        allow_redirects=False,
        timeout=5,
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/_emulator/"
    assert stripe_emulator.state()["charges"][charge_id]["disputed"] is True
