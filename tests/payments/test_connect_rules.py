"""Where the platform can pay out, and Stripe's requirement names in words: pure rules, no Stripe."""

import pytest

from payments.connect import (
    payout_countries,
    payout_country_terms,
    payouts_blocked_reason,
    requirement_label,
    requirement_labels,
)
from providers.models import Provider


@pytest.mark.parametrize(
    ("platform", "country", "agreement"),
    [
        ("US", "US", "full"),
        ("US", "us", "full"),
        ("US", "GB", "recipient"),
        ("US", "DE", "recipient"),
        ("US", "CA", "recipient"),
        ("US", "CH", "recipient"),
        ("US", "NO", "recipient"),  # EEA, not EU
        ("GB", "US", "recipient"),
        ("GB", "GB", "full"),
        ("AU", "AU", "full"),
    ],
)
def test_countries_the_platform_can_pay_out_to(settings, platform, country, agreement):
    settings.PLATFORM_COUNTRY = platform

    terms = payout_country_terms(country)

    assert terms is not None
    assert (terms.code, terms.service_agreement) == (country.upper(), agreement)
    assert terms.is_cross_border == (agreement == "recipient")


@pytest.mark.parametrize(
    ("platform", "country"),
    [("US", "JP"), ("US", "BR"), ("US", "AU"), ("US", "IN"), ("US", ""), ("AU", "US"), ("AU", "GB")],
)
def test_countries_outside_the_cross_border_region_are_refused(settings, platform, country):
    settings.PLATFORM_COUNTRY = platform

    assert payout_country_terms(country) is None


def test_the_country_list_starts_with_the_platforms_own(settings):
    settings.PLATFORM_COUNTRY = "US"

    countries = payout_countries()

    assert countries[0].code == "US"
    assert {"GB", "CA", "CH", "FR", "IE"} <= {c.code for c in countries}
    assert "JP" not in {c.code for c in countries}
    names = [c.name for c in countries[1:]]
    assert names == sorted(names)


def test_a_platform_outside_the_region_offers_only_its_own_country(settings):
    settings.PLATFORM_COUNTRY = "AU"

    assert [c.code for c in payout_countries()] == ["AU"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("external_account", "your bank account for payouts"),
        ("individual.dob.day", "your date of birth"),
        ("individual.dob.year", "your date of birth"),
        ("tos_acceptance.date", "accepting the Stripe services agreement"),
        ("individual.address.postal_code", "your home address"),
        ("individual.verification.document", "a photo of your ID document"),
        ("individual.ssn_last_4", "the last four digits of your Social Security number"),
        ("company.tax_id", "your company's details"),
        ("person_1AbC.first_name", "details of the people who own or run your business"),
        ("business_profile.mcc", "the kind of work you do"),
        ("settings.something_new", "other details Stripe asks for"),
        ("", "other details Stripe asks for"),
    ],
)
def test_requirement_names_in_words(name, words):
    assert requirement_label(name) == words


def test_each_missing_detail_is_named_once_with_the_unknown_last():
    names = ["something.new", "individual.dob.day", "individual.dob.month", "external_account", "other.new"]

    assert requirement_labels(names) == [
        "your date of birth",
        "your bank account for payouts",
        "other details Stripe asks for",
    ]


def test_the_blocked_reason_of_each_state():
    missing = Provider(
        stripe_account_id="acct_1",
        stripe_requirements_due=[
            "external_account",
            "individual.dob.day",
            "individual.verification.document",
        ],
        stripe_requirements_pending=["individual.verification.document"],
    )
    reviewed = Provider(stripe_account_id="acct_1", stripe_details_submitted=True)
    ready = Provider(stripe_account_id="acct_1", stripe_transfers_capability="active")

    assert payouts_blocked_reason(Provider()) == "Payouts are not set up yet."
    assert payouts_blocked_reason(missing) == (
        "Payout setup is not finished: Stripe still needs your bank account for payouts and your date of "
        "birth."
    )
    assert payouts_blocked_reason(reviewed) == "Stripe is reviewing your details."
    assert payouts_blocked_reason(ready) == ""


def test_a_long_list_of_missing_details_fits_the_column():
    provider = Provider(stripe_account_id="acct_1", stripe_requirements_due=_many_known_requirements())

    assert len(payouts_blocked_reason(provider)) <= 255


def _many_known_requirements() -> list[str]:
    return [
        "external_account",
        "individual.dob.day",
        "individual.address.line1",
        "individual.verification.document",
        "individual.verification.additional_document",
        "individual.ssn_last_4",
        "individual.id_number",
        "individual.phone",
        "individual.email",
        "company.name",
        "company.address.city",
        "representative.first_name",
        "owners.first_name",
        "directors.first_name",
        "executives.first_name",
        "business_profile.mcc",
        "business_type",
        "tos_acceptance.date",
    ]
