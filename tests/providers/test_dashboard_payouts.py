"""The dashboard says whether payouts are set up and offers the next step, from the provider's own fields."""

import re

import pytest
from django.urls import reverse

from providers.models import Provider

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("providers:dashboard")
SETUP = reverse("payments:connect_setup")
EXPRESS = reverse("payments:connect_express")


def _card(as_provider) -> str:
    body = as_provider.get(DASHBOARD).content.decode()
    card = re.search(r'<section[^>]*data-testid="payout-summary".*?</section>', body, re.S)
    assert card is not None
    return re.sub(r"\s+", " ", card[0])


def _set(provider: Provider, **fields) -> None:
    Provider.objects.filter(pk=provider.pk).update(payout_country="US", stripe_account_id="acct_1", **fields)


def test_not_started_offers_set_up_payouts(as_provider):
    card = _card(as_provider)

    assert "Payouts are not set up yet" in card
    assert f'<a class="button" href="{SETUP}">Set up payouts</a>' in card


def test_details_missing_says_what_and_offers_continue_setup(as_provider, provider):
    _set(
        provider,
        stripe_requirements_due=["external_account"],
        payouts_blocked_reason="Payout setup is not finished: Stripe still needs your bank account.",
    )

    card = _card(as_provider)

    assert "Payouts are not ready yet" in card
    assert "Stripe still needs your bank account." in card
    assert f'<form method="post" action="{SETUP}">' in card
    assert "csrfmiddlewaretoken" in card
    assert ">Continue setup</button>" in card


def test_under_review_says_stripe_is_reviewing(as_provider, provider):
    _set(provider, stripe_details_submitted=True, payouts_blocked_reason="Stripe is reviewing your details.")

    card = _card(as_provider)

    assert "Stripe is reviewing your details." in card
    assert "Continue setup" not in card
    assert SETUP in card


def test_ready_offers_the_stripe_express_dashboard(as_provider, provider):
    _set(provider, stripe_transfers_capability="active", payouts_blocked_reason="")

    card = _card(as_provider)

    assert "Payouts are set up" in card
    assert f'<form method="post" action="{EXPRESS}">' in card
    assert ">Open Stripe Express dashboard</button>" in card
    assert "Set up payouts" not in card


def test_the_dashboard_links_to_the_payout_pages_in_its_navigation(as_provider):
    body = as_provider.get(DASHBOARD).content.decode()

    assert '<a href="/dashboard/payouts/">Payouts</a>' in body
    assert f'<a href="{SETUP}">Payout setup</a>' in body
