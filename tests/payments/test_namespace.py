"""Every key and transfer group carries this installation's namespace, so databases sharing one Stripe account
(staging, CI, a development database reset while the emulator kept its state) never collide."""

import pytest

from bookings.services import booking_create
from payments.models import Installation, Payment
from payments.namespace import _database_namespace, stripe_key, stripe_namespace
from payments.services import checkout_start

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_namespace_cache():
    # The namespace is cached per process; these tests change the row under it, and roll back.
    _database_namespace.cache_clear()
    yield
    _database_namespace.cache_clear()


def test_the_namespace_is_kept_in_the_database_and_stable():
    first = stripe_namespace()

    assert Installation.objects.get().key_namespace == first
    assert stripe_namespace() == first
    assert stripe_key("refund-7") == f"{first}:refund-7"


def test_a_configured_namespace_wins(settings):
    settings.STRIPE_KEY_NAMESPACE = "staging"

    assert stripe_key("refund-7") == "staging:refund-7"


def test_checkout_keys_metadata_and_transfer_group_carry_the_namespace(
    client_user, bookable_service, slot, stripe_emulator
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)

    checkout_start(booking_id=booking.pk)

    [request] = stripe_emulator.requests(method="POST", path="/v1/checkout/sessions")
    namespace = stripe_namespace()
    assert request["idempotency_key"] == f"{namespace}:checkout-{booking.pk}-1"
    assert request["params"]["payment_intent_data"]["transfer_group"] == f"{namespace}:booking-{booking.pk}"
    assert request["params"]["metadata"]["installation"] == namespace


def test_a_reset_database_reusing_ids_does_not_collide_with_the_old_keys(
    client_user, bookable_service, slot, stripe_emulator
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    old = checkout_start(booking_id=booking.pk)
    # The database is reset while Stripe (the emulator's saved state) remembers everything: the same booking
    # id and attempt number come round again, with a fresh installation.
    Payment.objects.all().delete()
    Installation.objects.all().delete()
    _database_namespace.cache_clear()

    new = checkout_start(booking_id=booking.pk)

    assert new.attempt == 1
    assert new.checkout_session_id != old.checkout_session_id
    assert len(stripe_emulator.state()["checkout_sessions"]) == 2
