"""The public profile at /p/<slug>/: bio, services, a week of open times in the viewer's zone."""

from datetime import UTC, date, datetime, time
from urllib.parse import quote

import pytest
from django.urls import reverse

from tests.factories import ServiceFactory, TimeOffFactory, listed_provider

# Monday 1 June 2026, 06:00 UTC: 08:00 in Berlin, 02:00 in New York, 15:00 in Tokyo.
NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def berlin_tutor(db, time_machine):
    time_machine.move_to(NOW, tick=False)
    provider = listed_provider(
        display_name="Tom Becker",
        slug="tom-becker",
        timezone="Europe/Berlin",
        bio="First paragraph.\n\nSecond paragraph.",
        weekdays=(0, 1, 2, 3, 4),
        hours=(time(9), time(11)),
        services=(("Maths lesson", 4500),),
        min_notice_minutes=0,
    )
    return provider


def profile(client, slug="tom-becker", **params):
    return client.get(reverse("providers:profile", args=[slug]), params)


@pytest.mark.django_db
def test_the_profile_shows_bio_services_and_an_empty_reviews_section(anonymous, berlin_tutor):
    body = profile(anonymous).content.decode()

    assert "Tom Becker" in body
    assert "<p>Second paragraph.</p>" in body
    assert "Maths lesson" in body
    assert "$45.00" in body
    assert "1 h" in body
    assert "No reviews yet" in body


@pytest.mark.django_db
def test_open_times_are_shown_in_the_visitors_zone_and_the_zone_is_named(anonymous, berlin_tutor):
    anonymous.cookies["tz"] = "America/New_York"

    response = profile(anonymous)

    body = response.content.decode()
    assert response.context["viewer_timezone"] == "America/New_York"
    assert 'data-testid="slot-zone">America/New_York<' in body
    # 09:00 in Berlin (CEST) is 03:00 in New York (EDT).
    first_day = response.context["week"].days[0]
    assert first_day.slots[0] == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    assert ">03:00</a>" in body
    assert "Monday 1 June, 03:00 EDT" in body


@pytest.mark.django_db
def test_a_signed_in_viewer_sees_their_own_zone_and_a_link_to_change_it(as_client, berlin_tutor):
    body = profile(as_client).content.decode()

    assert 'data-testid="slot-zone">America/New_York<' in body
    assert reverse("profile") in body


@pytest.mark.django_db
def test_the_week_links_move_forward_and_back_without_going_before_today(anonymous, berlin_tutor):
    this_week = profile(anonymous)
    assert this_week.context["week"].previous_start is None

    next_week = profile(anonymous, week="2026-06-08")

    assert next_week.context["week"].days[0].day.isoformat() == "2026-06-08"
    assert next_week.context["week"].previous_start.isoformat() == "2026-06-01"
    assert "week=2026-06-15" in next_week.content.decode()


@pytest.mark.django_db
def test_a_week_before_today_or_nonsense_shows_this_week(anonymous, berlin_tutor):
    assert profile(anonymous, week="2020-01-01").context["week"].first_day.isoformat() == "2026-06-01"
    assert profile(anonymous, week="garbage").context["week"].first_day.isoformat() == "2026-06-01"
    assert profile(anonymous, week="2026-02-30").context["week"].first_day.isoformat() == "2026-06-01"
    assert profile(anonymous, slot="2026-06-01T25:00:00+00:00").context["picked"] is None


@pytest.mark.django_db
def test_choosing_a_service_shows_its_times(anonymous, berlin_tutor):
    long = ServiceFactory(
        provider=berlin_tutor, title="Double lesson", duration_minutes=120, price_amount=8000
    )

    response = profile(anonymous, service=str(long.pk))

    assert response.context["selected"] == long
    # A two-hour session fits a 09:00-11:00 window only at 09:00.
    assert [len(day.slots) for day in response.context["week"].days][:5] == [1, 1, 1, 1, 1]


@pytest.mark.django_db
def test_picking_a_slot_names_it_in_the_viewers_zone(anonymous, berlin_tutor):
    anonymous.cookies["tz"] = "Asia/Tokyo"
    service = berlin_tutor.services.get()

    response = profile(anonymous, service=str(service.pk), slot="2026-06-01T07:00:00+00:00")

    body = response.content.decode()
    assert response.context["picked"] == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    assert "Monday 1 June 2026, 16:00 JST" in body


@pytest.mark.django_db
def test_slot_links_carry_the_service_and_the_exact_time(anonymous, berlin_tutor):
    service = berlin_tutor.services.get()

    body = profile(anonymous).content.decode()

    assert f"service={service.pk}&amp;week=2026-06-01&amp;slot={quote('2026-06-01T07:00:00+00:00')}" in body


@pytest.mark.django_db
def test_slot_links_read_in_the_viewers_zone_and_pick_that_slot(anonymous, berlin_tutor):
    anonymous.cookies["tz"] = "Asia/Tokyo"
    service = berlin_tutor.services.get()

    body = profile(anonymous).content.decode()
    local = quote("2026-06-01T16:00:00+09:00")
    link = f'href="?service={service.pk}&amp;week=2026-06-01&amp;slot={local}#times"'

    assert f'{link} aria-label="Monday 1 June, 16:00 JST" data-testid="slot">16:00</a>' in body
    picked = profile(anonymous, service=str(service.pk), week="2026-06-01", slot="2026-06-01T16:00:00+09:00")
    assert picked.context["picked"] == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_slot_that_is_not_open_is_not_shown_as_picked(anonymous, berlin_tutor):
    response = profile(anonymous, slot="2026-06-01T03:00:00+00:00")

    assert response.context["picked"] is None


@pytest.mark.django_db
def test_inactive_services_are_not_shown_or_bookable(anonymous, berlin_tutor):
    hidden = ServiceFactory(provider=berlin_tutor, title="Retired course", is_active=False)

    response = profile(anonymous, service=str(hidden.pk))

    assert "Retired course" not in response.content.decode()
    assert response.context["selected"] != hidden


@pytest.mark.django_db
def test_an_inactive_provider_has_no_public_page(anonymous, berlin_tutor):
    berlin_tutor.is_active = False
    berlin_tutor.save()

    assert profile(anonymous).status_code == 404


@pytest.mark.django_db
def test_an_unknown_slug_is_a_404(anonymous):
    assert profile(anonymous, slug="nobody").status_code == 404


@pytest.mark.django_db
def test_a_visitor_changes_the_zone_and_comes_back_to_the_same_page(anonymous, berlin_tutor):
    next_url = reverse("providers:profile", args=["tom-becker"]) + "?week=2026-06-08"

    response = anonymous.post(reverse("providers:set_timezone"), {"tz": "Asia/Tokyo", "next": next_url})

    assert response["Location"] == next_url
    assert profile(anonymous).context["viewer_timezone"] == "Asia/Tokyo"


@pytest.mark.django_db
def test_the_zone_form_never_redirects_to_another_site(anonymous):
    response = anonymous.post(
        reverse("providers:set_timezone"), {"tz": "Asia/Tokyo", "next": "https://evil.example/"}
    )

    assert response["Location"] == reverse("home")


@pytest.mark.django_db
@pytest.mark.parametrize("next_url", ["home", "-1", "a b", "/profile\r\nSet-Cookie: x=1"])
def test_a_next_that_is_no_path_of_ours_is_never_an_error(anonymous, next_url):
    # "home" is a URL name: redirect() would have reversed it; "-1" it could not reverse at all (a 500).
    response = anonymous.post(reverse("providers:set_timezone"), {"tz": "Asia/Tokyo", "next": next_url})

    assert response.status_code == 302
    assert "\n" not in response["Location"]


@pytest.mark.django_db
def test_an_unknown_zone_is_not_stored(anonymous):
    anonymous.post(reverse("providers:set_timezone"), {"tz": "<script>", "next": "/"})

    assert anonymous.get(reverse("home")).context["viewer_timezone"] == "UTC"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona", ["anonymous", "as_client", "as_provider", "as_other_provider", "as_staff"]
)
def test_search_and_profiles_are_open_to_everyone(request, persona, berlin_tutor):
    browser = request.getfixturevalue(persona)

    assert browser.get(reverse("providers:search")).status_code == 200
    assert profile(browser).status_code == 200


@pytest.mark.django_db
def test_the_week_reads_hours_and_time_off_loaded_with_the_provider_in_two_queries(anonymous, berlin_tutor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from providers.services import time_off_create

    # Wednesday off (Berlin dates); a time off that ended long ago changes nothing.
    time_off_create(provider=berlin_tutor, start_date=date(2026, 6, 3), end_date=date(2026, 6, 3))
    TimeOffFactory(provider=berlin_tutor, start_date=date(2026, 1, 5), end_date=date(2026, 1, 9))

    with CaptureQueriesContext(connection) as captured:
        response = profile(anonymous)

    # The provider with their services, rules and time off, then the bookings' busy time: no query for
    # services, hours or time off of their own.
    assert len(captured) == 2
    slots_per_day = [len(day.slots) for day in response.context["week"].days]
    assert slots_per_day == [3, 3, 0, 3, 3, 0, 0]  # 09:00, 09:30, 10:00 for an hour


@pytest.mark.django_db
def test_the_profiles_one_query_reads_what_the_orm_reads(berlin_tutor, django_assert_num_queries):
    """``public_provider`` is hand-written SQL built from the models' columns: it must give the same
    provider, category, services, rules and time off as the ORM, in one query."""
    from providers.models import Provider
    from providers.selectors import SERVICE_FIELDS, public_provider

    berlin_tutor.stripe_requirements_due = ["individual.dob.day"]  # a JSONField, decoded like the ORM does
    berlin_tutor.save()
    ServiceFactory(provider=berlin_tutor, title="Cheap chat", price_amount=1000)
    ServiceFactory(provider=berlin_tutor, title="Retired", price_amount=500, is_active=False)
    TimeOffFactory(provider=berlin_tutor, start_date=date(2026, 6, 3), end_date=date(2026, 6, 4))
    TimeOffFactory(provider=berlin_tutor, start_date=date(2026, 5, 1), end_date=date(2026, 5, 2))  # long past

    with django_assert_num_queries(1):
        read = public_provider(slug="tom-becker")
        assert read is not None
        category_name = read.category.name
        services = [[getattr(s, name) for name in SERVICE_FIELDS] for s in read.public_services]

    expected = Provider.objects.select_related("category").get(pk=berlin_tutor.pk)
    for field in Provider._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
    assert read.stripe_requirements_due == ["individual.dob.day"]
    assert category_name == expected.category.name == "Tutoring"
    assert services == [
        [getattr(s, name) for name in SERVICE_FIELDS]
        for s in expected.services.filter(is_active=True).order_by("price_amount", "title")
    ]
    assert [s.title for s in read.public_services] == ["Cheap chat", "Maths lesson"]
    assert sorted((r.weekday, r.start_time, r.end_time) for r in read.schedule_rules) == sorted(
        expected.availability_rules.values_list("weekday", "start_time", "end_time")
    )
    assert [(t.start_date, t.end_date) for t in read.schedule_time_off] == [
        (date(2026, 6, 3), date(2026, 6, 4))
    ]
    assert not read._state.adding
    assert read._state.db == "default"


@pytest.mark.django_db
def test_the_profile_of_a_provider_without_a_category_or_services(anonymous, time_machine):
    time_machine.move_to(NOW, tick=False)
    from tests.factories import ProviderFactory

    ProviderFactory(slug="no-category", category=None, display_name="Ann Other")

    response = profile(anonymous, slug="no-category")

    assert response.status_code == 200
    assert response.context["provider"].category is None
    assert "No services offered at the moment." in response.content.decode()


@pytest.mark.django_db
def test_an_inactive_or_unknown_provider_has_no_profile(anonymous, berlin_tutor):
    berlin_tutor.is_active = False
    berlin_tutor.save()

    assert profile(anonymous).status_code == 404
    assert profile(anonymous, slug="nobody-here").status_code == 404


# --- The week kept in the shared cache (providers.selectors.profile_week) ------------------------------


def _slot_starts(response) -> list[datetime]:
    return [slot for day in response.context["week"].days for slot in day.slots]


@pytest.mark.django_db
def test_a_slot_booked_a_moment_ago_is_never_shown_open(anonymous, client_user, berlin_tutor):
    from bookings.services import booking_create

    first = profile(anonymous)
    assert datetime(2026, 6, 1, 7, 0, tzinfo=UTC) in _slot_starts(first)  # 09:00 Berlin, now kept

    booking_create(
        client=client_user,
        service=berlin_tutor.services.get(),
        start_at=datetime(2026, 6, 1, 7, 0, tzinfo=UTC),
    )
    again = profile(anonymous)

    assert datetime(2026, 6, 1, 7, 0, tzinfo=UTC) not in _slot_starts(again)
    assert quote("2026-06-01T07:00:00+00:00") not in again.content.decode()


@pytest.mark.django_db
def test_a_change_of_hours_time_off_or_notice_shows_at_once(anonymous, berlin_tutor):
    monday_9 = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    tuesday_9 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
    assert {monday_9, tuesday_9} <= set(_slot_starts(profile(anonymous)))

    TimeOffFactory(provider=berlin_tutor, start_date=date(2026, 6, 2), end_date=date(2026, 6, 2))
    assert tuesday_9 not in _slot_starts(profile(anonymous))

    berlin_tutor.min_notice_minutes = 6 * 60  # now 06:00 UTC: nothing before 12:00 UTC on Monday
    berlin_tutor.save()
    assert monday_9 not in _slot_starts(profile(anonymous))

    berlin_tutor.availability_rules.filter(weekday=2).update(start_time=time(10))
    assert datetime(2026, 6, 3, 7, 0, tzinfo=UTC) not in _slot_starts(profile(anonymous))
    assert datetime(2026, 6, 3, 8, 0, tzinfo=UTC) in _slot_starts(profile(anonymous))


@pytest.mark.django_db
def test_a_kept_week_is_read_not_computed_again(anonymous, berlin_tutor, monkeypatch):
    from providers import selectors

    computed = []
    real = selectors.service_slot_week
    monkeypatch.setattr(selectors, "service_slot_week", lambda **kw: computed.append(1) or real(**kw))

    first = profile(anonymous).context["week_grid"]
    second = profile(anonymous).context["week_grid"]
    profile(anonymous, week="2026-06-08")  # another week: its own entry

    assert first == second
    assert 'data-testid="slot"' in first
    assert len(computed) == 2


@pytest.mark.django_db
def test_a_slot_that_starts_before_the_minute_is_out_is_not_offered(anonymous, berlin_tutor, time_machine):
    """The kept week holds for the rest of the minute, so it is computed as of the minute's end."""
    time_machine.move_to(datetime(2026, 6, 1, 6, 59, 30, tzinfo=UTC), tick=False)  # 08:59:30 in Berlin

    assert datetime(2026, 6, 1, 7, 0, tzinfo=UTC) in _slot_starts(
        profile(anonymous)
    )  # at 09:00, minute ends then

    time_machine.move_to(datetime(2026, 6, 1, 7, 0, 0, tzinfo=UTC), tick=False)
    starts = _slot_starts(profile(anonymous))
    assert datetime(2026, 6, 1, 7, 0, tzinfo=UTC) not in starts
    assert datetime(2026, 6, 1, 7, 30, tzinfo=UTC) in starts


@pytest.mark.django_db
def test_the_profile_shows_its_week_with_the_cache_down(anonymous, berlin_tutor, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }

    response = profile(anonymous)

    assert response.status_code == 200
    assert datetime(2026, 6, 1, 7, 0, tzinfo=UTC) in _slot_starts(response)
