"""Fault injection, and how the real SDK (through the gateway) lives with it."""

import pytest
import requests

from payments import gateway
from stripe_emulator.faults import FaultPlan, FaultSpecError, parse_fault
from tests.payments.gateway_calls import transfer


def test_fault_spec_with_rate_parses():
    fault = parse_fault("POST /v1/transfers=500:0.5")

    assert (fault.method, fault.path, fault.kind, fault.rate, fault.remaining) == (
        "POST",
        "/v1/transfers",
        "500",
        0.5,
        None,
    )


def test_crash_fault_spec_parses():
    fault = parse_fault("POST /v1/refunds=crashx1")

    assert (fault.kind, fault.remaining, fault.status) == ("crash", 1, None)


def test_fault_spec_with_count_parses():
    fault = parse_fault("* /v1/transfers/*/reversals=timeoutx2")

    assert (fault.method, fault.kind, fault.remaining) == ("*", "timeout", 2)
    assert fault.matches("POST", "/v1/transfers/tr_1/reversals")


@pytest.mark.parametrize(
    "spec", ["POST /v1/transfers", "POST /v1/transfers=404", "POST /v1/transfers=500:1.5"]
)
def test_bad_fault_spec_is_refused(spec):
    with pytest.raises(FaultSpecError):
        parse_fault(spec)


def test_count_fault_is_spent_after_its_calls():
    plan = FaultPlan()
    plan.add(parse_fault("POST /v1/refunds=500x2"))

    picks = [plan.pick("POST", "/v1/refunds") is not None for _ in range(3)]

    assert picks == [True, True, False]


def test_rate_fault_hits_a_share_of_calls_and_repeats_with_its_seed():
    def run() -> list[bool]:
        plan = FaultPlan()
        plan.add(parse_fault("GET /v1/*=503:0.3", seed=7))
        return [plan.pick("GET", "/v1/accounts/acct_1") is not None for _ in range(200)]

    hits = run()

    assert 30 < sum(hits) < 90
    assert run() == hits


def test_sdk_retries_a_500_with_the_same_idempotency_key(stripe_emulator, charge_id, provider_account):
    stripe_emulator.set_faults("POST /v1/transfers=500x1")

    created = transfer(charge_id, provider_account.id, key="payout-1")

    attempts = stripe_emulator.requests(method="POST", path="/v1/transfers")
    assert [(a["idempotency_key"], a["status"], a["fault"]) for a in attempts] == [
        ("payout-1", 500, "500"),
        ("payout-1", 200, None),
    ]
    assert list(stripe_emulator.state()["transfers"]) == [created.id]


def test_persistent_500_becomes_a_retryable_gateway_error(
    stripe_emulator, settings, charge_id, provider_account
):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0  # the SDK's own retries are covered above; keep this test fast
    stripe_emulator.set_faults("POST /v1/transfers=500")

    with pytest.raises(gateway.GatewayTemporaryError) as caught:
        transfer(charge_id, provider_account.id)

    assert caught.value.retryable is True
    assert caught.value.http_status == 500
    assert stripe_emulator.state()["transfers"] == {}


def test_429_is_not_retried_by_the_sdk_and_is_retryable_for_us(stripe_emulator, charge_id, provider_account):
    stripe_emulator.set_faults("POST /v1/transfers=429x1")

    with pytest.raises(gateway.GatewayTemporaryError) as caught:
        transfer(charge_id, provider_account.id)

    assert caught.value.code == "rate_limit"
    assert len(stripe_emulator.requests(method="POST", path="/v1/transfers")) == 1


def test_400_is_a_refusal_the_sdk_does_not_retry_and_the_key_does_not_keep(
    stripe_emulator, charge_id, provider_account
):
    stripe_emulator.set_faults("POST /v1/transfers=400x1")

    with pytest.raises(gateway.GatewayRejectedError) as caught:
        transfer(charge_id, provider_account.id, key="payout-1")

    assert caught.value.retryable is False
    assert caught.value.http_status == 400
    assert len(stripe_emulator.requests(method="POST", path="/v1/transfers")) == 1
    assert stripe_emulator.state()["transfers"] == {}
    # Nothing was stored for the key: asked again once the fault is spent, the transfer is made.
    assert transfer(charge_id, provider_account.id, key="payout-1").id in stripe_emulator.state()["transfers"]


def test_409_is_retried_by_the_sdk(stripe_emulator, provider_account):
    stripe_emulator.set_faults("GET /v1/accounts/*=409x1")

    account = gateway.connect_account_retrieve(account_id=provider_account.id)

    assert account.id == provider_account.id
    assert [r["status"] for r in stripe_emulator.requests(method="GET")[-2:]] == [409, 200]


def test_timeout_after_the_work_is_done_is_recovered_by_the_retry_replay(
    stripe_emulator, settings, charge_id, provider_account
):
    settings.STRIPE_HTTP_TIMEOUT_SECONDS = 0.3
    stripe_emulator.set_faults("POST /v1/transfers=timeoutx1", delay=2)

    created = transfer(charge_id, provider_account.id, key="payout-1")

    attempts = stripe_emulator.requests(method="POST", path="/v1/transfers")
    assert [(a["fault"], a["replayed"]) for a in attempts] == [("timeout", False), (None, True)]
    assert list(stripe_emulator.state()["transfers"]) == [created.id]


def test_timeout_without_retries_is_a_retryable_gateway_error(stripe_emulator, settings, provider_account):
    settings.STRIPE_HTTP_TIMEOUT_SECONDS = 0.2
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    stripe_emulator.set_faults("GET /v1/accounts/*=timeout", delay=1)

    with pytest.raises(gateway.GatewayTemporaryError):
        gateway.connect_account_retrieve(account_id=provider_account.id)


def test_faults_can_be_set_through_the_control_endpoint(stripe_emulator):
    response = requests.post(
        f"{stripe_emulator.url}/_emulator/faults", json={"faults": ["POST /v1/accounts=503x1"]}, timeout=5
    )
    answer = requests.post(
        f"{stripe_emulator.url}/v1/accounts",
        data={"type": "express"},
        headers={"Authorization": "Bearer sk_test_emulator"},
        timeout=5,
    )

    assert response.json()["faults"][0]["kind"] == "503"
    assert answer.status_code == 503
    assert answer.json()["error"]["type"] == "api_error"


def test_bad_fault_through_the_control_endpoint_is_400(stripe_emulator):
    response = requests.post(
        f"{stripe_emulator.url}/_emulator/faults", json={"faults": ["nonsense"]}, timeout=5
    )

    assert response.status_code == 400


def test_reset_clears_faults(stripe_emulator):
    stripe_emulator.set_faults("POST /v1/accounts=500")

    requests.post(f"{stripe_emulator.url}/_emulator/reset", timeout=5)

    assert stripe_emulator.state()["faults"] == []


def _refund_with_key(paid_session, key: str = "refund-1", amount: int = 1000) -> gateway.Refund:
    return gateway.refund_create(
        payment_intent_id=paid_session.payment_intent_id, amount=amount, metadata={}, idempotency_key=key
    )


def test_crash_does_the_work_then_answers_500(stripe_emulator, paid_session, charge_id):
    stripe_emulator.set_faults("POST /v1/refunds=crashx1")

    with pytest.raises(gateway.GatewayTemporaryError) as caught:
        _refund_with_key(paid_session)

    (attempt,) = stripe_emulator.requests(method="POST", path="/v1/refunds")  # the SDK did not retry
    assert (caught.value.http_status, attempt["fault"]) == (500, "crash")
    assert len(stripe_emulator.state()["refunds"]) == 1  # the money moved
    assert stripe_emulator.state()["charges"][charge_id]["amount_refunded"] == 1000


def test_crash_answer_asks_the_client_not_to_retry(stripe_emulator, paid_session):
    stripe_emulator.set_faults("POST /v1/refunds=crashx1")

    response = requests.post(
        f"{stripe_emulator.url}/v1/refunds",
        data={"payment_intent": paid_session.payment_intent_id, "amount": "1000"},
        headers={"Authorization": "Bearer sk_test_emulator", "Idempotency-Key": "refund-1"},
        timeout=5,
    )

    assert response.status_code == 500
    assert response.json()["error"]["type"] == "api_error"
    assert response.headers["Stripe-Should-Retry"] == "false"


def test_crash_500_is_what_the_key_replays(stripe_emulator, paid_session):
    stripe_emulator.set_faults("POST /v1/refunds=crashx1")
    with pytest.raises(gateway.GatewayTemporaryError):
        _refund_with_key(paid_session)

    with pytest.raises(gateway.GatewayTemporaryError) as retried:
        _refund_with_key(paid_session)

    _, retry = stripe_emulator.requests(method="POST", path="/v1/refunds")
    assert retried.value.http_status == 500
    assert (retry["replayed"], retry["fault"]) == (True, None)
    assert len(stripe_emulator.state()["refunds"]) == 1


def test_crash_replays_until_the_key_expires_then_runs_anew(stripe_emulator, paid_session):
    stripe_emulator.set_faults("POST /v1/refunds=crashx1")
    with pytest.raises(gateway.GatewayTemporaryError):
        _refund_with_key(paid_session)
    stripe_emulator.age_idempotency_keys(24 * 60 * 60)

    refund = _refund_with_key(paid_session)

    assert refund.status == "succeeded"
    assert len(stripe_emulator.state()["refunds"]) == 2  # Stripe would have refunded twice too


def test_5xx_before_any_work_is_still_not_stored(stripe_emulator, settings, paid_session):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    stripe_emulator.set_faults("POST /v1/refunds=500x1")
    with pytest.raises(gateway.GatewayTemporaryError):
        _refund_with_key(paid_session)

    refund = _refund_with_key(paid_session)

    assert refund.status == "succeeded"
    assert stripe_emulator.requests(method="POST", path="/v1/refunds")[-1]["replayed"] is False
    assert len(stripe_emulator.state()["refunds"]) == 1
