"""account.updated on the Connect endpoint: signed, stored in the inbox, and processed by re-reading the
account from Stripe, so the provider's payout fields follow Stripe whatever the event's copy says and in any
order."""

import pytest

from payments.models import WebhookEvent
from providers.models import Provider
from tests.payments.connect_helpers import (
    account_updated_payload,
    leave_under_review,
    open_account,
    post_account_updated,
)

pytestmark = pytest.mark.django_db

Setup = Provider.PayoutSetup


@pytest.fixture
def deliver(client, settings, django_capture_on_commit_callbacks):
    """Post a signed event to the Connect endpoint and run what the view enqueued after its commit."""

    def send(payload: bytes, *, secret: str | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            return post_account_updated(client, payload, secret or settings.STRIPE_CONNECT_WEBHOOK_SECRET)

    return send


def test_a_signed_account_updated_brings_the_provider_in_line_with_stripe(deliver, stripe_emulator, provider):
    account_id = open_account(provider)
    stripe_emulator.complete_onboarding(account_id)

    response = deliver(account_updated_payload(account_id))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.endpoint, event.account, event.status) == ("connect", account_id, "processed")
    provider.refresh_from_db()
    assert provider.can_receive_payouts
    assert provider.payout_setup == Setup.READY
    assert provider.payouts_blocked_reason == ""


def test_the_events_copy_is_not_trusted(deliver, stripe_emulator, provider):
    account_id = open_account(provider)
    forged = {"capabilities": {"transfers": "active"}, "details_submitted": True, "payouts_enabled": True}

    deliver(account_updated_payload(account_id, data=forged))

    provider.refresh_from_db()
    assert not provider.can_receive_payouts
    assert provider.payout_setup == Setup.DETAILS_MISSING


def test_a_stale_event_arriving_last_leaves_the_current_state(deliver, stripe_emulator, provider):
    account_id = open_account(provider)
    stale = account_updated_payload(
        account_id, event_id="evt_old", data={"capabilities": {"transfers": "inactive"}}
    )
    stripe_emulator.complete_onboarding(account_id)
    newer = account_updated_payload(
        account_id, event_id="evt_new", data={"capabilities": {"transfers": "active"}}
    )

    deliver(newer)
    deliver(stale)

    provider.refresh_from_db()
    assert provider.payout_setup == Setup.READY
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_under_review_reaches_the_provider_through_the_webhook(deliver, stripe_emulator, provider):
    """Pokes the emulator's account (under review) directly: today's emulator has no control for it."""
    account_id = open_account(provider)
    leave_under_review(stripe_emulator, account_id)

    deliver(account_updated_payload(account_id))

    provider.refresh_from_db()
    assert provider.payout_setup == Setup.UNDER_REVIEW
    assert provider.payouts_blocked_reason == "Stripe is reviewing your details."


def test_a_redelivered_event_is_stored_once(deliver, stripe_emulator, provider):
    account_id = open_account(provider)
    payload = account_updated_payload(account_id)

    for _ in range(2):
        assert deliver(payload).status_code == 200

    assert WebhookEvent.objects.count() == 1


def test_an_account_that_is_no_providers_is_processed_and_changes_nothing(deliver, stripe_emulator, provider):
    from payments import gateway

    stray = gateway.connect_account_create(
        email="someone@example.com", country="US", metadata={}, idempotency_key="stray"
    )

    deliver(account_updated_payload(stray.id))

    assert WebhookEvent.objects.get().status == "processed"
    provider.refresh_from_db()
    assert provider.stripe_account_id is None


def test_an_account_stripe_does_not_know_is_not_retried_forever(deliver, stripe_emulator):
    deliver(account_updated_payload("acct_unknown"))

    assert WebhookEvent.objects.get().status == "processed"


def test_stripe_unreachable_leaves_the_event_for_a_retry(deliver, stripe_emulator, provider, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0  # the SDK's retries would only slow the test
    account_id = open_account(provider)
    stripe_emulator.complete_onboarding(account_id)
    stripe_emulator.set_faults(f"GET /v1/accounts/{account_id}=503")

    deliver(account_updated_payload(account_id))

    event = WebhookEvent.objects.get()
    assert event.status == "failed"
    provider.refresh_from_db()
    assert not provider.can_receive_payouts


def test_the_platform_secret_does_not_sign_connect_events(deliver, settings, stripe_emulator, provider):
    account_id = open_account(provider)

    response = deliver(account_updated_payload(account_id), secret=settings.STRIPE_WEBHOOK_SECRET)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_emulators_own_event_after_onboarding_reaches_the_provider(
    live_server, stripe_emulator, provider
):
    stripe_emulator.set_webhooks(connect_url=live_server.url + "/webhooks/stripe/connect/")
    account_id = open_account(provider)

    stripe_emulator.complete_onboarding(account_id)
    stripe_emulator.wait_for_deliveries()

    provider.refresh_from_db()
    assert provider.payout_setup == Setup.READY
    assert WebhookEvent.objects.get(type="account.updated").status == "processed"
