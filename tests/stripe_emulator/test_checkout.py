"""The hosted checkout page and the life of a checkout session in the emulator."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from payments import gateway
from tests.payments.gateway_calls import checkout_create


def _submit(session: gateway.CheckoutSession, action: str, card_number: str = "4242 4242 4242 4242"):
    return requests.post(
        session.url, data={"action": action, "card_number": card_number}, allow_redirects=False, timeout=5
    )


def test_checkout_page_offers_labelled_buttons(stripe_emulator, bank_debit_session):
    html = requests.get(bank_debit_session.url, timeout=5).text

    for label in ("Pay", "Decline", "Pay later (succeeds)", "Pay later (fails)", "Back"):
        assert re.search(rf"<button[^>]*>{re.escape(label)}</button>", html)
    assert "50.00 USD" in html


def test_a_cards_only_session_offers_no_bank_debit_and_refuses_one(stripe_emulator, open_session):
    html = requests.get(open_session.url, timeout=5).text

    assert "Pay later" not in html
    assert "accepts cards only" in html
    response = _submit(open_session, "pay_later_succeeds")
    assert "a bank debit cannot pay it" in response.text
    assert gateway.checkout_session_retrieve(session_id=open_session.id).status == "open"


def test_pay_redirects_to_success_url_with_the_session_id(stripe_emulator, open_session):
    response = _submit(open_session, "pay")

    assert response.status_code == 303
    assert response.headers["Location"] == f"http://testserver/bookings/42/paid/?session_id={open_session.id}"


def test_pay_completes_the_session_as_paid(stripe_emulator, open_session):
    _submit(open_session, "pay")

    session = gateway.checkout_session_retrieve(session_id=open_session.id)
    assert (session.status, session.payment_status, session.url) == ("complete", "paid", None)
    assert session.payment_intent.status == "succeeded"
    assert session.payment_intent.latest_charge.paid is True


def test_payment_intent_carries_metadata_and_transfer_group(stripe_emulator, paid_session):
    intent = paid_session.payment_intent

    assert intent.metadata == {"booking_id": "42"}
    assert intent.transfer_group == "booking-42"
    assert intent.latest_charge.transfer_group == "booking-42"


def test_pay_sends_checkout_session_completed(stripe_emulator, open_session):
    _submit(open_session, "pay")

    (event,) = stripe_emulator.events("checkout.session.completed")
    assert event["data"]["object"]["payment_status"] == "paid"


def test_decline_keeps_the_session_open_and_shows_the_decline(stripe_emulator, open_session):
    response = _submit(open_session, "decline")

    assert response.status_code == 200
    assert "Your card was declined." in response.text
    assert gateway.checkout_session_retrieve(session_id=open_session.id).status == "open"
    assert stripe_emulator.events() == []


def test_declining_test_card_number_is_declined(stripe_emulator, open_session):
    response = _submit(open_session, "pay", card_number="4000 0000 0000 0002")

    assert "Your card was declined." in response.text


def test_back_goes_to_cancel_url(stripe_emulator, open_session):
    response = _submit(open_session, "back")

    assert response.headers["Location"] == "http://testserver/bookings/42/"
    assert gateway.checkout_session_retrieve(session_id=open_session.id).status == "open"


def test_pay_later_completes_the_session_unpaid(stripe_emulator, bank_debit_session):
    response = _submit(bank_debit_session, "pay_later_succeeds")

    session = gateway.checkout_session_retrieve(session_id=bank_debit_session.id)
    assert response.status_code == 303
    assert (session.status, session.payment_status) == ("complete", "unpaid")
    assert session.payment_intent.status == "processing"


def test_pay_later_that_succeeds_sends_async_payment_succeeded_when_settled(
    stripe_emulator, bank_debit_session
):
    _submit(bank_debit_session, "pay_later_succeeds")

    stripe_emulator.settle(bank_debit_session.id)

    session = gateway.checkout_session_retrieve(session_id=bank_debit_session.id)
    assert session.payment_status == "paid"
    assert [e["type"] for e in stripe_emulator.events()] == [
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    ]


def test_pay_later_that_fails_sends_async_payment_failed_when_settled(stripe_emulator, bank_debit_session):
    _submit(bank_debit_session, "pay_later_fails")

    stripe_emulator.settle(bank_debit_session.id)

    session = gateway.checkout_session_retrieve(session_id=bank_debit_session.id)
    assert session.payment_status == "unpaid"
    assert session.payment_intent.latest_charge.status == "failed"
    assert stripe_emulator.events()[-1]["type"] == "checkout.session.async_payment_failed"


def test_pay_later_settles_by_itself_after_the_configured_delay(stripe_emulator, bank_debit_session):
    stripe_emulator.server.state.async_delay_seconds = 0.05
    _submit(bank_debit_session, "pay_later_succeeds")

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not stripe_emulator.events(
        "checkout.session.async_payment_succeeded"
    ):
        time.sleep(0.02)

    assert stripe_emulator.events("checkout.session.async_payment_succeeded")


def test_paid_session_page_no_longer_offers_payment(stripe_emulator, paid_session):
    html = requests.get(f"{stripe_emulator.url}/c/pay/{paid_session.id}", timeout=5).text

    assert "already been completed" in html
    assert "<button" not in html


def test_expire_control_expires_an_open_session_and_sends_expired(stripe_emulator, open_session):
    stripe_emulator.expire(open_session.id)

    assert gateway.checkout_session_retrieve(session_id=open_session.id).status == "expired"
    assert [e["type"] for e in stripe_emulator.events()] == ["checkout.session.expired"]


def test_session_expires_on_its_own_when_expires_at_passes(stripe_emulator, open_session):
    with stripe_emulator.server.state.lock:
        stripe_emulator.server.state.checkout_sessions[open_session.id]["expires_at"] = int(time.time()) - 1
        stripe_emulator.server.state.reindex_clock()  # edits behind the state's back need a reindex

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not stripe_emulator.events("checkout.session.expired"):
        time.sleep(0.02)

    assert stripe_emulator.state()["checkout_sessions"][open_session.id]["status"] == "expired"


def test_expires_at_less_than_30_minutes_ahead_is_refused(stripe_emulator):
    with pytest.raises(gateway.GatewayRejectedError) as caught:
        gateway.checkout_session_create(
            booking_ref="1",
            amount=5000,
            currency="usd",
            product_name="Lesson",
            customer_email=None,
            success_url="http://testserver/s/{CHECKOUT_SESSION_ID}",
            cancel_url="http://testserver/c",
            expires_at=datetime.now(UTC) + timedelta(minutes=10),
            transfer_group="booking-1",
            metadata={},
            idempotency_key="checkout-1",
        )

    assert caught.value.param == "expires_at"


def test_expired_session_cannot_be_paid(stripe_emulator, open_session):
    stripe_emulator.expire(open_session.id)

    response = _submit(open_session, "pay")

    assert response.status_code == 200
    assert "expired" in response.text
    assert stripe_emulator.state()["payment_intents"] == {}


def test_two_sessions_for_one_booking_can_both_be_paid(stripe_emulator):
    # Stripe does not stop this; the app must refund the second payment automatically.
    first = checkout_create(key="checkout-42-1")
    second = checkout_create(key="checkout-42-2")

    stripe_emulator.pay(first.id)
    stripe_emulator.pay(second.id)

    assert len(stripe_emulator.state()["charges"]) == 2


def test_checkout_below_stripes_minimum_charge_is_refused(stripe_emulator):
    with pytest.raises(gateway.GatewayRejectedError) as caught:
        checkout_create(amount=49)

    assert caught.value.code == "amount_too_small"
