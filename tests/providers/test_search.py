"""Finding providers: who is listed, each filter, each sort, the result cards, and a query count that does
not grow with the page."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from providers.models import Provider
from providers.selectors import provider_search
from providers.services import service_update
from tests.factories import CategoryFactory, ServiceFactory, listed_provider


def names(providers) -> list[str]:
    return [p.display_name for p in providers]


def search_page(client, **params):
    return client.get(reverse("providers:search"), params)


# --- Who is listed -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_complete_active_providers_with_a_service_and_hours_are_listed():
    listed = listed_provider(display_name="Listed")
    listed_provider(display_name="No bio", bio="")
    listed_provider(display_name="No city", city="")
    listed_provider(display_name="No headline", headline="")
    listed_provider(display_name="No category", category=None)
    listed_provider(display_name="No hours", weekdays=())
    listed_provider(display_name="Paused", is_active=False)
    hidden = listed_provider(display_name="Hidden services")
    for service in hidden.services.all():
        set_active(service, False)

    assert list(provider_search()) == [listed]


@pytest.mark.django_db
def test_search_follows_a_provider_pausing_and_resuming_their_only_service():
    provider = listed_provider(display_name="Pauser")
    service = provider.services.get()

    set_active(service, False)
    assert list(provider_search()) == []

    set_active(service, True)
    assert list(provider_search()) == [provider]


def set_active(service, is_active: bool) -> None:
    service_update(
        service=service,
        title=service.title,
        description=service.description,
        duration_minutes=service.duration_minutes,
        price_amount=service.price_amount,
        location=service.location,
        is_active=is_active,
    )


# --- Text ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("words", ["Ursula", "ursula le", "violin", "violinist", "beginners", "violi"])
def test_text_matches_name_headline_and_service_titles_including_a_word_being_typed(words):
    match = listed_provider(
        display_name="Ursula Lenz",
        headline="Violinist and teacher",
        services=(("Violin for beginners", 3000),),
    )
    listed_provider(display_name="Bob Builder", headline="Plumbing", services=(("Fix a leak", 8000),))

    assert list(provider_search(text=words)) == [match]


@pytest.mark.django_db
def test_text_that_matches_nobody_finds_nobody():
    listed_provider(display_name="Ursula Lenz")

    assert list(provider_search(text="astrophysics")) == []


@pytest.mark.django_db
@pytest.mark.parametrize("words", ["a & b", "'); drop table", "!:*|", "&&&", "   "])
def test_query_syntax_characters_are_harmless(words):
    listed_provider(display_name="Ursula Lenz")

    list(provider_search(text=words))  # no error


@pytest.mark.django_db
def test_a_name_match_ranks_above_a_bio_match():
    in_bio = listed_provider(display_name="Carla", headline="Coach", bio="I studied with Mozart scholars.")
    in_name = listed_provider(display_name="Mozart Mayer", headline="Pianist", bio="Piano.")

    assert list(provider_search(text="mozart")) == [in_name, in_bio]


# --- Filters ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_category_filter():
    yoga = CategoryFactory(name="Yoga", slug="yoga")
    teacher = listed_provider(display_name="Yogi", category=yoga)
    listed_provider(display_name="Tutor")

    assert list(provider_search(category_slug="yoga")) == [teacher]


@pytest.mark.django_db
def test_an_unknown_category_finds_nobody():
    listed_provider(display_name="Tutor")

    assert list(provider_search(category_slug="no-such-thing")) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("relevance", "providers_cat_relevance"),
        ("price", "providers_cat_price"),
        ("rating", "providers_cat_rating"),
        ("soonest", "providers_cat_soonest"),
    ],
)
def test_browsing_a_category_reads_its_own_entries_of_the_sorts_index(sort, index):
    """Each sort within a category has an index in the same column order, led by the category: the first
    page is read from it, never sorted. (Sequential scans off: this table is too small to need an index.)"""
    yoga = CategoryFactory(name="Yoga", slug="yoga")
    listed_provider(display_name="Yogi", category=yoga)
    page = provider_search(category_slug="yoga", sort=sort)[:20]

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = page.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert f"Index Scan using {index}" in plan
    assert "Sort" not in plan


@pytest.mark.django_db
def test_city_filter_ignores_case_and_spaces():
    in_lyon = listed_provider(display_name="Lyonnais", city="Lyon")
    listed_provider(display_name="Parisien", city="Paris")

    assert list(provider_search(city="  lyon ")) == [in_lyon]


@pytest.mark.django_db
def test_price_range_keeps_providers_with_an_active_service_inside_it():
    cheap = listed_provider(display_name="Cheap", services=(("Short", 2000),))
    both = listed_provider(display_name="Both", services=(("Short", 2500), ("Long", 9000)))
    dear = listed_provider(display_name="Dear", services=(("Long", 12000),))
    ServiceFactory(provider=dear, price_amount=3000, is_active=False)  # hidden: does not count

    assert set(provider_search(price_max=3000)) == {cheap, both}
    assert set(provider_search(price_min=8000)) == {both, dear}
    assert set(provider_search(price_min=2200, price_max=2600)) == {both}


@pytest.mark.django_db
def test_minimum_rating():
    good = listed_provider(display_name="Good", rating_average=Decimal("4.60"), rating_count=12)
    listed_provider(display_name="Fair", rating_average=Decimal("3.90"), rating_count=3)
    listed_provider(display_name="New")

    assert list(provider_search(rating_min=Decimal("4.5"))) == [good]


@pytest.mark.django_db
def test_the_page_applies_the_filters_from_the_query_string(anonymous):
    yoga = CategoryFactory(name="Yoga", slug="yoga")
    listed_provider(display_name="Yogi Lyon", category=yoga, city="Lyon", services=(("Flow", 2500),))
    listed_provider(display_name="Yogi Paris", category=yoga, city="Paris", services=(("Flow", 2500),))
    listed_provider(display_name="Tutor Lyon", city="Lyon", services=(("Maths", 2500),))

    response = search_page(anonymous, q="flow", category="yoga", city="lyon", price_min="20", price_max="30")

    assert names(response.context["page"].object_list) == ["Yogi Lyon"]


@pytest.mark.django_db
def test_an_invalid_filter_is_reported_and_the_others_still_apply(anonymous):
    listed_provider(display_name="Lyonnais", city="Lyon")
    listed_provider(display_name="Parisien", city="Paris")

    response = search_page(anonymous, city="Lyon", price_min="cheap")

    assert response.context["form"].errors["price_min"]
    assert names(response.context["page"].object_list) == ["Lyonnais"]


# --- Sorting ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sort_by_lowest_from_price():
    mid = listed_provider(display_name="Mid", services=(("A", 5000),))
    low = listed_provider(display_name="Low", services=(("A", 9000), ("B", 1500)))
    high = listed_provider(display_name="High", services=(("A", 9900),))

    results = list(provider_search(sort="price"))

    assert results == [low, mid, high]
    assert [p.from_price for p in results] == [1500, 5000, 9900]


@pytest.mark.django_db
def test_sort_by_rating_then_number_of_reviews():
    few = listed_provider(display_name="Few", rating_average=Decimal("4.80"), rating_count=2)
    many = listed_provider(display_name="Many", rating_average=Decimal("4.80"), rating_count=50)
    low = listed_provider(display_name="Low", rating_average=Decimal("3.00"), rating_count=50)

    assert list(provider_search(sort="rating")) == [many, few, low]


@pytest.mark.django_db
def test_sort_by_soonest_availability_puts_providers_without_times_last():
    later = listed_provider(display_name="Later")
    sooner = listed_provider(display_name="Sooner")
    never = listed_provider(display_name="Never")
    Provider.objects.filter(pk=later.pk).update(next_available_at=datetime(2030, 5, 2, tzinfo=UTC))
    Provider.objects.filter(pk=sooner.pk).update(next_available_at=datetime(2030, 5, 1, tzinfo=UTC))
    Provider.objects.filter(pk=never.pk).update(next_available_at=None)

    assert list(provider_search(sort="soonest")) == [sooner, later, never]


@pytest.mark.django_db
def test_an_unknown_sort_falls_back_to_relevance(anonymous):
    listed_provider(display_name="Only")

    response = search_page(anonymous, sort="'; drop")

    assert names(response.context["page"].object_list) == ["Only"]


# --- The results page ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_result_cards_show_initials_from_price_rating_and_next_time_in_the_viewers_zone(anonymous):
    provider = listed_provider(display_name="Grace Hopper", services=(("Code review", 12050),))
    Provider.objects.filter(pk=provider.pk).update(next_available_at=datetime(2030, 1, 7, 14, 0, tzinfo=UTC))
    anonymous.cookies["tz"] = "Asia/Tokyo"

    body = search_page(anonymous).content.decode()

    assert "Grace Hopper" in body
    assert ">GH<" in body
    assert "$120.50" in body
    assert "No reviews yet" in body
    assert "Mon 7 Jan, 23:00 JST" in body
    assert reverse("providers:profile", args=[provider.slug]) in body


@pytest.mark.django_db
def test_results_are_paginated_and_keep_the_filters(anonymous):
    for n in range(23):
        listed_provider(display_name=f"Tutor {n:02}", city="Oslo")

    first = search_page(anonymous, city="Oslo")
    second = search_page(anonymous, city="Oslo", page="2")

    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 3
    assert "city=Oslo&amp;page=2" in first.content.decode()


@pytest.mark.django_db
def test_nobody_matching_shows_a_helpful_empty_state(anonymous):
    body = search_page(anonymous, q="zzz").content.decode()

    assert "No providers match" in body


@pytest.mark.django_db
def test_the_home_page_has_a_search_form(anonymous):
    body = anonymous.get(reverse("home")).content.decode()

    assert f'action="{reverse("providers:search")}"' in body
    assert 'name="q"' in body


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_results(anonymous):
    def queries_for_a_page() -> int:
        cache.delete("providers:listed-cities")  # measure the same work both times
        with CaptureQueriesContext(connection) as captured:
            response = search_page(anonymous, sort="price")
        assert response.status_code == 200
        return len(captured)

    for n in range(5):
        listed_provider(display_name=f"Few {n}")
    with_five = queries_for_a_page()
    for n in range(15):
        listed_provider(display_name=f"More {n}", category=CategoryFactory(name=f"Cat {n}", slug=f"cat-{n}"))
    with_twenty = queries_for_a_page()

    assert with_twenty == with_five


# --- The card agrees with the filter; bad ranges say so; cities by prefix; the bounded count --------------


@pytest.mark.django_db
def test_with_a_price_range_the_card_shows_and_the_sort_uses_the_price_inside_it(anonymous):
    # From $30 overall, but only its $60 session is inside "from $50": the card must not read "From $30.00".
    wide = listed_provider(display_name="Wide", services=(("Short", 3000), ("Long", 6000)))
    narrow = listed_provider(display_name="Narrow", services=(("Only", 5500),))
    listed_provider(display_name="Cheap", services=(("Short", 2000),))

    response = search_page(anonymous, price_min="50", sort="price")

    assert names(response.context["page"].object_list) == ["Narrow", "Wide"]
    assert [p.from_price for p in response.context["page"].object_list] == [5500, 6000]
    body = response.content.decode()
    assert "$30.00" not in body
    assert "$60.00" in body
    assert "In your price range, from" in body
    assert narrow.price_from == 5500
    assert wide.price_from == 3000


@pytest.mark.django_db
def test_a_max_price_alone_keeps_the_lowest_price_and_needs_no_service_subquery():
    low = listed_provider(display_name="Low", services=(("A", 2000), ("B", 9000)))
    listed_provider(display_name="High", services=(("A", 9000),))

    results = provider_search(price_max=5000, sort="price")

    assert list(results) == [low]
    assert results[0].from_price == 2000
    assert "providers_service" not in str(results.query)


@pytest.mark.django_db
def test_a_min_price_above_the_max_says_so_and_is_not_applied(anonymous):
    listed_provider(display_name="Anyone", services=(("A", 4000),))

    response = search_page(anonymous, price_min="80", price_max="20")

    body = response.content.decode()
    assert "The max price (20) is below the min price (80); the price range was not applied." in body
    assert names(response.context["page"].object_list) == ["Anyone"]


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["Lond", "lond", " LONDON ", "London"])
def test_city_matches_a_prefix_of_the_name(typed):
    in_london = listed_provider(display_name="Londoner", city="London")
    listed_provider(display_name="Elsewhere", city="New London Town")

    assert list(provider_search(city=typed)) == [in_london]


@pytest.mark.django_db
def test_the_stored_lowest_price_follows_service_changes():
    provider = listed_provider(display_name="Changer", services=(("A", 3000), ("B", 5000)))
    cheapest = provider.services.get(price_amount=3000)

    set_active(cheapest, False)
    provider.refresh_from_db()
    assert provider.price_from == 5000

    set_active(cheapest, True)
    provider.refresh_from_db()
    assert provider.price_from == 3000


@pytest.mark.django_db
def test_beyond_the_cap_the_count_says_so_and_pages_stop_at_the_cap(anonymous, monkeypatch):
    monkeypatch.setattr("providers.views.SEARCH_RESULTS_CAP", 25)
    for n in range(27):
        listed_provider(display_name=f"Tutor {n:02}")

    first = search_page(anonymous)
    second = search_page(anonymous, page="2")

    assert "25+ providers" in first.content.decode()
    assert "Showing the first 25." in first.content.decode()
    assert first.context["page"].paginator.num_pages == 2
    assert len(second.context["page"].object_list) == 5


@pytest.mark.django_db
def test_under_the_cap_the_count_is_exact(anonymous, monkeypatch):
    monkeypatch.setattr("providers.views.SEARCH_RESULTS_CAP", 25)
    for n in range(25):
        listed_provider(display_name=f"Tutor {n:02}")

    body = search_page(anonymous).content.decode()

    assert "25 providers" in body
    assert "25+" not in body


# --- Cached category list and home search form: correct at once after a change ---------------------------


@pytest.mark.django_db
def test_a_new_category_is_offered_at_once_on_the_home_page_and_in_search(anonymous):
    CategoryFactory(name="Tutoring", slug="tutoring")
    assert "Tutoring" in anonymous.get(reverse("home")).content.decode()  # both caches now filled

    CategoryFactory(name="Astronomy", slug="astronomy")

    assert '<option value="astronomy">Astronomy</option>' in anonymous.get(reverse("home")).content.decode()
    assert '<option value="astronomy">Astronomy</option>' in search_page(anonymous).content.decode()


@pytest.mark.django_db
def test_a_renamed_or_deleted_category_leaves_the_forms_at_once(anonymous):
    category = CategoryFactory(name="Tutoring", slug="tutoring")
    anonymous.get(reverse("home"))
    search_page(anonymous)

    category.name = "Private tutoring"
    category.save()
    assert "Private tutoring" in anonymous.get(reverse("home")).content.decode()

    category.delete()
    assert "tutoring" not in anonymous.get(reverse("home")).content.decode().lower()
    assert 'value="tutoring"' not in search_page(anonymous).content.decode()


@pytest.mark.django_db
def test_the_home_page_renders_its_search_form_once_then_serves_it_from_the_cache(anonymous):
    CategoryFactory(name="Tutoring", slug="tutoring")
    anonymous.get(reverse("home"))

    with CaptureQueriesContext(connection) as captured:
        body = anonymous.get(reverse("home")).content.decode()

    assert len(captured) == 0
    assert 'name="q"' in body
    assert '<option value="tutoring">Tutoring</option>' in body


@pytest.mark.django_db
def test_a_kept_value_that_cannot_be_read_back_is_computed_again_and_replaced(anonymous):
    """An entry another version of the code wrote (a class renamed, a pickle cut short) is no error page."""
    from django.core.cache import cache

    from providers.selectors import HOME_SEARCH_FORM_KEY

    CategoryFactory(name="Tutoring", slug="tutoring")
    client = cache._cache.get_client(HOME_SEARCH_FORM_KEY, write=True)
    client.set(cache.make_and_validate_key(HOME_SEARCH_FORM_KEY), b"\x80\x05\x95garbage")

    body = anonymous.get(reverse("home")).content.decode()

    assert '<option value="tutoring">Tutoring</option>' in body
    assert "Tutoring" in cache.get(HOME_SEARCH_FORM_KEY)


@pytest.mark.django_db
def test_card_texts_read_as_the_template_filters_would_in_the_viewers_zone():
    """``provider_cards`` formats in one pass what ``url`` and ``local_datetime`` gave per card, the day's
    name once per day: the same texts, including both sides of a clock change (New York, 3 November 2024)."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from marketplace.templatetags.local_time import local_datetime
    from providers.selectors import provider_cards

    times = [
        datetime(2024, 11, 3, 5, 30, tzinfo=UTC),  # 01:30 EDT
        datetime(2024, 11, 3, 6, 30, tzinfo=UTC),  # 01:30 EST, the repeated hour
        datetime(2024, 11, 3, 14, 0, tzinfo=UTC),  # same day, another card
        datetime(2024, 11, 5, 23, 45, tzinfo=UTC),
        None,
    ]
    providers = []
    for n, at in enumerate(times):
        provider = listed_provider(slug=f"card-{n}")
        Provider.objects.filter(pk=provider.pk).update(next_available_at=at)
        providers.append(provider)
    read = list(provider_search().filter(pk__in=[p.pk for p in providers]).order_by("slug"))

    with timezone.override(ZoneInfo("America/New_York")):
        cards = provider_cards(providers=read, currency="USD")
        expected = [local_datetime(at, "D j M, H:i") if at else "No open times" for at in times]

    assert [card.next_available for card in cards] == expected
    assert expected[:2] == ["Sun 3 Nov, 01:30 EDT", "Sun 3 Nov, 01:30 EST"]
    assert [card.url for card in cards] == [
        reverse("providers:profile", args=[f"card-{n}"]) for n in range(5)
    ]


@pytest.mark.django_db
def test_a_price_range_finds_what_the_orms_subqueries_find_with_every_sort_and_filter():
    """The price range's two subqueries are written out (``providers.selectors._IN_RANGE_SQL``); over many
    providers, ranges and sorts, and with a category and a word, they find and price what the ORM's
    ``Exists`` and ``Subquery`` of the services find."""
    from django.db.models import Exists, OuterRef, Subquery

    from providers.models import Service

    yoga, music = CategoryFactory(name="Yoga", slug="yoga"), CategoryFactory(name="Music", slug="music")
    for n in range(24):
        provider = listed_provider(
            display_name=f"Provider {n}",
            category=(yoga, music)[n % 2],
            services=tuple((f"Session {k}", 1500 + 700 * ((n * 3 + k * 5) % 13)) for k in range(1 + n % 3)),
        )
        if n % 4 == 0:  # a paused service inside every range must not count
            ServiceFactory(provider=provider, price_amount=4000, is_active=False)

    def by_the_orm(price_min, price_max, **filters):
        in_range = Service.objects.filter(
            provider=OuterRef("pk"), is_active=True, price_amount__gte=price_min
        ).order_by("price_amount")
        if price_max is not None:
            in_range = in_range.filter(price_amount__lte=price_max)
        base = provider_search(**filters)
        return {
            p.pk: p.from_price
            for p in base.model.objects.filter(pk__in=base.values("pk"))
            .filter(Exists(in_range))
            .annotate(from_price=Subquery(in_range.values("price_amount")[:1]))
        }

    checked = 0
    for price_min, price_max in [
        (0, None),
        (2000, None),
        (3000, 6000),
        (4000, 4000),
        (9000, 20000),
        (99999, None),
    ]:
        for filters in [{}, {"category_slug": "yoga"}, {"text": "provider"}]:
            expected = by_the_orm(price_min, price_max, **filters)
            for sort in ("relevance", "price", "rating", "soonest"):
                found = list(provider_search(price_min=price_min, price_max=price_max, sort=sort, **filters))
                assert {p.pk: p.from_price for p in found} == expected
                if sort == "price":
                    assert [p.from_price for p in found] == sorted(p.from_price for p in found)
                checked += len(found)
    assert checked > 100


@pytest.mark.django_db
def test_the_filters_keep_what_was_asked_escaped_with_each_error_tied_to_its_field(anonymous):
    """The filter fields are built in Python (``providers.html.search_filters_html``): each has its label,
    keeps the value asked for (escaped), marks the chosen option, and ties its error to the field."""
    CategoryFactory(name="Yoga & <Pilates>", slug="yoga")

    body = search_page(
        anonymous,
        q='<b>"flow"</b>',
        category="yoga",
        city="Lyon",
        price_min="cheap",
        rating="4",
        sort="price",
    ).content.decode()

    for name in ("q", "category", "city", "price_min", "price_max", "rating", "sort"):
        assert f'<label for="id_{name}">' in body
        assert f'id="id_{name}"' in body
    assert 'value="&lt;b&gt;&quot;flow&quot;&lt;/b&gt;"' in body
    assert "<b>" not in body.split('id="search-filters"')[1].split("</form>")[0]
    assert '<option value="yoga" selected>Yoga &amp; &lt;Pilates&gt;</option>' in body
    assert '<option value="4" selected>' in body
    assert '<option value="price" selected>' in body
    assert 'aria-invalid="true" aria-describedby="id_price_min_error"' in body
    assert '<div class="field field-invalid"><label for="id_price_min">' in body
    assert '<p class="error" id="id_price_min_error">Enter a number.</p>' in body
    assert '<datalist id="city-options">' in body
