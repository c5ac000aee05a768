"""Reads with logic: search, the profile's slots and reviews, the dashboard's checklist, favourites."""

import hashlib
import inspect
import json
import logging
import pickle
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import redis
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.cache import cache
from django.core.paginator import Page
from django.db import connection
from django.db.models import (
    BooleanField,
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    OrderBy,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import get_language

from marketplace.models import User
from marketplace.money import format_money
from marketplace.rows import columns, instance_from_row
from providers.html import week_grid_html
from providers.models import AvailabilityRule, Category, Favourite, Provider, Service, TimeOff
from providers.services import SEARCH_CONFIG
from providers.slots import (
    Interval,
    iter_service_slots,
    provider_busy_intervals,
    service_slots,  # noqa: F401 - the public name the rest of the project uses, beside the other reads
)

SORTS = {
    "relevance": "Best match",
    "price": "Lowest price",
    "rating": "Highest rated",
    "soonest": "Soonest available",
}

_WORD = re.compile(r"\w+", re.UNICODE)
LISTED_CITIES_KEY = "providers:listed-cities"
CATEGORY_CHOICES_KEY = "providers:category-choices"
# The home page's search form, rendered: the same for every visitor, and most of that page's cost.
HOME_SEARCH_FORM_KEY = "providers:home-search-form"
T = TypeVar("T")
logger = logging.getLogger(__name__)


def _prefix_query(text: str) -> SearchQuery | None:
    """Every word must match, the last one as a prefix so "mat" finds "maths" while typing.

    Only word characters reach to_tsquery, so nothing a visitor types can be read as query syntax.
    """
    words = _WORD.findall(text.lower())[:8]
    if not words:
        return None
    terms = [*words[:-1], f"{words[-1]}:*"]
    return SearchQuery(" & ".join(terms), search_type="raw", config=SEARCH_CONFIG)


# What a result card shows (``provider_cards``), the only columns search reads: the rest of a provider's row
# (the search vector, the bio, Stripe's fields) was most of its width, read and turned into Python twenty
# times a page for nothing.
CARD_FIELDS = (
    "display_name",
    "slug",
    "headline",
    "photo",
    "city",
    "category__name",
    "category__slug",
    "price_from",
    "rating_average",
    "rating_count",
    "next_available_at",
)


# A provider's active services from a price up, for the price range's subqueries. They name the outer
# provider table, which Django leaves unaliased in the search's page and count queries; a query that nests the
# search's queryset inside another (where Django would alias it U0) must filter by price the ORM's way.
_IN_RANGE_SQL = (
    f'{Service._meta.db_table} s WHERE s.provider_id = "{Provider._meta.db_table}"."id" '
    "AND s.is_active AND s.price_amount >= %s"
)


def provider_search(
    *,
    text: str = "",
    category_slug: str = "",
    city: str = "",
    price_min: int | None = None,
    price_max: int | None = None,
    rating_min: Decimal | None = None,
    sort: str = "relevance",
) -> QuerySet[Provider]:
    """Listed providers matching the filters, each annotated with ``from_price`` and, for text searches by
    relevance, ``rank``. Prices are in cents; the price range keeps providers with at least one active
    service inside it, and ``from_price`` is then the lowest price *inside the range*: the price that made
    the provider match, the one the card shows and the price sort orders by. Without a range it is the
    stored ``price_from``.

    Each sort has a partial index in the same column order (see ``Provider.Meta.indexes``), so a first page
    without words reads twenty index entries instead of sorting every listed provider."""
    providers = Provider.objects.filter(is_listed=True).select_related("category").only(*CARD_FIELDS)
    query = _prefix_query(text)
    if query is not None:
        providers = providers.filter(search_vector=query)
    if category_slug:
        # The category's id as a subquery run once before the scan (an InitPlan), so the planner can walk the
        # category's own entries of a (category, sort) index instead of joining categories on every row.
        category = Category.objects.filter(slug=category_slug).order_by().values("pk")[:1]
        providers = providers.filter(category_id=Subquery(category))
    if city.strip():
        # A prefix, so "Lond" finds London while typing; the city_prefix index serves it.
        providers = providers.filter(city__istartswith=city.strip())
    if price_min is None:
        if price_max is not None:
            # The stored lowest price is inside [0, max] exactly when some active service is: no subquery.
            providers = providers.filter(price_from__lte=price_max)
        providers = providers.annotate(from_price=F("price_from"))
    else:
        # The services inside the range, written out: the same two subqueries as ``Exists`` and ``Subquery``
        # of a Service queryset would give, without their compiling, which was a fifth of the page's CPU
        # (twice a page: the count and the page; docs/benchmarks.md). tests/providers/test_search.py holds
        # the results to the ORM's.
        in_range, params = _IN_RANGE_SQL, [price_min]
        if price_max is not None:
            in_range, params = in_range + " AND s.price_amount <= %s", [price_min, price_max]
        providers = providers.filter(
            RawSQL(f"EXISTS (SELECT 1 FROM {in_range})", params, output_field=BooleanField())  # noqa: S608,S611 - names from the models, values as parameters
        ).annotate(
            from_price=RawSQL(  # noqa: S611 - names from the models, values as parameters
                f"(SELECT s.price_amount FROM {in_range} ORDER BY s.price_amount LIMIT 1)",  # noqa: S608
                params,
                output_field=IntegerField(),
            )
        )
    if rating_min is not None:
        providers = providers.filter(rating_average__gte=rating_min)

    soonest = F("next_available_at").asc(nulls_last=True)
    orderings: dict[str, list[OrderBy | str]] = {
        "price": [F("from_price").asc(), soonest, "pk"],
        "rating": [F("rating_average").desc(), F("rating_count").desc(), soonest, "pk"],
        "soonest": [soonest, F("rating_average").desc(), "pk"],
    }
    if price_min is None:
        # Same order, spelled with the stored column so the planner matches it to providers_listed_price.
        orderings["price"] = [F("price_from").asc(), soonest, "pk"]
    if sort in orderings:
        return providers.order_by(*orderings[sort])
    if query is not None:
        # Ranked only when the order asks for it: ranking reads each match's whole vector.
        return providers.annotate(rank=SearchRank(F("search_vector"), query)).order_by(
            F("rank").desc(), soonest, "pk"
        )
    # Relevance without words: people who are well rated and free soon first.
    return providers.order_by(F("rating_average").desc(), soonest, "pk")


@dataclass(frozen=True)
class ProviderCard:
    """One search result, every text already formatted: the card template only places strings."""

    provider: Provider
    url: str
    price: str
    rating: str
    next_available_iso: str  # for <time datetime>; empty when there is no open time
    next_available: str


def provider_cards(*, providers: Iterable[Provider], currency: str) -> list[ProviderCard]:
    """The page's result cards in one pass in Python (one per provider from ``provider_search``).

    Built here rather than by template filters and an include per card: twenty cards through the template
    engine (an include, an avatar include, ``url``, ``money`` and ``local_datetime`` each) cost about as much
    as all of the page's SQL (docs/benchmarks.md). Times are in the active (viewer's) zone."""
    cards = []
    # A slug is URL-safe as it is: reverse once, then place each slug (reverse was 26 calls a page).
    profile_url = reverse("providers:profile", args=[_SLUG_PLACEHOLDER])
    # Twenty next times fall on a handful of days: name each day once ("Tue 3 Dec", translated as Django's
    # date format does), then add the time and the zone as ``local_datetime`` would.
    day_names: dict[date, str] = {}
    for provider in providers:
        next_at = provider.next_available_at
        price: int | None = provider.from_price  # type: ignore[attr-defined]  # annotated by provider_search
        local = timezone.localtime(next_at) if next_at else None
        if local is not None and local.date() not in day_names:
            day_names[local.date()] = dateformat.format(local, "D j M")
        cards.append(
            ProviderCard(
                provider=provider,
                url=profile_url.replace(_SLUG_PLACEHOLDER, provider.slug),
                price=format_money(price, currency) if price is not None else "",
                rating=(
                    f"{provider.rating_average} / 5 ({provider.rating_count})"
                    if provider.rating_count
                    else "No reviews yet"
                ),
                next_available_iso=local.isoformat() if local else "",
                next_available=(
                    f"{day_names[local.date()]}, {local:%H:%M} {local.tzname()}" if local else "No open times"
                ),
            )
        )
    return cards


_SLUG_PLACEHOLDER = "slug-placeholder"


def through_cache(key: str, compute: Callable[[], T], *, timeout: int) -> T:
    """``compute()``'s value, kept in the shared cache for ``timeout`` seconds (or until deleted).

    Only a cache: with Redis away the value is computed each time rather than the page failing, and an entry
    that cannot be read back (written by another version of a class) is computed again and replaced."""
    try:
        value = cache.get(key)
    except redis.RedisError as error:
        logger.warning("%s: cache unavailable (%s); computing it", key, error)
        return compute()
    except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError) as error:
        logger.warning("%s: kept value unreadable (%r); computing it again", key, error)
        value = None
    if value is None:
        value = compute()
        try:
            cache.set(key, value, timeout=timeout)
        except redis.RedisError as error:
            logger.warning("%s: cache unavailable (%s); not kept", key, error)
    return value


def _listed_cities() -> list[str]:
    cities = Provider.objects.filter(is_listed=True).order_by("city").values_list("city", flat=True)
    return sorted(cities.distinct()[:500], key=str.lower)


def listed_cities() -> list[str]:
    """Cities of listed providers, for the search form's suggestions."""
    # Shared by every web process through the cache; a new city shows up in suggestions within minutes.
    return through_cache(LISTED_CITIES_KEY, _listed_cities, timeout=10 * 60)


def _category_choices() -> list[tuple[str, str]]:
    return list(Category.objects.order_by("name").values_list("slug", "name"))


def category_choices() -> list[tuple[str, str]]:
    """(slug, name) of every category by name, for the search forms.

    Kept in the shared cache and deleted whenever a category is saved or deleted (``providers.signals``),
    so search never offers a stale list; the ten-minute limit only covers writes that send no signal (a
    data migration, a raw ``update()``)."""
    return through_cache(CATEGORY_CHOICES_KEY, _category_choices, timeout=10 * 60)


def search_form_lists() -> tuple[list[tuple[str, str]], list[str]]:
    """``category_choices()`` and ``listed_cities()`` for the search page, both read in one round trip to
    the cache (each round trip is a wait for a sync web worker)."""
    try:
        found = cache.get_many([CATEGORY_CHOICES_KEY, LISTED_CITIES_KEY])
    except redis.RedisError as error:
        logger.warning("search lists: cache unavailable (%s); computing them", error)
        return _category_choices(), _listed_cities()
    categories = found.get(CATEGORY_CHOICES_KEY)
    cities = found.get(LISTED_CITIES_KEY)
    return (
        categories if categories is not None else category_choices(),
        cities if cities is not None else listed_cities(),
    )


def provider_is_listed(*, provider: Provider) -> bool:
    # The definition, not the stored flag: the dashboard must never disagree with what the provider just did.
    return Provider.objects.listed().filter(pk=provider.pk).exists()


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    is_done: bool
    url: str
    action: str


def provider_checklist(*, provider: Provider) -> list[ChecklistItem]:
    """What a provider still has to do before search lists them, each with the page that does it."""
    profile_url = reverse("providers:edit_profile")
    has_service = provider.services.filter(is_active=True).exists()
    has_rules = provider.availability_rules.exists()
    return [
        ChecklistItem("Display name", bool(provider.display_name), profile_url, "Edit profile"),
        ChecklistItem("Headline", bool(provider.headline), profile_url, "Edit profile"),
        ChecklistItem("About you (bio)", bool(provider.bio), profile_url, "Edit profile"),
        ChecklistItem("Category", provider.category_id is not None, profile_url, "Edit profile"),
        ChecklistItem("City or area", bool(provider.city), profile_url, "Edit profile"),
        ChecklistItem(
            "Photo (optional, but people book faces)", bool(provider.photo), profile_url, "Add a photo"
        ),
        ChecklistItem(
            "At least one active service", has_service, reverse("providers:services"), "Add a service"
        ),
        ChecklistItem("Weekly hours", has_rules, reverse("providers:availability"), "Set your hours"),
    ]


@dataclass(frozen=True)
class SlotChoice:
    """One open start time as the slot picker shows it, every text in the viewer's zone."""

    at: datetime
    query: str  # the ``slot`` URL parameter: the local ISO time, URL-encoded
    label: str  # "Monday 1 June, 09:00 CEST", for screen readers
    clock: str  # "09:00"


@dataclass(frozen=True)
class SlotDay:
    day: date
    slots: list[datetime]

    @cached_property
    def choices(self) -> list[SlotChoice]:
        """The day's slots with their texts, formatted in one pass: the day's name once, then one strftime
        per slot. Through template filters (date, urlencode, local_datetime, time: four per slot, up to a
        hundred slots) they were most of the profile page's cost (docs/benchmarks.md)."""
        day_label = dateformat.format(self.day, "l j F")
        choices = []
        for slot in self.slots:
            local = timezone.localtime(slot)
            choices.append(
                SlotChoice(
                    at=slot,
                    query=quote(local.isoformat(), safe="/"),
                    label=f"{day_label}, {local:%H:%M} {local.tzname()}",
                    clock=f"{local:%H:%M}",
                )
            )
        return choices


@dataclass(frozen=True)
class SlotWeek:
    first_day: date
    days: list[SlotDay]
    previous_start: date | None
    next_start: date

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=6)

    @property
    def has_slots(self) -> bool:
        return any(day.slots for day in self.days)


# What the profile page shows of a service (and books with): every field but timestamps and the provider.
SERVICE_FIELDS = ("id", "title", "description", "duration_minutes", "price_amount", "currency", "location")


# The profile's one query, written out: Django's compiler took 1.8 of its 2.1 ms of CPU (three JSON array
# subqueries and a join compiled on every request), more than the rest of the page's data together
# (docs/benchmarks.md). The column lists come from the models, so a new field is read without a change
# here; tests/providers/test_public_profile.py compares the result with the models' own reads.
_PUBLIC_PROVIDER_SQL = f"""
SELECT {columns(Provider, "p")}, {columns(Category, "c")},
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'weekday', r.weekday, 'start_time', r.start_time, 'end_time', r.end_time)), '[]')
     FROM {AvailabilityRule._meta.db_table} r WHERE r.provider_id = p.id),
  (SELECT coalesce(jsonb_agg(jsonb_build_object('start_date', t.start_date, 'end_date', t.end_date)), '[]')
     FROM {TimeOff._meta.db_table} t WHERE t.provider_id = p.id AND t.end_date >= %(time_off_from)s),
  (SELECT coalesce(jsonb_agg(jsonb_build_object({", ".join(f"'{name}', s.{name}" for name in SERVICE_FIELDS)})
                              ORDER BY s.price_amount, s.title, s.id), '[]')
     FROM {Service._meta.db_table} s WHERE s.provider_id = p.id AND s.is_active)
FROM {Provider._meta.db_table} p
LEFT JOIN {Category._meta.db_table} c ON c.id = p.category_id
WHERE p.slug = %(slug)s AND p.is_active
"""  # noqa: S608 - names from the models, values as parameters


def public_provider(*, slug: str) -> Provider | None:
    """An active provider by slug for their public page, with their category, their active services
    (``public_services``, cheapest first), weekly rules and current and future time off
    (``schedule_rules``, ``schedule_time_off``) as model instances, all from one query: the page and its
    week of slots need no query of their own for them (docs/benchmarks.md)."""
    # Time off that ended before yesterday cannot touch a week the page shows (it starts today at the
    # earliest, and the slot walk looks one day either side for zone offsets).
    time_off_from = timezone.localdate() - timedelta(days=2)
    with connection.cursor() as cursor:
        cursor.execute(_PUBLIC_PROVIDER_SQL, {"slug": slug, "time_off_from": time_off_from})
        row = cursor.fetchone()
    if row is None:
        return None
    provider_width = len(Provider._meta.concrete_fields)
    category_width = len(Category._meta.concrete_fields)
    provider_values = row[:provider_width]
    category_values = row[provider_width : provider_width + category_width]
    rule_rows, time_off_rows, service_rows = (
        json.loads(text) for text in row[provider_width + category_width :]
    )
    provider = instance_from_row(Provider, provider_values)
    category = instance_from_row(Category, category_values) if category_values[0] is not None else None
    Provider.category.field.set_cached_value(provider, category)
    # Cheapest first, as the page lists them; each knows its provider without another query.
    provider.public_services = [  # type: ignore[attr-defined]
        Service(provider=provider, **row) for row in service_rows
    ]
    provider.schedule_rules = [  # type: ignore[attr-defined]
        AvailabilityRule(
            provider=provider,
            weekday=row["weekday"],
            start_time=time.fromisoformat(row["start_time"]),
            end_time=time.fromisoformat(row["end_time"]),
        )
        for row in rule_rows
    ]
    provider.schedule_time_off = [  # type: ignore[attr-defined]
        TimeOff(
            provider=provider,
            start_date=date.fromisoformat(row["start_date"]),
            end_date=date.fromisoformat(row["end_date"]),
        )
        for row in time_off_rows
    ]
    return provider


def week_bounds(first_day: date, viewer_zone: ZoneInfo) -> Interval:
    """The seven days from ``first_day``, midnight to midnight in the viewer's zone."""
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=viewer_zone)
    return start, datetime.combine(first_day + timedelta(days=7), datetime.min.time(), tzinfo=viewer_zone)


def service_slot_week(
    *,
    service: Service,
    first_day: date,
    viewer_zone: ZoneInfo,
    today: date,
    now: datetime | None = None,
    rules: Iterable[AvailabilityRule] | None = None,
    time_off: Iterable[TimeOff] | None = None,
    busy: list[Interval] | None = None,
) -> SlotWeek:
    """Seven days of open slots, days and times in the viewer's zone, starting at ``first_day``. ``rules``,
    ``time_off`` and the week's ``busy`` time (``week_bounds``) may come already loaded (see
    ``public_provider``); otherwise they are queried."""
    start, end = week_bounds(first_day, viewer_zone)
    if busy is None:
        busy = provider_busy_intervals(service.provider, start, end)
    by_day: dict[date, list[datetime]] = {first_day + timedelta(days=n): [] for n in range(7)}
    slots = iter_service_slots(
        service=service, start=start, end=end, now=now, busy=busy, rules=rules, time_off=time_off
    )
    for slot in slots:
        by_day.setdefault(slot.astimezone(viewer_zone).date(), []).append(slot)
    previous = first_day - timedelta(days=7)
    return SlotWeek(
        first_day=first_day,
        days=[
            SlotDay(day, slots)
            for day, slots in sorted(by_day.items())
            if day < first_day + timedelta(days=7)
        ],
        previous_start=None if first_day <= today else max(previous, today),
        next_start=first_day + timedelta(days=7),
    )


@dataclass(frozen=True)
class ProfileWeek:
    """The profile's week: its slots (``week``) and its grid of links, none picked (``grid_html``)."""

    week: SlotWeek
    grid_html: str


# Part of every kept week's key: the source of the grid builder and of the classes kept, so a deploy that
# changes any of them never reads the previous version's entries (which expire in two minutes anyway).
_PROFILE_WEEK_CODE = hashlib.blake2b(
    "".join(
        inspect.getsource(part) for part in (week_grid_html, SlotChoice, SlotDay, SlotWeek, ProfileWeek)
    ).encode(),
    digest_size=8,
).hexdigest()


def profile_week(
    *,
    service: Service,
    first_day: date,
    viewer_zone: ZoneInfo,
    today: date,
    rules: list[AvailabilityRule],
    time_off: list[TimeOff],
    slot_link_start: str,
    now: datetime | None = None,
) -> ProfileWeek:
    """The profile's week of slots for ``service`` and its grid, kept in the shared cache under a key made of
    everything they are computed from: the service and the provider's scheduling settings, rules and time
    off, the busy time read now (one query on every view, never cached), the week, the viewer's zone and
    language, and the minute. Anything that changes what is open changes the key: a slot booked a moment
    ago is busy time in the very next view's key, so it is never shown open. Within a minute the week is
    the same for everyone because it is computed as of the minute's end: a slot inside the notice period
    (or starting) before the minute is out is already gone, one that enters the horizon waits a minute.

    Computing the week and building its up to a hundred links was a third of the profile's cost
    (docs/benchmarks.md); a kept one is a Redis read."""
    provider = service.provider
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    start, end = week_bounds(first_day, viewer_zone)
    busy = sorted(provider_busy_intervals(provider, start, end))
    inputs = (
        _PROFILE_WEEK_CODE,
        (service.pk, service.duration_minutes, service.is_active),
        (provider.pk, provider.is_active, provider.timezone, provider.min_notice_minutes),
        (provider.booking_horizon_days, provider.buffer_before_minutes, provider.buffer_after_minutes),
        provider.slot_step_minutes,
        sorted((rule.weekday, rule.start_time, rule.end_time) for rule in rules),
        sorted((off.start_date, off.end_date) for off in time_off),
        busy,
        (first_day, today, str(viewer_zone), get_language(), minute, slot_link_start),
    )
    key = "providers:week:" + hashlib.blake2b(repr(inputs).encode(), digest_size=16).hexdigest()

    def compute() -> ProfileWeek:
        week = service_slot_week(
            service=service,
            first_day=first_day,
            viewer_zone=viewer_zone,
            today=today,
            now=minute + timedelta(minutes=1),
            rules=rules,
            time_off=time_off,
            busy=busy,
        )
        return ProfileWeek(week=week, grid_html=week_grid_html(week, slot_link_start, picked=None))

    return through_cache(key, compute, timeout=2 * 60)


def providers_to_refresh(*, now: datetime | None = None, everyone: bool = False) -> list[int]:
    """Ids of providers whose stored next available time may have gone stale by itself.

    Every change a person makes (profile, services, hours, time off, settings, bookings and holds) refreshes
    the provider at once. What goes stale with no change is time passing: the stored time slides into the
    notice window, or a provider with no open time gets one as the horizon moves forward. A stored time still
    beyond ``now + notice`` is still right, because passing time only ever adds *later* times at the far end
    of the horizon. ``everyone`` selects every provider that has or may have a time (the command's --all).
    """
    now = now or timezone.now()
    if everyone:
        providers = Provider.objects.filter(Q(is_active=True) | Q(next_available_at__isnull=False))
    else:
        notice_ends = ExpressionWrapper(
            Value(now) + F("min_notice_minutes") * Value(timedelta(minutes=1)), output_field=DateTimeField()
        )
        providers = Provider.objects.filter(
            Q(is_active=True, next_available_at__isnull=True)
            | Q(next_available_at__lt=notice_ends)
            | Q(is_active=False, next_available_at__isnull=False)
        )
    return list(providers.order_by("pk").values_list("pk", flat=True))


@dataclass(frozen=True)
class ProfileReviews:
    """What the profile shows of a provider's visible reviews: one page of them, newest first, and how many
    gave each number of stars (``(stars, count)`` from 5 down to 1)."""

    page: Page
    breakdown: list[tuple[int, int]]


# Reviews are the bookings app's (a review is of a booking), and providers never imports bookings: bookings
# registers what the profile shows of them, as it registers busy time with ``providers.slots``.
ReviewsSource = Callable[[Provider, "str | int | None"], ProfileReviews]
_reviews_sources: list[ReviewsSource] = []


def register_reviews_source(source: ReviewsSource) -> None:
    """``source(provider, page_number)`` returns the profile's reviews. Registered once at start-up (an
    ``AppConfig.ready``); registering the same function twice is a no-op."""
    if source not in _reviews_sources:
        _reviews_sources.append(source)


def provider_reviews(*, provider: Provider, page_number: str | int | None) -> ProfileReviews | None:
    """The reviews the profile shows, or None when no app provides reviews."""
    return _reviews_sources[0](provider, page_number) if _reviews_sources else None


def favourite_providers(*, user: User) -> QuerySet[Provider]:
    """The providers ``user`` saved, most recently saved first, with what the list shows: one query."""
    return (
        Provider.objects.filter(favourited_by__user=user)
        .select_related("category")
        .annotate(saved_at=F("favourited_by__created_at"))
        .order_by("-saved_at", "-pk")
    )


def is_favourite(*, user: User, provider: Provider) -> bool:
    return user.is_authenticated and Favourite.objects.filter(user=user, provider=provider).exists()
