from django import forms

from marketplace.forms import RateLimitedFormMixin
from providers.models import Service


class BookingForm(RateLimitedFormMixin, forms.Form):
    client_notes = forms.CharField(
        label="Anything the provider should know?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: goals, level, questions. Only the provider sees this.",
    )
    address = forms.CharField(
        label="Address for the session",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "street-address"}),
        help_text="Where the provider should come.",
    )

    def __init__(self, *args, service: Service, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.needs_address = service.location == Service.Location.CLIENT_PLACE
        if self.needs_address:
            self.fields["address"].required = True
        else:
            del self.fields["address"]


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)", required=False, max_length=200, help_text="Shared with the other party."
    )
    # The refund shown on the page, in cents: cancelling applies exactly this or asks again. Never trusted as
    # an amount to pay out, only compared with what the policy gives now.
    expected_refund = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=0, max_value=10**9
    )
