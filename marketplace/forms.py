from functools import cache
from uuid import uuid4

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.forms.utils import flatatt
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from marketplace.enqueue import enqueue_after_commit
from marketplace.models import User, UserManager
from marketplace.ratelimit import client_ip, rate_limit_hit, rate_limit_message
from marketplace.timezones import (
    canonical_timezone,
    is_valid_timezone,
    picked_timezone,
    timezone_choices,
    zones,
)


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


@cache
def _zone_options_html() -> str:
    """Every offered zone as <option>s in one <optgroup> per region, each with its old names in ``data-aka``
    (the filter in static/js/site.js matches them: "Calcutta" finds Kolkata). Built once per process:
    rendering ~420 options through Django's widget templates costs ~40 ms a page (docs/benchmarks.md)."""
    groups: dict[str, list[SafeString]] = {}
    for zone in zones():
        aka = format_html(' data-aka="{}"', " ".join(zone.aliases)) if zone.aliases else ""
        groups.setdefault(zone.region, []).append(
            format_html('<option value="{}"{}>{}</option>', zone.name, aka, zone.label)
        )
    return "".join(
        format_html('<optgroup label="{}">{}</optgroup>', region, mark_safe("".join(options)))
        for region, options in groups.items()
    )


class TimezoneSelect(forms.Select):
    """The zone picker: a plain <select> grouped by region, whose options start with the city ("New York,
    United States"), so typing a city's first letters picks it even without JavaScript. static/js/site.js adds
    a search box that filters by city, country or old name, and puts the browser's zone first."""

    def __init__(self, attrs: dict | None = None, *, empty_label: str | None = None) -> None:
        super().__init__(attrs={"data-zone-picker": "", **(attrs or {})})
        self.empty_label = empty_label

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        final_attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        selected = canonical_timezone(str(value)) if value else ""
        options = _zone_options_html()
        needle = format_html('<option value="{}"', selected)
        if selected and needle in options:
            # Safe: the options were escaped when built, and the needle is format_html-escaped too. The needle
            # ends at the closing quote of the value, so "America/Indiana" never matches inside a longer name.
            options = options.replace(needle, needle + " selected", 1)
        elif selected and is_valid_timezone(selected):
            # A zone saved before it left the list (an "Etc/GMT+5"): shown, so saving the form keeps it.
            options = format_html('<option value="{}" selected>{}</option>', selected, selected) + options
        empty = format_html('<option value="">{}</option>', self.empty_label) if self.empty_label else ""
        return format_html("<select{}>{}{}</select>", flatatt(final_attrs), empty, mark_safe(options))


class TimezoneField(forms.ChoiceField):
    """Offers ``timezones.zones()``; accepts any zone the runtime knows and stores an old alias under its
    current name (a browser may still report "Asia/Calcutta")."""

    widget = TimezoneSelect

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("error_messages", {"invalid_choice": "Please choose a time zone from the list."})
        super().__init__(choices=timezone_choices, **kwargs)

    def to_python(self, value) -> str:
        name = super().to_python(value)
        return canonical_timezone(name) if name else name

    def valid_value(self, value) -> bool:
        return is_valid_timezone(value)


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
    # Starts at the zone the visitor picked or their browser reported (the ``tz`` cookie); without either,
    # static/js/site.js picks the browser's zone, and with no script at all an unchosen zone is UTC.
    timezone = TimezoneField(
        label="Time zone",
        required=False,
        widget=TimezoneSelect(empty_label="Choose your time zone"),
        help_text="Every date and time on the site is shown to you in this zone. You can change it later.",
    )

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
        return self.cleaned_data.get("timezone") or "UTC"

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
    # A zone the visitor picked (or their browser reported) is where their account starts.
    initial = {"timezone": picked_timezone(request), **(initial or {})}
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
    timezone = TimezoneField(
        label="Time zone",
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
