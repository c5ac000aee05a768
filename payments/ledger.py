"""The ledger check: for every booking with money, our rows add up, and each row agrees with Stripe.

Per booking, from our rows (minor units):

    charged = refunded + dispute_lost + paid_to_provider + held_for_provider + platform_retained

where ``refunded`` counts refunds requested, under way or done; ``dispute_lost`` what the client's bank took
back and kept; ``kept`` = charged - refunded - dispute_lost is split by the booking's frozen fee into the
provider's share and ``platform_retained``; ``paid_to_provider`` = transfers (a share kept back to repay the
provider's debt counts as paid to them) - reversals (done, on their way, or owed by the provider); and
``held_for_provider`` is the rest of the provider's share, not transferred yet. The identity itself holds by
construction; what is checked is what could go wrong:

- nothing negative, refunds never above what was charged, the provider never paid more than their share;
- once a booking is settled (completed or cancelled, no open dispute, no money in flight, no failed refund
  waiting for staff's retry, every payout finished), the provider has exactly their share;
- every row agrees with Stripe's object: refund amounts and final statuses, each charge's refunded total,
  each transfer's amount, destination and reversed total, and no transfer in a booking's group we do not know.

Stripe's processing and dispute fees come out of the platform's own share (``platform_net`` is reported, and
may be negative on tiny prices); they are not part of the identity.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q

from bookings.models import Booking
from payments import gateway
from payments.models import Payment, Payout, PayoutReversal, Refund, WebhookEvent
from payments.namespace import booking_transfer_group
from payments.payouts import provider_share

logger = logging.getLogger(__name__)

IN_FLIGHT_REFUNDS = (Refund.Status.REQUESTED, Refund.Status.RETRYING, Refund.Status.PROCESSING)
IN_FLIGHT_REVERSALS = (PayoutReversal.Status.REQUESTED, PayoutReversal.Status.RETRYING)
UNFINISHED_PAYOUTS = (
    Payout.Status.SCHEDULED,
    Payout.Status.ON_HOLD,
    Payout.Status.PROCESSING,
    Payout.Status.RETRYING,
    Payout.Status.FAILED,
)


@dataclass
class BookingLedger:
    booking_id: int
    reference: str
    currency: str
    charged: int = 0
    refunded: int = 0
    dispute_lost: int = 0
    provider_share: int = 0
    paid_to_provider: int = 0
    held_for_provider: int = 0
    platform_retained: int = 0
    stripe_fees: int | None = None  # processing and dispute fees, read from Stripe (None: not read)
    problems: list[str] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return self.charged - self.refunded - self.dispute_lost

    @property
    def platform_net(self) -> int | None:
        """What the platform really earned on the booking after Stripe's fees (negative on tiny prices)."""
        return None if self.stripe_fees is None else self.platform_retained - self.stripe_fees

    @property
    def adds_up(self) -> bool:
        return self.charged == (
            self.refunded
            + self.dispute_lost
            + self.paid_to_provider
            + self.held_for_provider
            + self.platform_retained
        )

    def figures(self) -> str:
        return (
            f"charged {self.charged}, refunded {self.refunded}, dispute lost {self.dispute_lost}, "
            f"provider share {self.provider_share} (paid {self.paid_to_provider}, "
            f"held {self.held_for_provider}), platform {self.platform_retained} {self.currency}"
        )


def bookings_with_money() -> Iterator[Booking]:
    """Every booking that was ever paid, with the rows the check reads, in batches."""
    paid = Payment.objects.filter(status__in=Payment.PAID_STATUSES)
    rows = (
        Booking.objects.filter(pk__in=paid.values("booking_id"))
        .select_related("provider")
        .prefetch_related(
            Prefetch("payments", queryset=Payment.objects.filter(status__in=Payment.PAID_STATUSES)),
            "refunds",
            "payouts",
            "payout_reversals",
            "disputes",
        )
        .order_by("pk")
    )
    yield from rows.iterator(chunk_size=500)


def booking_ledger(booking: Booking) -> BookingLedger:
    """The figures and the problems of one booking, from our rows only."""
    ledger = BookingLedger(booking_id=booking.pk, reference=booking.reference, currency=booking.currency)
    payments = [p for p in booking.payments.all() if p.status in Payment.PAID_STATUSES]
    refunds = list(booking.refunds.all())
    payouts = list(booking.payouts.all())
    reversals = list(booking.payout_reversals.all())
    disputes = list(booking.disputes.all())
    problems = ledger.problems

    ledger.charged = sum(p.amount for p in payments)
    ledger.refunded = sum(r.amount for r in refunds if r.status in Refund.COMMITTED_STATUSES)
    ledger.dispute_lost = sum(max(d.funds_withdrawn - d.funds_reinstated, 0) for d in disputes)
    first_paid = min(payments, key=lambda p: (p.paid_at is None, p.paid_at, p.pk)) if payments else None
    ledger.provider_share = provider_share(booking=booking, kept=ledger.kept)
    ledger.platform_retained = max(ledger.kept, 0) - ledger.provider_share
    transferred = sum(p.amount for p in payouts if p.status in Payout.TRANSFERRED_STATUSES)
    ledger.paid_to_provider = transferred - sum(r.amount for r in reversals)
    ledger.held_for_provider = ledger.provider_share - ledger.paid_to_provider

    for payment in payments:
        committed = sum(
            r.amount for r in refunds if r.payment_id == payment.pk and r.status in Refund.COMMITTED_STATUSES
        )
        if committed > payment.amount:
            problems.append(f"payment {payment.pk}: refunds {committed} exceed the {payment.amount} charged")
    if ledger.kept < 0:
        problems.append(f"refunds and dispute losses exceed what was charged ({ledger.figures()})")
    if ledger.paid_to_provider < 0:
        problems.append(f"more taken back from the provider than they were paid ({ledger.figures()})")
    if ledger.held_for_provider < 0:
        problems.append(f"the provider was paid more than their share ({ledger.figures()})")
    for payout in payouts:
        if (
            payout.status in Payout.TRANSFERRED_STATUSES
            and payout.transfer_id is None
            and payout.transfer_amount
        ):
            problems.append(f"payout {payout.pk} is {payout.status} without a transfer")
        if first_paid is not None and payout.payment_id != first_paid.pk:
            problems.append(f"payout {payout.pk} is funded by payment {payout.payment_id}, not the one kept")
    retried = {r.retry_of_id for r in refunds if r.retry_of_id is not None}
    settled = (
        booking.status in (Booking.Status.COMPLETED, Booking.Status.CANCELLED)
        and not any(d.is_open for d in disputes)
        and not any(r.status in IN_FLIGHT_REFUNDS for r in refunds)
        # A refund of ours that failed (refused, or sent back by the card network after succeeding) waits for
        # staff to send it again: the money is the client's, not yet the provider's share of a kept price.
        and not any(
            r.status == Refund.Status.FAILED and not r.is_external and r.pk not in retried for r in refunds
        )
        and not any(r.status in IN_FLIGHT_REVERSALS for r in reversals)
        and payouts
        and not any(p.status in UNFINISHED_PAYOUTS for p in payouts)
    )
    if settled and ledger.held_for_provider != 0:
        problems.append(f"settled, but the provider has not exactly their share ({ledger.figures()})")
    if not ledger.adds_up:  # cannot happen with the definitions above; kept as the statement of the rule
        problems.append(f"does not add up ({ledger.figures()})")
    return ledger


def compare_with_stripe(booking: Booking, ledger: BookingLedger) -> None:
    """Add to ``ledger.problems`` every way our rows disagree with Stripe's objects (read through the
    gateway). Rows with money still in flight are compared only once they settle."""
    problems = ledger.problems
    refunds = list(booking.refunds.all())
    fees = sum(d.fee for d in booking.disputes.all())
    for payment in (p for p in booking.payments.all() if p.status in Payment.PAID_STATUSES):
        if not payment.charge_id:
            problems.append(f"payment {payment.pk} is paid but has no charge id")
            continue
        charge = gateway.charge_retrieve(charge_id=payment.charge_id)
        if charge.balance_transaction_id:
            fees += gateway.balance_transaction_retrieve(
                balance_transaction_id=charge.balance_transaction_id
            ).fee
        if charge.amount != payment.amount:
            problems.append(
                f"payment {payment.pk}: Stripe charged {charge.amount}, we recorded {payment.amount}"
            )
        ours = sum(
            r.amount
            for r in refunds
            if r.payment_id == payment.pk and r.status in (Refund.Status.PROCESSING, Refund.Status.SUCCEEDED)
        )
        in_flight = any(
            r.payment_id == payment.pk and r.status in (Refund.Status.REQUESTED, Refund.Status.RETRYING)
            for r in refunds
        )
        if charge.amount_refunded != ours and not in_flight:
            problems.append(
                f"payment {payment.pk}: Stripe refunded {charge.amount_refunded} of charge {charge.id}, "
                f"our refunds say {ours}"
            )
    ledger.stripe_fees = fees
    for refund in refunds:
        if refund.stripe_refund_id is None or refund.status in IN_FLIGHT_REFUNDS:
            continue
        found = gateway.refund_retrieve(refund_id=refund.stripe_refund_id)
        stripe_final = {"succeeded": Refund.Status.SUCCEEDED, "failed": Refund.Status.FAILED}.get(
            found.status
        )
        if found.amount != refund.amount or (stripe_final is not None and stripe_final != refund.status):
            problems.append(
                f"refund {refund.pk}: Stripe says {found.amount} {found.status}, we say {refund.amount} "
                f"{refund.status}"
            )
    ours_transfers = {p.transfer_id: p for p in booking.payouts.all() if p.transfer_id}
    for transfer_id, payout in ours_transfers.items():
        transfer = gateway.transfer_retrieve(transfer_id=transfer_id)
        succeeded = sum(
            r.amount
            for r in booking.payout_reversals.all()
            if r.payout_id == payout.pk and r.status == PayoutReversal.Status.SUCCEEDED
        )
        in_flight = any(
            r.payout_id == payout.pk and r.status in IN_FLIGHT_REVERSALS
            for r in booking.payout_reversals.all()
        )
        if transfer.amount != payout.transfer_amount:
            problems.append(
                f"payout {payout.pk}: Stripe transferred {transfer.amount}, we {payout.transfer_amount}"
            )
        if payout.destination_account_id and transfer.destination != payout.destination_account_id:
            problems.append(f"payout {payout.pk}: Stripe sent it to {transfer.destination}")
        if transfer.amount_reversed != succeeded and not in_flight:
            problems.append(
                f"payout {payout.pk}: Stripe reversed {transfer.amount_reversed}, "
                f"our reversals say {succeeded}"
            )
    in_flight_payouts = any(
        p.status in (Payout.Status.PROCESSING, Payout.Status.RETRYING) for p in booking.payouts.all()
    )
    for transfer in gateway.transfer_list_by_group(transfer_group=booking_transfer_group(booking.pk)):
        if transfer.id not in ours_transfers and not in_flight_payouts:
            problems.append(
                f"Stripe has transfer {transfer.id} ({transfer.amount}) that no payout of ours records"
            )


@dataclass
class LedgerReport:
    checked: int = 0
    mismatches: list[BookingLedger] = field(default_factory=list)
    provider_debt: int = 0  # owed by providers from refused reversals, not yet netted
    # Bookings a stored Stripe event not processed yet is about: compared with Stripe on a later run.
    awaiting_events: list[str] = field(default_factory=list)


def bookings_awaiting_events() -> set[int]:
    """The bookings that a Stripe event we stored but have not processed yet (pending, or failed with
    attempts left) is about, found through the payment intent or charge its object names: until it is
    processed our rows are behind Stripe by design (a refund made in Stripe's dashboard, say), and saying so
    is not a mismatch. An event we gave up on does not count: that one is a problem, and stays reported."""
    intents: set[str] = set()
    charges: set[str] = set()
    booking_ids: set[int] = set()
    unfinished = WebhookEvent.objects.filter(
        status__in=[WebhookEvent.Status.PENDING, WebhookEvent.Status.FAILED]
    ).values_list("payload", flat=True)
    for payload in unfinished:
        obj = ((payload or {}).get("data") or {}).get("object") or {}
        if not isinstance(obj, dict):
            continue
        intent, charge, object_id = obj.get("payment_intent"), obj.get("charge"), obj.get("id")
        if isinstance(intent, str):
            intents.add(intent)
        if isinstance(charge, str):
            charges.add(charge)
        if isinstance(object_id, str) and object_id.startswith("ch_"):
            charges.add(object_id)
        if isinstance(object_id, str) and object_id.startswith("pi_"):
            intents.add(object_id)
        booking_id = (obj.get("metadata") or {}).get("booking_id")
        if isinstance(booking_id, str) and booking_id.isdigit():
            booking_ids.add(int(booking_id))
    if intents or charges:
        booking_ids.update(
            Payment.objects.filter(Q(payment_intent_id__in=intents) | Q(charge_id__in=charges)).values_list(
                "booking_id", flat=True
            )
        )
    return booking_ids


def ledger_check(
    *, with_stripe: bool = True, on_progress: Callable[[int], None] | None = None
) -> LedgerReport:
    """Check every booking with money; returns the report (mismatches with each side's figures)."""
    report = LedgerReport()
    awaiting = bookings_awaiting_events() if with_stripe else set()
    for booking in bookings_with_money():
        ledger = booking_ledger(booking)
        if booking.pk in awaiting:
            # Our own rows are still checked; Stripe's side waits for the event (the next run compares it).
            report.awaiting_events.append(booking.reference)
        elif with_stripe:
            try:
                compare_with_stripe(booking, ledger)
            except gateway.GatewayError as error:
                ledger.problems.append(f"could not read Stripe: {error}")
        report.checked += 1
        if ledger.problems:
            report.mismatches.append(ledger)
        if on_progress is not None and report.checked % 200 == 0:
            on_progress(report.checked)
    report.provider_debt = sum(
        r.outstanding for r in PayoutReversal.objects.filter(status=PayoutReversal.Status.OWED)
    )
    return report
