"""Writing the audit log (see ``AuditEntry``)."""

from typing import Any

from django.db import models

from marketplace.models import AuditEntry, User


def audit_record(
    *,
    subject: models.Model,
    action: str,
    actor: User | None = None,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry about ``subject``. Call it inside the transaction that made the change, so the entry
    exists exactly when the change does."""
    entry = audit_entry(
        subject=subject,
        action=action,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data,
    )
    entry.save(force_insert=True)
    return entry


def audit_entry(
    *,
    subject: models.Model,
    action: str,
    actor: User | None = None,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """The entry ``audit_record`` would append, not saved yet: for writing many with one
    ``AuditEntry.objects.bulk_create`` (in the transaction that made the changes)."""
    return AuditEntry(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        object_type=subject._meta.label_lower,
        object_id=str(subject.pk),
        from_status=from_status,
        to_status=to_status,
        reason=reason[:255],
        data=data or {},
    )
