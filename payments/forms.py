from django import forms

from payments.connect import payout_countries


def _country_choices() -> list[tuple[str, str]]:
    # A callable: evaluated whenever the list is shown, so it always follows PLATFORM_COUNTRY.
    return [("", "Choose your country"), *((terms.code, terms.name) for terms in payout_countries())]


class PayoutCountryForm(forms.Form):
    """The country a provider's Stripe account is opened for: only countries the platform can pay out to."""

    country = forms.ChoiceField(
        label="Country where you live and bank",
        choices=_country_choices,
        help_text="Your Stripe account and the bank account you are paid into must be in this country. "
        "It cannot be changed later.",
        error_messages={
            "invalid_choice": "We can't pay out to that country yet.",
            "required": "Choose the country where you live and bank.",
        },
    )
