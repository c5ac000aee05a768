"""A provider sets up payouts the way a person does: picks their country, goes through Stripe's (the
emulator's) onboarding page, comes back and sees payouts ready, then opens their Stripe Express dashboard.
In a real Chromium."""

import re

import pytest
from playwright.sync_api import expect

from payments.models import WebhookEvent
from providers.models import Provider
from tests.factories import TEST_PASSWORD


@pytest.fixture
def stripe_to_live_server(live_server, stripe_emulator, settings):
    """Stripe's redirects and Connect webhooks reach this test's server; tasks run inline in it."""
    settings.SITE_URL = live_server.url
    stripe_emulator.set_webhooks(connect_url=live_server.url + "/webhooks/stripe/connect/")
    return stripe_emulator


def _log_in(page, provider: Provider) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(provider.user.email)
    page.get_by_label(re.compile(r"^Password")).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/dashboard/")


@pytest.mark.django_db(transaction=True)
def test_a_provider_picks_a_country_finishes_onboarding_on_stripe_and_sees_payouts_ready(
    page, provider, stripe_to_live_server
):
    _log_in(page, provider)
    summary = page.get_by_test_id("payout-summary")
    expect(summary).to_contain_text("Payouts are not set up yet")

    summary.get_by_role("link", name="Set up payouts").click()
    page.get_by_label("Country where you live and bank").select_option(label="United States")
    page.get_by_role("button", name="Set up payouts").click()

    # Stripe's hosted onboarding (the emulator's page).
    page.get_by_role("button", name=re.compile(r"^Complete")).click()

    # Back on our return page, which asked Stripe rather than trusting the redirect.
    expect(page).to_have_url(re.compile(r"/dashboard/payouts/setup/return/$"))
    expect(page.get_by_role("heading", name="Payouts are ready")).to_be_visible()
    provider.refresh_from_db()
    assert provider.can_receive_payouts
    assert provider.payout_country == "US"

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_test_id("payout-summary")).to_contain_text("Payouts are set up")
    page.get_by_role("button", name="Open Stripe Express dashboard").click()
    expect(page.get_by_text(provider.stripe_account_id or "")).to_be_visible()

    stripe_to_live_server.wait_for_deliveries()
    assert WebhookEvent.objects.get(type="account.updated").status == WebhookEvent.Status.PROCESSED


@pytest.mark.django_db(transaction=True)
def test_a_provider_who_leaves_onboarding_comes_back_to_continue_setup(page, provider, stripe_to_live_server):
    _log_in(page, provider)
    page.get_by_role("link", name="Set up payouts").click()
    page.get_by_label("Country where you live and bank").select_option("US")
    page.get_by_role("button", name="Set up payouts").click()
    onboarding = page.url

    # Leaving Stripe's page sends the browser to refresh_url, which makes a new single-use link.
    page.get_by_role("button", name="Abandon").click()
    expect(page.get_by_role("button", name=re.compile(r"^Complete"))).to_be_visible()
    assert page.url != onboarding

    page.goto("/dashboard/")
    summary = page.get_by_test_id("payout-summary")
    expect(summary).to_contain_text("Payouts are not ready yet")
    expect(summary).to_contain_text("your bank account for payouts")
    summary.get_by_role("button", name="Continue setup").click()
    page.get_by_role("button", name=re.compile(r"^Complete")).click()

    expect(page.get_by_role("heading", name="Payouts are ready")).to_be_visible()
