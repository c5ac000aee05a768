import uuid
from pathlib import PurePath

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Upper

from marketplace.models import validate_timezone


class Category(models.Model):
    """What kind of sessions a provider offers ("Tutoring", "Coaching"...). Managed by staff in admin."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


def provider_photo_path(instance: "Provider", filename: str) -> str:
    # A random name: the uploader's file name may carry personal data and must never decide where we write.
    suffix = PurePath(filename).suffix.lower()[:6]
    return f"providers/photos/{uuid.uuid4().hex}{suffix}"


class ProviderQuerySet(models.QuerySet):
    def listed(self) -> "ProviderQuerySet":
        """Providers that search shows: active, a complete profile, an active service and a weekly rule.

        The definition; search reads its stored result, ``Provider.is_listed``, kept by
        ``providers.services.provider_reindex_search``."""
        return self.filter(
            Exists(Service.objects.filter(provider=OuterRef("pk"), is_active=True)),
            Exists(AvailabilityRule.objects.filter(provider=OuterRef("pk"))),
            is_active=True,
            category__isnull=False,
        ).exclude(Q(display_name="") | Q(headline="") | Q(bio="") | Q(city=""))

    def can_receive_payouts(self) -> "ProviderQuerySet":
        """Providers whose Stripe account can receive transfers now (the same rule as
        ``Provider.can_receive_payouts``)."""
        return self.filter(stripe_account_id__isnull=False, stripe_transfers_capability="active")


def _listed_order_indexes(name: str, *order: str | F | models.expressions.OrderBy) -> list[models.Index]:
    """A search order's two partial indexes over listed providers: the order itself, and the order within one
    category."""
    listed = Q(is_listed=True)
    return [
        models.Index(*order, condition=listed, name=f"providers_listed_{name}"),
        models.Index("category", *order, condition=listed, name=f"providers_cat_{name}"),
    ]


class Provider(models.Model):
    """A person who offers sessions. Any user becomes a provider by having one of these."""

    class PayoutSetup(models.TextChoices):
        """Where the provider's Stripe Connect onboarding stands (``payout_setup``)."""

        NOT_STARTED = "not_started", "Not started"
        DETAILS_MISSING = "details_missing", "Details missing"
        UNDER_REVIEW = "under_review", "Under review"
        READY = "ready", "Ready"
        REJECTED = "rejected", "Turned down by Stripe"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider")
    display_name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True, help_text="Public URL name, unique.")
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="IANA zone; availability is entered as wall-clock times in it.",
    )
    headline = models.CharField(max_length=160, blank=True, help_text="One line under your name.")
    bio = models.TextField(blank=True, max_length=5000)
    photo = models.ImageField(upload_to=provider_photo_path, blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="providers"
    )
    city = models.CharField(max_length=120, blank=True, help_text="City or area where you work.")
    is_active = models.BooleanField(
        default=True, help_text="Inactive providers are hidden from search and cannot be booked."
    )
    platform_fee_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text="Overrides PLATFORM_FEE_PERCENT for this provider. Empty: the platform default.",
    )

    # Booking settings: how far ahead and how close to now clients may book, and breathing room.
    min_notice_minutes = models.PositiveIntegerField(
        default=120, help_text="Minutes: clients cannot book a session starting sooner than this."
    )
    booking_horizon_days = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(365)], help_text="Days ahead."
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0, help_text="Minutes kept free before.")
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0, help_text="Minutes kept free after.")
    slot_step_minutes = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
        help_text="Minutes between possible start times.",
    )

    # Kept up to date by services (and reviews, later), so search never computes them per row.
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, default=0)
    rating_count = models.PositiveIntegerField(default=0)
    next_available_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    # listed() evaluated and stored by provider_reindex_search: search filters on one column instead of
    # checking services and rules for every provider on every request.
    is_listed = models.BooleanField(default=False, editable=False)
    # The lowest active service price (cents), stored by provider_reindex_search beside is_listed: the price
    # sort and a price-less card read one column instead of a per-provider subquery over services.
    price_from = models.PositiveIntegerField(null=True, blank=True, editable=False)
    search_vector = SearchVectorField(null=True, editable=False)

    # Payouts: the Stripe Connect Express account and its state as Stripe last reported it. Written only by
    # payments.connect (onboarding, the return page and account.updated), which owns every Stripe call.
    stripe_account_id = models.CharField(
        max_length=255, unique=True, null=True, blank=True, editable=False, help_text="acct_..."
    )
    payout_country = models.CharField(
        max_length=2,
        blank=True,
        editable=False,
        help_text="ISO 3166-1 alpha-2 (upper case) of the Stripe account; chosen before it is opened.",
    )
    stripe_transfers_capability = models.CharField(
        max_length=16,
        blank=True,
        editable=False,
        help_text="The account's transfers capability: active / pending / inactive; empty before one.",
    )
    stripe_details_submitted = models.BooleanField(default=False, editable=False)
    stripe_payouts_enabled = models.BooleanField(default=False, editable=False)
    stripe_requirements_due = models.JSONField(
        default=list, blank=True, editable=False, help_text="Stripe's requirements.currently_due."
    )
    stripe_requirements_pending = models.JSONField(
        default=list, blank=True, editable=False, help_text="Stripe's requirements.pending_verification."
    )
    stripe_disabled_reason = models.CharField(
        max_length=64, blank=True, editable=False, help_text="Stripe's requirements.disabled_reason."
    )
    stripe_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    payouts_blocked_reason = models.CharField(
        max_length=255,
        blank=True,
        default="Payouts are not set up yet.",
        editable=False,
        help_text="Why money cannot be transferred to this provider now, in words fit to show them; "
        "empty when it can.",
    )
    stripe_links_created = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Onboarding and dashboard links asked of Stripe; numbers their idempotency keys.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProviderQuerySet.as_manager()

    class Meta:
        ordering = ["display_name"]
        indexes = [
            GinIndex(fields=["search_vector"], name="providers_provider_search_gin"),
            # city__istartswith compiles to UPPER(city) LIKE UPPER('lond%'): a prefix LIKE can use a b-tree
            # only with the pattern operator class (the database's collation is not C).
            models.Index(
                OpClass(Upper("city"), name="varchar_pattern_ops"), name="providers_provider_city_prefix"
            ),
            models.Index(fields=["-rating_average", "-rating_count"], name="providers_provider_rating"),
            # One partial index per search order, each matching its ORDER BY column for column, so the first
            # page of listed providers is read from the front of an index instead of sorting all of them; and
            # its twin led by the category (search's category filter is its id, found once before the scan),
            # so browsing a category reads its own first twenty entries (docs/benchmarks.md).
            *_listed_order_indexes(
                "soonest", F("next_available_at").asc(nulls_last=True), F("rating_average").desc(), "id"
            ),
            *_listed_order_indexes(
                "relevance", F("rating_average").desc(), F("next_available_at").asc(nulls_last=True), "id"
            ),
            *_listed_order_indexes("price", "price_from", F("next_available_at").asc(nulls_last=True), "id"),
            *_listed_order_indexes(
                "rating",
                F("rating_average").desc(),
                F("rating_count").desc(),
                F("next_available_at").asc(nulls_last=True),
                "id",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(platform_fee_percent__isnull=True) | Q(platform_fee_percent__lte=100),
                name="providers_provider_fee_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(rating_average__gte=0) & Q(rating_average__lte=5),
                name="providers_provider_rating_range",
            ),
            models.CheckConstraint(
                condition=Q(slot_step_minutes__gte=5), name="providers_provider_slot_step_min"
            ),
            models.CheckConstraint(
                condition=Q(booking_horizon_days__gte=1), name="providers_provider_horizon_min"
            ),
            models.CheckConstraint(
                condition=Q(payout_country="") | Q(payout_country__regex=r"^[A-Z]{2}$"),
                name="providers_provider_payout_country_iso2",
            ),
            # A Stripe account is always created for a country: the country is stored first.
            models.CheckConstraint(
                condition=Q(stripe_account_id__isnull=True) | ~Q(payout_country=""),
                name="providers_provider_account_has_country",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def initials(self) -> str:
        words = [word for word in self.display_name.split() if word[:1].isalnum()]
        return "".join(word[0] for word in words[:2]).upper() or "?"

    @property
    def fee_percent(self) -> int:
        return (
            self.platform_fee_percent
            if self.platform_fee_percent is not None
            else settings.PLATFORM_FEE_PERCENT
        )

    @property
    def can_receive_payouts(self) -> bool:
        """True when Stripe lets us transfer money to the provider: their account's transfers capability is
        active. ``payouts_blocked_reason`` says why not otherwise."""
        return bool(self.stripe_account_id) and self.stripe_transfers_capability == "active"

    @property
    def payout_setup(self) -> str:
        """A ``PayoutSetup`` value: what the provider still has to do (or wait for) before being paid."""
        if not self.stripe_account_id:
            return self.PayoutSetup.NOT_STARTED
        if self.can_receive_payouts:
            return self.PayoutSetup.READY
        if self.stripe_disabled_reason.startswith("rejected"):
            return self.PayoutSetup.REJECTED
        pending = set(self.stripe_requirements_pending)
        if any(name not in pending for name in self.stripe_requirements_due):
            return self.PayoutSetup.DETAILS_MISSING
        if self.stripe_details_submitted:
            # Everything asked for is in; Stripe is verifying it (or the capability is still pending).
            return self.PayoutSetup.UNDER_REVIEW
        return self.PayoutSetup.DETAILS_MISSING


class Service(models.Model):
    """Something a provider sells: a fixed duration at a fixed price."""

    class Location(models.TextChoices):
        ONLINE = "online", "Online"
        PROVIDER_PLACE = "provider_place", "At my place"
        CLIENT_PLACE = "client_place", "At the client's place"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="services")
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=3000)
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(12 * 60)], help_text="Minutes."
    )
    price_amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    currency = models.CharField(max_length=3, help_text="ISO code, lower case; always PLATFORM_CURRENCY.")
    location = models.CharField(max_length=16, choices=Location.choices, default=Location.ONLINE)
    is_active = models.BooleanField(default=True, help_text="Inactive services are hidden and not bookable.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["price_amount", "title"]
        indexes = [
            models.Index(fields=["provider", "is_active", "price_amount"], name="providers_service_active")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price_amount__gt=0), name="providers_service_price_positive"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=12 * 60),
                name="providers_service_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.provider})"

    @property
    def needs_client_address(self) -> bool:
        return self.location == self.Location.CLIENT_PLACE


class AvailabilityRule(models.Model):
    """A weekly window of wall-clock time in the provider's zone, e.g. Mondays 09:00-12:00."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="availability_rules")
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, help_text="0 = Monday (date.weekday())."
    )
    start_time = models.TimeField(help_text="Wall-clock time in the provider's zone.")
    end_time = models.TimeField(help_text="Wall-clock time in the provider's zone; after start_time.")

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__lte=6), name="providers_availabilityrule_weekday_range"
            ),
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")),
                name="providers_availabilityrule_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class TimeOff(models.Model):
    """Whole days (in the provider's zone, both ends included) when the provider takes no sessions."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="time_off")
    start_date = models.DateField()
    end_date = models.DateField(help_text="Last day off (included).")
    note = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["start_date"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="providers_timeoff_end_not_before_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start_date} to {self.end_date}"


class Favourite(models.Model):
    """A provider a user saved from the profile, to find again in their client area. One row per pair."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="favourited_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Saving twice (two tabs, a double click) keeps one row: the database refuses the second.
            models.UniqueConstraint(fields=["user", "provider"], name="providers_favourite_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ♥ {self.provider}"
