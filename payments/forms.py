from datetime import date, timedelta
from typing import Any

from django import forms

from marketplace.money import parse_major_units
from payments import earnings
from payments.connect import payout_countries
from payments.disputes import Outcome
from payments.models import Dispute


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


class ProblemReportForm(forms.Form):
    """A client's "report a problem" about a completed session."""

    reason = forms.ChoiceField(
        label="What went wrong?", choices=[("", "Choose one"), *Dispute.Reason.choices], required=True
    )
    description = forms.CharField(
        label="Tell us what happened",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=4000,
        help_text="What you expected, what happened instead, and anything that helps us look into it.",
        error_messages={"required": "Please tell us what happened, so we can look into it."},
    )


class FlagDisputeForm(forms.Form):
    """Staff opening a dispute from admin."""

    reason = forms.ChoiceField(label="Reason", choices=Dispute.Reason.choices)
    description = forms.CharField(label="What is being looked into", widget=forms.Textarea, max_length=4000)


class ResolveDisputeForm(forms.Form):
    """Staff settling a dispute: the outcome and, for a partial refund, its amount."""

    outcome = forms.ChoiceField(label="Outcome", choices=Outcome.CHOICES, widget=forms.RadioSelect)
    refund_amount = forms.CharField(
        label="Partial refund",
        required=False,
        help_text="Only for a partial refund: an amount such as 20.00, less than what is left.",
    )
    note = forms.CharField(
        label="Note to both parties (optional)", required=False, widget=forms.Textarea, max_length=4000
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, currency: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_refund_amount(self) -> int | None:
        text = self.cleaned_data["refund_amount"].strip()
        if not text:
            return None
        try:
            return parse_major_units(text, self.currency)
        except ValueError as error:
            raise forms.ValidationError("Enter an amount such as 20.00.") from error

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("outcome") == Outcome.SPLIT and not data.get("refund_amount"):
            self.add_error("refund_amount", "Enter the amount to refund.")
        return data


class EarningsFilterForm(forms.Form):
    """What the earnings page lists (a period) and how its chart is grouped. Read from the query string."""

    period = forms.ChoiceField(
        label="Sessions",
        choices=list(earnings.PERIODS.items()),
        required=False,
        error_messages={"invalid_choice": "Choose all time, this month or last month."},
    )
    chart = forms.ChoiceField(
        label="Chart by",
        choices=list(earnings.CHART_UNITS.items()),
        required=False,
        error_messages={"invalid_choice": "Choose month or week."},
    )

    def choices(self) -> tuple[str, str]:
        """The period and chart unit to use: what was asked, or the defaults when it was not valid."""
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("period") or "all", data.get("chart") or "month"


class OperatorPeriodForm(forms.Form):
    """The period of the operator's dashboard: whole days in the viewer's zone, both ends included."""

    MAX_DAYS = 731  # two years of weekly bars still read; longer periods belong in a report
    EARLIEST, LATEST = date(2000, 1, 1), date(2100, 1, 1)

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if not (self.EARLIEST <= start <= self.LATEST and self.EARLIEST <= end <= self.LATEST):
                raise forms.ValidationError("Choose dates between the years 2000 and 2100.")
            if start > end:
                raise forms.ValidationError("The period must start on or before its last day.")
            if (end - start).days + 1 > self.MAX_DAYS:
                raise forms.ValidationError(f"Choose a period of at most {self.MAX_DAYS} days.")
        return data

    @classmethod
    def default_period(cls, today: date) -> tuple[date, date]:
        """The last twelve weeks, Monday to today."""
        return today - timedelta(days=today.weekday(), weeks=11), today
