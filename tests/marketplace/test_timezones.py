"""Time zones: the zones people pick from (current IANA names, grouped by region, old names translated), the
picker on every page that picks one, and the first visit, when the server does not know the zone yet."""

import re
import zoneinfo

import pytest
from django.test import Client
from django.urls import reverse

from marketplace.forms import TimezoneSelect
from marketplace.models import User
from marketplace.timezones import canonical_timezone, timezone_choices, zones

# --- The list ----------------------------------------------------------------------------------------------


def test_the_list_has_no_deprecated_alias():
    names = {zone.name for zone in zones()}

    for alias in ("Africa/Asmera", "Asia/Calcutta", "Europe/Kiev", "US/Eastern", "Etc/GMT+5", "GB", "Japan"):
        assert alias not in names
    for current in ("Africa/Asmara", "Asia/Kolkata", "Europe/Kyiv", "America/New_York", "Asia/Tokyo", "UTC"):
        assert current in names


def test_places_merged_into_a_neighbours_data_stay_in_the_list():
    # Amsterdam's rules have been Brussels' since 2022, but people in Amsterdam look for Amsterdam.
    assert "Europe/Amsterdam" in {zone.name for zone in zones()}


def test_every_offered_zone_loads_and_appears_once():
    names = [zone.name for zone in zones()]

    assert len(names) == len(set(names)) > 400
    for name in names:
        zoneinfo.ZoneInfo(name)


def test_zones_are_grouped_by_region_and_labelled_city_first():
    groups = dict(timezone_choices())

    assert list(groups) == sorted(groups, key=lambda region: region == "UTC")  # regions A-Z, UTC last
    assert ("Europe/Berlin", "Berlin, Germany") in groups["Europe"]
    assert ("America/Argentina/Buenos_Aires", "Buenos Aires, Argentina") in groups["America"]
    assert ("America/Indiana/Knox", "Knox (Indiana), United States") in groups["America"]
    assert all(
        name.startswith(region + "/")
        for region, zones_ in groups.items()
        if region != "UTC"
        for name, _label in zones_
    )


@pytest.mark.parametrize(
    ("old", "current"),
    [
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Africa/Asmera", "Africa/Nairobi"),
        ("US/Eastern", "America/New_York"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("Asia/Tokyo", "Asia/Tokyo"),
        ("Etc/GMT+5", "Etc/GMT+5"),
    ],
)
def test_old_names_translate_to_current_ones(old, current):
    # Africa/Asmera is a link to Nairobi in the tz database itself (Asmara keeps its own entry in zone.tab).
    assert canonical_timezone(old) == current


def test_the_picker_renders_optgroups_and_old_names_for_the_search():
    html = TimezoneSelect().render("tz", "Asia/Calcutta", {"id": "id_tz"})

    assert html.startswith('<select data-zone-picker="" id="id_tz" name="tz">')
    assert html.count("<optgroup") == len(timezone_choices())
    assert re.search(
        r'<option value="Asia/Kolkata" selected data-aka="Asia/Calcutta">Kolkata, India</option>', html
    )
    assert html.count(" selected") == 1


def test_the_picker_keeps_a_saved_zone_that_is_no_longer_offered():
    html = TimezoneSelect().render("tz", "Etc/GMT+5", {"id": "id_tz"})

    assert '<option value="Etc/GMT+5" selected>Etc/GMT+5</option>' in html


# --- Pages that pick a zone ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "url_name", "field"),
    [
        ("anonymous", "signup", "timezone"),
        ("as_client", "profile", "timezone"),
        ("as_provider", "providers:edit_profile", "timezone"),
    ],
)
def test_every_page_that_picks_a_zone_uses_the_grouped_picker(request, persona, url_name, field):
    body = request.getfixturevalue(persona).get(reverse(url_name)).content.decode()

    picker = re.search(rf'<select[^>]*name="{field}"[^>]*>.*?</select>', body, re.S)
    assert picker is not None
    assert "data-zone-picker" in picker.group(0)
    assert '<optgroup label="Europe">' in picker.group(0)
    assert 'value="Africa/Asmara"' in picker.group(0)
    assert 'value="Africa/Asmera"' not in picker.group(0)  # the old name is only there to be searched


@pytest.mark.django_db
def test_the_visitors_zone_form_on_a_profile_uses_the_picker(anonymous, bookable_provider):
    anonymous.cookies["tz"] = "Asia/Tokyo"

    body = anonymous.get(reverse("providers:profile", args=[bookable_provider.slug])).content.decode()

    assert re.search(r'<select data-zone-picker="" id="id_tz" name="tz">', body)
    assert '<option value="Asia/Tokyo" selected' in body


@pytest.mark.django_db
def test_the_profile_stores_an_old_zone_name_under_its_current_one(as_client, client_user):
    as_client.post(reverse("profile"), {"name": "Chris", "timezone": "Asia/Calcutta"})

    client_user.refresh_from_db()
    assert client_user.timezone == "Asia/Kolkata"


@pytest.mark.django_db
def test_a_zone_not_known_is_refused_and_changes_nothing(as_client, client_user):
    response = as_client.post(reverse("profile"), {"name": "Chris", "timezone": "Mars/Olympus_Mons"})

    assert response.context["form"].errors["timezone"] == ["Please choose a time zone from the list."]
    assert User.objects.get(pk=client_user.pk).timezone == "America/New_York"


# --- The first visit ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_first_visit_marks_the_page_so_times_wait_for_the_browsers_zone(anonymous, bookable_provider):
    body = anonymous.get(reverse("providers:profile", args=[bookable_provider.slug])).content.decode()

    assert '<html lang="en" data-zone-unknown>' in body
    assert 'classList.add("zone-pending")' in body
    assert re.search(r'<section [^>]*id="times"[^>]*data-zone-region', body)
    assert 'id="footer-zone" data-zone-region>UTC<' in body


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["cookie", "signed_in"])
def test_a_known_zone_renders_at_once(bookable_provider, client_user, who):
    browser = Client()
    if who == "cookie":
        browser.cookies["tz"] = "America/New_York"
    else:
        browser.force_login(client_user)

    body = browser.get(reverse("providers:profile", args=[bookable_provider.slug])).content.decode()

    assert "data-zone-unknown" not in body
    assert "zone-pending" not in body
    assert 'data-testid="slot-zone">America/New_York<' in body


@pytest.mark.django_db
def test_a_page_answering_a_post_is_never_held_back(anonymous):
    response = anonymous.post(reverse("login"), {"username": "nobody@example.com", "password": "wrong"})

    assert "data-zone-unknown" not in response.content.decode()


def test_the_profiles_zone_picker_marks_each_viewers_zone_though_it_is_kept_per_process():
    from providers.templatetags.providers_tags import timezone_select

    for _ in range(2):  # the second round comes from the kept entries
        tokyo = timezone_select("tz", "Asia/Tokyo", "id_tz")
        new_york = timezone_select("tz", "America/New_York", "id_tz")
        assert '<option value="Asia/Tokyo" selected' in tokyo
        assert '<option value="America/New_York" selected' not in tokyo
        assert '<option value="America/New_York" selected' in new_york
        assert tokyo.count(" selected") == new_york.count(" selected") == 1
        assert 'name="tz"' in tokyo
        assert 'id="id_tz"' in tokyo
