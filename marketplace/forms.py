from uuid import uuid4

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.http import HttpRequest

from marketplace.enqueue import enqueue_after_commit
from marketplace.models import User, UserManager
from marketplace.ratelimit import client_ip, rate_limit_hit, rate_limit_message
from marketplace.timezones import is_valid_timezone, timezone_choices


class RateLimitedFormMixin:
    """A form that refuses itself, before any other check, when the view found the caller over a limit.

    Refusing in ``clean()`` first matters for login: the password is never even checked once the budget is
    spent, so guessing gains nothing.
    """

    def __init__(self, *args, rate_limit_message: str = "", **kwargs) -> None:
        self.rate_limit_message = rate_limit_message
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        if self.rate_limit_message:
            raise forms.ValidationError(self.rate_limit_message, code="rate_limited")
        return super().clean()  # type: ignore[misc]  # a mixin: the form class it is mixed into has clean()


class SignupForm(RateLimitedFormMixin, forms.ModelForm):
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Confirm password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    wants_to_provide = forms.BooleanField(
        label="I want to offer sessions as a provider",
        required=False,
        help_text="You can set up your profile, services and availability right after signing up.",
    )
    # Filled in by the browser (static/js/site.js) so new accounts start in the person's own zone.
    timezone = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = User
        fields = ["name", "email"]
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = True

    def clean_email(self) -> str:
        email = UserManager.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("An account with this email already exists. Log in instead?")
        return email

    def clean_timezone(self) -> str:
        name = self.cleaned_data.get("timezone", "")
        return name if is_valid_timezone(name) else "UTC"

    def clean(self) -> dict:
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password1:
            candidate = User(email=cleaned.get("email", ""), name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.timezone = self.cleaned_data["timezone"]
        user.set_password(self.cleaned_data["password1"])
        if commit:
            user.save()
        return user


def signup_form_for(
    request: HttpRequest, *, prefix: str | None = None, initial: dict | None = None
) -> tuple[SignupForm, int]:
    """The sign-up form for ``request`` and the status its page should answer with. Every page that creates
    accounts (sign-up, booking as a visitor) builds its form here, so each goes through the one per-address
    sign-up limit: a POST is counted first, and over the limit (or with no counter to ask) the form refuses
    itself, answering 429 (503 while the counter is unavailable)."""
    status, message = 200, ""
    if request.method == "POST":
        limit = rate_limit_hit(scope="signup_ip", key=client_ip(request))
        if limit.is_limited:
            status, message = (503 if limit.is_unavailable else 429), rate_limit_message(limit)
    form = SignupForm(
        request.POST if request.method == "POST" else None,
        prefix=prefix,
        initial=initial,
        rate_limit_message=message,
    )
    return form, status


class EmailAuthenticationForm(RateLimitedFormMixin, AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        label="Time zone",
        choices=timezone_choices,
        help_text="Every date and time on the site is shown to you in this zone.",
    )

    class Meta:
        model = User
        fields = ["name", "timezone", "has_reminders_on", "has_tips_on"]
        widgets = {"name": forms.TextInput(attrs={"autocomplete": "name"})}
        labels = {
            "has_reminders_on": "Email me a reminder before each session",
            "has_tips_on": "Email me tips",
        }
        help_texts = {
            "has_reminders_on": "Receipts and messages about your bookings and money always arrive.",
            "has_tips_on": "Now and then, never advertising.",
        }


class PasswordResetRequestForm(RateLimitedFormMixin, PasswordResetForm):
    def save(self, **kwargs) -> None:  # type: ignore[override]  # Django's sends mail here; we only queue
        """Hand the request to a task: looking accounts up and sending mail happen there, so this page does
        the same work, and takes the same time, whether the address has an account or not. Django's view
        passes mail options (templates, a domain from the Host header); the task uses its own and SITE_URL."""
        from marketplace.tasks import password_reset_send_task

        enqueue_after_commit(
            password_reset_send_task, email=self.cleaned_data["email"], request_id=uuid4().hex
        )
