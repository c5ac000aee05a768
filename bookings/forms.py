from django import forms

from bookings.reviews import BODY_MAX_LENGTH, REPLY_MAX_LENGTH
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


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label="Your rating",
        coerce=int,
        choices=[(stars, f"{stars} star{'s' if stars > 1 else ''}") for stars in range(5, 0, -1)],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose a rating from 1 to 5 stars.",
            "invalid_choice": "Choose a rating from 1 to 5 stars.",
        },
    )
    body = forms.CharField(
        label="Your review",
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What went well, what could be better. Shown on the provider's profile with your first "
        "name.",
        error_messages={"required": "Please write a few words about the session."},
    )


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label="Your reply",
        max_length=REPLY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown under the review on your profile. You can reply once.",
        error_messages={"required": "Please write your reply."},
    )
