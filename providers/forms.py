from datetime import date
from decimal import Decimal
from itertools import pairwise

from django import forms
from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.template.defaultfilters import filesizeformat

from marketplace.forms import TimezoneField
from providers.models import AvailabilityRule, Category, Provider, Service
from providers.selectors import SORTS, category_choices

PHOTO_MAX_BYTES = 2 * 1024 * 1024
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}  # what every browser shows; no SVG (it can carry script)
PRICE_MAX = Decimal("10000.00")


def cents_from_decimal(value: Decimal) -> int:
    """45.00 -> 4500, exactly: the form already limited the value to two decimal places."""
    return int(value.scaleb(2))


def decimal_from_cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


class ProviderProfileForm(forms.ModelForm):
    timezone = TimezoneField(
        label="Time zone",
        help_text="Your weekly hours are in this zone. Clients see your times converted to theirs.",
    )
    photo = forms.ImageField(
        label="Photo",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        validators=[FileExtensionValidator(["jpg", "jpeg", "png", "webp"])],
        help_text=f"A JPEG, PNG or WebP image up to {filesizeformat(PHOTO_MAX_BYTES)}. Square looks best.",
    )

    class Meta:
        model = Provider
        fields = ["display_name", "headline", "bio", "photo", "category", "city", "timezone"]
        labels = {
            "display_name": "Name shown to clients",
            "headline": "Headline",
            "bio": "About you",
            "category": "Category",
            "city": "City or area",
        }
        help_texts = {
            "headline": "One line, e.g. “Maths and physics tutor for secondary school students”.",
            "bio": "Your experience, how you work, who you help. Blank lines start a new paragraph.",
            "city": "Where you work or are based, e.g. “Berlin” or “North London”.",
        }
        widgets = {"bio": forms.Textarea(attrs={"rows": 8})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].empty_label = "Choose a category"
        self.fields["category"].queryset = Category.objects.order_by("name")

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if not photo:  # None: unchanged; False: "clear" ticked
            return photo
        if photo.size > PHOTO_MAX_BYTES:
            raise forms.ValidationError(
                f"That image is {filesizeformat(photo.size)}; the limit is {filesizeformat(PHOTO_MAX_BYTES)}."
            )
        # forms.ImageField has opened the file with Pillow; trust what Pillow saw, not the file name.
        image = getattr(photo, "image", None)
        if image is not None and image.format not in PHOTO_FORMATS:
            raise forms.ValidationError("Please upload a JPEG, PNG or WebP image.")
        return photo


class ServiceForm(forms.Form):
    title = forms.CharField(
        label="Title", max_length=120, help_text="What clients book, e.g. “60-minute maths lesson”."
    )
    description = forms.CharField(
        label="Description", required=False, max_length=3000, widget=forms.Textarea(attrs={"rows": 4})
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)",
        min_value=5,
        max_value=12 * 60,
        widget=forms.NumberInput(attrs={"step": 5, "inputmode": "numeric"}),
    )
    price = forms.DecimalField(
        label=f"Price ({settings.PLATFORM_CURRENCY.upper()})",
        min_value=Decimal("1.00"),
        max_value=PRICE_MAX,
        max_digits=7,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "45.00"}),
        help_text="What the client pays for one session, e.g. 45.00. The platform fee is taken from this.",
    )
    location = forms.ChoiceField(
        label="Where it happens",
        choices=Service.Location.choices,
        widget=forms.RadioSelect,
        help_text="For sessions at the client's place we ask the client for an address when they book.",
    )
    is_active = forms.BooleanField(
        label="Offer this service",
        required=False,
        initial=True,
        help_text="Untick to hide it without deleting it.",
    )

    @classmethod
    def initial_for(cls, service: Service) -> dict:
        return {
            "title": service.title,
            "description": service.description,
            "duration_minutes": service.duration_minutes,
            "price": decimal_from_cents(service.price_amount),
            "location": service.location,
            "is_active": service.is_active,
        }

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data["description"],
            "duration_minutes": data["duration_minutes"],
            "price_amount": cents_from_decimal(data["price"]),
            "location": data["location"],
            "is_active": data["is_active"],
        }


class AvailabilityRuleForm(forms.Form):
    weekday = forms.TypedChoiceField(
        label="Day", coerce=int, choices=[("", "Choose a day"), *AvailabilityRule.Weekday.choices]
    )
    start_time = forms.TimeField(label="From", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label="To", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", "The end must be later than the start, on the same day.")
        return cleaned


class BaseAvailabilityFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        ranges = sorted(self.rules())
        for (day_a, start_a, end_a), (day_b, start_b, _end_b) in pairwise(ranges):
            if day_a == day_b and start_b < end_a:
                weekday = AvailabilityRule.Weekday(day_a).label
                raise forms.ValidationError(
                    f"Two ranges on {weekday} overlap ({start_a:%H:%M} to {end_a:%H:%M} and "
                    f"{start_b:%H:%M} onwards). Join them into one range."
                )

    def rules(self) -> list[tuple]:
        return [
            (form.cleaned_data["weekday"], form.cleaned_data["start_time"], form.cleaned_data["end_time"])
            for form in self.forms
            # Blank spare rows validate to {}; saved rows count even when unchanged.
            if form.cleaned_data.get("weekday") is not None and not form.cleaned_data.get("DELETE")
        ]


AvailabilityFormSet = forms.formset_factory(
    AvailabilityRuleForm,
    formset=BaseAvailabilityFormSet,
    extra=3,
    can_delete=True,
    max_num=70,
    validate_max=True,
)


class TimeOffForm(forms.Form):
    start_date = forms.DateField(label="First day off", widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(
        label="Last day off", widget=forms.DateInput(attrs={"type": "date"}), help_text="Included."
    )
    note = forms.CharField(label="Note (only you see it)", max_length=120, required=False)

    def __init__(self, *args, today: date, **kwargs) -> None:
        # "Today" in the provider's own zone: time off is whole days there, whichever zone views the page.
        self.today = today
        super().__init__(*args, **kwargs)
        for name in ("start_date", "end_date"):
            # The browser's date picker starts at today and greys out the past; the check below still decides.
            self.fields[name].widget.attrs["min"] = today.isoformat()

    def clean_start_date(self) -> date:
        start: date = self.cleaned_data["start_date"]
        if start < self.today:
            # Days already gone cannot be taken off, and the list below only shows time off still to come.
            raise forms.ValidationError(
                f"The first day off cannot be in the past. Today is {self.today:%A %-d %B %Y} in your zone."
            )
        return start

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if end and end < self.today:
            self.add_error("end_date", "The last day off cannot be in the past.")
        elif start and end and end < start:
            self.add_error("end_date", "The last day cannot be before the first day.")
        return cleaned


def _minutes_label(minutes: int) -> str:
    if minutes == 0:
        return "None"
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days > 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours > 1 else ''}"
    return f"{minutes} minutes"


def _choices(values: list[int], current: int | None) -> list[tuple[int, str]]:
    # Keep a value staff set in admin selectable, even if it is not one of the usual ones.
    options = sorted({*values, *([current] if current is not None else [])})
    return [(value, _minutes_label(value)) for value in options]


class BookingSettingsForm(forms.Form):
    min_notice_minutes = forms.TypedChoiceField(
        label="Minimum notice",
        coerce=int,
        help_text="How soon before a session clients can still book it.",
    )
    booking_horizon_days = forms.IntegerField(
        label="Book up to (days ahead)",
        min_value=1,
        max_value=365,
        help_text="How far ahead clients can book.",
    )
    buffer_before_minutes = forms.TypedChoiceField(
        label="Free time before each session",
        coerce=int,
        help_text="Kept free before a session, e.g. to travel.",
    )
    buffer_after_minutes = forms.TypedChoiceField(
        label="Free time after each session",
        coerce=int,
        help_text="Kept free after a session, e.g. for notes.",
    )
    slot_step_minutes = forms.TypedChoiceField(
        label="Start times every",
        coerce=int,
        help_text="E.g. every 30 minutes: sessions can start at 9:00, 9:30, 10:00…",
    )

    def __init__(self, *args, provider: Provider, **kwargs) -> None:
        kwargs.setdefault(
            "initial",
            {
                "min_notice_minutes": provider.min_notice_minutes,
                "booking_horizon_days": provider.booking_horizon_days,
                "buffer_before_minutes": provider.buffer_before_minutes,
                "buffer_after_minutes": provider.buffer_after_minutes,
                "slot_step_minutes": provider.slot_step_minutes,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["min_notice_minutes"].choices = _choices(
            [0, 30, 60, 120, 240, 720, 1440, 2880, 10080], provider.min_notice_minutes
        )
        buffers = [0, 5, 10, 15, 30, 45, 60, 90, 120]
        self.fields["buffer_before_minutes"].choices = _choices(buffers, provider.buffer_before_minutes)
        self.fields["buffer_after_minutes"].choices = _choices(buffers, provider.buffer_after_minutes)
        self.fields["slot_step_minutes"].choices = _choices(
            [10, 15, 20, 30, 60, 120], provider.slot_step_minutes
        )


RATING_CHOICES = [
    ("", "Any rating"),
    ("3", "3 stars and up"),
    ("4", "4 stars and up"),
    ("4.5", "4.5 stars and up"),
]


class SearchForm(forms.Form):
    q = forms.CharField(
        label="What are you looking for?",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. maths, yoga, plumber"}),
    )
    category = forms.ChoiceField(label="Category", required=False)
    city = forms.CharField(
        label="City or area",
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"list": "city-options"}),
    )
    price_min = forms.DecimalField(
        label="Min price", required=False, min_value=0, max_value=PRICE_MAX, max_digits=7, decimal_places=2
    )
    price_max = forms.DecimalField(
        label="Max price", required=False, min_value=0, max_value=PRICE_MAX, max_digits=7, decimal_places=2
    )
    rating = forms.ChoiceField(label="Rating", required=False, choices=RATING_CHOICES)
    sort = forms.ChoiceField(label="Sort by", required=False, choices=list(SORTS.items()))

    def __init__(self, *args, categories: list[tuple[str, str]] | None = None, **kwargs) -> None:
        """``categories``: (slug, name) pairs when the caller has them already (see search_form_lists)."""
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            ("", "All categories"),
            *(categories if categories is not None else category_choices()),
        ]
        for name in ("price_min", "price_max"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "step": "1"})

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            # Both go: a range that holds nothing would only ever say "0 providers" without saying why.
            del data["price_min"], data["price_max"]
            self.add_error(
                "price_max",
                f"The max price ({high}) is below the min price ({low}); the price range was not applied.",
            )
        return data

    def search_kwargs(self) -> dict:
        # An invalid field (say a price of "abc") is shown as an error and ignored; the others still apply.
        self.is_valid()
        data = self.cleaned_data
        return {
            "text": data.get("q") or "",
            "category_slug": data.get("category") or "",
            "city": data.get("city") or "",
            "price_min": cents_from_decimal(data["price_min"]) if data.get("price_min") is not None else None,
            "price_max": cents_from_decimal(data["price_max"]) if data.get("price_max") is not None else None,
            "rating_min": Decimal(data["rating"]) if data.get("rating") else None,
            "sort": data.get("sort") or "relevance",
        }


class TimezoneForm(forms.Form):
    tz = TimezoneField(label="Show times in")
    next = forms.CharField(widget=forms.HiddenInput, required=False)
