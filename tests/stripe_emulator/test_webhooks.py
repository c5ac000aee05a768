"""Webhook delivery: Stripe's signature, platform vs Connect endpoints, retries, duplicates, order."""

import socket

import pytest
import stripe

from payments import gateway
from tests.fixtures.stripe import sign_webhook
from tests.payments.gateway_calls import transfer


@pytest.fixture
def receiving(stripe_emulator, webhook_receiver):
    stripe_emulator.set_webhooks(
        url=f"{webhook_receiver.url}/webhooks/stripe/",
        connect_url=f"{webhook_receiver.url}/webhooks/stripe/connect/",
    )
    return webhook_receiver


def test_delivered_event_verifies_with_construct_event_and_platform_secret(
    stripe_emulator, receiving, settings, open_session
):
    stripe_emulator.pay(open_session.id)

    (request,) = receiving.wait_for(1)

    event = stripe.Webhook.construct_event(
        request.body, request.headers["stripe-signature"], settings.STRIPE_WEBHOOK_SECRET
    )
    assert event.type == "checkout.session.completed"
    assert event.data.object.id == open_session.id


def test_delivered_event_has_stripe_event_shape(stripe_emulator, receiving, open_session):
    stripe_emulator.pay(open_session.id)

    event = receiving.wait_for(1)[0].json()

    assert event["id"].startswith("evt_")
    assert (event["object"], event["livemode"], event["api_version"]) == ("event", False, "2026-10-28.endive")
    assert "account" not in event
    assert event["data"]["object"]["object"] == "checkout.session"


def test_platform_event_does_not_verify_with_the_connect_secret(
    stripe_emulator, receiving, settings, open_session
):
    stripe_emulator.pay(open_session.id)
    request = receiving.wait_for(1)[0]

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            request.body, request.headers["stripe-signature"], settings.STRIPE_CONNECT_WEBHOOK_SECRET
        )


def test_connect_event_goes_to_connect_url_signed_with_connect_secret(stripe_emulator, receiving, settings):
    account = gateway.connect_account_create(
        email="p@example.com", country="US", metadata={}, idempotency_key="a"
    )
    stripe_emulator.complete_onboarding(account.id)

    (request,) = receiving.wait_for(1)

    assert request.path == "/webhooks/stripe/connect/"
    event = stripe.Webhook.construct_event(
        request.body, request.headers["stripe-signature"], settings.STRIPE_CONNECT_WEBHOOK_SECRET
    )
    assert (event.type, event.account) == ("account.updated", account.id)


def test_sign_webhook_matches_the_sdk_signature_scheme():
    payload = b'{"id": "evt_1", "object": "event"}'

    header = sign_webhook(payload, "whsec_test", timestamp=1_700_000_000)

    assert header == stripe.WebhookSignature.generate_signature_header(
        payload.decode(), "whsec_test", 1_700_000_000
    )


def test_failed_delivery_is_retried_until_it_succeeds(stripe_emulator, receiving, open_session):
    receiving.fail_next(2)

    stripe_emulator.pay(open_session.id)
    (delivery,) = stripe_emulator.wait_for_deliveries()

    assert [attempt["status"] for attempt in delivery["attempts"]] == [500, 500, 200]
    assert delivery["status"] == "delivered"
    assert len({r.json()["id"] for r in receiving.received}) == 1


def test_retry_is_signed_afresh(stripe_emulator, receiving, settings, open_session):
    receiving.fail_next(1)

    stripe_emulator.pay(open_session.id)
    first, second = receiving.wait_for(2)

    for request in (first, second):
        stripe.Webhook.construct_event(
            request.body, request.headers["stripe-signature"], settings.STRIPE_WEBHOOK_SECRET
        )


def test_delivery_gives_up_after_max_attempts(stripe_emulator, receiving, open_session):
    receiving.fail_next(10)

    stripe_emulator.pay(open_session.id)
    (delivery,) = stripe_emulator.wait_for_deliveries()

    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 3  # FAST_WEBHOOKS.max_attempts


def test_connection_refused_is_retried_a_bounded_number_of_times(stripe_emulator, open_session):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    stripe_emulator.set_webhooks(url=f"http://127.0.0.1:{closed_port}/webhooks/stripe/")

    stripe_emulator.pay(open_session.id)
    (delivery,) = stripe_emulator.wait_for_deliveries()

    assert delivery["status"] == "failed"
    assert all(attempt["status"] is None and attempt["error"] for attempt in delivery["attempts"])


def test_without_a_webhook_url_events_are_recorded_but_not_delivered(stripe_emulator, open_session):
    stripe_emulator.pay(open_session.id)

    assert len(stripe_emulator.events()) == 1
    assert stripe_emulator.deliveries() == []


def test_duplicates_mode_delivers_each_event_twice(stripe_emulator, receiving, open_session):
    stripe_emulator.set_webhooks(duplicates=True)

    stripe_emulator.pay(open_session.id)
    first, second = receiving.wait_for(2)

    assert first.json()["id"] == second.json()["id"]


def test_out_of_order_mode_delivers_events_raised_together_newest_first(
    stripe_emulator, receiving, paid_session
):
    stripe_emulator.set_webhooks(out_of_order=True)

    gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=None, metadata={}, idempotency_key="r-1"
    )
    stripe_emulator.wait_for_deliveries()

    assert [e["type"] for e in stripe_emulator.events()[-2:]] == ["refund.created", "charge.refunded"]
    assert [e["type"] for e in receiving.events()[-2:]] == ["charge.refunded", "refund.created"]


def test_event_from_an_api_call_names_the_request_and_its_idempotency_key(stripe_emulator, paid_session):
    gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=None, metadata={}, idempotency_key="refund-9"
    )

    event = stripe_emulator.events("refund.created")[0]

    assert event["request"]["idempotency_key"] == "refund-9"
    assert event["request"]["id"].startswith("req_")


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("transfer", ["transfer.created"]),
        ("reversal", ["transfer.created", "transfer.reversed"]),
        (
            "dispute",
            [
                "charge.dispute.created",
                "charge.dispute.funds_withdrawn",
                "charge.dispute.updated",
                "charge.dispute.closed",
            ],
        ),
        ("refund_pending", ["refund.created", "charge.refunded", "charge.refund.updated", "refund.updated"]),
        (
            "refund_failed",
            ["refund.created", "charge.refunded", "charge.refund.updated", "refund.updated", "refund.failed"],
        ),
    ],
)
def test_money_movements_raise_their_events(
    stripe_emulator, paid_session, charge_id, provider_account, action, expected
):
    before = len(stripe_emulator.events())
    if action in ("transfer", "reversal"):
        created = transfer(charge_id, provider_account.id)
        if action == "reversal":
            gateway.transfer_reversal_create(
                transfer_id=created.id, amount=100, metadata={}, idempotency_key="rv"
            )
    elif action == "dispute":
        dispute = stripe_emulator.open_dispute(charge_id)
        stripe_emulator.close_dispute(dispute["id"], status="lost")
    else:
        stripe_emulator.set_refunds_pending()
        refund = gateway.refund_create(
            payment_intent_id=paid_session.payment_intent_id, amount=None, metadata={}, idempotency_key="r"
        )
        stripe_emulator.settle_refund(
            refund.id, status="succeeded" if action == "refund_pending" else "failed"
        )

    assert [e["type"] for e in stripe_emulator.events()[before:]] == expected
