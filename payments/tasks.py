"""Thin task wrappers: ids in, one service call, nothing returned."""

from celery import shared_task

from notifications.services import admin_alert
from payments import payouts, services


@shared_task
def webhook_event_process_task(*, webhook_event_id: int) -> None:
    services.webhook_event_process(webhook_event_id=webhook_event_id)


@shared_task
def refund_execute_task(*, refund_id: int) -> None:
    services.refund_execute(refund_id=refund_id)


@shared_task
def refund_sync_task(*, stripe_refund_id: str) -> None:
    services.refund_sync(stripe_refund_id=stripe_refund_id)


@shared_task
def process_refunds_task() -> None:
    services.refunds_redrive()


@shared_task
def process_webhooks_task() -> None:
    services.webhook_events_redrive()


@shared_task
def close_checkouts_task() -> None:
    services.checkouts_sweep()


@shared_task
def payout_execute_task(*, payout_id: int) -> None:
    # Kept for tasks already queued before the release handed payouts out in batches.
    payouts.payout_execute(payout_id=payout_id)


@shared_task
def payout_execute_batch_task(*, payout_ids: list[int]) -> None:
    payouts.payouts_execute(payout_ids=payout_ids)


@shared_task
def release_payouts_task() -> None:
    payouts.payouts_release()
    payouts.reversals_redrive()


@shared_task
def auto_complete_sessions_task() -> None:
    payouts.sessions_auto_complete()


@shared_task
def reversal_execute_task(*, reversal_id: int) -> None:
    payouts.reversal_execute(reversal_id=reversal_id)


def ledger_report_alert(report) -> None:
    """Tell admins which bookings do not add up, with each side's figures."""
    lines = []
    for ledger in report.mismatches[:100]:
        lines.append(f"{ledger.reference}: {ledger.figures()}")
        lines.extend(f"  - {problem}" for problem in ledger.problems)
    admin_alert(
        subject=f"Ledger check: {len(report.mismatches)} of {report.checked} bookings do not add up",
        body="\n".join(lines),
    )


@shared_task
def check_ledger_task() -> None:
    from payments.ledger import ledger_check

    report = ledger_check()
    if report.mismatches:
        ledger_report_alert(report)
