"""Timestamps read through the fast loader (``marketplace.db``) are the values Django's own loader gives."""

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format

from marketplace.db import FastTzLoader

pytestmark = pytest.mark.django_db

TIMESTAMPS = [
    "2026-11-29 23:56:07.509539+00",
    "2026-03-29 01:00:00+00",  # the hour Europe's clocks go forward
    "2026-10-25 00:59:59.999999+00",
    "2024-02-29 12:00:00.5+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "1969-12-31 23:59:59+00",
    "2026-06-01 09:30:00+05:30",  # read in another zone: the same instant, given in UTC
    "2026-06-01 09:30:00-03:00",
]


def _read(sql: str, params=()) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def test_new_connections_read_timestamps_with_the_fast_loader():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)  # timestamptz
    assert issubclass(loader, FastTzLoader)
    assert loader.timezone == UTC  # what Django checks before every cursor: it keeps ours


def test_each_timestamp_is_what_djangos_loader_reads():
    values = ", ".join(f"('{text}'::timestamptz)" for text in TIMESTAMPS)
    fast = _read(f"SELECT * FROM (VALUES {values}) AS v(t)")  # noqa: S608 (constants)

    class Djangos(BaseTzLoader):
        timezone = UTC

    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", Djangos)  # this cursor only
        cursor.execute(f"SELECT * FROM (VALUES {values}) AS v(t)")  # noqa: S608 (constants)
        django = [row[0] for row in cursor.fetchall()]
        assert cursor.cursor.adapters.get_loader(1184, Format.TEXT) is Djangos

    assert fast == django
    assert [value.tzinfo for value in fast] == [UTC] * len(TIMESTAMPS)
    assert fast[0] == datetime(2026, 11, 29, 23, 56, 7, 509539, tzinfo=UTC)
    assert fast[7] == datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def test_null_is_none_and_what_python_cannot_hold_is_refused_as_before():
    assert _read("SELECT NULL::timestamptz") == [None]
    for text in ("infinity", "-infinity", "0044-03-15 12:00:00+00 BC"):
        with pytest.raises(DataError):
            _read(f"SELECT '{text}'::timestamptz")
