"""Connect onboarding services against the emulator, through the real SDK: opening the Express account,
onboarding and dashboard links, and reading the account's state back from Stripe."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
import stripe.params
from django.utils import timezone

from marketplace.models import AuditEntry
from payments import gateway
from payments.connect import (
    ConnectError,
    connect_account_open,
    connect_account_sync,
    connect_dashboard_link,
    connect_onboarding_link,
    connect_onboarding_start,
    connect_provider_sync,
)
from payments.namespace import our_metadata, stripe_key
from providers.models import Provider
from tests.payments.connect_helpers import (
    accept_recipient_agreement,
    leave_details_missing_after_submit,
    leave_under_review,
    open_account,
    reject,
    set_account,
)
from tests.payments.test_gateway_params import undeclared_keys

pytestmark = pytest.mark.django_db

Setup = Provider.PayoutSetup


def _audit(provider: Provider) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="providers.provider", object_id=str(provider.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )


# --- Opening the account ----------------------------------------------------------------------------------


def test_set_up_payouts_opens_an_express_account_for_the_provider(stripe_emulator, provider):
    url = connect_onboarding_start(provider_id=provider.pk, country="US")

    provider.refresh_from_db()
    (account,) = stripe_emulator.state()["accounts"].values()
    assert provider.stripe_account_id == account["id"]
    assert (account["type"], account["country"], account["email"]) == (
        "express",
        "US",
        "provider@example.com",
    )
    assert account["metadata"] == our_metadata(provider_id=str(provider.pk))
    assert account["capabilities"] == {"transfers": "inactive"}
    assert urlsplit(url).path.startswith("/connect/onboarding/")
    assert provider.payout_country == "US"
    assert provider.payout_setup == Setup.DETAILS_MISSING
    assert not provider.can_receive_payouts


def test_the_account_is_created_with_a_key_derived_from_the_provider(stripe_emulator, provider):
    connect_onboarding_start(provider_id=provider.pk, country="US")

    (create,) = stripe_emulator.requests(method="POST", path="/v1/accounts")
    assert create["idempotency_key"] == stripe_key(f"connect-account-{provider.pk}-US")


def test_keys_carry_the_installations_namespace(stripe_emulator, provider, settings):
    settings.STRIPE_KEY_NAMESPACE = "staging"

    connect_onboarding_start(provider_id=provider.pk, country="US")

    keys = [r["idempotency_key"] for r in stripe_emulator.requests(method="POST")]
    assert keys == [f"staging:connect-account-{provider.pk}-US", f"staging:connect-link-{provider.pk}-1"]


def test_a_same_country_account_has_the_full_service_agreement(stripe_emulator, provider):
    connect_onboarding_start(provider_id=provider.pk, country="us")

    (create,) = stripe_emulator.requests(method="POST", path="/v1/accounts")
    assert create["params"]["country"] == "US"
    assert "tos_acceptance" not in create["params"]  # Stripe's default is the full agreement


def test_a_cross_border_account_carries_the_recipient_agreement(stripe_emulator, provider, monkeypatch):
    """Today's emulator does not know `tos_acceptance` yet: accept_recipient_agreement teaches it."""
    accept_recipient_agreement(monkeypatch, stripe_emulator)

    connect_onboarding_start(provider_id=provider.pk, country="GB")

    (create,) = stripe_emulator.requests(method="POST", path="/v1/accounts")
    assert create["status"] == 200
    assert create["params"]["country"] == "GB"
    assert create["params"]["tos_acceptance"] == {"service_agreement": "recipient"}
    assert undeclared_keys(create["params"], stripe.params.AccountCreateParams) == []
    provider.refresh_from_db()
    (account_id,) = stripe_emulator.state()["accounts"]
    assert (provider.payout_country, provider.stripe_account_id) == ("GB", account_id)
    assert AuditEntry.objects.get(action="provider.stripe_account").data["service_agreement"] == "recipient"


@pytest.mark.parametrize("country", ["JP", "BR", "IN", "XX"])
def test_a_country_the_platform_cannot_pay_out_to_is_refused_before_stripe(
    stripe_emulator, provider, country
):
    with pytest.raises(ConnectError, match="can't pay out to that country"):
        connect_onboarding_start(provider_id=provider.pk, country=country)

    assert stripe_emulator.requests() == []
    provider.refresh_from_db()
    assert (provider.payout_country, provider.stripe_account_id) == ("", None)


def test_without_a_country_nothing_is_opened(stripe_emulator, provider):
    with pytest.raises(ConnectError, match="Choose the country"):
        connect_onboarding_start(provider_id=provider.pk)

    assert stripe_emulator.requests() == []


def test_a_second_set_up_reuses_the_account_and_ignores_a_new_country(stripe_emulator, provider):
    first = open_account(provider)

    connect_onboarding_start(provider_id=provider.pk, country="DE")

    provider.refresh_from_db()
    assert (provider.stripe_account_id, provider.payout_country) == (first, "US")
    assert len(stripe_emulator.state()["accounts"]) == 1
    assert len(stripe_emulator.requests(method="POST", path="/v1/accounts")) == 1


def test_an_account_stripe_made_while_we_never_heard_back_is_the_one_we_get(
    stripe_emulator, provider, settings
):
    settings.STRIPE_HTTP_TIMEOUT_SECONDS = 0.3
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    stripe_emulator.set_faults("POST /v1/accounts=timeoutx1", delay=1)

    with pytest.raises(ConnectError, match="could not reach Stripe"):
        connect_account_open(provider_id=provider.pk, country="US")
    provider.refresh_from_db()
    assert (provider.stripe_account_id, provider.payout_country) == (None, "US")

    connect_account_open(provider_id=provider.pk, country=None)  # the country chosen is kept

    provider.refresh_from_db()
    (account_id,) = stripe_emulator.state()["accounts"]
    assert provider.stripe_account_id == account_id
    attempts = stripe_emulator.requests(method="POST", path="/v1/accounts")
    assert [(a["fault"], a["replayed"]) for a in attempts] == [("timeout", False), (None, True)]


def test_opening_the_account_writes_audit_entries(stripe_emulator, provider):
    connect_onboarding_start(provider_id=provider.pk, country="US", actor=provider.user)

    assert _audit(provider) == [
        "provider.payout_country",
        "provider.stripe_account",
        "provider.payout_setup",
        "provider.stripe_onboarding_link",
    ]
    entry = AuditEntry.objects.get(action="provider.payout_setup")
    assert (entry.from_status, entry.to_status) == ("details_missing", "details_missing")
    assert entry.actor == provider.user


# --- Links ------------------------------------------------------------------------------------------------


def test_each_onboarding_link_is_new_with_its_own_key(stripe_emulator, provider, settings):
    settings.SITE_URL = "http://testserver"
    open_account(provider)

    first = connect_onboarding_link(provider_id=provider.pk)
    second = connect_onboarding_link(provider_id=provider.pk)

    assert first != second
    links = stripe_emulator.requests(method="POST", path="/v1/account_links")
    assert [link["idempotency_key"] for link in links] == [
        stripe_key(f"connect-link-{provider.pk}-1"),
        stripe_key(f"connect-link-{provider.pk}-2"),
    ]
    assert links[0]["params"]["refresh_url"] == "http://testserver/dashboard/payouts/setup/refresh/"
    assert links[0]["params"]["return_url"] == "http://testserver/dashboard/payouts/setup/return/"
    assert links[0]["params"]["type"] == "account_onboarding"


def test_a_used_link_sends_the_provider_to_refresh(stripe_emulator, provider, settings):
    settings.SITE_URL = "http://testserver"
    open_account(provider)
    link = connect_onboarding_link(provider_id=provider.pk)
    requests.post(link, data={"action": "complete"}, allow_redirects=False, timeout=5)

    again = requests.get(link, allow_redirects=False, timeout=5)

    assert again.headers["Location"] == "http://testserver/dashboard/payouts/setup/refresh/"


def test_no_onboarding_link_without_an_account(stripe_emulator, provider):
    with pytest.raises(ConnectError):
        connect_onboarding_link(provider_id=provider.pk)

    assert stripe_emulator.requests() == []


def test_no_onboarding_link_for_a_rejected_account(stripe_emulator, provider):
    """Pokes the emulator's account (rejected) directly."""
    account_id = open_account(provider)
    reject(stripe_emulator, account_id)
    connect_account_sync(account_id=account_id)

    with pytest.raises(ConnectError, match="turned down"):
        connect_onboarding_link(provider_id=provider.pk)


def test_the_express_dashboard_opens_only_once_ready(stripe_emulator, provider):
    account_id = open_account(provider)
    with pytest.raises(ConnectError, match="once your payouts are set up"):
        connect_dashboard_link(provider_id=provider.pk)
    assert stripe_emulator.requests(method="POST", path=f"/v1/accounts/{account_id}/login_links") == []

    stripe_emulator.complete_onboarding(account_id)
    connect_account_sync(account_id=account_id)
    url = connect_dashboard_link(provider_id=provider.pk)

    assert account_id in requests.get(url, timeout=5).text
    (login,) = stripe_emulator.requests(method="POST", path=f"/v1/accounts/{account_id}/login_links")
    assert login["idempotency_key"] == stripe_key(f"connect-login-{provider.pk}-1")


# --- Reading the state back -------------------------------------------------------------------------------


def test_a_new_account_is_missing_details_in_words(stripe_emulator, provider):
    open_account(provider)

    provider.refresh_from_db()
    assert provider.payout_setup == Setup.DETAILS_MISSING
    reason = provider.payouts_blocked_reason
    assert reason.startswith("Payout setup is not finished: Stripe still needs ")
    for words in ("your bank account for payouts", "your date of birth", "the Stripe services agreement"):
        assert words in reason
    assert "individual." not in reason
    assert provider.stripe_disabled_reason == "requirements.past_due"
    assert provider.stripe_synced_at is not None


def test_completed_onboarding_makes_the_provider_ready(stripe_emulator, provider):
    account_id = open_account(provider)
    stripe_emulator.complete_onboarding(account_id)

    synced = connect_provider_sync(provider_id=provider.pk)

    assert synced.payout_setup == Setup.READY
    assert synced.can_receive_payouts
    assert synced.payouts_blocked_reason == ""
    assert (synced.stripe_details_submitted, synced.stripe_payouts_enabled) == (True, True)
    assert synced.stripe_requirements_due == []
    assert list(Provider.objects.can_receive_payouts()) == [synced]
    entry = AuditEntry.objects.filter(action="provider.payout_setup").latest("pk")
    assert (entry.from_status, entry.to_status) == ("details_missing", "ready")


def test_submitted_details_waiting_for_verification_are_under_review(stripe_emulator, provider):
    """Pokes the emulator's account (under review) directly: today's emulator has no control for it."""
    account_id = open_account(provider)
    leave_under_review(stripe_emulator, account_id)

    synced = connect_provider_sync(provider_id=provider.pk)

    assert synced.payout_setup == Setup.UNDER_REVIEW
    assert synced.stripe_transfers_capability == "pending"
    assert synced.stripe_requirements_pending == ["individual.verification.document"]
    assert synced.payouts_blocked_reason == "Stripe is reviewing your details."
    assert not synced.can_receive_payouts


def test_submitted_but_incomplete_details_are_still_missing(stripe_emulator, provider):
    """Pokes the emulator's account (submitted, details missing) directly."""
    account_id = open_account(provider)
    leave_details_missing_after_submit(stripe_emulator, account_id)

    synced = connect_provider_sync(provider_id=provider.pk)

    assert synced.payout_setup == Setup.DETAILS_MISSING
    assert synced.payouts_blocked_reason == (
        "Payout setup is not finished: Stripe still needs your bank account for payouts and your date of "
        "birth."
    )


def test_transfers_turned_off_later_stop_payouts(stripe_emulator, provider):
    account_id = open_account(provider)
    stripe_emulator.complete_onboarding(account_id)
    connect_account_sync(account_id=account_id)

    stripe_emulator.disable_transfers(account_id)
    synced = connect_provider_sync(provider_id=provider.pk)

    assert not synced.can_receive_payouts
    assert synced.payout_setup == Setup.DETAILS_MISSING
    assert "your bank account for payouts" in synced.payouts_blocked_reason
    assert not Provider.objects.can_receive_payouts().exists()


def test_a_rejected_account_says_so(stripe_emulator, provider):
    """Pokes the emulator's account (rejected) directly."""
    account_id = open_account(provider)
    reject(stripe_emulator, account_id)

    synced = connect_provider_sync(provider_id=provider.pk)

    assert synced.payout_setup == Setup.REJECTED
    assert "turned down" in synced.payouts_blocked_reason


def test_a_read_older_than_the_stored_one_is_dropped(stripe_emulator, provider):
    account_id = open_account(provider)
    stripe_emulator.complete_onboarding(account_id)
    later = timezone.now() + timedelta(minutes=1)
    Provider.objects.filter(pk=provider.pk).update(stripe_synced_at=later)

    connect_account_sync(account_id=account_id)

    provider.refresh_from_db()
    assert provider.stripe_synced_at == later  # the newer read stored stays, whatever this one said
    assert provider.payout_setup == Setup.DETAILS_MISSING


def test_syncing_an_unchanged_account_writes_no_audit_entry(stripe_emulator, provider):
    account_id = open_account(provider)
    before = _audit(provider)

    connect_account_sync(account_id=account_id)
    connect_account_sync(account_id=account_id)

    assert _audit(provider) == before


def test_a_provider_without_an_account_syncs_to_not_started(stripe_emulator, provider):
    synced = connect_provider_sync(provider_id=provider.pk)

    assert synced.payout_setup == Setup.NOT_STARTED
    assert synced.payouts_blocked_reason == "Payouts are not set up yet."
    assert stripe_emulator.requests() == []


def test_an_account_we_never_stored_is_adopted_from_its_metadata(stripe_emulator, provider):
    account = gateway.connect_account_create(
        email=provider.user.email,
        country="US",
        metadata=our_metadata(provider_id=str(provider.pk)),
        idempotency_key="made-before-a-crash",
    )
    Provider.objects.filter(pk=provider.pk).update(payout_country="US")

    connect_account_sync(account_id=account.id)

    provider.refresh_from_db()
    assert provider.stripe_account_id == account.id
    assert AuditEntry.objects.get(action="provider.stripe_account").data["adopted"] is True


def test_an_account_of_another_installation_sharing_the_stripe_account_is_not_adopted(
    stripe_emulator, provider, settings
):
    settings.STRIPE_KEY_NAMESPACE = "staging"
    theirs = gateway.connect_account_create(
        email="someone@example.com",
        country="US",
        metadata={"provider_id": str(provider.pk), "installation": "ci"},
        idempotency_key="ci-connect-account",
    )

    assert connect_account_sync(account_id=theirs.id) is None

    provider.refresh_from_db()
    assert provider.stripe_account_id is None


def test_the_installations_namespace_is_in_the_accounts_metadata(stripe_emulator, provider, settings):
    settings.STRIPE_KEY_NAMESPACE = "staging"

    account_id = open_account(provider)

    metadata = stripe_emulator.state()["accounts"][account_id]["metadata"]
    assert metadata == {"provider_id": str(provider.pk), "installation": "staging"}


def test_an_account_naming_a_provider_who_has_one_is_left_alone(stripe_emulator, provider):
    mine = open_account(provider)
    stray = gateway.connect_account_create(
        email=provider.user.email,
        country="US",
        metadata=our_metadata(provider_id=str(provider.pk)),
        idempotency_key="x",
    )

    assert connect_account_sync(account_id=stray.id) is None

    provider.refresh_from_db()
    assert provider.stripe_account_id == mine


def test_readiness_follows_the_transfers_capability_only(stripe_emulator, provider):
    """Pokes the emulator's account directly: transfers active while Stripe already asks for more."""
    account_id = open_account(provider)
    stripe_emulator.complete_onboarding(account_id)
    set_account(stripe_emulator, account_id, requirements={"currently_due": ["individual.id_number"]})

    synced = connect_provider_sync(provider_id=provider.pk)

    assert synced.can_receive_payouts
    assert synced.payout_setup == Setup.READY
