"""Every write to providers, their services and availability.

Each write that changes what search shows or when a provider is free ends by refreshing the provider's stored
search document and next available time, in the same transaction, so search never shows stale data after a
provider saves a page. The periodic job ``providers.tasks.refresh_next_available`` moves next available times
forward as time passes.
"""

from collections.abc import Iterable
from datetime import date, datetime, time

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import TextField, Value
from django.utils.text import slugify

from marketplace.models import User
from providers.models import AvailabilityRule, Category, Favourite, Provider, Service, TimeOff
from providers.slots import Interval, provider_next_available

# One text-search configuration for the stored document and for queries: both sides must stem alike.
SEARCH_CONFIG = "english"


def _unique_slug(base: str) -> str:
    root = slugify(base)[:120] or "provider"
    slug, n = root, 1
    while Provider.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{root}-{n}"
    return slug


def provider_create(*, user: User, display_name: str) -> Provider:
    """Make ``user`` a provider. Idempotent: a user who already is one gets their existing profile back."""
    existing = Provider.objects.filter(user=user).first()
    if existing:
        return existing
    name = display_name.strip() or user.display_name
    # Two sign-ups with the same name can race for a slug; the unique index decides and we try again.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                provider = Provider.objects.create(
                    user=user, display_name=name, slug=_unique_slug(name), timezone=user.timezone
                )
                provider_reindex_search(provider_id=provider.pk)
                return provider
        except IntegrityError:
            existing = Provider.objects.filter(user=user).first()
            if existing:
                return existing
    raise IntegrityError(f"Could not find a free slug for provider {name!r}")


@transaction.atomic
def provider_update_profile(
    *,
    provider: Provider,
    display_name: str,
    headline: str,
    bio: str,
    category: Category | None,
    city: str,
    timezone: str,
    photo: File | None = None,
    remove_photo: bool = False,
) -> Provider:
    """Save the public profile. ``photo`` replaces the current one (the old file is deleted after commit);
    ``remove_photo`` clears it. Input is validated by the form. Refreshes search and next availability
    (a new zone moves every slot)."""
    # From the database: a ModelForm has already put the new upload on this instance.
    old_photo_name = Provider.objects.filter(pk=provider.pk).values_list("photo", flat=True).first() or ""
    provider.display_name = display_name.strip()
    provider.headline = headline.strip()
    provider.bio = bio.strip()
    provider.category = category
    provider.city = city.strip()
    provider.timezone = timezone
    if photo is not None:
        provider.photo.save(photo.name, photo, save=False)
    elif remove_photo:
        provider.photo = None
    provider.save(
        update_fields=[
            "display_name",
            "headline",
            "bio",
            "category",
            "city",
            "timezone",
            "photo",
            "updated_at",
        ]
    )
    if old_photo_name and old_photo_name != (provider.photo.name if provider.photo else ""):
        storage = provider.photo.storage
        transaction.on_commit(lambda: storage.delete(old_photo_name))
    _provider_changed(provider_id=provider.pk)
    return provider


@transaction.atomic
def provider_update_booking_settings(
    *,
    provider: Provider,
    min_notice_minutes: int,
    booking_horizon_days: int,
    buffer_before_minutes: int,
    buffer_after_minutes: int,
    slot_step_minutes: int,
) -> Provider:
    """Save notice, horizon, buffers and slot step. Refreshes the next available time."""
    provider.min_notice_minutes = min_notice_minutes
    provider.booking_horizon_days = booking_horizon_days
    provider.buffer_before_minutes = buffer_before_minutes
    provider.buffer_after_minutes = buffer_after_minutes
    provider.slot_step_minutes = slot_step_minutes
    provider.save(
        update_fields=[
            "min_notice_minutes",
            "booking_horizon_days",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "slot_step_minutes",
            "updated_at",
        ]
    )
    _provider_changed(provider_id=provider.pk)
    return provider


@transaction.atomic
def service_create(
    *,
    provider: Provider,
    title: str,
    description: str,
    duration_minutes: int,
    price_amount: int,
    location: str,
    is_active: bool = True,
) -> Service:
    """Add a service priced in ``price_amount`` cents of the platform currency (the only currency)."""
    service = Service.objects.create(
        provider=provider,
        title=title.strip(),
        description=description.strip(),
        duration_minutes=duration_minutes,
        price_amount=price_amount,
        currency=settings.PLATFORM_CURRENCY,
        location=location,
        is_active=is_active,
    )
    _provider_changed(provider_id=provider.pk)
    return service


@transaction.atomic
def service_update(
    *,
    service: Service,
    title: str,
    description: str,
    duration_minutes: int,
    price_amount: int,
    location: str,
    is_active: bool,
) -> Service:
    """Change a service. Existing bookings keep the price stored on them; this changes future bookings."""
    service.title = title.strip()
    service.description = description.strip()
    service.duration_minutes = duration_minutes
    service.price_amount = price_amount
    service.currency = settings.PLATFORM_CURRENCY
    service.location = location
    service.is_active = is_active
    service.save(
        update_fields=[
            "title",
            "description",
            "duration_minutes",
            "price_amount",
            "currency",
            "location",
            "is_active",
            "updated_at",
        ]
    )
    _provider_changed(provider_id=service.provider_id)
    return service


@transaction.atomic
def availability_rules_set(
    *, provider: Provider, rules: Iterable[tuple[int, time, time]]
) -> list[AvailabilityRule]:
    """Replace the provider's weekly hours with ``rules`` (weekday 0 = Monday, start, end in their zone).

    The whole week is saved at once, as the form shows it: simpler than diffing rows, and rules have no
    identity anything else refers to. Idempotent.
    """
    Provider.objects.select_for_update().filter(pk=provider.pk).first()  # one editor at a time
    AvailabilityRule.objects.filter(provider=provider).delete()
    created = AvailabilityRule.objects.bulk_create(
        [
            AvailabilityRule(provider=provider, weekday=weekday, start_time=start, end_time=end)
            for weekday, start, end in sorted(set(rules))
        ]
    )
    _provider_changed(provider_id=provider.pk)
    return created


@transaction.atomic
def time_off_create(*, provider: Provider, start_date: date, end_date: date, note: str = "") -> TimeOff:
    """Block whole days (both ends included, in the provider's zone). Idempotent: the same days again (a
    form sent twice, from a double click or two tabs at once) return the row already there. The provider's
    row lock makes two at once take turns, so the second sees the first's row."""
    Provider.objects.select_for_update().filter(pk=provider.pk).first()
    existing = TimeOff.objects.filter(provider=provider, start_date=start_date, end_date=end_date).first()
    if existing is not None:
        return existing
    time_off = TimeOff.objects.create(provider=provider, start_date=start_date, end_date=end_date, note=note)
    _provider_changed(provider_id=provider.pk)
    return time_off


@transaction.atomic
def time_off_delete(*, time_off: TimeOff) -> None:
    """Give days back. The caller has checked ownership."""
    provider_id = time_off.provider_id
    time_off.delete()
    _provider_changed(provider_id=provider_id)


def provider_reindex_search(*, provider_id: int) -> None:
    """Rebuild what search reads: the full-text document (name (A), headline and active service titles (B),
    category and city (C), bio (D)), ``is_listed`` (``Provider.objects.listed()``, stored) and ``price_from``
    (the lowest active service price). Idempotent."""
    provider = Provider.objects.select_related("category").get(pk=provider_id)
    active = list(
        Service.objects.filter(provider_id=provider_id, is_active=True).values_list("title", "price_amount")
    )
    titles = " ".join(title for title, _price in active)
    category = provider.category.name if provider.category else ""

    def part(text: str, weight: str) -> SearchVector:
        return SearchVector(Value(text, output_field=TextField()), weight=weight, config=SEARCH_CONFIG)

    Provider.objects.filter(pk=provider_id).update(
        is_listed=Provider.objects.listed().filter(pk=provider_id).exists(),
        price_from=min((price for _title, price in active), default=None),
        search_vector=part(provider.display_name, "A")
        + part(f"{provider.headline} {titles}", "B")
        + part(f"{category} {provider.city}", "C")
        + part(provider.bio, "D"),
    )


def provider_refresh_next_available(
    *, provider_id: int, now: datetime | None = None, busy: Iterable[Interval] | None = None
) -> datetime | None:
    """Store the provider's earliest open slot (None when there is none) and return it.

    Called after every change to availability, services or settings, by the periodic job, and (later) by the
    bookings app when bookings change. ``busy`` defaults to what registered busy sources report. Idempotent:
    writes only when the value changed.
    """
    provider = Provider.objects.filter(pk=provider_id).first()
    if provider is None:
        return None
    value = provider_next_available(provider=provider, now=now, busy=busy)
    if value != provider.next_available_at:
        Provider.objects.filter(pk=provider_id).update(next_available_at=value)
    return value


def _provider_changed(*, provider_id: int) -> None:
    provider_reindex_search(provider_id=provider_id)
    provider_refresh_next_available(provider_id=provider_id)


def favourite_add(*, user: User, provider: Provider) -> Favourite:
    """Save ``provider`` to ``user``'s favourites. Idempotent: saving again (two tabs, a double click, a race)
    returns the one row the unique constraint keeps."""
    favourite, _ = Favourite.objects.get_or_create(user=user, provider=provider)
    return favourite


def favourite_remove(*, user: User, provider: Provider) -> None:
    """Take ``provider`` off ``user``'s favourites. Idempotent: removing one not saved does nothing."""
    Favourite.objects.filter(user=user, provider=provider).delete()
