"""Time zones: every datetime is stored in UTC and shown in the viewer's own IANA zone.

The viewer's zone is, in order: the signed-in user's profile setting, the ``tz`` cookie that
``static/js/site.js`` sets from the browser, or UTC.
"""

import zoneinfo
from collections.abc import Callable
from functools import cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

TIMEZONE_COOKIE = "tz"


@cache
def _known_zone_names() -> frozenset[str]:
    # available_timezones() walks the tz database on disk: read it once per process.
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


@cache
def available_timezones() -> tuple[str, ...]:
    # zoneinfo also lists legacy aliases ("US/Eastern", "Etc/GMT+5"); people pick from the canonical
    # Area/City names, plus UTC.
    names = {name for name in _known_zone_names() if "/" in name and not name.startswith("Etc/")}
    return ("UTC", *sorted(name for name in names if not name.startswith(("US/", "SystemV/"))))


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in available_timezones()]


def is_valid_timezone(name: str) -> bool:
    return bool(name) and name in _known_zone_names()


def viewer_timezone_name(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and is_valid_timezone(user.timezone):
        return user.timezone
    # Tolerate a percent-encoded value ("Asia%2FTokyo"), as some clients write cookies that way.
    cookie = unquote(request.COOKIES.get(TIMEZONE_COOKIE, ""))
    return cookie if is_valid_timezone(cookie) else "UTC"


class ViewerTimezoneMiddleware:
    """Activate the viewer's zone for the request, so templates render local times with no extra code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = viewer_timezone_name(request)
        request.viewer_timezone = name
        timezone.activate(zoneinfo.ZoneInfo(name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
