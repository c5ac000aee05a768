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


def test_onboarding_page_offers_complete_and_abandon(stripe_emulator):
    html = requests.get(_link(_account().id).url, timeout=5).text

    assert ">Complete onboarding</button>" in html
    assert ">Abandon</button>" in html


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
