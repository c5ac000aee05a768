"""Time zones: every datetime is stored in UTC and shown in the viewer's own IANA zone.

The viewer's zone is, in order: the signed-in user's profile setting, the ``tz`` cookie that
``static/js/site.js`` sets from the browser (or the visitor picked), or UTC. On a first visit, with neither,
the page's times wait hidden until the script has them in the browser's zone (``templates/base.html``).

The zones offered when someone picks one are the tz database's current names (``zones()``), grouped by region.
"""

import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

TIMEZONE_COOKIE = "tz"


@cache
def _known_zone_names() -> frozenset[str]:
    # available_timezones() walks the tz database on disk: read it once per process.
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _tzdata_file(name: str) -> str:
    # The tz database's own tables, from the pinned ``tzdata`` package: the same everywhere, offline, and
    # independent of what the operating system ships.
    return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")


def _table_rows(name: str) -> Iterator[list[str]]:
    for line in _tzdata_file(name).splitlines():
        if line and not line.startswith("#"):
            yield line.split("\t")


@dataclass(frozen=True)
class Zone:
    """A zone people pick: ``America/Argentina/Buenos_Aires`` shown as "Buenos Aires, Argentina" in the
    group "America", also found by its old names ("America/Buenos_Aires")."""

    name: str
    region: str
    label: str
    aliases: tuple[str, ...]


@cache
def zones() -> tuple[Zone, ...]:
    """The current IANA zones, one per place, and UTC; no deprecated alias.

    The names are zone.tab's: the tz database's list of the zones to offer people, one line per country and
    place. It leaves out every ``backward`` link (Africa/Asmera, Asia/Calcutta, US/Eastern, Etc/GMT+5) and
    keeps places whose data was merged into a neighbour's (Europe/Amsterdam). A name the runtime cannot load
    is left out too. The ``backward`` names still in use (browsers report Asia/Calcutta or Europe/Kiev) are
    kept as each zone's ``aliases``, from the link lines of tzdata.zi, so they can be found and translated.
    """
    countries = {row[0]: row[1] for row in _table_rows("iso3166.tab")}
    country_of = {row[2]: countries.get(row[0], row[0]) for row in _table_rows("zone.tab")}
    known = _known_zone_names()
    aliases: dict[str, list[str]] = {}
    for line in _tzdata_file("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()
            aliases.setdefault(target, []).append(alias)
    found = [
        Zone(
            name=name,
            region=name.split("/", 1)[0],
            label=_place_label(name, country_of[name]),
            aliases=tuple(sorted(a for a in aliases.get(name, ()) if a not in country_of)),
        )
        for name in country_of
        if name in known
    ]
    found.sort(key=lambda zone: (zone.region, zone.label))
    return (*found, Zone(name="UTC", region="UTC", label="UTC, Coordinated Universal Time", aliases=()))


def _place_label(name: str, country: str) -> str:
    # "America/Indiana/Knox" -> "Knox (Indiana), United States"; "Europe/Berlin" -> "Berlin, Germany".
    *within, place = [part.replace("_", " ") for part in name.split("/")[1:]]
    # Not "Buenos Aires (Argentina), Argentina": the country once is enough.
    within = [part for part in within if part != country]
    place = f"{place} ({', '.join(within)})" if within else place
    return f"{place}, {country}" if place != country else place


@cache
def _canonical_names() -> dict[str, str]:
    names = {zone.name: zone.name for zone in zones()}
    for zone in zones():
        for alias in zone.aliases:
            names.setdefault(alias, zone.name)
    return names


def canonical_timezone(name: str) -> str:
    """The offered name for ``name``: itself, the current name of an old alias ("Asia/Calcutta" ->
    "Asia/Kolkata"), or ``name`` unchanged when it is valid but not offered (a stored "Etc/GMT+5")."""
    return _canonical_names().get(name, name)


def timezone_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped by region, as Django renders <optgroup>s: [("Africa", [("Africa/Abidjan", "Abidjan, ..."), ...
    ]), ...]. Validation accepts every known name (``TimezoneField``); this is what is offered."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for zone in zones():
        groups.setdefault(zone.region, []).append((zone.name, zone.label))
    return list(groups.items())


def is_valid_timezone(name: str) -> bool:
    return bool(name) and name in _known_zone_names()


def picked_timezone(request: HttpRequest) -> str:
    """The zone in the visitor's ``tz`` cookie (picked on a profile page, or set from the browser), under its
    current name; "" when there is none."""
    cookie = unquote(request.COOKIES.get(TIMEZONE_COOKIE, ""))
    return canonical_timezone(cookie) if is_valid_timezone(cookie) else ""


def viewer_timezone_name(request: HttpRequest) -> str:
    """The viewer's zone, or "" when the request does not say (a first visit: no account, no cookie yet)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and is_valid_timezone(user.timezone):
        return str(user.timezone)
    # Tolerate a percent-encoded value ("Asia%2FTokyo"), as some clients write cookies that way.
    cookie = unquote(request.COOKIES.get(TIMEZONE_COOKIE, ""))
    return cookie if is_valid_timezone(cookie) else ""


class ViewerTimezoneMiddleware:
    """Activate the viewer's zone for the request, so templates render local times with no extra code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = viewer_timezone_name(request)
        # Unknown on a first visit: times render in UTC, and base.html lets static/js/site.js show them in
        # the browser's zone before they are seen (docs/decisions.md, "Time zone on the first visit").
        is_known, name = bool(name), name or "UTC"
        request.viewer_timezone_is_known = is_known  # type: ignore[attr-defined]
        request.viewer_timezone = name  # type: ignore[attr-defined]
        timezone.activate(zoneinfo.ZoneInfo(name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
