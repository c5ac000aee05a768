"""Open slot starts of a service, from the provider's own data only.

A provider's weekly rules are wall-clock times in their own zone, so every day's windows are built as local
times and converted to UTC one by one: a 09:00 rule stays 09:00 local across a DST change. Start times step
through the window in wall-clock minutes from the window's start; a local time that does not exist (the hour
skipped when clocks go forward) is skipped, and one that happens twice (the hour repeated when clocks go back)
is taken once, at its first occurrence.

Rules used for every slot, each tested in tests/providers/test_slots.py:

- the slot lies inside one availability window (a day's touching or overlapping rules joined into one):
  ``start >= window start`` and ``start + duration <= window end``, both in absolute time, and its wall-clock
  start is a whole number of steps after the window's start;
- it does not fall on a day of time off (the provider's local dates);
- ``start >= now + min_notice`` and ``start < now + booking_horizon_days``;
- each session occupies ``[start - buffer_before, end + buffer_after)``; a slot is open only if that interval
  overlaps no busy interval padded the same way. So two sessions are always at least ``buffer_after +
  buffer_before`` apart, and buffers need not fit inside the availability window (they keep sessions apart,
  they are not working time);
- the service and its provider are active.

``providers`` never imports ``bookings``. Bookings and holds reach this module as plain ``busy`` intervals:
callers pass them, and the bookings app registers a source with :func:`register_busy_source` so the pages and
jobs in this app (profile, next available time) subtract them too.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from providers.models import AvailabilityRule, Provider, Service, TimeOff

Interval = tuple[datetime, datetime]
BusySource = Callable[[Provider, datetime, datetime], Iterable[Interval]]

_busy_sources: list[BusySource] = []


def register_busy_source(source: BusySource) -> None:
    """Let another app (bookings) tell this one which UTC intervals a provider is already taken.

    ``source(provider, start, end)`` returns the intervals overlapping ``[start, end)``, without buffers.
    Registered once at start-up (an ``AppConfig.ready``); registering the same function twice is a no-op.
    """
    if source not in _busy_sources:
        _busy_sources.append(source)


def provider_busy_intervals(provider: Provider, start: datetime, end: datetime) -> list[Interval]:
    """Every registered source's busy intervals for ``provider`` in ``[start, end)``."""
    intervals: list[Interval] = []
    for source in _busy_sources:
        intervals.extend(source(provider, start, end))
    return intervals


def _local(day: date, wall: time, zone: ZoneInfo) -> datetime | None:
    """``day`` at ``wall`` in ``zone`` as UTC; None when that wall-clock time does not exist there."""
    local = datetime.combine(day, wall, tzinfo=zone)  # fold=0: the first of two repeated times
    utc = local.astimezone(UTC)
    # A skipped time comes back from the round trip shifted by the gap; an existing one comes back intact.
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return utc


def _window_edge(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """Like ``_local`` but never None: an edge in the skipped hour moves to the moment the clocks jump."""
    moment = datetime.combine(day, wall)
    for _minute in range(24 * 60):
        exact = _local(moment.date(), moment.time(), zone)
        if exact is not None:
            return exact
        moment += timedelta(minutes=1)
    raise ValueError(f"No valid local time near {day} {wall} in {zone}")  # pragma: no cover


def _merge(intervals: Iterable[Interval]) -> tuple[list[datetime], list[datetime]]:
    """Sorted, disjoint intervals as two parallel lists (starts, ends), both ascending."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    for begin, finish in sorted((b, e) for b, e in intervals if e > b):
        if ends and begin <= ends[-1]:
            ends[-1] = max(ends[-1], finish)
        else:
            starts.append(begin)
            ends.append(finish)
    return starts, ends


def _overlaps(starts: list[datetime], ends: list[datetime], begin: datetime, finish: datetime) -> bool:
    # The merged intervals are disjoint and sorted, so the only candidate is the last one starting before
    # ``finish``: it overlaps exactly when it ends after ``begin``.
    index = bisect_left(starts, finish) - 1
    return index >= 0 and ends[index] > begin


def _days_off(provider: Provider, first: date, last: date, time_off: Iterable[TimeOff] | None) -> set[date]:
    rows = (
        time_off
        if time_off is not None
        else TimeOff.objects.filter(provider=provider, start_date__lte=last, end_date__gte=first)
    )
    days: set[date] = set()
    for row in rows:
        day = max(row.start_date, first)
        while day <= min(row.end_date, last):
            days.add(day)
            day += timedelta(days=1)
    return days


def weekly_windows(rules: Iterable[AvailabilityRule]) -> dict[int, list[tuple[int, int]]]:
    """Rules as windows in minutes after local midnight, per weekday, with touching or overlapping ranges
    joined: 09:00-10:00 and 10:00-11:00 are one window, so a one-hour session can start at 09:30."""
    by_weekday: dict[int, list[tuple[int, int]]] = {}
    for rule in sorted(rules, key=lambda r: (r.weekday, r.start_time)):
        start = rule.start_time.hour * 60 + rule.start_time.minute
        end = rule.end_time.hour * 60 + rule.end_time.minute
        day = by_weekday.setdefault(rule.weekday, [])
        if day and start <= day[-1][1]:
            day[-1] = (day[-1][0], max(day[-1][1], end))
        else:
            day.append((start, end))
    return by_weekday


def iter_service_slots(
    *,
    service: Service,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    busy: Iterable[Interval] = (),
    rules: Iterable[AvailabilityRule] | None = None,
    time_off: Iterable[TimeOff] | None = None,
) -> Iterator[datetime]:
    """Open slot starts in ``[start, end)``, ascending and unique, lazily (see :func:`service_slots`).

    ``rules`` and ``time_off`` may be passed when the caller already loaded them (no queries then).
    """
    provider = service.provider
    if not (service.is_active and provider.is_active):
        return
    now = now or timezone.now()
    zone = ZoneInfo(provider.timezone)
    earliest = max(start, now + timedelta(minutes=provider.min_notice_minutes))
    latest = min(end, now + timedelta(days=provider.booking_horizon_days))
    if earliest >= latest:
        return

    duration = timedelta(minutes=service.duration_minutes)
    before = timedelta(minutes=provider.buffer_before_minutes)
    after = timedelta(minutes=provider.buffer_after_minutes)
    step = provider.slot_step_minutes
    busy_starts, busy_ends = _merge((b - before, e + after) for b, e in busy)

    windows = weekly_windows(
        rules if rules is not None else AvailabilityRule.objects.filter(provider=provider)
    )
    if not windows:
        return

    # Local dates whose windows can reach [earliest, latest): a day either side covers every UTC offset.
    first_day = earliest.astimezone(zone).date() - timedelta(days=1)
    last_day = latest.astimezone(zone).date() + timedelta(days=1)
    days_off = _days_off(provider, first_day, last_day, time_off)

    day = first_day
    while day <= last_day:
        if day not in days_off:
            found: set[datetime] = set()
            for start_minutes, end_minutes in windows.get(day.weekday(), ()):
                window_end = _window_edge(day, time(end_minutes // 60, end_minutes % 60), zone)
                minutes = start_minutes
                while minutes < end_minutes:
                    wall = time(minutes // 60, minutes % 60)
                    minutes += step
                    slot = _local(day, wall, zone)
                    if slot is None or slot < earliest:
                        continue
                    if slot >= latest or slot + duration > window_end:
                        continue
                    if _overlaps(busy_starts, busy_ends, slot - before, slot + duration + after):
                        continue
                    found.add(slot)
            # Disjoint windows and first-occurrence conversion already give distinct, ascending instants;
            # sorting a set keeps that a guarantee rather than an argument.
            yield from sorted(found)
        day += timedelta(days=1)


def service_slots(
    *,
    service: Service,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    busy: Iterable[Interval] = (),
) -> list[datetime]:
    """Open slot starts of ``service`` in ``[start, end)`` as aware UTC datetimes, ascending, unique.

    ``busy`` are UTC intervals the provider is already taken (bookings, holds), without buffers: this
    function pads them with the provider's buffers. Reads the provider's rules and time off (two queries);
    ``service.provider`` should be loaded already.
    """
    return list(iter_service_slots(service=service, start=start, end=end, now=now, busy=busy))


def provider_next_available(
    *, provider: Provider, now: datetime | None = None, busy: Iterable[Interval] | None = None
) -> datetime | None:
    """The earliest open slot of any of the provider's active services within their horizon, or None."""
    if not provider.is_active:
        return None
    now = now or timezone.now()
    end = now + timedelta(days=provider.booking_horizon_days)
    services = list(provider.services.filter(is_active=True))
    if not services:
        return None
    rules = list(provider.availability_rules.all())
    time_off = list(provider.time_off.filter(end_date__gte=(now - timedelta(days=1)).date()))
    intervals = list(busy) if busy is not None else provider_busy_intervals(provider, now, end)
    best: datetime | None = None
    for service in services:
        service.provider = provider  # the same object: no query per service
        first = next(
            iter_service_slots(
                service=service,
                start=now,
                end=best or end,
                now=now,
                busy=intervals,
                rules=rules,
                time_off=time_off,
            ),
            None,
        )
        if first is not None and (best is None or first < best):
            best = first
    return best
