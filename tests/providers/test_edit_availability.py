"""Weekly hours, time off and booking settings, as a provider edits them."""

from datetime import date, time

import pytest
from django.urls import reverse

from providers.models import AvailabilityRule, Provider
from tests.factories import AvailabilityRuleFactory, ServiceFactory


def rules_data(rows: list[tuple[str, str, str]], *, initial: int = 0, delete: tuple[int, ...] = ()) -> dict:
    data = {
        "rules-TOTAL_FORMS": str(len(rows)),
        "rules-INITIAL_FORMS": str(initial),
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "70",
    }
    for index, (weekday, start, end) in enumerate(rows):
        data[f"rules-{index}-weekday"] = weekday
        data[f"rules-{index}-start_time"] = start
        data[f"rules-{index}-end_time"] = end
        if index in delete:
            data[f"rules-{index}-DELETE"] = "on"
    return data


@pytest.mark.django_db
def test_weekly_hours_are_saved_with_several_ranges_a_day_and_empty_rows_ignored(as_provider, provider):
    data = rules_data(
        [("0", "09:00", "12:00"), ("0", "14:00", "18:00"), ("4", "10:00", "11:30"), ("", "", "")]
    )

    response = as_provider.post(reverse("providers:availability"), data)

    assert response["Location"] == reverse("providers:availability")
    assert [(r.weekday, r.start_time, r.end_time) for r in provider.availability_rules.all()] == [
        (0, time(9), time(12)),
        (0, time(14), time(18)),
        (4, time(10), time(11, 30)),
    ]


@pytest.mark.django_db
def test_the_page_shows_the_saved_hours_and_spare_rows(as_provider, provider):
    AvailabilityRuleFactory(provider=provider, weekday=2, start_time=time(8, 30), end_time=time(12))

    body = as_provider.get(reverse("providers:availability")).content.decode()

    assert 'value="08:30"' in body
    assert 'name="rules-3-weekday"' in body  # one saved row plus three empty ones
    assert "Europe/Berlin" in body


@pytest.mark.django_db
def test_an_end_before_the_start_is_explained(as_provider, provider):
    response = as_provider.post(reverse("providers:availability"), rules_data([("0", "12:00", "09:00")]))

    assert response.status_code == 200
    assert "The end must be later than the start" in response.content.decode()
    assert not provider.availability_rules.exists()


@pytest.mark.django_db
def test_overlapping_ranges_on_one_day_are_refused(as_provider, provider):
    response = as_provider.post(
        reverse("providers:availability"), rules_data([("1", "09:00", "12:00"), ("1", "11:00", "13:00")])
    )

    assert "Two ranges on Tuesday overlap" in response.content.decode()
    assert not provider.availability_rules.exists()


@pytest.mark.django_db
def test_a_ticked_row_is_deleted(as_provider, provider):
    AvailabilityRuleFactory(provider=provider, weekday=0)
    AvailabilityRuleFactory(provider=provider, weekday=1)

    as_provider.post(
        reverse("providers:availability"),
        rules_data([("0", "09:00", "17:00"), ("1", "09:00", "17:00")], initial=2, delete=(0,)),
    )

    assert list(provider.availability_rules.values_list("weekday", flat=True)) == [1]


@pytest.mark.django_db
def test_saving_hours_refreshes_the_next_available_time(as_provider, provider):
    ServiceFactory(provider=provider)
    assert Provider.objects.get(pk=provider.pk).next_available_at is None

    as_provider.post(
        reverse("providers:availability"), rules_data([(str(d), "09:00", "17:00") for d in range(7)])
    )

    assert Provider.objects.get(pk=provider.pk).next_available_at is not None


@pytest.mark.django_db
def test_time_off_is_added_listed_and_removed(as_provider, provider):
    response = as_provider.post(
        reverse("providers:time_off"),
        {"start_date": "2030-07-01", "end_date": "2030-07-14", "note": "Holiday"},
    )
    assert response["Location"] == reverse("providers:time_off")
    time_off = provider.time_off.get()
    assert (time_off.start_date, time_off.end_date) == (date(2030, 7, 1), date(2030, 7, 14))
    assert "Holiday" in as_provider.get(reverse("providers:time_off")).content.decode()

    as_provider.post(reverse("providers:time_off_remove", args=[time_off.pk]))

    assert not provider.time_off.exists()


@pytest.mark.django_db
def test_time_off_ending_before_it_starts_is_refused(as_provider, provider):
    response = as_provider.post(
        reverse("providers:time_off"), {"start_date": "2030-07-14", "end_date": "2030-07-01"}
    )

    assert "The last day cannot be before the first day." in response.content.decode()
    assert not provider.time_off.exists()


@pytest.mark.django_db
def test_removing_time_off_needs_a_post(as_provider, provider):
    from tests.factories import TimeOffFactory

    time_off = TimeOffFactory(provider=provider)

    assert as_provider.get(reverse("providers:time_off_remove", args=[time_off.pk])).status_code == 405


@pytest.mark.django_db
def test_booking_settings_are_saved(as_provider, provider):
    response = as_provider.post(
        reverse("providers:booking_settings"),
        {
            "min_notice_minutes": "1440",
            "booking_horizon_days": "30",
            "buffer_before_minutes": "15",
            "buffer_after_minutes": "10",
            "slot_step_minutes": "60",
        },
    )

    assert response["Location"] == reverse("providers:dashboard")
    provider.refresh_from_db()
    assert (
        provider.min_notice_minutes,
        provider.booking_horizon_days,
        provider.buffer_before_minutes,
        provider.buffer_after_minutes,
        provider.slot_step_minutes,
    ) == (1440, 30, 15, 10, 60)


@pytest.mark.django_db
def test_booking_settings_outside_the_offered_choices_are_refused(as_provider, provider):
    response = as_provider.post(
        reverse("providers:booking_settings"),
        {
            "min_notice_minutes": "7",
            "booking_horizon_days": "0",
            "buffer_before_minutes": "0",
            "buffer_after_minutes": "0",
            "slot_step_minutes": "1",
        },
    )

    errors = response.context["form"].errors
    assert {"min_notice_minutes", "booking_horizon_days", "slot_step_minutes"} <= set(errors)
    assert AvailabilityRule.objects.count() == 0
