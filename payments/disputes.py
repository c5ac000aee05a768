"""The disputes desk: a problem raised about a booking by an admin, by its client, or by the client's bank.

While a dispute is open the booking's payout is held: it is never transferred. Admins resolve their own and
clients' disputes (refund in full, refund part, or release to the provider); Stripe closes the bank's (won or
lost). Refunds go through the refund path, which also takes back the provider's share when they were paid
already (``payouts.payout_clawback``). Every status change is a ``DisputeStatusChange`` row and an audit
entry; both parties are told through the notification outbox.

Lock order, as everywhere in payments: booking, then payment, then payout, then dispute.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from marketplace.audit import audit_record
from marketplace.models import User
from notifications.services import admin_alert, notification_queue
from payments import gateway
from payments.models import Dispute, DisputeStatusChange, Payment, Payout, Refund
from payments.payouts import (
    _booking_payment,
    _kept_on,
    _payout_set_status,
    payout_clawback,
    provider_owed,
    provider_paid,
    provider_share,
)

logger = logging.getLogger(__name__)

HOLD_REASON = "Held while a problem with this session is looked into."


class DisputeError(Exception):
    """A dispute action that cannot be carried out; the message is fit to show the person."""


D = Dispute.Status
DISPUTE_MOVES: dict[str, set[str]] = {
    D.OPEN: {D.RESOLVED_REFUND, D.RESOLVED_SPLIT, D.RESOLVED_RELEASE, D.WON, D.LOST, D.CLOSED},
    D.RESOLVED_REFUND: set(),
    D.RESOLVED_SPLIT: set(),
    D.RESOLVED_RELEASE: set(),
    D.WON: set(),
    D.LOST: set(),
    D.CLOSED: set(),
}


def _dispute_set_status(dispute: Dispute, *, to: str, actor: User | None, note: str) -> None:
    """Move a locked dispute with its history row and audit entry (the caller saves the dispute)."""
    from_status = dispute.status
    if from_status == to:
        return
    if to not in DISPUTE_MOVES[from_status]:
        raise DisputeError(f"This dispute is {dispute.get_status_display().lower()}: it cannot change now.")
    dispute.status = to
    if to != Dispute.Status.OPEN:
        dispute.closed_at = timezone.now()
    DisputeStatusChange.objects.create(
        dispute=dispute, from_status=from_status, to_status=to, actor=actor, note=note[:4000]
    )
    audit_record(
        subject=dispute,
        action=f"dispute.{to}",
        actor=actor,
        from_status=from_status,
        to_status=to,
        reason=note,
    )


# --- When a client may report a problem ----------------------------------------------------------------


def report_window_end(booking: Booking) -> datetime | None:
    """Until when the client may report a problem: the moment the booking's payout falls due."""
    payout = booking.payouts.order_by("sequence").first()
    if payout is not None:
        return payout.due_at
    if booking.completed_at is not None:
        return booking.completed_at + timedelta(hours=settings.PAYOUT_HOLD_HOURS)
    return None


def client_report_refusal(booking: Booking, *, now: datetime | None = None) -> str:
    """Why the client cannot report a problem about ``booking`` now, in their words; "" when they can."""
    now = now or timezone.now()
    if booking.status != Booking.Status.COMPLETED:
        return "You can report a problem once the session is complete."
    if booking.disputes.filter(opened_by=Dispute.OpenedBy.CLIENT).exists():
        return "You have reported a problem with this booking; we will get back to you."
    if booking.disputes.filter(status=Dispute.Status.OPEN).exists():
        return "A problem with this booking is already being looked into."
    end = report_window_end(booking)
    if end is None or now >= end:
        return "The time to report a problem has ended: the payment has been released to the provider."
    return ""


# --- Opening -------------------------------------------------------------------------------------------


def dispute_open(
    *,
    booking_id: int,
    opened_by: str,
    actor: User | None,
    reason: str,
    description: str = "",
    now: datetime | None = None,
) -> Dispute:
    """Open a dispute about a booking (an admin or its client) and hold its payout at once. A client may do
    so once, only on a completed booking, and only until its payout is due; an admin at any time while money
    is held. Raises DisputeError with a message fit to show otherwise."""
    now = now or timezone.now()
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update().select_related("client", "provider__user").get(pk=booking_id)
        )
        if opened_by == Dispute.OpenedBy.CLIENT:
            if actor is None or actor.pk != booking.client_id:
                raise DisputeError("Only the client of this booking can report a problem with it.")
            refusal = client_report_refusal(booking, now=now)
            if refusal:
                raise DisputeError(refusal)
        if Dispute.objects.filter(booking=booking, status=Dispute.Status.OPEN).exists():
            raise DisputeError("A problem with this booking is already being looked into.")
        payment = _booking_payment(booking)
        if payment is None:
            raise DisputeError("Nothing was paid for this booking, so there is no money to dispute.")
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        dispute = Dispute.objects.create(
            booking=booking,
            payment=payment,
            opened_by=opened_by,
            opened_by_user=actor,
            reason=reason,
            description=description,
            amount=_kept_on(payment),
            currency=payment.currency,
        )
        DisputeStatusChange.objects.create(
            dispute=dispute, from_status="", to_status=dispute.status, actor=actor, note=reason
        )
        audit_record(
            subject=dispute, action="dispute.open", actor=actor, to_status=dispute.status, reason=reason
        )
        _hold_payouts(booking)
        _tell_parties_opened(booking, dispute)
    return dispute


def _hold_payouts(booking: Booking) -> None:
    """Show every payout of the booking that has not gone as waiting on the dispute (the release job and
    the transfer task refuse to send while a dispute is open, whatever the row says)."""
    for payout in Payout.objects.select_for_update().filter(
        booking=booking, status__in=Payout.RELEASABLE_STATUSES
    ):
        if payout.status != Payout.Status.ON_HOLD:
            _payout_set_status(payout, to=Payout.Status.ON_HOLD, reason=HOLD_REASON)
        payout.hold_reason = HOLD_REASON
        payout.next_attempt_at = None
        payout.save(update_fields=["status", "hold_reason", "next_attempt_at", "updated_at"])


def _settle_payouts(booking: Booking) -> None:
    """After a dispute ends: a payout that still owes the provider something goes with the next release run;
    one that owes nothing any more (refunded, or the money lost to the bank) is cancelled."""
    owed = provider_owed(booking) - provider_paid(booking)
    for payout in Payout.objects.select_for_update().filter(
        booking=booking, status__in=[*Payout.RELEASABLE_STATUSES, Payout.Status.FAILED]
    ):
        if owed <= 0 and payout.attempts == 0:
            _payout_set_status(payout, to=Payout.Status.CANCELLED, reason="nothing left for the provider")
            payout.hold_reason = ""
            payout.save(update_fields=["status", "hold_reason", "updated_at"])
        elif payout.status == Payout.Status.ON_HOLD and not payout.is_held:
            _payout_set_status(payout, to=Payout.Status.SCHEDULED, reason="dispute ended")
            payout.hold_reason = ""
            payout.save(update_fields=["status", "hold_reason", "updated_at"])


def _booking_url(booking: Booking) -> str:
    return settings.SITE_URL + reverse("bookings:detail", args=[booking.reference])


def _tell_parties_opened(booking: Booking, dispute: Dispute) -> None:
    context = {"booking": booking, "dispute": dispute, "booking_url": _booking_url(booking)}
    # The client hears either way: "we received your report" when it was theirs, "we are looking into it"
    # when their bank or our team opened it.
    if dispute.opened_by == Dispute.OpenedBy.CLIENT:
        notification_queue(
            key=f"dispute-received-client-{dispute.pk}",
            recipient=booking.client,
            template="notifications/dispute_received_client.txt",
            context=context,
        )
    else:
        notification_queue(
            key=f"dispute-opened-client-{dispute.pk}",
            recipient=booking.client,
            template="notifications/dispute_opened_client.txt",
            context=context,
        )
    notification_queue(
        key=f"dispute-opened-provider-{dispute.pk}",
        recipient=booking.provider.user,
        template="notifications/dispute_opened_provider.txt",
        context=context,
    )
    transaction.on_commit(
        partial(
            admin_alert,
            subject=f"Dispute opened on booking {booking.reference} ({dispute.get_opened_by_display()})",
            body=(
                f"Reason: {dispute.reason_label}\n{dispute.description}\n\n"
                "The payout is held until it is resolved in the Dispute admin."
            ),
        ),
        robust=True,
    )


# --- Resolving (admins) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolutionPreview:
    """What a resolution would do, in minor units, shown before an admin confirms it."""

    refund: int
    provider_gets: int
    platform_keeps: int
    left_to_refund: int


class Outcome:
    REFUND = "refund"
    SPLIT = "split"
    RELEASE = "release"
    CHOICES = (
        (REFUND, "Refund the client in full"),
        (SPLIT, "Refund part"),
        (RELEASE, "Release to the provider"),
    )


def dispute_resolution_preview(
    *, dispute: Dispute, outcome: str, refund_amount: int | None = None
) -> ResolutionPreview:
    """The amounts ``outcome`` would give, from the rows as they are now (raises DisputeError when the
    amount is not one that outcome allows)."""
    booking = dispute.booking
    payment = dispute.payment
    left = _kept_on(payment)
    refund = _resolution_refund(outcome=outcome, refund_amount=refund_amount, left=left)
    kept = left - refund
    provider = provider_share(booking=booking, kept=kept)
    return ResolutionPreview(
        refund=refund, provider_gets=provider, platform_keeps=kept - provider, left_to_refund=left
    )


def _resolution_refund(*, outcome: str, refund_amount: int | None, left: int) -> int:
    if outcome == Outcome.REFUND:
        return left
    if outcome == Outcome.RELEASE:
        return 0
    if outcome == Outcome.SPLIT:
        if refund_amount is None or not 0 < refund_amount < left:
            raise DisputeError(f"A partial refund must be more than nothing and less than the {left} left.")
        return refund_amount
    raise DisputeError(f"Unknown outcome {outcome!r}.")


def dispute_resolve(
    *, dispute_id: int, outcome: str, actor: User, refund_amount: int | None = None, note: str = ""
) -> Dispute:
    """Settle an admin's or client's dispute: refund the client in full, refund part (an amount less than
    what is left), or release to the provider. The refund goes through the refund path (and takes back the
    provider's share if they were paid); the payout is cancelled, reduced (recomputed when it is sent) or
    released. Both parties are told. Idempotent in effect: a resolved dispute cannot be resolved again."""
    from payments.services import refund_request  # the refund path builds on this module's neighbours

    with transaction.atomic():
        row = Dispute.objects.only("booking_id", "payment_id").get(pk=dispute_id)
        booking = (
            Booking.objects.select_for_update()
            .select_related("client", "provider__user")
            .get(pk=row.booking_id)
        )
        payment = Payment.objects.select_for_update().get(pk=row.payment_id)
        list(Payout.objects.select_for_update().filter(booking=booking))
        dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
        if not dispute.is_open:
            raise DisputeError(f"This dispute is already {dispute.get_status_display().lower()}.")
        if dispute.is_from_stripe:
            raise DisputeError(
                "The client's bank decides this dispute; respond to it in the Stripe dashboard."
            )
        refund_total = _resolution_refund(
            outcome=outcome, refund_amount=refund_amount, left=_kept_on(payment)
        )
        refund: Refund | None = None
        if refund_total > 0:
            refund = refund_request(
                payment=payment, amount=refund_total, reason=Refund.Reason.DISPUTE, actor=actor
            )
        to = {
            Outcome.REFUND: Dispute.Status.RESOLVED_REFUND,
            Outcome.SPLIT: Dispute.Status.RESOLVED_SPLIT,
            Outcome.RELEASE: Dispute.Status.RESOLVED_RELEASE,
        }[outcome]
        dispute.refund_amount = refund.amount if refund else 0
        dispute.resolved_by = actor
        dispute.resolution_note = note
        _dispute_set_status(dispute, to=to, actor=actor, note=note or dict(Outcome.CHOICES)[outcome])
        dispute.save(
            update_fields=[
                "status",
                "refund_amount",
                "resolved_by",
                "resolution_note",
                "closed_at",
                "updated_at",
            ]
        )
        _settle_payouts(booking)
        context = {
            "booking": booking,
            "dispute": dispute,
            "refund": refund,
            "provider_gets": provider_owed(booking),
            "booking_url": _booking_url(booking),
        }
        for party, recipient in (("client", booking.client), ("provider", booking.provider.user)):
            notification_queue(
                key=f"dispute-resolved-{party}-{dispute.pk}",
                recipient=recipient,
                template=f"notifications/dispute_resolved_{party}.txt",
                context=context,
            )
    return dispute


# --- Disputes from the client's bank (Stripe) ------------------------------------------------------------


def _dispute_status_from_stripe(found: gateway.Dispute) -> str:
    return {
        "won": Dispute.Status.WON,
        "lost": Dispute.Status.LOST,
        "warning_closed": Dispute.Status.CLOSED,
    }.get(found.status, Dispute.Status.OPEN)


def dispute_sync(*, stripe_dispute_id: str) -> Dispute | None:
    """Record a dispute the client's bank opened on one of our payments (an inquiry or a chargeback), as
    Stripe reports it now: status, money withdrawn and reinstated, fee. Opening holds the payout, and a
    chargeback after the payout takes the provider's share back; won releases (and pays the provider again
    if their share was taken back); lost leaves the money gone and the payout cancelled. Admins are alerted
    when it opens and closes. Idempotent, any order of ``charge.dispute.*`` events ends the same. Returns
    None for a dispute on a charge that is not ours."""
    found = gateway.dispute_retrieve(dispute_id=stripe_dispute_id)
    payment_row = Payment.objects.filter(charge_id=found.charge_id).only("booking_id").first()
    if payment_row is None:
        logger.info("dispute %s is on charge %s, which is not ours", found.id, found.charge_id)
        return None
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=payment_row.booking_id)
        payment = Payment.objects.select_for_update().get(pk=payment_row.pk)
        list(Payout.objects.select_for_update().filter(booking=booking))
        dispute = Dispute.objects.select_for_update().filter(stripe_dispute_id=found.id).first()
        opened = dispute is None
        if dispute is None:
            _close_for_the_bank(booking, found)
            dispute = Dispute(
                booking=booking,
                payment=payment,
                opened_by=Dispute.OpenedBy.STRIPE,
                stripe_dispute_id=found.id,
                reason=found.reason,
                currency=found.currency,
                amount=found.amount,
            )
        status = _dispute_status_from_stripe(found)
        if not opened and not dispute.is_open:
            status = dispute.status  # closed is final: an older answer cannot reopen it
        closing = status != Dispute.Status.OPEN and (opened or dispute.is_open)
        dispute.stripe_status = found.status
        dispute.amount = found.amount
        dispute.is_inquiry = found.is_inquiry
        dispute.funds_withdrawn = found.funds_withdrawn
        dispute.funds_reinstated = found.funds_reinstated
        dispute.fee = found.fee
        try:
            with transaction.atomic():
                dispute.save()
        except IntegrityError:
            transaction.on_commit(
                partial(
                    admin_alert,
                    subject=f"Second open dispute on booking {booking.reference}",
                    body=f"Stripe dispute {found.id} on charge {found.charge_id} could not be recorded "
                    "beside the booking's other open dispute. Handle it in the Stripe dashboard.",
                ),
                robust=True,
            )
            return None
        if opened:
            DisputeStatusChange.objects.create(
                dispute=dispute, from_status="", to_status=Dispute.Status.OPEN, note=f"Stripe: {found.status}"
            )
            audit_record(
                subject=dispute, action="dispute.open", to_status=Dispute.Status.OPEN, reason=found.reason
            )
        if closing:
            _dispute_set_status(dispute, to=status, actor=None, note=f"Stripe: {found.status}")
            dispute.save(update_fields=["status", "closed_at", "updated_at"])
        if payment.disputed_at is None:
            payment.disputed_at = timezone.now()
            payment.save(update_fields=["disputed_at", "updated_at"])
        if dispute.is_open:
            _hold_payouts(booking)
        # Also when the dispute is first seen already lost (its events late, or all at once): the bank took
        # the money, so the provider's share of it is taken back whether or not we saw it open.
        if dispute.funds_withdrawn > dispute.funds_reinstated and payout_clawback(
            booking=booking, dispute=dispute
        ):
            dispute.payout_reversed = True
            dispute.save(update_fields=["payout_reversed", "updated_at"])
        if closing:
            _after_bank_decision(booking, dispute)
        if opened or closing:
            _alert_bank_dispute(booking, found, opened=opened, closing=closing)
    return dispute


def _close_for_the_bank(booking: Booking, found: gateway.Dispute) -> None:
    """The bank's dispute takes over from an admin's or client's one still open: close that one."""
    for earlier in Dispute.objects.select_for_update().filter(booking=booking, status=Dispute.Status.OPEN):
        _dispute_set_status(
            earlier, to=Dispute.Status.CLOSED, actor=None, note=f"replaced by the bank's dispute {found.id}"
        )
        earlier.save(update_fields=["status", "closed_at", "updated_at"])


def _after_bank_decision(booking: Booking, dispute: Dispute) -> None:
    """Won or closed: the provider is owed their share again (a second payout if it was taken back). Lost:
    the money is gone, so the provider's share of it is too (the payout stays cancelled)."""
    from payments.payouts import payout_schedule_again

    if Dispute.objects.filter(booking=booking, status=Dispute.Status.OPEN).exists():
        return
    _settle_payouts(booking)
    if dispute.status in (Dispute.Status.WON, Dispute.Status.CLOSED):
        payout_schedule_again(booking=booking)


def _alert_bank_dispute(booking: Booking, found: gateway.Dispute, *, opened: bool, closing: bool) -> None:
    kind = "An inquiry" if found.is_inquiry else "A chargeback"
    subject = (
        f"The dispute on booking {booking.reference} closed: {found.status}"
        if closing
        else f"{kind} was opened on booking {booking.reference}"
    )
    transaction.on_commit(
        partial(
            admin_alert,
            subject=subject,
            body=(
                f"Stripe dispute {found.id} on charge {found.charge_id}: {found.amount} "
                f"{found.currency}, reason {found.reason}, status {found.status}. Withdrawn "
                f"{found.funds_withdrawn}, reinstated {found.funds_reinstated}, fee {found.fee}. "
                "Respond in the Stripe dashboard."
            ),
        ),
        robust=True,
    )
