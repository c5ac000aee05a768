"""Per-installation namespace for everything this database sends to Stripe that must be unique.

Stripe remembers an idempotency key for 24 hours per account, and ``transfer_group`` and metadata are free
text. Staging, CI and development databases often share one test account, and ``make dev`` can reset its
database while the emulator keeps its saved state: without a namespace, database B's ``refund-7`` would be
answered with database A's refund 7. So every key, transfer group and our metadata carry the namespace:
``STRIPE_KEY_NAMESPACE`` when set, otherwise a random one stored in this database (``Installation``).
"""

import secrets
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, connection, transaction

METADATA_KEY = "installation"


@lru_cache(maxsize=4)
def _database_namespace(database: str) -> str:
    from payments.models import Installation

    row = Installation.objects.filter(pk=Installation.SINGLETON_ID).first()
    if row is None:
        try:
            with transaction.atomic():
                row = Installation.objects.create(
                    pk=Installation.SINGLETON_ID, key_namespace=secrets.token_hex(4)
                )
        except IntegrityError:  # another process made it first: use theirs
            row = Installation.objects.get(pk=Installation.SINGLETON_ID)
    return row.key_namespace


def stripe_namespace() -> str:
    configured: str = getattr(settings, "STRIPE_KEY_NAMESPACE", "")
    return configured or _database_namespace(connection.settings_dict["NAME"])


def stripe_key(name: str) -> str:
    """``name`` (``refund-7``, ``booking-42``) made unique to this installation: ``<namespace>:refund-7``."""
    return f"{stripe_namespace()}:{name}"


def is_ours(metadata: dict[str, str]) -> bool:
    """Whether an object's metadata says this installation made it."""
    return metadata.get(METADATA_KEY) == stripe_namespace()


def our_metadata(**values: str) -> dict[str, str]:
    """Metadata for an object we create at Stripe: our ids plus this installation's namespace, so a lookup
    (or a webhook) can tell our objects from another installation's on a shared account."""
    return {**values, METADATA_KEY: stripe_namespace()}


def booking_transfer_group(booking_id: int) -> str:
    """The ``transfer_group`` tying a booking's charge to the transfer that later pays its provider."""
    return stripe_key(f"booking-{booking_id}")
