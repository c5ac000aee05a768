"""Time off over booked sessions: which sessions a planned time off covers, and cancelling them.

``providers`` never imports ``bookings`` or ``payments`` (see ``providers.slots``). The sessions live there,
and cancelling one refunds its client through the payments app, so those apps register the two functions this
module needs with :func:`register_covered_sessions` (``payments.apps``), as ``bookings`` registers its busy
time with ``providers.slots.register_busy_source``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from marketplace.models import User
from providers.models import Provider


@dataclass(frozen=True)
class CoveredSession:
    """A confirmed, still-to-come session inside a time off: what the provider needs to decide about it."""

    reference: str
    start_at: datetime
    end_at: datetime
    client_name: str
    service_title: str
    price_amount: int  # cents: the full refund the client gets if the provider cancels
    currency: str


@dataclass(frozen=True)
class CancelOutcome:
    """One covered session after the provider chose to cancel: cancelled with its refund row, or why not."""

    session: CoveredSession
    is_cancelled: bool
    refund_amount: int = 0  # cents
    problem: str = ""


FindCovered = Callable[[Provider, datetime, datetime], list[CoveredSession]]
CancelCovered = Callable[[Provider, User, Sequence[str], str], list[CancelOutcome]]

_find: FindCovered | None = None
_cancel: CancelCovered | None = None


def register_covered_sessions(*, find: FindCovered, cancel: CancelCovered) -> None:
    """Called once at start-up (an ``AppConfig.ready``).

    ``find(provider, start, end)``: confirmed sessions not yet started that overlap ``[start, end)`` (UTC).
    ``cancel(provider, actor, references, reason)``: cancel each of the provider's sessions named, each with a
    full refund through the normal provider cancellation, one failure not stopping the others.
    """
    global _find, _cancel
    _find, _cancel = find, cancel


def provider_today(provider: Provider) -> date:
    """Today's date where the provider is: time off is whole local days there."""
    return timezone.localdate(timezone=ZoneInfo(provider.timezone))


def time_off_span(provider: Provider, start_date: date, end_date: date) -> tuple[datetime, datetime]:
    """The UTC instants a time off covers: from the first day's local midnight to the midnight after the last
    day, in the provider's zone (a day off is a local day, 23 or 25 hours long on a DST change)."""
    zone = ZoneInfo(provider.timezone)
    start = datetime.combine(start_date, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(end_date + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def time_off_covered_sessions(
    *, provider: Provider, start_date: date, end_date: date
) -> list[CoveredSession]:
    """The provider's confirmed sessions still to come that a time off from ``start_date`` to ``end_date``
    (both included) would fall on, earliest first. Empty when no app registered (providers alone)."""
    if _find is None:
        return []
    start, end = time_off_span(provider, start_date, end_date)
    return sorted(_find(provider, start, end), key=lambda session: session.start_at)


def time_off_cancel_sessions(
    *, provider: Provider, actor: User, references: Sequence[str], reason: str
) -> list[CancelOutcome]:
    """Cancel the named sessions with a full refund each (see :func:`register_covered_sessions`)."""
    if _cancel is None or not references:
        return []
    return _cancel(provider, actor, references, reason)
