"""The emulator speaks Stripe's wire format: form decoding, auth, error shapes, ids, expand, lists."""

import requests

from stripe_emulator.wire import decode_form


def test_decode_form_builds_nested_dicts_from_bracketed_keys():
    decoded = decode_form("metadata[booking_id]=42&line_items[0][price_data][unit_amount]=5000")

    assert decoded == {
        "metadata": {"booking_id": "42"},
        "line_items": {"0": {"price_data": {"unit_amount": "5000"}}},
    }


def test_decode_form_numbers_empty_brackets_in_order():
    assert decode_form("expand[]=payment_intent&expand[]=customer") == {
        "expand": {"0": "payment_intent", "1": "customer"}
    }


def _post(url: str, data: dict, key: str | None = "sk_test_emulator", **headers: str) -> requests.Response:
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return requests.post(url, data=data, headers=headers, timeout=5)


def test_request_without_api_key_is_401(stripe_emulator):
    response = _post(f"{stripe_emulator.url}/v1/accounts", {"type": "express"}, key=None)

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_request_with_non_test_key_is_401(stripe_emulator):
    response = _post(f"{stripe_emulator.url}/v1/accounts", {"type": "express"}, key="sk_live_123456789")

    assert response.status_code == 401
    assert "Invalid API Key" in response.json()["error"]["message"]


def test_unknown_parameter_is_400_parameter_unknown(stripe_emulator):
    response = _post(f"{stripe_emulator.url}/v1/accounts", {"type": "express", "colour": "blue"})

    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "parameter_unknown",
        "doc_url": "https://stripe.com/docs/error-codes/parameter-unknown",
        "message": "Received unknown parameter: colour",
        "param": "colour",
    }


def test_unknown_nested_parameter_names_its_full_key(stripe_emulator):
    response = _post(
        f"{stripe_emulator.url}/v1/accounts", {"type": "express", "capabilities[transfers][wanted]": "true"}
    )

    assert response.json()["error"]["param"] == "capabilities[transfers][wanted]"


def test_missing_required_parameter_is_400_parameter_missing(stripe_emulator):
    response = _post(f"{stripe_emulator.url}/v1/transfers", {"amount": "100", "currency": "usd"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_missing"
    assert response.json()["error"]["param"] == "destination"


def test_non_integer_amount_is_400_parameter_invalid_integer(stripe_emulator):
    response = _post(
        f"{stripe_emulator.url}/v1/transfers", {"amount": "12.50", "currency": "usd", "destination": "acct_1"}
    )

    assert response.json()["error"]["code"] == "parameter_invalid_integer"


def test_unknown_id_is_404_resource_missing(stripe_emulator):
    response = requests.get(
        f"{stripe_emulator.url}/v1/payment_intents/pi_nope",
        headers={"Authorization": "Bearer sk_test_emulator"},
        timeout=5,
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    assert response.json()["error"]["message"] == "No such payment_intent: 'pi_nope'"


def test_unimplemented_endpoint_is_404(stripe_emulator):
    response = _post(f"{stripe_emulator.url}/v1/customers", {"email": "a@example.com"})

    assert response.status_code == 404
    assert "Unrecognized request URL" in response.json()["error"]["message"]


def test_objects_have_stripe_id_prefixes_and_common_fields(stripe_emulator, paid_session, provider_account):
    state = stripe_emulator.state()
    session = state["checkout_sessions"][paid_session.id]
    intent = state["payment_intents"][paid_session.payment_intent_id]
    charge = state["charges"][paid_session.charge_id]

    assert paid_session.id.startswith("cs_test_")
    assert intent["id"].startswith("pi_")
    assert charge["id"].startswith("ch_")
    assert provider_account.id.startswith("acct_")
    for obj in (session, intent, charge):
        assert obj["livemode"] is False
        assert isinstance(obj["created"], int)
        assert obj["metadata"] == {"booking_id": "42"}
    assert (session["object"], intent["object"], charge["object"]) == (
        "checkout.session",
        "payment_intent",
        "charge",
    )


def test_expand_replaces_ids_with_objects_along_the_path(stripe_emulator, paid_session):
    response = requests.get(
        f"{stripe_emulator.url}/v1/checkout/sessions/{paid_session.id}",
        params={"expand[]": "payment_intent.latest_charge"},
        headers={"Authorization": "Bearer sk_test_emulator"},
        timeout=5,
    )

    intent = response.json()["payment_intent"]
    assert intent["object"] == "payment_intent"
    assert intent["latest_charge"]["object"] == "charge"


def test_expand_of_a_field_that_is_not_an_id_is_400(stripe_emulator, paid_session):
    response = requests.get(
        f"{stripe_emulator.url}/v1/checkout/sessions/{paid_session.id}",
        params={"expand[]": "currency"},
        headers={"Authorization": "Bearer sk_test_emulator"},
        timeout=5,
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "expand"


def test_list_endpoint_answers_a_stripe_list_object(stripe_emulator):
    response = requests.get(
        f"{stripe_emulator.url}/v1/transfers",
        params={"transfer_group": "booking-1"},
        headers={"Authorization": "Bearer sk_test_emulator"},
        timeout=5,
    )

    assert response.json() == {"object": "list", "data": [], "has_more": False, "url": "/v1/transfers"}
