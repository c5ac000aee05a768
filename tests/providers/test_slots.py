"""Open slot starts from a provider's weekly hours, time off and booking settings, across DST changes."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.models import AvailabilityRule, Provider, Service, TimeOff
from providers.slots import iter_service_slots, provider_next_available, service_slots
from tests.factories import AvailabilityRuleFactory, ProviderFactory, ServiceFactory, TimeOffFactory


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def make_service(*, zone="Europe/Berlin", rules=((0, time(9), time(12)),), duration=60, **settings_):
    settings_.setdefault("min_notice_minutes", 0)
    settings_.setdefault("slot_step_minutes", 30)
    provider = ProviderFactory(timezone=zone, **settings_)
    for weekday, start, end in rules:
        AvailabilityRuleFactory(provider=provider, weekday=weekday, start_time=start, end_time=end)
    return ServiceFactory(provider=provider, duration_minutes=duration)


def slots_on(service, day: date, *, now=None, busy=()) -> list[datetime]:
    """Slots of ``service`` on the provider's local ``day``, seen from the day before by default."""
    zone = ZoneInfo(service.provider.timezone)
    now = now or datetime.combine(day - timedelta(days=1), time(0), tzinfo=zone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return service_slots(service=service, start=start, end=end, now=now, busy=busy)


# --- Plain weekly hours -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_slots_step_through_the_window_and_end_when_the_session_no_longer_fits():
    service = make_service(rules=((0, time(9), time(12)),), duration=60)
    now = local("Europe/Berlin", 2026, 6, 1, 0, 0)  # a Monday

    slots = slots_on(service, date(2026, 6, 1), now=now)

    assert [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") for s in slots] == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
    ]
    assert all(s.tzinfo == UTC for s in slots)


@pytest.mark.django_db
def test_several_ranges_on_one_day_give_slots_in_each_and_none_in_the_break():
    service = make_service(
        rules=((0, time(9), time(10)), (0, time(14), time(15))), duration=30, slot_step_minutes=30
    )
    now = local("Europe/Berlin", 2026, 6, 1, 0, 0)

    slots = slots_on(service, date(2026, 6, 1), now=now)

    assert [s.astimezone(ZoneInfo("Europe/Berlin")).hour * 100 + s.minute for s in slots] == [
        900,
        930,
        1400,
        1430,
    ]


@pytest.mark.django_db
def test_overlapping_rules_give_each_start_once():
    service = make_service(rules=((0, time(9), time(11)), (0, time(10), time(12))), duration=60)

    slots = slots_on(service, date(2026, 6, 1), now=local("Europe/Berlin", 2026, 6, 1))

    assert slots == sorted(set(slots))
    assert len(slots) == 5  # 09:00 ... 11:00 every half hour: one window from 09:00 to 12:00


@pytest.mark.django_db
def test_touching_ranges_join_so_a_session_can_span_them():
    service = make_service(rules=((0, time(9), time(10)), (0, time(10), time(11))), duration=60)

    slots = slots_on(service, date(2026, 6, 1), now=local("Europe/Berlin", 2026, 6, 1))

    assert [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") for s in slots] == [
        "09:00",
        "09:30",
        "10:00",
    ]


# --- Notice, horizon, time off, buffers and busy times -------------------------------------------


@pytest.mark.django_db
def test_minimum_notice_hides_slots_starting_too_soon():
    service = make_service(min_notice_minutes=120)
    now = local("Europe/Berlin", 2026, 6, 1, 8, 10)

    slots = slots_on(service, date(2026, 6, 1), now=now)

    assert slots[0] == local("Europe/Berlin", 2026, 6, 1, 10, 30)


@pytest.mark.django_db
def test_nothing_beyond_the_booking_horizon():
    service = make_service(rules=[(d, time(9), time(12)) for d in range(7)], booking_horizon_days=7)
    now = utc(2026, 6, 1, 0, 0)

    slots = service_slots(service=service, start=now, end=now + timedelta(days=30), now=now)

    assert slots
    assert max(slots) < now + timedelta(days=7)
    assert max(slots) > now + timedelta(days=6)


@pytest.mark.django_db
def test_time_off_days_have_no_slots_and_the_days_around_them_do():
    service = make_service(rules=[(d, time(9), time(12)) for d in range(7)])
    TimeOffFactory(provider=service.provider, start_date=date(2026, 6, 2), end_date=date(2026, 6, 3))
    now = local("Europe/Berlin", 2026, 6, 1)

    assert slots_on(service, date(2026, 6, 1), now=now)
    assert slots_on(service, date(2026, 6, 2), now=now) == []
    assert slots_on(service, date(2026, 6, 3), now=now) == []
    assert slots_on(service, date(2026, 6, 4), now=now)


@pytest.mark.django_db
def test_busy_intervals_are_avoided_with_buffers_on_both_sides():
    service = make_service(
        rules=((0, time(9), time(17)),), buffer_before_minutes=15, buffer_after_minutes=15, duration=60
    )
    berlin = "Europe/Berlin"
    busy = [(local(berlin, 2026, 6, 1, 10, 0), local(berlin, 2026, 6, 1, 11, 0))]

    slots = slots_on(service, date(2026, 6, 1), now=local(berlin, 2026, 6, 1), busy=busy)

    # The busy hour occupies 09:45-11:15 with its buffers; a session occupies its own buffers too.
    assert local(berlin, 2026, 6, 1, 9, 0) not in slots
    assert local(berlin, 2026, 6, 1, 11, 0) not in slots
    assert slots[0] == local(berlin, 2026, 6, 1, 11, 30)


@pytest.mark.django_db
def test_a_slot_may_end_exactly_when_a_busy_interval_starts():
    service = make_service(rules=((0, time(9), time(12)),), duration=60)
    berlin = "Europe/Berlin"
    busy = [(local(berlin, 2026, 6, 1, 10, 0), local(berlin, 2026, 6, 1, 11, 0))]

    slots = slots_on(service, date(2026, 6, 1), now=local(berlin, 2026, 6, 1), busy=busy)

    assert slots == [local(berlin, 2026, 6, 1, 9, 0), local(berlin, 2026, 6, 1, 11, 0)]


@pytest.mark.django_db
def test_inactive_services_and_providers_have_no_slots():
    service = make_service()
    day = date(2026, 6, 1)
    assert slots_on(service, day, now=local("Europe/Berlin", 2026, 6, 1))

    service.is_active = False
    assert slots_on(service, day, now=local("Europe/Berlin", 2026, 6, 1)) == []

    service.is_active = True
    service.provider.is_active = False
    assert slots_on(service, day, now=local("Europe/Berlin", 2026, 6, 1)) == []


@pytest.mark.django_db
def test_now_defaults_to_the_current_time(time_machine):
    service = make_service(rules=[(d, time(0), time(23, 30)) for d in range(7)], min_notice_minutes=60)
    time_machine.move_to(utc(2026, 6, 1, 12, 5), tick=False)

    slots = service_slots(service=service, start=utc(2026, 6, 1), end=utc(2026, 6, 2))

    assert slots[0] == utc(2026, 6, 1, 13, 30)  # 15:30 in Berlin: the first half hour after 13:05 UTC


# --- Daylight saving time --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        ("America/New_York", date(2026, 3, 2), date(2026, 3, 9)),  # spring forward on Sunday 8 March
        ("America/New_York", date(2026, 10, 26), date(2026, 11, 2)),  # fall back on Sunday 1 November
        ("Europe/Berlin", date(2026, 3, 23), date(2026, 3, 30)),  # spring forward on Sunday 29 March
        ("Europe/Berlin", date(2026, 10, 19), date(2026, 10, 26)),  # fall back on Sunday 25 October
    ],
)
def test_a_nine_oclock_rule_stays_at_nine_local_across_the_change(zone, before, after):
    service = make_service(zone=zone, rules=((0, time(9), time(10)),))

    first_before = slots_on(service, before)[0]
    first_after = slots_on(service, after)[0]

    assert first_before.astimezone(ZoneInfo(zone)).time() == time(9)
    assert first_after.astimezone(ZoneInfo(zone)).time() == time(9)
    # Same wall-clock time, a different UTC time: the offset changed by an hour.
    assert abs(first_before.time().hour - first_after.time().hour) == 1


@pytest.mark.django_db
def test_new_york_spring_forward_skips_the_hour_that_does_not_exist():
    # Sunday 8 March 2026: clocks jump from 02:00 EST to 03:00 EDT.
    service = make_service(zone="America/New_York", rules=((6, time(1), time(4)),), duration=30)

    slots = slots_on(service, date(2026, 3, 8))

    assert slots == [
        utc(2026, 3, 8, 6, 0),
        utc(2026, 3, 8, 6, 30),
        utc(2026, 3, 8, 7, 0),
        utc(2026, 3, 8, 7, 30),
    ]
    assert [s.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z") for s in slots] == [
        "01:00 EST",
        "01:30 EST",
        "03:00 EDT",
        "03:30 EDT",
    ]


@pytest.mark.django_db
def test_new_york_fall_back_takes_the_repeated_hour_once():
    # Sunday 1 November 2026: 01:00-02:00 happens twice (EDT, then EST).
    service = make_service(zone="America/New_York", rules=((6, time(0), time(3)),), duration=30)

    slots = slots_on(service, date(2026, 11, 1))

    labels = [s.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z") for s in slots]
    assert labels == ["00:00 EDT", "00:30 EDT", "01:00 EDT", "01:30 EDT", "02:00 EST", "02:30 EST"]


@pytest.mark.django_db
def test_berlin_spring_forward_skips_two_oclock():
    # Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST.
    service = make_service(
        zone="Europe/Berlin", rules=((6, time(1), time(4)),), duration=60, slot_step_minutes=60
    )

    slots = slots_on(service, date(2026, 3, 29))

    assert [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") for s in slots] == [
        "01:00 CET",
        "03:00 CEST",
    ]


@pytest.mark.django_db
def test_berlin_fall_back_takes_two_oclock_once():
    # Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:00-03:00 happens twice.
    service = make_service(
        zone="Europe/Berlin", rules=((6, time(1), time(4)),), duration=60, slot_step_minutes=60
    )

    slots = slots_on(service, date(2026, 10, 25))

    assert slots == [utc(2026, 10, 24, 23), utc(2026, 10, 25, 0), utc(2026, 10, 25, 2)]
    assert [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") for s in slots] == [
        "01:00 CEST",
        "02:00 CEST",
        "03:00 CET",
    ]


# --- Next available time -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_next_available_is_the_earliest_slot_of_any_active_service():
    service = make_service(rules=((0, time(9), time(12)),), duration=120)
    ServiceFactory(provider=service.provider, duration_minutes=30, is_active=True)
    now = local("Europe/Berlin", 2026, 6, 1, 10, 40)  # Monday: the 30-minute one still fits at 11:00

    assert provider_next_available(provider=service.provider, now=now) == local(
        "Europe/Berlin", 2026, 6, 1, 11, 0
    )


@pytest.mark.django_db
def test_next_available_is_none_without_hours_or_services():
    provider = ProviderFactory()
    assert provider_next_available(provider=provider, now=utc(2026, 6, 1)) is None

    ServiceFactory(provider=provider)
    assert provider_next_available(provider=provider, now=utc(2026, 6, 1)) is None


# --- Properties over many generated schedules --------------------------------------------------------

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",  # a half-hour DST change
    "America/Sao_Paulo",
]


@st.composite
def schedules(draw):
    zone = draw(st.sampled_from(ZONES))
    rules = []
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, 23 * 4 - 1)) * 15
        end = draw(st.integers(start // 15 + 1, 24 * 4 - 1)) * 15
        rules.append(
            AvailabilityRule(
                weekday=draw(st.integers(0, 6)), start_time=_t(start), end_time=_t(min(end, 1439))
            )
        )
    provider = Provider(
        display_name="P",
        timezone=zone,
        min_notice_minutes=draw(st.sampled_from([0, 30, 120, 1440])),
        booking_horizon_days=draw(st.integers(1, 40)),
        buffer_before_minutes=draw(st.sampled_from([0, 10, 15, 30])),
        buffer_after_minutes=draw(st.sampled_from([0, 5, 15, 60])),
        slot_step_minutes=draw(st.sampled_from([10, 15, 20, 30, 45, 60])),
    )
    service = Service(provider=provider, duration_minutes=draw(st.sampled_from([15, 30, 45, 60, 90, 150])))
    # "now" lands near DST changes in both hemispheres often enough to matter.
    now = utc(2026, 1, 1) + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))
    span_start = now + timedelta(hours=draw(st.integers(-48, 24 * 20)))
    span_end = span_start + timedelta(hours=draw(st.integers(1, 24 * 21)))
    busy = []
    for _ in range(draw(st.integers(0, 8))):
        begin = now + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
        busy.append((begin, begin + timedelta(minutes=draw(st.integers(15, 240)))))
    time_off = []
    for _ in range(draw(st.integers(0, 3))):
        first = now.date() + timedelta(days=draw(st.integers(-2, 20)))
        time_off.append(TimeOff(start_date=first, end_date=first + timedelta(days=draw(st.integers(0, 4)))))
    return service, rules, time_off, busy, now, span_start, span_end


def _t(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _joined_windows(rules) -> dict[int, list[tuple[int, int]]]:
    """The same joining of touching ranges the code does, written out independently (minute by minute)."""
    covered: dict[int, set[int]] = {}
    for rule in rules:
        covered.setdefault(rule.weekday, set()).update(
            range(_minutes(rule.start_time), _minutes(rule.end_time))
        )
    windows: dict[int, list[tuple[int, int]]] = {}
    for weekday, minutes in covered.items():
        for minute in sorted(minutes):
            if weekday in windows and windows[weekday][-1][1] == minute:
                windows[weekday][-1] = (windows[weekday][-1][0], minute + 1)
            else:
                windows.setdefault(weekday, []).append((minute, minute + 1))
    return windows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_every_slot_obeys_every_rule(schedule):
    service, rules, time_off, busy, now, span_start, span_end = schedule
    provider = service.provider
    zone = ZoneInfo(provider.timezone)
    duration = timedelta(minutes=service.duration_minutes)
    before = timedelta(minutes=provider.buffer_before_minutes)
    after = timedelta(minutes=provider.buffer_after_minutes)

    slots = list(
        iter_service_slots(
            service=service,
            start=span_start,
            end=span_end,
            now=now,
            busy=busy,
            rules=rules,
            time_off=time_off,
        )
    )

    assert slots == sorted(set(slots)), "ascending and unique"
    days_off = {
        row.start_date + timedelta(days=n)
        for row in time_off
        for n in range((row.end_date - row.start_date).days + 1)
    }
    for slot in slots:
        assert slot.tzinfo == UTC
        assert span_start <= slot < span_end
        assert slot >= now + timedelta(minutes=provider.min_notice_minutes)
        assert slot < now + timedelta(days=provider.booking_horizon_days)
        wall = slot.astimezone(zone)
        assert wall.fold == 0, "a repeated local time is only ever its first occurrence"
        assert wall.date() not in days_off
        end_wall = (slot + duration).astimezone(zone)
        assert any(
            start <= _minutes(wall.time())
            and (_minutes(wall.time()) - start) % provider.slot_step_minutes == 0
            and end_wall.date() == wall.date()
            # a repeated hour makes the absolute window up to an hour longer than its wall-clock length
            and _minutes(end_wall.time()) <= end + 60
            for start, end in _joined_windows(rules).get(wall.weekday(), [])
        ), f"{wall} is inside a weekly window, on the step"
        for busy_start, busy_end in busy:
            assert slot + duration + after <= busy_start - before or slot - before >= busy_end + after


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(["UTC", "Asia/Kolkata", "Asia/Tokyo"]),
    start=st.integers(0, 20).map(lambda n: n * 30),
    length=st.integers(1, 8).map(lambda n: n * 60),
    step=st.sampled_from([15, 30, 60]),
    duration=st.sampled_from([15, 30, 60]),
)
def test_without_dst_busy_or_notice_every_step_that_fits_is_offered(zone, start, length, step, duration):
    rule = AvailabilityRule(weekday=2, start_time=_t(start), end_time=_t(min(start + length, 1439)))
    provider = Provider(
        timezone=zone,
        min_notice_minutes=0,
        booking_horizon_days=30,
        slot_step_minutes=step,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
    )
    service = Service(provider=provider, duration_minutes=duration)
    day = date(2026, 6, 3)  # a Wednesday
    tz = ZoneInfo(zone)

    slots = list(
        iter_service_slots(
            service=service,
            start=datetime.combine(day, time(0), tzinfo=tz),
            end=datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz),
            now=utc(2026, 6, 1),
            rules=[rule],
            time_off=[],
        )
    )

    window_end = _minutes(rule.end_time)
    expected = [
        datetime.combine(day, _t(m), tzinfo=tz)
        for m in range(start, window_end, step)
        if m + duration <= window_end
    ]
    assert slots == expected
