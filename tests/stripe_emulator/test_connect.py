"""Connect onboarding pages, Express login links and the account.updated event."""

import pytest
import requests

from payments import gateway


def _account() -> gateway.ConnectAccount:
    return gateway.connect_account_create(
        email="provider@example.com", country="US", metadata={"provider_id": "7"}, idempotency_key="account-7"
    )


def _link(account_id: str, key: str = "link-1") -> gateway.AccountLink:
    return gateway.connect_account_link_create(
        account_id=account_id,
        refresh_url="http://testserver/dashboard/payouts/refresh/",
        return_url="http://testserver/dashboard/payouts/return/",
        idempotency_key=key,
    )


def test_new_express_account_cannot_receive_transfers(stripe_emulator):
    account = _account()

    assert account.transfers_capability == "inactive"
    assert account.can_receive_transfers is False
    assert account.details_submitted is False


def test_completing_onboarding_redirects_to_return_url(stripe_emulator):
    link = _link(_account().id)

    response = requests.post(link.url, data={"action": "complete"}, allow_redirects=False, timeout=5)

    assert response.headers["Location"] == "http://testserver/dashboard/payouts/return/"


def test_completing_onboarding_activates_transfers(stripe_emulator):
    account = _account()

    requests.post(_link(account.id).url, data={"action": "complete"}, timeout=5, allow_redirects=False)

    refreshed = gateway.connect_account_retrieve(account_id=account.id)
    assert refreshed.can_receive_transfers
    # Only `transfers` was requested: the account receives money but takes no payments of its own.
    assert (refreshed.charges_enabled, refreshed.payouts_enabled, refreshed.details_submitted) == (
        False,
        True,
        True,
    )
    assert refreshed.requirements_due == ()


def test_completing_onboarding_sends_account_updated_for_the_account(stripe_emulator):
    account = _account()

    requests.post(_link(account.id).url, data={"action": "complete"}, timeout=5, allow_redirects=False)

    (event,) = stripe_emulator.events("account.updated")
    assert event["account"] == account.id
    assert event["data"]["object"]["capabilities"] == {"transfers": "active"}
    assert event["data"]["previous_attributes"]["capabilities"] == {"transfers": "inactive"}


def test_abandoning_onboarding_redirects_to_refresh_url_and_changes_nothing(stripe_emulator):
    account = _account()

    response = requests.post(
        _link(account.id).url, data={"action": "abandon"}, allow_redirects=False, timeout=5
    )

    assert response.headers["Location"] == "http://testserver/dashboard/payouts/refresh/"
    assert not gateway.connect_account_retrieve(account_id=account.id).can_receive_transfers


def test_used_account_link_sends_the_browser_to_refresh_url(stripe_emulator):
    link = _link(_account().id)
    requests.post(link.url, data={"action": "complete"}, allow_redirects=False, timeout=5)

    response = requests.get(link.url, allow_redirects=False, timeout=5)

    assert response.headers["Location"] == "http://testserver/dashboard/payouts/refresh/"


def test_login_link_before_onboarding_is_refused(stripe_emulator):
    account = _account()

    with pytest.raises(gateway.GatewayRejectedError) as caught:
        gateway.connect_login_link_create(account_id=account.id, idempotency_key="login-1")

    assert caught.value.param == "account"


def test_login_link_opens_the_emulated_express_dashboard(stripe_emulator, provider_account):
    link = gateway.connect_login_link_create(account_id=provider_account.id, idempotency_key="login-1")

    response = requests.get(link.url, timeout=5)

    assert response.status_code == 200
    assert provider_account.id in response.text


AUTH = {"Authorization": "Bearer sk_test_emulator"}


def _create_account(stripe_emulator, **fields: str) -> requests.Response:
    return requests.post(
        f"{stripe_emulator.url}/v1/accounts", data={"type": "express", **fields}, headers=AUTH, timeout=5
    )


def test_account_outside_the_us_needs_the_recipient_agreement(stripe_emulator):
    response = _create_account(
        stripe_emulator, country="GB", **{"capabilities[transfers][requested]": "true"}
    )

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["param"] == "tos_acceptance[service_agreement]"
    assert "GB" in error["message"]


def test_recipient_account_abroad_receives_transfers_only(stripe_emulator):
    response = _create_account(
        stripe_emulator,
        country="DE",
        **{"tos_acceptance[service_agreement]": "recipient", "capabilities[transfers][requested]": "true"},
    )

    account = response.json()
    assert response.status_code == 200
    assert (account["country"], account["default_currency"]) == ("DE", "eur")
    assert account["tos_acceptance"]["service_agreement"] == "recipient"
    assert account["capabilities"] == {"transfers": "inactive"}


def test_recipient_account_may_not_take_card_payments(stripe_emulator):
    response = _create_account(
        stripe_emulator,
        country="CA",
        **{
            "tos_acceptance[service_agreement]": "recipient",
            "capabilities[card_payments][requested]": "true",
        },
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "capabilities[card_payments]"


@pytest.mark.parametrize("country", ["JP", "MX", "AU"])
def test_country_beyond_self_serve_cross_border_payouts_is_refused_by_name(stripe_emulator, country):
    response = _create_account(
        stripe_emulator, country=country, **{"tos_acceptance[service_agreement]": "recipient"}
    )

    error = response.json()["error"]
    assert (response.status_code, error["code"], error["param"]) == (400, "country_unsupported", "country")
    assert f"Connected accounts in {country} cannot be created" in error["message"]


def test_us_account_with_card_payments_can_take_charges_once_onboarded(stripe_emulator):
    account = _create_account(
        stripe_emulator,
        country="US",
        **{"capabilities[transfers][requested]": "true", "capabilities[card_payments][requested]": "true"},
    ).json()

    onboarded = stripe_emulator.complete_onboarding(account["id"])

    assert onboarded["charges_enabled"] is True
    assert onboarded["capabilities"] == {"transfers": "active", "card_payments": "active"}


def test_onboarding_page_offers_every_way_out(stripe_emulator):
    html = requests.get(_link(_account().id).url, timeout=5).text

    for label in (
        "Complete onboarding",
        "Submit, leave under review",
        "Save and leave details missing",
        "Abandon",
    ):
        assert f">{label}</button>" in html


def _finish(link: gateway.AccountLink, action: str) -> requests.Response:
    return requests.post(link.url, data={"action": action}, allow_redirects=False, timeout=5)


def test_submitting_leaves_the_account_under_review(stripe_emulator):
    account = _account()

    response = _finish(_link(account.id), "submit")

    (event,) = stripe_emulator.events("account.updated")
    reviewed = event["data"]["object"]
    assert response.headers["Location"] == "http://testserver/dashboard/payouts/return/"
    assert (reviewed["details_submitted"], reviewed["capabilities"]) == (True, {"transfers": "pending"})
    assert reviewed["requirements"]["currently_due"] == []
    assert reviewed["requirements"]["pending_verification"] == [
        "individual.id_number",
        "individual.verification.document",
    ]
    assert event["data"]["previous_attributes"]["details_submitted"] is False
    assert event["data"]["previous_attributes"]["capabilities"] == {"transfers": "inactive"}
    assert gateway.connect_account_retrieve(account_id=account.id).can_receive_transfers is False


def test_saving_leaves_some_details_missing(stripe_emulator):
    account = _account()

    response = _finish(_link(account.id), "save")

    (event,) = stripe_emulator.events("account.updated")
    assert response.headers["Location"] == "http://testserver/dashboard/payouts/return/"
    assert event["data"]["object"]["requirements"]["currently_due"] == [
        "external_account",
        "individual.dob.day",
    ]
    assert event["data"]["object"]["details_submitted"] is False
    assert "requirements" in event["data"]["previous_attributes"]
    assert gateway.connect_account_retrieve(account_id=account.id).requirements_due == (
        "external_account",
        "individual.dob.day",
    )


def test_abandoning_sends_no_event(stripe_emulator):
    _finish(_link(_account().id), "abandon")

    assert stripe_emulator.events("account.updated") == []


def test_approved_review_activates_transfers(stripe_emulator):
    account = _account()
    _finish(_link(account.id), "submit")

    response = requests.post(
        f"{stripe_emulator.url}/_emulator/accounts/{account.id}/review",
        json={"outcome": "approve"},
        timeout=5,
    )

    assert response.json()["capabilities"] == {"transfers": "active"}
    assert stripe_emulator.events("account.updated")[-1]["data"]["previous_attributes"]["capabilities"] == {
        "transfers": "pending"
    }
    assert gateway.connect_account_retrieve(account_id=account.id).can_receive_transfers


def test_review_asking_for_more_leaves_a_document_due(stripe_emulator):
    account = _account()
    _finish(_link(account.id), "submit")

    reviewed = stripe_emulator.review_account(account.id, outcome="require_more")

    assert reviewed["capabilities"] == {"transfers": "inactive"}
    assert reviewed["requirements"]["currently_due"] == ["individual.verification.document"]
    assert reviewed["requirements"]["errors"][0]["requirement"] == "individual.verification.document"
    assert reviewed["requirements"]["pending_verification"] == []


def test_review_of_an_account_not_under_review_is_refused(stripe_emulator):
    account = _account()

    response = requests.post(
        f"{stripe_emulator.url}/_emulator/accounts/{account.id}/review",
        json={"outcome": "approve"},
        timeout=5,
    )

    assert response.status_code == 400


def test_a_second_visit_after_saving_goes_to_refresh_url(stripe_emulator):
    link = _link(_account().id)
    _finish(link, "save")

    response = _finish(link, "complete")

    assert response.headers["Location"] == "http://testserver/dashboard/payouts/refresh/"
