"""The stored next available time that search sorts and shows, and the job that keeps it true."""

from datetime import UTC, datetime, time

import pytest
from django.conf import settings
from django.core.management import call_command

from providers.models import Provider
from providers.selectors import providers_to_refresh
from providers.services import provider_refresh_next_available
from providers.slots import register_busy_source
from providers.tasks import refresh_next_available
from tests.factories import listed_provider

MONDAY_EARLY = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 07:00 in Berlin


def berlin_provider(**fields):
    fields = {"weekdays": (0,), "hours": (time(9), time(12)), "min_notice_minutes": 0, **fields}
    return listed_provider(timezone="Europe/Berlin", **fields)


@pytest.mark.django_db
def test_refresh_stores_the_first_open_slot(time_machine):
    time_machine.move_to(MONDAY_EARLY, tick=False)
    provider = berlin_provider()

    assert provider.next_available_at == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_the_job_moves_the_time_forward_as_time_passes(time_machine):
    time_machine.move_to(MONDAY_EARLY, tick=False)
    provider = berlin_provider()
    time_machine.move_to(datetime(2026, 6, 1, 9, 45, tzinfo=UTC), tick=False)  # 11:45 in Berlin: too late

    refresh_next_available()

    provider.refresh_from_db()
    assert provider.next_available_at == datetime(2026, 6, 8, 7, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_busy_intervals_passed_in_push_the_time_later(time_machine):
    time_machine.move_to(MONDAY_EARLY, tick=False)
    provider = berlin_provider()
    busy = [(datetime(2026, 6, 1, 7, 0, tzinfo=UTC), datetime(2026, 6, 1, 8, 0, tzinfo=UTC))]

    value = provider_refresh_next_available(provider_id=provider.pk, busy=busy)

    assert value == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert Provider.objects.get(pk=provider.pk).next_available_at == value


@pytest.mark.django_db
def test_a_registered_busy_source_is_subtracted(time_machine, monkeypatch):
    time_machine.move_to(MONDAY_EARLY, tick=False)
    provider = berlin_provider()
    monkeypatch.setattr("providers.slots._busy_sources", [])
    register_busy_source(
        lambda p, start, end: [
            (datetime(2026, 6, 1, 7, 0, tzinfo=UTC), datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
        ]
    )

    assert provider_refresh_next_available(provider_id=provider.pk) == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_an_inactive_provider_has_no_next_time(time_machine):
    time_machine.move_to(MONDAY_EARLY, tick=False)
    provider = berlin_provider()
    Provider.objects.filter(pk=provider.pk).update(is_active=False)

    assert provider_refresh_next_available(provider_id=provider.pk) is None
    assert Provider.objects.get(pk=provider.pk).next_available_at is None


@pytest.mark.django_db
def test_refreshing_a_deleted_provider_does_nothing():
    assert provider_refresh_next_available(provider_id=987654) is None


@pytest.mark.django_db
def test_the_command_refreshes_providers_without_a_time_and_shows_progress(time_machine, capsys):
    time_machine.move_to(MONDAY_EARLY, tick=False)
    providers = [berlin_provider() for _ in range(3)]
    Provider.objects.update(next_available_at=None)

    call_command("refresh_next_available")

    out = capsys.readouterr().out
    assert "[3/3]" in out
    assert all(Provider.objects.get(pk=p.pk).next_available_at for p in providers)


@pytest.mark.django_db
def test_only_times_that_time_has_made_stale_are_recomputed(time_machine):
    time_machine.move_to(MONDAY_EARLY, tick=False)  # 07:00 in Berlin; open 09:00-12:00, no notice
    still_right = berlin_provider()
    passed = berlin_provider()
    with_notice = berlin_provider()
    Provider.objects.filter(pk=with_notice.pk).update(min_notice_minutes=180)
    no_time = berlin_provider(weekdays=())
    paused = berlin_provider()
    Provider.objects.filter(pk=paused.pk).update(is_active=False)
    Provider.objects.filter(pk=passed.pk).update(next_available_at=datetime(2026, 6, 1, 4, 0, tzinfo=UTC))

    stale = providers_to_refresh(now=datetime(2026, 6, 1, 5, 30, tzinfo=UTC))

    # with_notice's 09:00 (07:00 UTC) is now inside its three hours' notice.
    assert set(stale) == {passed.pk, with_notice.pk, no_time.pk, paused.pk}
    assert still_right.pk in providers_to_refresh(everyone=True)


@pytest.mark.django_db
def test_the_all_option_recomputes_everyone(time_machine, capsys):
    time_machine.move_to(MONDAY_EARLY, tick=False)
    berlin_provider()
    berlin_provider()

    call_command("refresh_next_available", "--all")

    assert "[2/2]" in capsys.readouterr().out


def test_beat_runs_the_refresh_job_periodically():
    entries = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]

    assert "providers.tasks.refresh_next_available" in entries
