"""Feed the emulator's events through the app's webhook inbox, as if Stripe had delivered them."""

from payments.models import WebhookEvent
from payments.services import webhook_event_process


def deliver_events(stripe_emulator, *event_types: str) -> list[WebhookEvent]:
    """Store every emulator event of ``event_types`` not stored yet (all types when none given) and process
    it, oldest first. Returns the stored rows."""
    rows = []
    for event in stripe_emulator.events():
        if event_types and event["type"] not in event_types:
            continue
        if WebhookEvent.objects.filter(stripe_event_id=event["id"]).exists():
            continue
        row = WebhookEvent.objects.create(
            stripe_event_id=event["id"], endpoint="platform", type=event["type"], payload=event
        )
        webhook_event_process(webhook_event_id=row.pk)
        row.refresh_from_db()
        rows.append(row)
    return rows
