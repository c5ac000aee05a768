"""Idempotency keys behave as Stripe's: the first answer is replayed, other parameters are refused."""

import pytest
import requests

from payments import gateway
from tests.payments.gateway_calls import transfer

AUTH = {"Authorization": "Bearer sk_test_emulator"}


def _create_account(url: str, key: str, email: str) -> requests.Response:
    return requests.post(
        f"{url}/v1/accounts",
        data={"type": "express", "email": email},
        headers={**AUTH, "Idempotency-Key": key},
        timeout=5,
    )


def test_same_key_and_parameters_replays_the_first_answer(stripe_emulator):
    first = _create_account(stripe_emulator.url, "account-1", "a@example.com")
    second = _create_account(stripe_emulator.url, "account-1", "a@example.com")

    assert second.json() == first.json()
    assert len(stripe_emulator.state()["accounts"]) == 1


def test_replayed_answer_carries_idempotent_replayed_header(stripe_emulator):
    first = _create_account(stripe_emulator.url, "account-1", "a@example.com")
    second = _create_account(stripe_emulator.url, "account-1", "a@example.com")

    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"


def test_same_key_with_other_parameters_is_400_idempotency_error(stripe_emulator):
    _create_account(stripe_emulator.url, "account-1", "a@example.com")

    response = _create_account(stripe_emulator.url, "account-1", "b@example.com")

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "idempotency_error"


def test_gateway_reports_key_reuse_with_other_parameters_as_rejected(stripe_emulator):
    gateway.connect_account_create(email="a@example.com", country="US", metadata={}, idempotency_key="acct-1")

    with pytest.raises(gateway.GatewayRejectedError) as caught:
        gateway.connect_account_create(
            email="b@example.com", country="US", metadata={}, idempotency_key="acct-1"
        )

    assert caught.value.code == "idempotency_error"
    assert caught.value.retryable is False


def test_business_error_is_stored_and_replayed_for_its_key(stripe_emulator, charge_id, provider_account):
    stripe_emulator.disable_transfers(provider_account.id)
    with pytest.raises(gateway.GatewayRejectedError):
        transfer(charge_id, provider_account.id, key="payout-1")
    stripe_emulator.complete_onboarding(provider_account.id)

    with pytest.raises(gateway.GatewayRejectedError) as caught:
        transfer(charge_id, provider_account.id, key="payout-1")

    assert caught.value.code == "insufficient_capabilities_for_transfer"
    assert stripe_emulator.requests(path="/v1/transfers")[-1]["replayed"] is True


def test_request_failing_validation_is_not_stored_for_its_key(stripe_emulator):
    bad = requests.post(
        f"{stripe_emulator.url}/v1/accounts",
        data={"type": "express", "colour": "blue"},
        headers={**AUTH, "Idempotency-Key": "account-1"},
        timeout=5,
    )

    good = _create_account(stripe_emulator.url, "account-1", "a@example.com")

    assert bad.status_code == 400
    assert good.status_code == 200


def test_key_of_a_request_still_in_flight_is_409(stripe_emulator):
    stripe_emulator.server.state.in_flight_keys.add("account-1")

    response = _create_account(stripe_emulator.url, "account-1", "a@example.com")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_use"


def test_get_requests_ignore_idempotency_keys(stripe_emulator, provider_account):
    response = requests.get(
        f"{stripe_emulator.url}/v1/accounts/{provider_account.id}",
        headers={**AUTH, "Idempotency-Key": "account-7"},  # the key that created the account
        timeout=5,
    )

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers


DAY = 24 * 60 * 60


def test_key_older_than_24_hours_is_forgotten_and_the_request_runs_anew(stripe_emulator):
    first = _create_account(stripe_emulator.url, "account-1", "a@example.com")
    stripe_emulator.age_idempotency_keys(DAY)

    again = _create_account(stripe_emulator.url, "account-1", "a@example.com")

    assert again.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in again.headers
    assert len(stripe_emulator.state()["accounts"]) == 2


def test_key_younger_than_24_hours_still_replays(stripe_emulator):
    first = _create_account(stripe_emulator.url, "account-1", "a@example.com")
    stripe_emulator.age_idempotency_keys(DAY - 60)

    again = _create_account(stripe_emulator.url, "account-1", "a@example.com")

    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"


def test_expired_key_may_be_used_with_other_parameters(stripe_emulator):
    _create_account(stripe_emulator.url, "account-1", "a@example.com")
    stripe_emulator.age_idempotency_keys(DAY)

    response = _create_account(stripe_emulator.url, "account-1", "b@example.com")

    assert response.status_code == 200


def test_age_control_moves_every_key_back(stripe_emulator):
    _create_account(stripe_emulator.url, "account-1", "a@example.com")
    _create_account(stripe_emulator.url, "account-2", "b@example.com")
    used_at = {k: v["first_used_at"] for k, v in stripe_emulator.state()["idempotency_keys"].items()}

    response = requests.post(
        f"{stripe_emulator.url}/_emulator/idempotency/age", json={"seconds": 3600}, timeout=5
    )

    aged = stripe_emulator.state()["idempotency_keys"]
    assert response.json()["keys"] == 2
    assert {k: used_at[k] - v["first_used_at"] for k, v in aged.items()} == {
        "account-1": 3600,
        "account-2": 3600,
    }


def test_the_clock_forgets_expired_keys(stripe_emulator):
    _create_account(stripe_emulator.url, "account-1", "a@example.com")
    stripe_emulator.age_idempotency_keys(DAY)

    stripe_emulator.server.state.tick()

    assert stripe_emulator.state()["idempotency_keys"] == {}
