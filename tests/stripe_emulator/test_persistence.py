"""With a state file the emulator remembers its account across restarts, as real Stripe never forgets."""

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

from payments import gateway
from stripe_emulator import StateFileError, StripeEmulator
from tests.payments.gateway_calls import checkout_create

Start = Callable[[], StripeEmulator]


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


@pytest.fixture
def start_emulator(state_file: Path, settings) -> Iterator[Start]:
    """Start an emulator on `state_file` and point the gateway at it; all are stopped at the end."""
    started: list[StripeEmulator] = []

    def start() -> StripeEmulator:
        emulator = StripeEmulator(host="127.0.0.1", port=0, state_file=state_file).start()
        started.append(emulator)
        settings.STRIPE_SECRET_KEY = "sk_test_emulator"
        settings.STRIPE_API_BASE = emulator.url
        settings.STRIPE_HTTP_TIMEOUT_SECONDS = 5
        settings.STRIPE_MAX_NETWORK_RETRIES = 0
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


def _restart(emulator: StripeEmulator, start: Start) -> StripeEmulator:
    emulator.stop()
    return start()


def _pay_over_http(emulator: StripeEmulator, session_id: str) -> None:
    response = requests.post(
        f"{emulator.url}/_emulator/checkout/sessions/{session_id}/pay", json={"method": "card"}, timeout=5
    )
    assert response.status_code == 200


def test_session_paid_before_a_restart_can_be_retrieved_after_it(start_emulator):
    first = start_emulator()
    session = checkout_create()
    _pay_over_http(first, session.id)
    paid = gateway.checkout_session_retrieve(session_id=session.id)

    _restart(first, start_emulator)
    retrieved = gateway.checkout_session_retrieve(session_id=session.id)

    assert retrieved.status == "complete"
    assert retrieved.payment_status == "paid"
    assert retrieved.payment_intent_id == paid.payment_intent_id
    assert retrieved.charge_id == paid.charge_id


def test_charge_paid_before_a_restart_can_be_refunded_after_it_within_what_is_left(start_emulator):
    first = start_emulator()
    session = checkout_create(amount=5000)
    first.state.control_pay_session(session.id, method="card")
    intent_id = gateway.checkout_session_retrieve(session_id=session.id).payment_intent_id
    gateway.refund_create(payment_intent_id=intent_id, amount=4000, metadata={}, idempotency_key="refund-1")

    _restart(first, start_emulator)

    with pytest.raises(gateway.GatewayRejectedError) as too_much:
        gateway.refund_create(
            payment_intent_id=intent_id, amount=2000, metadata={}, idempotency_key="refund-2"
        )
    rest = gateway.refund_create(
        payment_intent_id=intent_id, amount=None, metadata={}, idempotency_key="refund-3"
    )
    assert too_much.value.code == "amount_too_large"
    assert rest.amount == 1000
    assert rest.status == "succeeded"


def _checkout_with_key(key: str, *, booking_ref: str, expires_at: datetime) -> gateway.CheckoutSession:
    # A fixed `expires_at`, so a repeat sends exactly the same parameters even a second later.
    return gateway.checkout_session_create(
        booking_ref=booking_ref,
        amount=5000,
        currency="usd",
        product_name="Guitar lesson (60 min)",
        customer_email="client@example.com",
        success_url="http://testserver/bookings/42/paid/?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/bookings/42/",
        expires_at=expires_at,
        transfer_group=f"booking-{booking_ref}",
        metadata={"booking_id": booking_ref},
        idempotency_key=key,
    )


def test_idempotency_key_used_before_a_restart_replays_after_it(start_emulator):
    expires_at = datetime.now(UTC) + timedelta(hours=1)
    first = start_emulator()
    original = _checkout_with_key("checkout-42-1", booking_ref="42", expires_at=expires_at)

    second = _restart(first, start_emulator)
    replayed = _checkout_with_key("checkout-42-1", booking_ref="42", expires_at=expires_at)

    assert replayed.id == original.id
    assert len(second.state.snapshot()["checkout_sessions"]) == 1


def test_idempotency_key_used_before_a_restart_still_refuses_other_parameters(start_emulator):
    expires_at = datetime.now(UTC) + timedelta(hours=1)
    first = start_emulator()
    _checkout_with_key("checkout-42-1", booking_ref="42", expires_at=expires_at)

    _restart(first, start_emulator)

    with pytest.raises(gateway.GatewayRejectedError, match="same parameters") as refused:
        _checkout_with_key("checkout-42-1", booking_ref="43", expires_at=expires_at)
    assert refused.value.code == "idempotency_error"


def test_events_and_balances_survive_a_restart(start_emulator):
    first = start_emulator()
    session = checkout_create(amount=5000)
    first.state.control_pay_session(session.id, method="card")
    before = first.state.snapshot()

    after = _restart(first, start_emulator).state.snapshot()

    assert [e["id"] for e in after["events"]] == [e["id"] for e in before["events"]]
    # 5000 charged minus Stripe's fee: 2.9% (145) + 30.
    assert after["balance"] == before["balance"] == {"available": {}, "pending": {"usd": 4825}}
    assert after["balance_transactions"] == before["balance_transactions"]


def test_pay_later_payment_processing_at_a_restart_settles_by_itself_after_it(start_emulator, state_file):
    first = start_emulator()
    session = checkout_create(bank_debits=True)
    first.state.control_pay_session(session.id, method="delayed_success")
    first.stop()

    second = StripeEmulator(host="127.0.0.1", port=0, state_file=state_file)
    second.state.async_delay_seconds = 0.05  # what `--async-delay` sets before serving
    second.start()
    try:
        deadline = time.monotonic() + 3
        while second.state.snapshot()["checkout_sessions"][session.id]["payment_status"] == "unpaid":
            assert time.monotonic() < deadline, "the payment never settled"
            time.sleep(0.02)
    finally:
        second.stop()

    saved = json.loads(state_file.read_text())
    assert saved["checkout_sessions"][session.id]["payment_status"] == "paid"


def test_each_change_is_saved_atomically_before_the_answer(start_emulator, state_file):
    start_emulator()
    session = checkout_create()

    saved = json.loads(state_file.read_text())
    assert list(saved["checkout_sessions"]) == [session.id]
    assert [p.name for p in state_file.parent.iterdir()] == [state_file.name]  # no temp file left behind


def test_reset_empties_the_state_file(start_emulator, state_file):
    first = start_emulator()
    checkout_create()

    response = requests.post(f"{first.url}/_emulator/reset", timeout=5)
    second = _restart(first, start_emulator)

    assert response.status_code == 200
    assert json.loads(state_file.read_text())["checkout_sessions"] == {}
    assert second.state.snapshot()["checkout_sessions"] == {}


def test_missing_state_file_starts_empty_and_creates_it(start_emulator, state_file):
    emulator = start_emulator()

    snapshot = emulator.state.snapshot()
    assert snapshot["checkout_sessions"] == {}
    assert snapshot["charges"] == {}
    assert snapshot["events"] == []
    assert json.loads(state_file.read_text())["idempotency"] == {}


def test_corrupt_state_file_fails_at_start_naming_the_file_and_keeps_it(state_file):
    state_file.write_text('{"format": "stripe-emulator-state", "version": 1, "charges": {"ch_1"')

    with pytest.raises(StateFileError, match=re.escape(str(state_file))):
        StripeEmulator(host="127.0.0.1", port=0, state_file=state_file)

    assert state_file.read_text().endswith('"ch_1"')


def test_command_with_corrupt_state_file_stops_with_a_message_naming_it(state_file):
    state_file.write_text("not json")

    with pytest.raises(CommandError, match=re.escape(str(state_file))):
        call_command("stripe_emulator", "--port", "0", "--state-file", str(state_file))


def test_unwritable_state_file_fails_at_start_naming_the_file(tmp_path):
    not_a_directory = tmp_path / "plain-file"
    not_a_directory.write_text("")
    state_file = not_a_directory / "state.json"

    with pytest.raises(StateFileError, match=re.escape(str(state_file))):
        StripeEmulator(host="127.0.0.1", port=0, state_file=state_file)


def test_an_idempotency_keys_age_survives_a_restart(start_emulator):
    expires_at = datetime.now(UTC) + timedelta(hours=1)
    first = start_emulator()
    original = _checkout_with_key("checkout-42-1", booking_ref="42", expires_at=expires_at)
    first.state.control_age_idempotency_keys(24 * 60 * 60)

    _restart(first, start_emulator)
    again = _checkout_with_key("checkout-42-1", booking_ref="42", expires_at=expires_at)

    assert again.id != original.id  # the key had expired: Stripe would create a second session too


def test_balance_transactions_and_payouts_survive_a_restart(start_emulator):
    first = start_emulator()
    session = checkout_create(amount=5000)
    first.state.control_pay_session(session.id, method="card")
    account = gateway.connect_account_create(
        email="p@example.com", country="US", metadata={}, idempotency_key="account-1"
    )
    first.state.control_complete_onboarding(account.id)
    charge_id = gateway.checkout_session_retrieve(session_id=session.id).charge_id
    gateway.transfer_create(
        amount=4500,
        currency="usd",
        destination=account.id,
        source_transaction=charge_id,
        transfer_group="booking-42",
        metadata={},
        idempotency_key="payout-1",
    )
    first.state.control_settle_balance()
    first.state.control_payout(account.id, amount=1000)
    before = first.state.snapshot()

    after = _restart(first, start_emulator).state.snapshot()

    assert after["balance_transactions"] == before["balance_transactions"]
    assert after["payouts"] == before["payouts"]
    assert after["account_balances"][account.id] == {"available": {"usd": 3500}, "pending": {}}


def test_a_charge_drawn_on_before_a_restart_has_only_what_is_left_after_it(start_emulator):
    first = start_emulator()
    session = checkout_create(amount=5000)
    first.state.control_pay_session(session.id, method="card")
    account = gateway.connect_account_create(
        email="p@example.com", country="US", metadata={}, idempotency_key="account-1"
    )
    first.state.control_complete_onboarding(account.id)
    charge_id = gateway.checkout_session_retrieve(session_id=session.id).charge_id

    def transfer(amount: int, key: str) -> gateway.Transfer:
        return gateway.transfer_create(
            amount=amount,
            currency="usd",
            destination=account.id,
            source_transaction=charge_id,
            transfer_group="booking-42",
            metadata={},
            idempotency_key=key,
        )

    transfer(4500, "payout-1")
    _restart(first, start_emulator)

    with pytest.raises(gateway.GatewayRejectedError) as caught:
        transfer(501, "payout-2")
    assert caught.value.code == "balance_insufficient"
    assert transfer(500, "payout-3").amount == 500


VERSION_1_FILE = {
    "format": "stripe-emulator-state",
    "version": 1,
    "accounts": {
        "acct_old": {
            "id": "acct_old",
            "object": "account",
            "capabilities": {"transfers": "active"},
            "country": "US",
            "default_currency": "usd",
            "details_submitted": True,
            "requirements": {"currently_due": [], "pending_verification": []},
        }
    },
    "balance": {"available": {"usd": 2500}, "pending": {"usd": 4825}},
    "account_balances": {"acct_old": {"usd": 1000}},
    "idempotency": {
        "account-old": {
            "fingerprint": json.dumps(["POST", "/v1/accounts", {"type": "express"}], sort_keys=True),
            "status": 200,
            "body": json.dumps({"id": "acct_old", "object": "account"}),
            "headers": {},
            "request_id": "req_old",
        }
    },
}


def test_a_version_1_state_file_still_loads(start_emulator, state_file):
    state_file.write_text(json.dumps(VERSION_1_FILE))

    emulator = start_emulator()
    replay = requests.post(
        f"{emulator.url}/v1/accounts",
        data={"type": "express"},
        headers={"Authorization": "Bearer sk_test_emulator", "Idempotency-Key": "account-old"},
        timeout=5,
    )

    snapshot = emulator.state.snapshot()
    assert snapshot["balance"] == {"available": {"usd": 2500}, "pending": {"usd": 4825}}
    assert snapshot["account_balances"]["acct_old"] == {"available": {"usd": 1000}, "pending": {}}
    assert {t["type"] for t in snapshot["balance_transactions"].values()} == {"adjustment"}
    # Its keys count as first used at the upgrade: they still replay for 24 hours.
    assert (replay.json()["id"], replay.headers["Idempotent-Replayed"]) == ("acct_old", "true")
    assert json.loads(state_file.read_text())["version"] == 2
