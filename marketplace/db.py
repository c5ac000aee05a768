"""How PostgreSQL timestamps are read: Django's own loader parses each ``timestamptz`` in Python, about 7 µs a
value; this one lets ``datetime.fromisoformat`` (written in C) do it, about 1 µs. A page of twenty search
results reads a few hundred timestamps, and a payout batch six per payout (docs/benchmarks.md).

The values are the same as Django's: aware, in the connection's zone (UTC), with ``datetime.timezone.utc`` as
their tzinfo. Anything ``fromisoformat`` does not read (years before 1 or after 9999, ``infinity``) goes to
Django's loader, which answers or refuses as before. tests/marketplace/test_db.py compares the two."""

from datetime import datetime, tzinfo
from functools import cache
from typing import Any

from django.db.backends.postgresql.psycopg_any import BaseTzLoader, is_psycopg3
from django.db.backends.signals import connection_created
from django.dispatch import receiver


class FastTzLoader(BaseTzLoader):
    """``BaseTzLoader`` (a timestamptz in ``timezone``), parsed by ``datetime.fromisoformat``."""

    def load(self, data: Any) -> datetime:
        try:
            value = datetime.fromisoformat(bytes(data).decode())
        except ValueError:
            return super().load(data)
        if value.tzinfo is None:  # never for a timestamptz; Django's loader knows what to do
            return super().load(data)
        if self.timezone is None:
            return value.replace(tzinfo=None)
        return value.astimezone(self.timezone)


@cache
def fast_tz_loader(zone: tzinfo | None) -> type[FastTzLoader]:
    """The loader for one zone. Django compares a connection's loader's ``timezone`` with its own before
    each cursor and registers its loader again when they differ, so the zone is a class attribute."""
    return type(f"FastTzLoader_{zone}", (FastTzLoader,), {"timezone": zone})


@receiver(connection_created, dispatch_uid="marketplace.db.fast_timestamps")
def use_fast_timestamps(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "postgresql" and is_psycopg3:
        connection.connection.adapters.register_loader("timestamptz", fast_tz_loader(connection.timezone))
