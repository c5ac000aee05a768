"""The payout setup pages: who may open them, the country form, and what the return page shows in each state
(always read from Stripe, never from the URL)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from providers.models import Provider
from tests.payments.connect_helpers import (
    leave_details_missing_after_submit,
    leave_under_review,
    open_account,
    reject,
)

pytestmark = pytest.mark.django_db

SETUP = reverse("payments:connect_setup")
REFRESH = reverse("payments:connect_refresh")
RETURN = reverse("payments:connect_return")
EXPRESS = reverse("payments:connect_express")
PAGES = [("get", SETUP), ("get", REFRESH), ("get", RETURN), ("post", EXPRESS)]


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- Who may open them ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_visitors_are_sent_to_log_in(anonymous, method, url):
    response = getattr(anonymous, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("method", "url"), PAGES)
@pytest.mark.parametrize("persona", ["as_client", "as_other_client", "as_staff"])
def test_people_without_a_provider_profile_get_404(request, persona, method, url, stripe_emulator):
    browser = request.getfixturevalue(persona)

    assert getattr(browser, method)(url).status_code == 404
    assert stripe_emulator.requests() == []


@pytest.mark.parametrize("url", [SETUP, RETURN])
def test_a_provider_opens_their_own_payout_pages(as_provider, url, stripe_emulator):
    response = as_provider.get(url)

    assert response.status_code == 200
    assert "Set up payouts" in _text(response)


def test_another_provider_sees_only_their_own_payout_setup(as_other_provider, provider, stripe_emulator):
    account_id = open_account(provider)
    stripe_emulator.complete_onboarding(account_id)

    body = _text(as_other_provider.get(RETURN))

    assert "Set up payouts" in body
    assert "Payouts are ready" not in body
    assert account_id not in body
    assert len(stripe_emulator.requests(method="GET")) == 0  # nothing of the first provider's was read


def test_another_provider_cannot_open_the_first_ones_stripe_dashboard(
    as_other_provider, provider, stripe_emulator
):
    account_id = open_account(provider)
    stripe_emulator.complete_onboarding(account_id)

    response = as_other_provider.post(EXPRESS)

    assert response["Location"] == SETUP
    assert stripe_emulator.requests(method="POST", path=f"/v1/accounts/{account_id}/login_links") == []


@pytest.mark.parametrize("url", [SETUP, EXPRESS])
def test_posts_need_a_csrf_token(provider, url, stripe_emulator):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(provider.user)

    response = strict.post(url, {"country": "US"})

    assert response.status_code == 403
    assert stripe_emulator.requests() == []


def test_the_stripe_dashboard_link_is_post_only(as_provider):
    assert as_provider.get(EXPRESS).status_code == 405


# --- Country first ----------------------------------------------------------------------------------------


def test_the_country_form_offers_only_countries_the_platform_pays_out_to(as_provider, settings):
    settings.PLATFORM_COUNTRY = "US"

    body = _text(as_provider.get(SETUP))

    assert '<option value="US">United States</option>' in body
    assert '<option value="GB">United Kingdom</option>' in body
    assert 'value="JP"' not in body
    assert "Payouts are not available there yet" in body


def test_set_up_payouts_opens_the_account_and_sends_the_provider_to_stripe(
    as_provider, provider, stripe_emulator
):
    response = as_provider.post(SETUP, {"country": "US"})

    assert response.status_code == 302
    assert response["Location"].startswith(stripe_emulator.url + "/connect/onboarding/")
    provider.refresh_from_db()
    assert provider.stripe_account_id is not None
    assert provider.payout_country == "US"


def test_a_refused_country_is_explained_and_nothing_is_opened(as_provider, provider, stripe_emulator):
    response = as_provider.post(SETUP, {"country": "JP"})

    assert response.status_code == 200
    assert "We can&#x27;t pay out to that country yet." in _text(response)
    assert stripe_emulator.requests() == []
    provider.refresh_from_db()
    assert (provider.stripe_account_id, provider.payout_country) == (None, "")


def test_no_country_chosen_is_an_error(as_provider, stripe_emulator):
    response = as_provider.post(SETUP, {"country": ""})

    assert "Choose the country where you live and bank." in _text(response)
    assert stripe_emulator.requests() == []


def test_stripe_unreachable_says_so_and_keeps_the_country(as_provider, provider, stripe_emulator, settings):
    settings.STRIPE_WEB_MAX_NETWORK_RETRIES = 0  # the SDK's retries would only slow the test
    stripe_emulator.set_faults("POST /v1/accounts=503")

    response = as_provider.post(SETUP, {"country": "US"}, follow=True)

    assert "We could not reach Stripe" in _text(response)
    assert '<option value="US" selected>United States</option>' in _text(response)
    provider.refresh_from_db()
    assert (provider.stripe_account_id, provider.payout_country) == (None, "US")


def test_continue_setup_needs_no_country_and_gets_a_fresh_link(as_provider, provider, stripe_emulator):
    open_account(provider)

    first = as_provider.post(SETUP)
    second = as_provider.post(SETUP)

    assert first["Location"] != second["Location"]
    assert len(stripe_emulator.state()["accounts"]) == 1


# --- Stripe's refresh_url and return_url ------------------------------------------------------------------


def test_refresh_sends_the_provider_to_a_new_onboarding_link(as_provider, provider, stripe_emulator):
    open_account(provider)

    response = as_provider.get(REFRESH)

    assert response.status_code == 302
    assert response["Location"].startswith(stripe_emulator.url + "/connect/onboarding/")
    assert len(stripe_emulator.requests(method="POST", path="/v1/account_links")) == 1


def test_refresh_without_an_account_goes_to_the_setup_page(as_provider, stripe_emulator):
    assert as_provider.get(REFRESH)["Location"] == SETUP
    assert stripe_emulator.requests() == []


def test_return_before_starting_shows_the_country_form(as_provider, stripe_emulator):
    body = _text(as_provider.get(RETURN))

    assert '<h2 id="payout-status-heading">Set up payouts</h2>' in body
    assert 'name="country"' in body


def test_return_with_details_missing_lists_them_in_words(as_provider, provider, stripe_emulator):
    open_account(provider)

    body = _text(as_provider.get(RETURN))

    assert "Payout setup isn't finished" in body
    assert "<li>your bank account for payouts</li>" in body
    assert "<li>your date of birth</li>" in body
    assert "<li>accepting the Stripe services agreement</li>" in body
    assert "individual.dob" not in body
    assert "Continue setup" in body
    assert "Open Stripe Express dashboard" not in body


def test_return_after_submitting_some_details_lists_the_rest(as_provider, provider, stripe_emulator):
    """Pokes the emulator's account (submitted, details missing) directly."""
    account_id = open_account(provider)
    leave_details_missing_after_submit(stripe_emulator, account_id)

    body = _text(as_provider.get(RETURN))

    assert "Payout setup isn't finished" in body
    assert "<li>your bank account for payouts</li><li>your date of birth</li>" in body.replace(
        " <li>", "<li>"
    )
    assert "accepting the Stripe services agreement" not in body


def test_return_under_review_says_so(as_provider, provider, stripe_emulator):
    """Pokes the emulator's account (under review) directly: today's emulator has no control for it."""
    account_id = open_account(provider)
    leave_under_review(stripe_emulator, account_id)

    body = _text(as_provider.get(RETURN))

    assert "Stripe is reviewing your details" in body
    assert "a photo of your ID document" in body
    assert "Continue setup" not in body
    assert "Open Stripe Express dashboard" not in body


def test_return_when_ready_offers_the_stripe_dashboard(as_provider, provider, stripe_emulator):
    account_id = open_account(provider)
    stripe_emulator.complete_onboarding(account_id)  # no webhook arrives: the page asks Stripe itself

    body = _text(as_provider.get(RETURN))

    assert "Payouts are ready" in body
    assert "Your Stripe account (United States)" in body
    assert "Open Stripe Express dashboard" in body
    provider.refresh_from_db()
    assert provider.can_receive_payouts


def test_return_for_a_rejected_account_says_to_contact_us(as_provider, provider, stripe_emulator):
    """Pokes the emulator's account (rejected) directly."""
    reject(stripe_emulator, open_account(provider))

    body = _text(as_provider.get(RETURN))

    assert "Stripe turned down this payout account" in body
    assert "Continue setup" not in body


def test_the_return_url_cannot_claim_success(as_provider, provider, stripe_emulator):
    open_account(provider)

    body = _text(as_provider.get(RETURN + "?status=complete&success=true"))

    assert "Payouts are ready" not in body
    assert "Payout setup isn't finished" in body


def test_return_with_stripe_unreachable_shows_what_we_knew(as_provider, provider, stripe_emulator, settings):
    settings.STRIPE_WEB_MAX_NETWORK_RETRIES = 0  # the SDK's retries would only slow the test
    account_id = open_account(provider)
    stripe_emulator.set_faults(f"GET /v1/accounts/{account_id}=503")

    body = _text(as_provider.get(RETURN))

    assert "We could not check with Stripe just now" in body
    assert "Payout setup isn't finished" in body


# --- Stripe Express dashboard -----------------------------------------------------------------------------


def test_the_stripe_dashboard_opens_once_ready(as_provider, provider, stripe_emulator):
    account_id = open_account(provider)
    stripe_emulator.complete_onboarding(account_id)
    as_provider.get(RETURN)

    response = as_provider.post(EXPRESS)

    assert response.status_code == 302
    assert response["Location"].startswith(stripe_emulator.url + "/express/")


def test_the_stripe_dashboard_is_refused_before_ready(as_provider, provider, stripe_emulator):
    open_account(provider)

    response = as_provider.post(EXPRESS, follow=True)

    assert "opens once your payouts are set up" in _text(response)
    assert not [r for r in stripe_emulator.requests(method="POST") if r["path"].endswith("/login_links")]


def test_the_setup_page_shows_the_stored_state_without_asking_stripe(as_provider, provider, stripe_emulator):
    open_account(provider)
    Provider.objects.filter(pk=provider.pk).update(stripe_transfers_capability="active")
    reads_before = len(stripe_emulator.requests(method="GET"))

    body = _text(as_provider.get(SETUP))

    assert "Payouts are ready" in body
    assert len(stripe_emulator.requests(method="GET")) == reads_before
