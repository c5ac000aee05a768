"""Show aware datetimes in the viewer's zone, always naming the zone.

Django's ``date`` filter drops the zone abbreviation ("T") for wall-clock times that occur twice when clocks
go back, which is exactly when people most need it ("01:30 EDT" or "01:30 EST"?). The zone name here comes
from the datetime itself, which knows which of the two it is.
"""

from datetime import datetime

from django import template
from django.utils import dateformat, timezone

register = template.Library()


@register.filter
def local_datetime(value: datetime | None, fmt: str = "l j F Y, H:i") -> str:
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{dateformat.format(local, fmt)} {local.tzname()}"


@register.filter
def local_time(value: datetime | None) -> str:
    return local_datetime(value, "H:i")
