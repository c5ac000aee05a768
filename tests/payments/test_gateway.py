"""Every gateway function against the emulator, through the real SDK."""

import json
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from payments import gateway
from tests.fixtures.stripe import sign_webhook
from tests.payments.gateway_calls import checkout_create, transfer


def _refund(
    paid_session: gateway.CheckoutSession, amount: int | None, key: str = "refund-1"
) -> gateway.Refund:
    return gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id,
        amount=amount,
        metadata={"refund_id": "1"},
        idempotency_key=key,
    )


# Checkout -----------------------------------------------------------------------------------------


def test_checkout_session_create_returns_an_open_session_with_a_payment_url(stripe_emulator):
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)

    session = gateway.checkout_session_create(
        booking_ref="42",
        amount=5000,
        currency="usd",
        product_name="Lesson",
        customer_email="client@example.com",
        success_url="http://testserver/s/{CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/c",
        expires_at=expires_at,
        transfer_group="booking-42",
        metadata={"booking_id": "42"},
        idempotency_key="checkout-42-1",
    )

    assert session.url.startswith(f"{stripe_emulator.url}/c/pay/cs_test_")
    assert (session.status, session.payment_status, session.amount_total, session.currency) == (
        "open",
        "unpaid",
        5000,
        "usd",
    )
    assert (session.client_reference_id, session.metadata, session.expires_at) == (
        "42",
        {"booking_id": "42"},
        expires_at,
    )
    assert session.payment_intent_id is None


def test_checkout_session_create_with_the_same_key_returns_the_same_session(stripe_emulator):
    first = checkout_create(key="checkout-42-1")

    second = checkout_create(key="checkout-42-1")

    assert second.id == first.id
    assert len(stripe_emulator.state()["checkout_sessions"]) == 1


def test_checkout_session_create_refuses_a_success_url_without_the_placeholder(stripe_emulator):
    with pytest.raises(ValueError, match="CHECKOUT_SESSION_ID"):
        gateway.checkout_session_create(
            booking_ref="42",
            amount=5000,
            currency="usd",
            product_name="Lesson",
            customer_email=None,
            success_url="http://testserver/s/",
            cancel_url="http://testserver/c",
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            transfer_group="booking-42",
            metadata={},
            idempotency_key="checkout-42-1",
        )

    assert stripe_emulator.requests() == []


def test_checkout_session_retrieve_includes_payment_intent_and_charge(stripe_emulator, open_session):
    stripe_emulator.pay(open_session.id)

    session = gateway.checkout_session_retrieve(session_id=open_session.id)

    assert session.is_paid
    assert session.payment_intent.id == session.payment_intent_id
    assert session.charge_id.startswith("ch_")
    assert session.payment_intent.latest_charge.amount == 5000


def test_checkout_session_retrieve_of_unknown_session_is_not_found(stripe_emulator):
    with pytest.raises(gateway.GatewayNotFoundError) as caught:
        gateway.checkout_session_retrieve(session_id="cs_test_missing")

    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == (
        "resource_missing",
        404,
        False,
    )


def test_checkout_session_expire_expires_an_open_session(stripe_emulator, open_session):
    session = gateway.checkout_session_expire(session_id=open_session.id, idempotency_key="expire-1")

    assert (session.status, session.url) == ("expired", None)
    assert stripe_emulator.events()[-1]["type"] == "checkout.session.expired"


def test_checkout_session_expire_of_a_paid_session_is_rejected(stripe_emulator, paid_session):
    with pytest.raises(gateway.GatewayRejectedError) as caught:
        gateway.checkout_session_expire(session_id=paid_session.id, idempotency_key="expire-1")

    assert caught.value.code == "checkout_session_not_open"


# Payments and refunds -----------------------------------------------------------------------------


def test_payment_intent_retrieve_includes_the_latest_charge(stripe_emulator, paid_session):
    intent = gateway.payment_intent_retrieve(payment_intent_id=paid_session.payment_intent_id)

    assert (intent.status, intent.amount_received) == ("succeeded", 5000)
    assert intent.latest_charge.id == intent.latest_charge_id == paid_session.charge_id
    assert intent.latest_charge.payment_intent_id == intent.id


def test_refund_create_without_amount_refunds_everything(stripe_emulator, paid_session):
    refund = _refund(paid_session, None)

    assert (refund.amount, refund.status, refund.charge_id) == (5000, "succeeded", paid_session.charge_id)
    assert refund.id.startswith("re_")
    assert stripe_emulator.state()["charges"][paid_session.charge_id]["refunded"] is True


def test_refund_create_with_amount_refunds_part(stripe_emulator, paid_session):
    refund = _refund(paid_session, 1200)

    charge = stripe_emulator.state()["charges"][paid_session.charge_id]
    assert refund.amount == 1200
    assert (charge["amount_refunded"], charge["refunded"]) == (1200, False)


def test_refund_create_carries_reason_and_metadata(stripe_emulator, paid_session):
    refund = _refund(paid_session, 1200)

    assert refund.metadata == {"refund_id": "1"}
    assert stripe_emulator.state()["refunds"][refund.id]["reason"] == "requested_by_customer"


def test_refund_retrieve_returns_the_current_status(stripe_emulator, paid_session):
    stripe_emulator.set_refunds_pending()
    refund = _refund(paid_session, None)
    stripe_emulator.settle_refund(refund.id, status="succeeded")

    assert refund.status == "pending"
    assert gateway.refund_retrieve(refund_id=refund.id).status == "succeeded"


# Transfers ----------------------------------------------------------------------------------------


def test_transfer_create_sends_the_providers_share(stripe_emulator, charge_id, provider_account):
    created = transfer(charge_id, provider_account.id, amount=4500, key="payout-1")

    assert created.id.startswith("tr_")
    assert (created.amount, created.currency, created.destination) == (4500, "usd", provider_account.id)
    assert (created.source_transaction, created.transfer_group) == (charge_id, "booking-42")
    assert created.metadata == {"payout_id": "payout-1"}


def test_transfer_create_refuses_a_payment_intent_id_as_source(
    stripe_emulator, paid_session, provider_account
):
    with pytest.raises(ValueError, match="charge id"):
        transfer(paid_session.payment_intent_id, provider_account.id)


def test_transfer_reversal_create_reverses_part_of_a_transfer(stripe_emulator, charge_id, provider_account):
    created = transfer(charge_id, provider_account.id, amount=4500)

    reversal = gateway.transfer_reversal_create(
        transfer_id=created.id, amount=1000, metadata={"refund_id": "3"}, idempotency_key="reversal-3"
    )

    assert reversal.id.startswith("trr_")
    assert (reversal.amount, reversal.transfer_id, reversal.metadata) == (
        1000,
        created.id,
        {"refund_id": "3"},
    )


def test_transfer_list_by_group_finds_only_that_groups_transfers(
    stripe_emulator, charge_id, provider_account
):
    mine = transfer(charge_id, provider_account.id, amount=100, key="payout-1")
    gateway.transfer_create(
        amount=100,
        currency="usd",
        destination=provider_account.id,
        source_transaction=charge_id,
        transfer_group="booking-other",
        metadata={},
        idempotency_key="payout-2",
    )

    assert [t.id for t in gateway.transfer_list_by_group(transfer_group="booking-42")] == [mine.id]


def test_transfer_list_by_group_reads_every_page(stripe_emulator, charge_id, provider_account):
    for number in range(101):
        transfer(charge_id, provider_account.id, amount=1, key=f"payout-{number}")

    transfers = gateway.transfer_list_by_group(transfer_group="booking-42")

    assert len({t.id for t in transfers}) == 101
    assert len(stripe_emulator.requests(method="GET", path="/v1/transfers")) == 2


def test_transfer_list_by_group_of_unknown_group_is_empty(stripe_emulator):
    assert gateway.transfer_list_by_group(transfer_group="booking-404") == []


# Connect ------------------------------------------------------------------------------------------


def test_connect_account_create_requests_the_transfers_capability(stripe_emulator):
    account = gateway.connect_account_create(
        email="provider@example.com", country="US", metadata={"provider_id": "7"}, idempotency_key="account-7"
    )

    assert account.id.startswith("acct_")
    assert (account.email, account.metadata, account.transfers_capability) == (
        "provider@example.com",
        {"provider_id": "7"},
        "inactive",
    )
    assert account.requirements_due
    assert stripe_emulator.state()["accounts"][account.id]["type"] == "express"


def test_connect_account_retrieve_reflects_onboarding(stripe_emulator, provider_account):
    assert provider_account.can_receive_transfers
    assert provider_account.disabled_reason is None


def test_connect_account_link_create_returns_an_onboarding_url(stripe_emulator, provider_account):
    link = gateway.connect_account_link_create(
        account_id=provider_account.id,
        refresh_url="http://testserver/refresh/",
        return_url="http://testserver/return/",
        idempotency_key="link-1",
    )

    assert link.url.startswith(f"{stripe_emulator.url}/connect/onboarding/")
    assert link.expires_at > datetime.now(UTC)


def test_connect_login_link_create_returns_a_dashboard_url(stripe_emulator, provider_account):
    link = gateway.connect_login_link_create(account_id=provider_account.id, idempotency_key="login-1")

    assert link.url.startswith(f"{stripe_emulator.url}/express/")


# Webhooks -----------------------------------------------------------------------------------------


def _event_payload(**overrides) -> bytes:
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session"}},
        **overrides,
    }
    return json.dumps(event).encode()


def test_webhook_event_verify_accepts_a_platform_event(settings):
    payload = _event_payload()

    event = gateway.webhook_event_verify(
        payload=payload, signature_header=sign_webhook(payload, settings.STRIPE_WEBHOOK_SECRET)
    )

    assert (event.id, event.type, event.account) == ("evt_1", "checkout.session.completed", None)
    assert event.data_object == {"id": "cs_test_1", "object": "checkout.session"}


def test_webhook_event_verify_accepts_a_connect_event_with_the_connect_secret(settings):
    payload = _event_payload(type="account.updated", account="acct_1")

    event = gateway.webhook_event_verify(
        payload=payload,
        signature_header=sign_webhook(payload, settings.STRIPE_CONNECT_WEBHOOK_SECRET),
        connect=True,
    )

    assert event.account == "acct_1"


def test_webhook_event_verify_accepts_an_event_whose_object_has_no_id(settings):
    # Stripe's Balance object has no id: `balance.available` must be acknowledged (and ignored), not refused
    # with a 400 that Stripe would retry for three days.
    payload = _event_payload(
        type="balance.available",
        data={"object": {"object": "balance", "available": [{"amount": 0, "currency": "usd"}]}},
    )

    event = gateway.webhook_event_verify(
        payload=payload, signature_header=sign_webhook(payload, settings.STRIPE_WEBHOOK_SECRET)
    )

    assert event.type == "balance.available"


def test_webhook_event_verify_refuses_an_object_id_that_is_not_a_string(settings):
    payload = _event_payload(data={"object": {"id": 7, "object": "checkout.session"}})

    with pytest.raises(gateway.WebhookSignatureError, match=r"data\.object\.id"):
        gateway.webhook_event_verify(
            payload=payload, signature_header=sign_webhook(payload, settings.STRIPE_WEBHOOK_SECRET)
        )


def test_webhook_event_verify_refuses_the_other_endpoints_secret(settings):
    payload = _event_payload()

    with pytest.raises(gateway.WebhookSignatureError):
        gateway.webhook_event_verify(
            payload=payload, signature_header=sign_webhook(payload, settings.STRIPE_CONNECT_WEBHOOK_SECRET)
        )


def test_webhook_event_verify_refuses_a_tampered_body(settings):
    header = sign_webhook(_event_payload(), settings.STRIPE_WEBHOOK_SECRET)

    with pytest.raises(gateway.WebhookSignatureError):
        gateway.webhook_event_verify(payload=_event_payload(type="charge.refunded"), signature_header=header)


def test_webhook_event_verify_refuses_a_stale_signature(settings):
    payload = _event_payload()
    header = sign_webhook(payload, settings.STRIPE_WEBHOOK_SECRET, timestamp=int(time.time()) - 600)

    with pytest.raises(gateway.WebhookSignatureError):
        gateway.webhook_event_verify(payload=payload, signature_header=header)


def test_webhook_event_verify_refuses_a_missing_header():
    with pytest.raises(gateway.WebhookSignatureError):
        gateway.webhook_event_verify(payload=_event_payload(), signature_header=None)


def test_webhook_event_verify_refuses_a_signed_body_that_is_not_json(settings):
    payload = b"not json"

    with pytest.raises(gateway.WebhookSignatureError):
        gateway.webhook_event_verify(
            payload=payload, signature_header=sign_webhook(payload, settings.STRIPE_WEBHOOK_SECRET)
        )


def test_webhook_event_verify_accepts_what_the_emulator_delivers(
    stripe_emulator, webhook_receiver, open_session
):
    stripe_emulator.set_webhooks(url=webhook_receiver.url)
    stripe_emulator.pay(open_session.id)
    (request,) = webhook_receiver.wait_for(1)

    event = gateway.webhook_event_verify(
        payload=request.body, signature_header=request.headers["stripe-signature"]
    )

    assert event.data_object["id"] == open_session.id


# The client and errors ----------------------------------------------------------------------------


def test_every_post_requires_an_idempotency_key(stripe_emulator):
    with pytest.raises(TypeError):
        gateway.connect_account_create(email="p@example.com", country="US", metadata={})  # type: ignore[call-arg]


def test_empty_idempotency_key_is_refused(stripe_emulator):
    with pytest.raises(ValueError, match="idempotency_key"):
        gateway.connect_account_create(email="p@example.com", country="US", metadata={}, idempotency_key="")


def test_client_follows_a_change_of_api_base(stripe_emulator, settings, provider_account):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{dead_port}"

    with pytest.raises(gateway.GatewayTemporaryError):
        gateway.connect_account_retrieve(account_id=provider_account.id)

    settings.STRIPE_API_BASE = stripe_emulator.url
    assert gateway.connect_account_retrieve(account_id=provider_account.id).id == provider_account.id


def test_bad_api_key_is_rejected_not_retryable(stripe_emulator, settings):
    settings.STRIPE_SECRET_KEY = "sk_live_wrong"

    with pytest.raises(gateway.GatewayRejectedError) as caught:
        gateway.connect_account_retrieve(account_id="acct_1")

    assert caught.value.http_status == 401
    assert caught.value.retryable is False
