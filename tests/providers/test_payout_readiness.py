"""A provider's payout readiness, read from the Stripe state stored on their row."""

import pytest
from django.db import IntegrityError

from providers.models import Provider
from tests.factories import ProviderFactory

Setup = Provider.PayoutSetup


@pytest.mark.parametrize(
    ("fields", "setup", "can_receive"),
    [
        ({}, Setup.NOT_STARTED, False),
        ({"stripe_account_id": "acct_1"}, Setup.DETAILS_MISSING, False),
        (
            {"stripe_account_id": "acct_1", "stripe_requirements_due": ["external_account"]},
            Setup.DETAILS_MISSING,
            False,
        ),
        (
            {
                "stripe_account_id": "acct_1",
                "stripe_details_submitted": True,
                "stripe_requirements_due": ["external_account"],
            },
            Setup.DETAILS_MISSING,
            False,
        ),
        ({"stripe_account_id": "acct_1", "stripe_details_submitted": True}, Setup.UNDER_REVIEW, False),
        (
            {
                "stripe_account_id": "acct_1",
                "stripe_details_submitted": True,
                "stripe_requirements_due": ["individual.verification.document"],
                "stripe_requirements_pending": ["individual.verification.document"],
                "stripe_transfers_capability": "pending",
            },
            Setup.UNDER_REVIEW,
            False,
        ),
        (
            {
                "stripe_account_id": "acct_1",
                "stripe_details_submitted": True,
                "stripe_disabled_reason": "rejected.fraud",
            },
            Setup.REJECTED,
            False,
        ),
        ({"stripe_account_id": "acct_1", "stripe_transfers_capability": "active"}, Setup.READY, True),
        ({"stripe_transfers_capability": "active"}, Setup.NOT_STARTED, False),  # no account, no transfers
    ],
)
def test_payout_setup_and_readiness(fields, setup, can_receive):
    provider = Provider(**fields)

    assert provider.payout_setup == setup
    assert provider.can_receive_payouts is can_receive


@pytest.mark.django_db
def test_the_queryset_selects_providers_who_can_receive_payouts():
    ready = ProviderFactory(
        stripe_account_id="acct_ready", payout_country="US", stripe_transfers_capability="active"
    )
    ProviderFactory(
        stripe_account_id="acct_pending", payout_country="US", stripe_transfers_capability="pending"
    )
    ProviderFactory()

    assert list(Provider.objects.can_receive_payouts()) == [ready]


@pytest.mark.django_db
def test_a_new_provider_is_told_payouts_are_not_set_up():
    assert ProviderFactory().payouts_blocked_reason == "Payouts are not set up yet."


@pytest.mark.django_db
def test_the_database_refuses_an_account_without_a_country():
    with pytest.raises(IntegrityError):
        ProviderFactory(stripe_account_id="acct_1", payout_country="")


@pytest.mark.django_db
def test_the_database_refuses_a_country_that_is_not_iso_alpha_2():
    with pytest.raises(IntegrityError):
        ProviderFactory(payout_country="us")


@pytest.mark.django_db
def test_one_stripe_account_belongs_to_one_provider():
    ProviderFactory(stripe_account_id="acct_1", payout_country="US")

    with pytest.raises(IntegrityError):
        ProviderFactory(stripe_account_id="acct_1", payout_country="US")
