"""Model instances built from hand-written SQL (``marketplace.rows``) are the ORM's, field for field."""

import pytest
from django.db import connection

from marketplace.rows import columns, instance_from_row
from providers.models import Provider

pytestmark = pytest.mark.django_db


def _read(provider: Provider, names=None) -> Provider:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(Provider, 'p', names)} FROM {Provider._meta.db_table} p WHERE p.id = %s",  # noqa: S608
            [provider.pk],
        )
        return instance_from_row(Provider, cursor.fetchone(), names)


def test_a_whole_row_is_the_orms_instance(bookable_provider):
    provider = Provider.objects.get(pk=bookable_provider.pk)
    built = _read(provider)

    for field in Provider._meta.concrete_fields:
        assert getattr(built, field.attname) == getattr(provider, field.attname), field.name
    assert built._state.adding is False


def test_some_fields_in_any_order_are_read_into_the_right_attributes_and_the_rest_load(bookable_provider):
    provider = Provider.objects.get(pk=bookable_provider.pk)
    # Named out of the model's order on purpose: the values still land on their own fields.
    built = _read(provider, ["payouts_blocked_reason", "slug", "user_id", "id"])

    assert (built.pk, built.user_id, built.slug) == (provider.pk, provider.user_id, provider.slug)
    assert built.get_deferred_fields() >= {"display_name", "bio"}
    assert built.display_name == provider.display_name  # loaded when read


def test_an_unknown_field_is_refused():
    with pytest.raises(AssertionError, match="not fields of Provider"):
        columns(Provider, "p", ["id", "no_such_field"])
