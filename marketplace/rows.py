"""Model instances from hand-written SQL: the column list of a model, and instances built from its rows as the
ORM would build them. For the few reads that are written out because Django's compiler cost more than the
statement (docs/benchmarks.md); everything else goes through the ORM."""

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, models

M = TypeVar("M", bound=models.Model)


def columns(model: type[models.Model], alias: str, names: Sequence[str] | None = None) -> str:
    """``alias."column", ...`` for the model's concrete fields (or only the fields ``names``, attnames), in
    the model's order: what ``instance_from_row`` reads."""
    return ", ".join(f'{alias}."{field.column}"' for field in _fields(model, names))


def instance_from_row(model: type[M], values: Sequence[Any], names: Sequence[str] | None = None) -> M:
    """A model instance from its concrete columns in order (or only the fields ``names``, the others deferred
    and loaded if read), through each field's converters (a JSONField's decoding), as the ORM would build
    it."""
    fields = _fields(model, names)
    converted = []
    for field, value in zip(fields, values, strict=True):
        for converter in _converters(model, field.attname):
            value = converter(value, field.get_col(model._meta.db_table), connection)
        converted.append(value)
    return model.from_db(DEFAULT_DB_ALIAS, [field.attname for field in fields], converted)


def _fields(model: type[models.Model], names: Sequence[str] | None) -> list[models.Field]:
    """The fields, always in the model's order: ``Model.from_db`` reads a partial row in that order."""
    fields = model._meta.concrete_fields
    if names is None:
        return list(fields)
    chosen = [field for field in fields if field.attname in names]
    assert len(chosen) == len(set(names)), f"not fields of {model.__name__}: {names}"
    return chosen


_CONVERTERS: dict[tuple[type[models.Model], str], list[Any]] = {}


def _converters(model: type[models.Model], attname: str) -> list[Any]:
    """A field's converters, looked up once per process (most fields have none)."""
    key = (model, attname)
    if key not in _CONVERTERS:
        field = next(field for field in model._meta.concrete_fields if field.attname == attname)
        column = field.get_col(model._meta.db_table)
        _CONVERTERS[key] = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
    return _CONVERTERS[key]
