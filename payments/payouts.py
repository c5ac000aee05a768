"""Completion and payouts: a finished session schedules the provider's share; after ``PAYOUT_HOLD_HOURS`` the
release job transfers it to their Stripe Connect account, exactly once, whatever fails along the way.

Lock order, as everywhere in payments: booking, then payment, then payout. Stripe is never called under a
lock. ``payouts_release`` (beat, every 5 minutes; ``manage.py release_payouts``) claims due rows with
``select_for_update(skip_locked=True)`` and moves those that may go to ``processing``; one task per
``PAYOUT_TASK_BATCH`` payouts (``payouts_execute``; ``payout_execute`` is the batch of one) claims them again
with a lease, re-checks their holds under the locks and decides their amounts in one transaction, then creates
one Transfer per payout, each with its own key ``<namespace>:payout-<id>``, and records them in one more.
A worker dying between Stripe and the database leaves the row ``processing`` with
a lapsed lease: the next release run hands it to a task again, whose call with the same key gets Stripe's
first answer. Past Stripe's 24-hour key window the transfer is first looked for in the booking's
``transfer_group`` and adopted.
"""

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, Protocol

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.services import BookingError, booking_complete
from marketplace.audit import audit_entry, audit_record
from marketplace.enqueue import enqueue_after_commit
from marketplace.models import AuditEntry, User
from marketplace.rows import columns, instance_from_row
from notifications.services import admin_alert, notification_queue, notification_queue_many
from payments import gateway
from payments.models import DebtRecovery, Dispute, Payment, Payout, PayoutReversal, Refund
from payments.namespace import booking_transfer_group, our_metadata
from payments.retries import CLAIM_LEASE, IDEMPOTENCY_WINDOW, backoff
from providers.models import Provider

logger = logging.getLogger(__name__)

PS = Payout.Status
PAYOUT_MOVES: dict[str, set[str]] = {
    PS.SCHEDULED: {PS.ON_HOLD, PS.PROCESSING, PS.CANCELLED},
    PS.ON_HOLD: {PS.SCHEDULED, PS.PROCESSING, PS.CANCELLED},
    PS.PROCESSING: {PS.PAID, PS.RETRYING, PS.ON_HOLD, PS.FAILED, PS.CANCELLED},
    PS.RETRYING: {PS.PROCESSING, PS.ON_HOLD, PS.FAILED, PS.CANCELLED},
    # Staff retry a failed payout once its cause is fixed.
    PS.FAILED: {PS.SCHEDULED, PS.CANCELLED},
    PS.PAID: {PS.PARTIALLY_REVERSED, PS.REVERSED},
    PS.PARTIALLY_REVERSED: {PS.REVERSED},
    PS.REVERSED: set(),
    PS.CANCELLED: set(),
}


def _payout_set_status(payout: Payout, *, to: str, reason: str, actor: User | None = None) -> None:
    """Move a locked payout to ``to`` with an audit entry (the caller saves with ``update_fields``);
    refuse moves the state machine does not allow."""
    entry = _payout_move(payout, to=to, reason=reason, actor=actor)
    if entry is not None:
        entry.save(force_insert=True)


def _payout_move(payout: Payout, *, to: str, reason: str, actor: User | None = None) -> AuditEntry | None:
    """``_payout_set_status`` with its audit entry returned unsaved (None when nothing moved), for a batch
    to write with one ``bulk_create``."""
    from_status = payout.status
    if from_status == to:
        return None
    if to not in PAYOUT_MOVES[from_status]:
        raise ValueError(f"payout {payout.pk} cannot move from {from_status} to {to}")
    payout.status = to
    return audit_entry(
        subject=payout,
        action=f"payout.{to}",
        actor=actor,
        from_status=from_status,
        to_status=to,
        reason=reason,
    )


# --- How much, and whether it may go -------------------------------------------------------------------


def provider_share(*, booking: "Booking | _Priced", kept: int) -> int:
    """The provider's part of ``kept`` minor units of the booking's price, split by the booking's frozen fee
    (``provider_amount / price_amount``), rounded half up; the platform keeps the rest, so provider +
    platform + refunds always add up to what was charged, to the cent."""
    if kept <= 0 or booking.price_amount == 0:
        return 0
    kept = min(kept, booking.price_amount)
    return (2 * kept * booking.provider_amount + booking.price_amount) // (2 * booking.price_amount)


def _total(rows: QuerySet, amount: Any, *, of: str) -> Coalesce:
    """The sum of ``amount`` over ``rows`` of one ``of`` (a foreign key to the outer row), 0 for none: a
    subquery, so several totals come back in one statement (each is a round trip per payout otherwise)."""
    summed = rows.filter(**{of: OuterRef("pk")}).order_by().values(of).annotate(total=Sum(amount))
    return Coalesce(Subquery(summed.values("total")), 0)


def _kept_on(payment: Payment) -> int:
    """What the platform still holds of ``payment``: its amount minus refunds requested, under way or done,
    and minus what the client's bank took back in a chargeback (and has not given back)."""
    refunded, withdrawn = (
        Payment.objects.filter(pk=payment.pk)
        .values_list(
            _total(Refund.objects.filter(status__in=Refund.COMMITTED_STATUSES), "amount", of="payment"),
            _total(Dispute.objects.all(), F("funds_withdrawn") - F("funds_reinstated"), of="payment"),
        )
        .get()
    )
    return max(payment.amount - refunded - max(withdrawn, 0), 0)


def provider_owed(booking: Booking) -> int:
    """The provider's share of what the platform keeps of ``booking`` now (0 when nothing was paid)."""
    return providers_owed([booking])[booking.pk]


def provider_paid(booking: Booking) -> int:
    """What ``booking``'s provider has received or is committed to keep: transferred payouts (a share kept
    back to repay their debt counts as received) less every reversal, done, on its way, or owed."""
    return providers_paid([booking.pk])[booking.pk]


# The two money totals below are written out: every payout batch runs each twice, and Django's compiler took
# about 2 ms of CPU per statement for their correlated subqueries, against 0.15 ms for the statement itself
# (docs/benchmarks.md). tests/payments/test_payout_totals.py holds them to the ORM's answers.
_OWED_SQL = f"""
SELECT DISTINCT ON (p.booking_id) p.booking_id, p.amount,
  (SELECT coalesce(sum(r.amount), 0) FROM {Refund._meta.db_table} r
    WHERE r.payment_id = p.id AND r.status = ANY(%(committed)s)),
  (SELECT coalesce(sum(d.funds_withdrawn - d.funds_reinstated), 0) FROM {Dispute._meta.db_table} d
    WHERE d.payment_id = p.id)
FROM {Payment._meta.db_table} p
WHERE p.booking_id = ANY(%(bookings)s) AND p.status = ANY(%(paid)s)
ORDER BY p.booking_id, p.paid_at, p.id
"""  # noqa: S608 - table names from the models, values as parameters

_PAID_SQL = f"""
SELECT b.id,
  (SELECT coalesce(sum(o.amount), 0) FROM {Payout._meta.db_table} o
    WHERE o.booking_id = b.id AND o.status = ANY(%(transferred)s)),
  (SELECT coalesce(sum(v.amount), 0) FROM {PayoutReversal._meta.db_table} v WHERE v.booking_id = b.id)
FROM {Booking._meta.db_table} b
WHERE b.id = ANY(%(bookings)s)
"""  # noqa: S608 - table names from the models, values as parameters


class _Priced(Protocol):
    """What ``provider_share`` reads of a booking: a ``Booking``, or its locked row's money columns."""

    @property
    def pk(self) -> Any: ...

    @property
    def price_amount(self) -> int: ...

    @property
    def provider_amount(self) -> int: ...


def providers_owed(bookings: Iterable[_Priced]) -> dict[int, int]:
    """``provider_owed`` of each booking, by booking id, in one statement: each booking's first paid payment
    (``_booking_payment``) with its refunds and chargebacks summed."""
    by_pk = {booking.pk: booking for booking in bookings}
    owed = dict.fromkeys(by_pk, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            _OWED_SQL,
            {
                "bookings": list(by_pk),
                "paid": list(Payment.PAID_STATUSES),
                "committed": list(Refund.COMMITTED_STATUSES),
            },
        )
        rows = cursor.fetchall()
    for booking_id, amount, refunded, withdrawn in rows:
        kept = max(amount - refunded - max(withdrawn, 0), 0)
        owed[booking_id] = provider_share(booking=by_pk[booking_id], kept=kept)
    return owed


def providers_paid(booking_ids: Iterable[int]) -> dict[int, int]:
    """``provider_paid`` of each booking, by booking id, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            _PAID_SQL,
            {"bookings": list(booking_ids), "transferred": list(Payout.TRANSFERRED_STATUSES)},
        )
        return {pk: transferred - reversed_ for pk, transferred, reversed_ in cursor.fetchall()}


def _booking_payment(booking: Booking) -> Payment | None:
    # The first paid attempt is the one that confirmed the booking; later ones were refunded as duplicates.
    return booking.payments.filter(status__in=Payment.PAID_STATUSES).order_by("paid_at", "pk").first()


def provider_payout_blocker(provider: Provider) -> str:
    """Why ``provider`` cannot receive a transfer now, in their words, or "" when they can (the reason
    stored at every read of their Stripe account, ``payments.connect``)."""
    if provider.can_receive_payouts:
        return ""
    return provider.payouts_blocked_reason or "Waiting for you to finish payout setup."


def _payout_waiting_for_setup_notify(payout: Payout, *, reason: str) -> None:
    """Tell the provider once per payout that it is due but waits for their Stripe onboarding."""
    notification_queue(
        key=f"payout-waiting-setup-{payout.pk}",
        recipient=payout.provider.user,
        template="notifications/payout_waiting_onboarding.txt",
        context={
            "booking": payout.booking,
            "payout": payout,
            "reason": reason,
            "action_url": settings.SITE_URL + reverse("payments:connect_setup"),
            "action_label": "Finish payout setup",
        },
    )


def _payout_blocker(payout: Payout, *, disputed: set[int]) -> str:
    """Why ``payout`` may not go now, or "". ``disputed``: the ids of its batch's bookings with an open
    dispute (``_disputed_bookings``)."""
    if payout.is_held:
        return payout.held_note or "Held by our team while something is checked."
    if payout.booking_id in disputed:
        return "Held while a problem with this session is looked into."
    return provider_payout_blocker(payout.provider)


def _disputed_bookings(payouts: Iterable[Payout]) -> set[int]:
    """The bookings of ``payouts`` with an open dispute, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            _OPEN_DISPUTES_SQL, [sorted({payout.booking_id for payout in payouts}), Dispute.Status.OPEN]
        )
        return {booking_id for (booking_id,) in cursor.fetchall()}


# --- Completion and scheduling -------------------------------------------------------------------------


def session_complete(
    *, booking_id: int, actor: User | None, reason: str = "", now: datetime | None = None
) -> tuple[Booking, Payout | None]:
    """Mark a confirmed session completed (its provider, staff, or the auto-complete job) and schedule the
    provider's payout, due ``PAYOUT_HOLD_HOURS`` later. Refused before the session starts. Idempotent: an
    already completed booking keeps its one payout."""
    now = now or timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        booking = booking_complete(
            booking_id=booking.pk, actor=actor, reason=reason or "session completed", now=now
        )
        payout = payout_schedule(booking=booking, due_at=now + timedelta(hours=settings.PAYOUT_HOLD_HOURS))
        notification_queue(
            key=f"session-completed-client-{booking.pk}",
            recipient=booking.client,
            template="notifications/session_completed_client.txt",
            context={
                "booking": booking,
                "report_until": payout.due_at if payout else None,
                "booking_url": settings.SITE_URL + reverse("bookings:detail", args=[booking.reference]),
            },
        )
    return booking, payout


def payout_schedule(*, booking: Booking, due_at: datetime) -> Payout | None:
    """Create the payout of the provider's share of what the platform kept of ``booking`` (locked by the
    caller), due at ``due_at``. Idempotent: a booking has at most one payout. None when nothing is owed."""
    existing = Payout.objects.filter(booking=booking).first()
    if existing is not None:
        return existing
    payment = _booking_payment(booking)
    if payment is None:
        return None
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    amount = provider_share(booking=booking, kept=_kept_on(payment))
    if amount <= 0:
        return None
    payout = Payout.objects.create(
        booking=booking,
        provider_id=booking.provider_id,
        payment=payment,
        amount=amount,
        currency=booking.currency,
        due_at=due_at,
    )
    audit_record(
        subject=payout,
        action="payout.scheduled",
        to_status=payout.status,
        reason=f"booking {booking.reference}",
        data={"amount": amount, "due_at": due_at.isoformat()},
    )
    return payout


def payout_schedule_again(*, booking: Booking) -> Payout | None:
    """After a chargeback the client's bank decided for us, the provider is owed their share again: when it
    was already taken back, a second payout for the difference is due now (the caller holds the booking's
    lock). None when nothing is owed or a payout that has not gone yet, or is on its way, will carry it."""
    owed = provider_owed(booking) - provider_paid(booking)
    # A payout on its way (``processing``) is not counted as paid yet, but it will carry the share: a second
    # one decided beside it would send the share twice.
    on_its_way = (*Payout.RELEASABLE_STATUSES, Payout.Status.PROCESSING)
    if owed <= 0 or booking.payouts.filter(status__in=on_its_way).exists():
        return None
    last = booking.payouts.order_by("-sequence").first()
    if last is None:
        return None  # never scheduled (not completed yet): completion will schedule it
    payout = Payout.objects.create(
        booking=booking,
        sequence=last.sequence + 1,
        provider_id=booking.provider_id,
        payment=last.payment,
        amount=owed,
        currency=booking.currency,
        due_at=timezone.now(),
    )
    audit_record(
        subject=payout,
        action="payout.scheduled",
        to_status=payout.status,
        reason="owed again after a dispute the bank decided for us",
        data={"amount": owed},
    )
    return payout


def sessions_auto_complete(*, now: datetime | None = None) -> int:
    """Complete confirmed sessions that ended more than ``AUTO_COMPLETE_HOURS`` ago (beat, and
    ``manage.py auto_complete_sessions``). Safe to run twice or concurrently. Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.AUTO_COMPLETE_HOURS)
    ids = list(
        Booking.objects.filter(status=Booking.Status.CONFIRMED, end_at__lte=cutoff)
        .order_by("end_at")
        .values_list("pk", flat=True)[:1000]
    )
    done = 0
    for pk in ids:
        try:
            session_complete(
                booking_id=pk,
                actor=None,
                reason=f"completed automatically {settings.AUTO_COMPLETE_HOURS} h after its end",
                now=now,
            )
        except BookingError as error:  # cancelled or completed by someone else since the query
            logger.info("auto-complete skipped booking %s: %s", pk, error)
            continue
        done += 1
    return done


# --- Release ---------------------------------------------------------------------------------------------


@dataclass
class ReleaseSummary:
    sent: int = 0  # handed to a task to transfer
    waiting: int = 0  # due, but on hold (reason stored on the row)


def payouts_release(
    *, now: datetime | None = None, on_progress: Callable[[ReleaseSummary], None] | None = None
) -> ReleaseSummary:
    """Hand every due payout that may go to a transfer task; mark the others ``on_hold`` with their reason.
    Also re-hands payouts whose task died (``processing`` with a lapsed lease). Runs in batches, each its own
    transaction with ``skip_locked``, so two runs share the work instead of doing it twice. The payouts that
    go are handed out ``PAYOUT_TASK_BATCH`` to a task (``payout_execute_batch_task``)."""
    from payments.tasks import payout_execute_batch_task

    now = now or timezone.now()
    summary = ReleaseSummary()
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = _payouts_releasable(after=last_pk, now=now)
            if not batch:
                break
            disputed = _disputed_bookings(batch)
            to_send: list[int] = []
            released: list[Payout] = []
            entries: list[AuditEntry] = []
            for payout in batch:
                last_pk = payout.pk
                if payout.status == Payout.Status.PROCESSING:
                    to_send.append(payout.pk)
                    continue
                blocker = _payout_blocker(payout, disputed=disputed)
                if blocker:
                    if payout.status != Payout.Status.ON_HOLD or payout.hold_reason != blocker:
                        _payout_set_status(payout, to=Payout.Status.ON_HOLD, reason=blocker)
                        payout.hold_reason = blocker
                        payout.save(update_fields=["status", "hold_reason", "updated_at"])
                        if blocker == provider_payout_blocker(payout.provider):
                            _payout_waiting_for_setup_notify(payout, reason=blocker)
                    summary.waiting += 1
                    continue
                entry = _payout_move(payout, to=Payout.Status.PROCESSING, reason="released")
                if entry is not None:
                    entries.append(entry)
                payout.hold_reason = ""
                payout.next_attempt_at = now
                payout.updated_at = timezone.now()  # as save() would; _payouts_update_each does not
                released.append(payout)
                to_send.append(payout.pk)
            # Each row is updated once in this transaction (see payouts_execute for why that matters).
            _payouts_update_each(released, ["status", "hold_reason", "next_attempt_at", "updated_at"])
            AuditEntry.objects.bulk_create(entries)
            size = max(settings.PAYOUT_TASK_BATCH, 1)
            for start in range(0, len(to_send), size):
                enqueue_after_commit(payout_execute_batch_task, payout_ids=to_send[start : start + size])
            summary.sent += len(to_send)
        if on_progress is not None:
            on_progress(summary)
    return summary


def payout_execute(*, payout_id: int, now: datetime | None = None) -> None:
    """Transfer one released payout: ``payouts_execute`` of a batch of one (the same code path)."""
    payouts_execute(payout_ids=[payout_id], now=now)


# Stop calling Stripe for the rest of a batch once this much of the claim's lease is spent: each payout's call
# must be made while its lease holds, and the rest are handed back (``_payouts_give_back``).
LEASE_BUDGET = CLAIM_LEASE / 2


@dataclass
class _Send:
    """A payout decided and ready for its one Stripe call (its row committed, no lock held)."""

    payout: Payout
    charge_id: str | None


def payouts_execute(*, payout_ids: Sequence[int], now: datetime | None = None) -> None:
    """Transfer released payouts, many in a constant number of statements. For each the same as one at a
    time: claimed with a lease (a repeated or concurrent run finds it claimed or done), its holds re-checked
    and its amount decided under the locks of booking, payment and payout just before the call, one Stripe
    call with its own key ``payout-<id>`` (never under a lock), and the answer recorded after. Past Stripe's
    key window the transfer is looked for first.

    The statements: one claim (``UPDATE ... RETURNING``); one transaction that locks all the batch's rows in
    the fixed order, each kind ``ORDER BY pk``, reads the open disputes, the money totals and the debts for
    all bookings at once and writes every decision with one ``UPDATE``; the calls; one transaction that
    records every transfer (``payout_apply_transfers``). Rare cases (a hold, a refund since scheduling, a debt
    to net, a failed call) take their own statements per payout, as before."""
    now = now or timezone.now()
    started = time.monotonic()
    claimed = _payouts_claim(payout_ids, now=now)
    # Two payouts of one booking (a second one scheduled after a chargeback) are decided one after the
    # other, each seeing what the one before sent: a booking appears once per round.
    while claimed:
        round_: list[tuple[int, int, int]] = []
        later: list[tuple[int, int, int]] = []
        seen: set[int] = set()
        for row in claimed:
            (later if row[1] in seen else round_).append(row)
            seen.add(row[1])
        _payouts_execute_claimed(round_, now=now, started=started)
        claimed = later


def _payouts_claim(payout_ids: Sequence[int], *, now: datetime) -> list[tuple[int, int, int]]:
    """Claim the released payouts among ``payout_ids`` whose lease is free, in one statement and its own
    transaction: ``(payout id, booking id, payment id)`` of each claimed, by payout id.

    The claim commits on its own. Folding it into the transaction that decides would save a commit, but a
    row updated twice in one transaction has its foreign keys checked again at commit (Django's are
    deferred), and that check takes a share lock on the provider's row: the payout would wait for anyone
    booking that provider (booking_create locks it), as test_payouts shows. So every payout row is updated
    at most once per transaction below, too (``_payouts_update_each``)."""
    table = Payout._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_attempt_at = %s, attempts = attempts + 1, "  # noqa: S608 (our table name)
            "first_attempt_at = COALESCE(first_attempt_at, %s) "
            "WHERE id = ANY(%s) AND status = %s AND next_attempt_at <= %s "
            "RETURNING id, booking_id, payment_id",
            [now + CLAIM_LEASE, now, list(payout_ids), Payout.Status.PROCESSING, now],
        )
        return sorted(cursor.fetchall())


def _payouts_execute_claimed(claimed: list[tuple[int, int, int]], *, now: datetime, started: float) -> None:
    sends = _payouts_decide(claimed, now=now)
    transfers: list[tuple[int, gateway.Transfer]] = []
    temporary: list[tuple[int, gateway.GatewayError]] = []
    rejected: list[tuple[int, gateway.GatewayError]] = []
    given_back: list[int] = []
    try:
        for index, send in enumerate(sends):
            if index and time.monotonic() - started > LEASE_BUDGET.total_seconds():
                given_back = [later.payout.pk for later in sends[index:]]
                break
            payout = send.payout
            try:
                assert payout.first_attempt_at is not None  # set by the claim
                found = (
                    payout_find_at_stripe(payout)
                    if payout.first_attempt_at <= now - IDEMPOTENCY_WINDOW
                    else None
                )
                transfer = found or gateway.transfer_create(
                    amount=payout.transfer_amount,
                    currency=payout.currency,
                    destination=payout.destination_account_id,
                    source_transaction=send.charge_id,
                    transfer_group=booking_transfer_group(payout.booking_id),
                    metadata=our_metadata(payout_id=str(payout.pk), booking_id=str(payout.booking_id)),
                    idempotency_key=payout.idempotency_key,
                )
            except gateway.GatewayTemporaryError as error:
                temporary.append((payout.pk, error))
                continue
            except gateway.GatewayRejectedError as error:
                rejected.append((payout.pk, error))
                continue
            transfers.append((payout.pk, transfer))
    finally:
        # Whatever stopped the loop, what Stripe answered is recorded (a payout left out is re-driven when its
        # lease lapses, and its call with the same key gets Stripe's first answer).
        if transfers:
            payout_apply_transfers(transfers)
        for payout_id, failure in temporary:
            _payout_retry_later(payout_id=payout_id, error=failure, now=now)
        for payout_id, failure in rejected:
            _payout_rejected(payout_id=payout_id, error=failure)
        if given_back:
            _payouts_give_back(given_back)


# The locks and reads of a batch, written out: each ran once per batch through the ORM for 1.5 to 3 ms of CPU
# (the compiler, and model instances nobody needed), against 0.15 ms for the statement (docs/benchmarks.md).
# Locks are taken in the fixed order (bookings, payments, payouts, each by id) whatever the caller.


class _BookingMoney(NamedTuple):
    """A locked booking's money columns: what ``provider_share`` reads."""

    pk: int
    price_amount: int
    provider_amount: int


_LOCK_BOOKINGS_SQL = f"""
SELECT id, price_amount, provider_amount FROM {Booking._meta.db_table}
WHERE id = ANY(%s) ORDER BY id FOR UPDATE
"""  # noqa: S608 - the table name from the model, values as parameters

_LOCK_PAYMENTS_SQL = f"""
SELECT id, charge_id FROM {Payment._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE
"""  # noqa: S608 - the table name from the model, values as parameters

# What a batch reads of each payout's provider: whether they can receive transfers, and why not.
_PROVIDER_PAYOUT_FIELDS = (
    "id",
    "user_id",
    "stripe_account_id",
    "stripe_transfers_capability",
    "payouts_blocked_reason",
)

# Only the payout's row is locked (``OF o``): locking the provider's too would make every payout of one
# provider wait for the others' transactions in turn.
_LOCK_PAYOUTS_SQL = f"""
SELECT {columns(Payout, "o")}, {columns(Provider, "p", _PROVIDER_PAYOUT_FIELDS)}
FROM {Payout._meta.db_table} o JOIN {Provider._meta.db_table} p ON p.id = o.provider_id
WHERE o.id = ANY(%s) ORDER BY o.id FOR UPDATE OF o
"""  # noqa: S608 - names from the models, values as parameters

_OPEN_DISPUTES_SQL = f"""
SELECT DISTINCT booking_id FROM {Dispute._meta.db_table} WHERE booking_id = ANY(%s) AND status = %s
"""  # noqa: S608 - the table name from the model, values as parameters

_OWING_SQL = f"""
SELECT DISTINCT provider_id FROM {PayoutReversal._meta.db_table}
WHERE provider_id = ANY(%s) AND status = %s AND recovered < amount
"""  # noqa: S608 - the table name from the model, values as parameters


def _bookings_lock(booking_ids: Iterable[int]) -> dict[int, _BookingMoney]:
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_BOOKINGS_SQL, [sorted(booking_ids)])
        return {row[0]: _BookingMoney(*row) for row in cursor.fetchall()}


def _payments_lock(payment_ids: Iterable[int]) -> dict[int, str | None]:
    """Lock the payments; each one's charge id, by payment id."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_PAYMENTS_SQL, [sorted(payment_ids)])
        return dict(cursor.fetchall())


def _payouts_lock(payout_ids: Iterable[int]) -> list[Payout]:
    """Lock the payouts; each with its provider (the fields ``_PROVIDER_PAYOUT_FIELDS``; the rest load if
    read), by id."""
    return _payouts_with_provider(_LOCK_PAYOUTS_SQL, [sorted(payout_ids)])


# Due payouts that may go to a transfer, and payouts whose transfer task died (``processing`` with a lapsed
# lease), 500 at a time after ``after``, skipping rows another release run holds.
_RELEASABLE_SQL = f"""
SELECT {columns(Payout, "o")}, {columns(Provider, "p", _PROVIDER_PAYOUT_FIELDS)}
FROM {Payout._meta.db_table} o JOIN {Provider._meta.db_table} p ON p.id = o.provider_id
WHERE o.id > %(after)s AND (
  (o.status = ANY(%(releasable)s) AND o.due_at <= %(now)s
   AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= %(now)s))
  OR (o.status = %(processing)s AND o.next_attempt_at <= %(now)s))
ORDER BY o.id LIMIT 500 FOR UPDATE OF o SKIP LOCKED
"""  # noqa: S608 - names from the models, values as parameters


def _payouts_releasable(*, after: int, now: datetime) -> list[Payout]:
    return _payouts_with_provider(
        _RELEASABLE_SQL,
        {
            "after": after,
            "now": now,
            "releasable": list(Payout.RELEASABLE_STATUSES),
            "processing": Payout.Status.PROCESSING,
        },
    )


def _payouts_with_provider(sql: str, params: Any) -> list[Payout]:
    width = len(Payout._meta.concrete_fields)
    payouts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for row in rows:
        payout = instance_from_row(Payout, row[:width])
        provider = instance_from_row(Provider, row[width:], _PROVIDER_PAYOUT_FIELDS)
        Payout.provider.field.set_cached_value(payout, provider)
        payouts.append(payout)
    return payouts


def _providers_owing(provider_ids: set[int]) -> set[int]:
    """Of ``provider_ids``, those who owe from a refused reversal (``_payout_net_debt`` repays it)."""
    if not provider_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(_OWING_SQL, [sorted(provider_ids), PayoutReversal.Status.OWED])
        return {provider_id for (provider_id,) in cursor.fetchall()}


def _payouts_decide(claimed: list[tuple[int, int, int]], *, now: datetime) -> list[_Send]:
    """Lock the claimed payouts (booking, payment, payout, each kind by pk), re-check their holds and decide
    their amounts; commit the decisions. Returns the payouts to send, by pk."""
    sends: list[_Send] = []
    with transaction.atomic():
        bookings = _bookings_lock({booking_id for _, booking_id, _ in claimed})
        charges = _payments_lock({payment_id for _, _, payment_id in claimed})
        payouts = [
            payout
            for payout in _payouts_lock([payout_id for payout_id, _, _ in claimed])
            if payout.status == Payout.Status.PROCESSING
        ]
        if not payouts:
            return sends
        disputed = _disputed_bookings(payouts)
        paid = providers_paid(bookings)
        owed = providers_owed(bookings.values())
        first_attempts = [payout for payout in payouts if payout.attempts == 1]
        owing = _providers_owing({payout.provider_id for payout in first_attempts})
        decided: list[Payout] = []
        for payout in payouts:
            booking = bookings[payout.booking_id]
            blocker = _payout_blocker(payout, disputed=disputed)
            # The share still owed: what the booking's provider should keep, less what its other payouts sent.
            others = paid[booking.pk] - (
                payout.amount - payout.amount_reversed if payout.status in Payout.TRANSFERRED_STATUSES else 0
            )
            amount = owed[booking.pk] - others
            if blocker:
                _payout_set_status(payout, to=Payout.Status.ON_HOLD, reason=blocker)
                payout.hold_reason = blocker
                payout.next_attempt_at = None
                payout.save(update_fields=["status", "hold_reason", "next_attempt_at", "updated_at"])
                continue
            if amount <= 0:
                _payout_set_status(payout, to=Payout.Status.CANCELLED, reason="everything was refunded")
                payout.next_attempt_at = None
                payout.save(update_fields=["status", "next_attempt_at", "updated_at"])
                continue
            if payout.attempts == 1:
                # Decided once, before the first call; never changed after it, since that would change the
                # call its idempotency key stands for.
                if amount != payout.amount:
                    # A refund since scheduling: the provider is owed their share of what is left.
                    audit_record(
                        subject=payout,
                        action="payout.amount",
                        reason="refund since scheduling",
                        data={"from": payout.amount, "to": amount},
                    )
                    payout.amount = amount
                if payout.provider_id in owing:
                    _payout_net_debt(payout)
            payout.destination_account_id = payout.provider.stripe_account_id or ""
            if payout.transfer_amount == 0:
                # All of it repaid the provider's debt: nothing to send. (Two updates of the row here, as
                # ever: rare, and only for a provider who owes.)
                payout.save(update_fields=["amount", "debt_netted", "destination_account_id", "updated_at"])
                _payout_set_status(
                    payout, to=Payout.Status.PAID, reason="all of it repaid the provider's debt"
                )
                payout.paid_at = timezone.now()
                payout.next_attempt_at = None
                payout.save(update_fields=["status", "paid_at", "next_attempt_at", "updated_at"])
                continue
            payout.updated_at = timezone.now()  # as save() would; _payouts_update_each does not
            decided.append(payout)
            # A first payout draws on its charge; a second one (after a reversed first) on the platform's
            # balance, since the charge's room for transfers was used by the first.
            charge_id = charges[payout.payment_id] if payout.sequence == 1 else None
            sends.append(_Send(payout=payout, charge_id=charge_id))
        _payouts_update_each(decided, ["amount", "debt_netted", "destination_account_id", "updated_at"])
    return sends


def _payouts_update_each(payouts: list[Payout], fields: list[str]) -> None:
    """Write ``fields`` of each of ``payouts`` (its own values) in one ``UPDATE ... FROM (VALUES ...)``: what
    ``bulk_update`` does, without its ``CASE`` expressions, whose building cost more CPU than all the rest of
    a batch's statements. Each row is updated once. ``updated_at`` is written as given (set it)."""
    if not payouts:
        return
    columns = [field for field in Payout._meta.concrete_fields if field.name in fields]
    assert len(columns) == len(fields), fields
    params: list[Any] = []
    for payout in payouts:
        params.append(payout.pk)
        params.extend(field.get_db_prep_save(getattr(payout, field.attname), connection) for field in columns)
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    sets = ", ".join(
        f'"{field.column}" = v."{field.column}"::{field.db_type(connection)}' for field in columns
    )
    names = ", ".join(["id", *(f'"{field.column}"' for field in columns)])
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{Payout._meta.db_table}" AS p SET {sets} '  # noqa: S608 (our own table and columns)
            f"FROM (VALUES {', '.join([row] * len(payouts))}) AS v({names}) WHERE p.id = v.id",
            params,
        )


def _payouts_give_back(payout_ids: list[int]) -> None:
    """Payouts claimed but not sent because the batch spent its lease budget (Stripe answering slowly): their
    lease and attempt are given back and they go to a task of their own, as if never claimed. Their decided
    amount stays (it was committed, and no call was made with it yet)."""
    from payments.tasks import payout_execute_batch_task

    logger.warning("payouts %s: lease budget spent, handed to a new task", payout_ids)
    Payout.objects.filter(pk__in=payout_ids, status=Payout.Status.PROCESSING).update(
        next_attempt_at=timezone.now(), attempts=F("attempts") - 1
    )
    enqueue_after_commit(payout_execute_batch_task, payout_ids=payout_ids)


def payout_find_at_stripe(payout: Payout) -> gateway.Transfer | None:
    """The transfer an earlier attempt of ``payout`` made, found in the booking's transfer group by our
    metadata: how a resend past Stripe's key window avoids paying twice."""
    for transfer in gateway.transfer_list_by_group(transfer_group=booking_transfer_group(payout.booking_id)):
        if transfer.metadata.get("payout_id") == str(payout.pk):
            logger.info("payout %s already exists at Stripe as %s: adopting it", payout.pk, transfer.id)
            return transfer
    return None


def payout_apply_transfer(*, payout_id: int, transfer: gateway.Transfer) -> Payout:
    """Record the transfer on the payout and mark it paid, in one transaction. Idempotent."""
    [payout] = payout_apply_transfers([(payout_id, transfer)])
    return payout


def payout_apply_transfers(applied: list[tuple[int, gateway.Transfer]]) -> list[Payout]:
    """Record each transfer on its payout and mark it paid, all in one transaction and a constant number of
    statements: locks in the fixed order, one ``UPDATE`` of the payouts, the audit entries and the "payout
    sent" messages in one insert each, and the clawback check's totals for all bookings at once. Idempotent
    per payout. Returns the payouts, in the order of ``applied``."""
    payout_ids = [payout_id for payout_id, _ in applied]
    with transaction.atomic():
        rows = _payout_parents(payout_ids)
        bookings = _bookings_lock({booking_id for booking_id, _ in rows})
        _payments_lock({payment_id for _, payment_id in rows})
        payouts = {payout.pk: payout for payout in _payouts_lock(payout_ids)}
        paid: list[Payout] = []
        entries: list[AuditEntry] = []
        for payout_id, transfer in applied:
            payout = payouts[payout_id]
            if payout.transfer_id == transfer.id:
                continue
            if payout.transfer_id is not None:
                # Two transfers for one payout would be a double payment: never record over one, shout.
                transaction.on_commit(
                    partial(
                        admin_alert,
                        subject=f"Payout {payout.pk} has a second transfer",
                        body=(
                            f"Stored {payout.transfer_id}, Stripe also has {transfer.id}. "
                            "Reverse one by hand."
                        ),
                    ),
                    robust=True,
                )
                continue
            payout.transfer_id = transfer.id
            payout.destination_account_id = transfer.destination
            payout.paid_at = timezone.now()
            payout.next_attempt_at = None
            payout.last_error = ""
            payout.hold_reason = ""
            entry = _payout_move(payout, to=Payout.Status.PAID, reason=f"transfer {transfer.id}")
            if entry is not None:
                entries.append(entry)
            payout.updated_at = payout.paid_at  # as save() would; _payouts_update_each does not
            paid.append(payout)
        if paid:
            _payouts_update_each(
                paid,
                [
                    "transfer_id",
                    "destination_account_id",
                    "paid_at",
                    "next_attempt_at",
                    "last_error",
                    "hold_reason",
                    "status",
                    "updated_at",
                ],
            )
            AuditEntry.objects.bulk_create(entries)
            _payouts_sent_notify(paid)
            # A refund or chargeback that came while a transfer was on its way: take the difference back.
            touched = [bookings[payout.booking_id] for payout in paid]
            sent = providers_paid(booking.pk for booking in touched)
            owed = providers_owed(touched)
            for booking in dict.fromkeys(touched):
                if sent[booking.pk] > owed[booking.pk]:
                    payout_clawback(booking=Booking.objects.get(pk=booking.pk))
    return [payouts[payout_id] for payout_id in payout_ids]


def _payouts_sent_notify(paid: list[Payout]) -> None:
    """Queue the "payout sent" message of each of ``paid`` (just marked paid, in the caller's transaction)."""
    bookings, recipients = _payout_sent_readers(paid)
    payouts_url = settings.SITE_URL + reverse("payments:payouts")
    notification_queue_many(
        [
            {
                "key": f"payout-sent-{payout.pk}",
                "recipient": recipients[payout.provider.user_id],
                "template": "notifications/payout_sent.txt",
                "context": {
                    "booking": bookings[payout.booking_id],
                    "payout": payout,
                    "action_url": payouts_url,
                    "action_label": "See your payouts",
                },
            }
            for payout in paid
        ]
    )


# What the "payout sent" message reads of the booking, its client and the provider's user (a field left out
# is loaded if a template comes to read it). Written out for the reason the batch's locks are.
_SENT_BOOKING_FIELDS = ("id", "client_id", "service_title", "start_at", "currency")
_SENT_USER_FIELDS = ("id", "email", "name", "timezone", "has_reminders_on", "has_tips_on")

_SENT_BOOKINGS_SQL = f"""
SELECT {columns(Booking, "b", _SENT_BOOKING_FIELDS)}, {columns(User, "c", _SENT_USER_FIELDS)}
FROM {Booking._meta.db_table} b JOIN {User._meta.db_table} c ON c.id = b.client_id
WHERE b.id = ANY(%s)
"""  # noqa: S608 - names from the models, values as parameters

_SENT_RECIPIENTS_SQL = f"""
SELECT {columns(User, "u", _SENT_USER_FIELDS)} FROM {User._meta.db_table} u WHERE u.id = ANY(%s)
"""  # noqa: S608 - names from the models, values as parameters


def _payout_sent_readers(paid: list[Payout]) -> tuple[dict[int, Booking], dict[int, User]]:
    """The bookings (with their client) and the providers' users of ``paid``, by id, in two statements."""
    width = len(_SENT_BOOKING_FIELDS)
    bookings: dict[int, Booking] = {}
    with connection.cursor() as cursor:
        cursor.execute(_SENT_BOOKINGS_SQL, [sorted({payout.booking_id for payout in paid})])
        for row in cursor.fetchall():
            booking = instance_from_row(Booking, row[:width], _SENT_BOOKING_FIELDS)
            Booking.client.field.set_cached_value(
                booking, instance_from_row(User, row[width:], _SENT_USER_FIELDS)
            )
            bookings[booking.pk] = booking
        cursor.execute(_SENT_RECIPIENTS_SQL, [sorted({payout.provider.user_id for payout in paid})])
        recipients = {
            user.pk: user
            for user in (instance_from_row(User, row, _SENT_USER_FIELDS) for row in cursor.fetchall())
        }
    return bookings, recipients


_PARENTS_SQL = f"""
SELECT booking_id, payment_id FROM {Payout._meta.db_table} WHERE id = ANY(%s)
"""  # noqa: S608 - the table name from the model, values as parameters


def _payout_parents(payout_ids: list[int]) -> list[tuple[int, int]]:
    """(booking id, payment id) of each payout: what to lock before the payouts themselves."""
    with connection.cursor() as cursor:
        cursor.execute(_PARENTS_SQL, [payout_ids])
        return cursor.fetchall()


@transaction.atomic
def _payout_retry_later(*, payout_id: int, error: Exception, now: datetime) -> None:
    payout = Payout.objects.select_for_update().get(pk=payout_id)
    if payout.status != Payout.Status.PROCESSING:
        return
    if payout.attempts >= settings.PAYOUT_MAX_ATTEMPTS:
        transaction.on_commit(
            partial(
                _payout_give_up,
                payout_id=payout_id,
                error=f"gave up after {payout.attempts} attempts: {error}",
            )
        )
        return
    _payout_set_status(payout, to=Payout.Status.RETRYING, reason=str(error))
    payout.next_attempt_at = now + backoff(payout.attempts)
    payout.last_error = str(error)[:2000]
    payout.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])


def _payout_give_up(*, payout_id: int, error: str) -> None:
    """Out of attempts: a timeout may still have made the transfer, so look before failing."""
    payout = Payout.objects.get(pk=payout_id)
    try:
        found = payout_find_at_stripe(payout)
    except gateway.GatewayError:
        found = None
    if found is not None:
        payout_apply_transfer(payout_id=payout_id, transfer=found)
        return
    _payout_failed(payout_id=payout_id, error=error)


def _payout_rejected(*, payout_id: int, error: gateway.GatewayError) -> None:
    if error.code == "balance_insufficient":
        # The platform's funds are not available yet (a payout from the balance): try again later.
        _payout_retry_later(payout_id=payout_id, error=error, now=timezone.now())
        return
    if error.code == "insufficient_capabilities_for_transfer":
        # The account lost (or never had) the transfers capability: wait for the provider, don't fail.
        with transaction.atomic():
            payout = Payout.objects.select_for_update().get(pk=payout_id)
            if payout.status != Payout.Status.PROCESSING:
                return
            reason = "Waiting for you to finish payout setup with Stripe."
            _payout_set_status(payout, to=Payout.Status.ON_HOLD, reason=str(error))
            payout.hold_reason = reason
            payout.next_attempt_at = None
            payout.last_error = str(error)[:2000]
            payout.save(
                update_fields=["status", "hold_reason", "next_attempt_at", "last_error", "updated_at"]
            )
        return
    _payout_failed(payout_id=payout_id, error=str(error))


@transaction.atomic
def _payout_failed(*, payout_id: int, error: str) -> None:
    payout = Payout.objects.select_for_update().get(pk=payout_id)
    if payout.status not in (Payout.Status.PROCESSING, Payout.Status.RETRYING):
        return
    _payout_set_status(payout, to=Payout.Status.FAILED, reason=error)
    payout.last_error = error[:2000]
    payout.next_attempt_at = None
    payout.save(update_fields=["status", "last_error", "next_attempt_at", "updated_at"])
    transaction.on_commit(
        partial(
            admin_alert,
            subject=f"Payout {payout.pk} failed",
            body=(
                f"{payout.amount} {payout.currency} to provider {payout.provider_id} for booking "
                f"{payout.booking_id}: {error}. Retry it from the Payout admin once the cause is fixed."
            ),
        ),
        robust=True,
    )


# --- Taking money back: reversals and provider debt -----------------------------------------------------


def payout_clawback(
    *, booking: Booking, refund: Refund | None = None, dispute: Dispute | None = None
) -> PayoutReversal | None:
    """If ``booking``'s provider has been paid more than their share of what the platform now keeps (a refund
    or a chargeback after the payout), write a reversal of the difference and send it after commit. The
    caller holds the booking's lock. The cause (``refund`` or ``dispute``) keys the reversal; when none is
    given (a transfer that landed after a refund) the latest refund or chargeback not yet reversed is used.
    Idempotent: a cause is reversed once. Returns the reversal, or None when nothing is owed back."""
    excess = provider_paid(booking) - provider_owed(booking)
    if excess <= 0:
        return None
    if refund is None and dispute is None:
        refund = (
            Refund.objects.filter(booking=booking, status__in=Refund.COMMITTED_STATUSES, payout_reversal=None)
            .order_by("-pk")
            .first()
        )
        if refund is None:
            dispute = (
                Dispute.objects.filter(booking=booking, funds_withdrawn__gt=0, payout_reversal=None)
                .order_by("-pk")
                .first()
            )
    if refund is None and dispute is None:
        logger.error("booking %s: provider paid %s too much with no cause to reverse for", booking.pk, excess)
        return None
    if PayoutReversal.objects.filter(Q(refund=refund) if refund else Q(dispute=dispute)).exists():
        return None
    # Newest transfer first; a reversal can take back at most what is left of one transfer at Stripe.
    payout = (
        Payout.objects.select_for_update()
        .filter(booking=booking, status__in=Payout.TRANSFERRED_STATUSES, transfer_id__isnull=False)
        .order_by("-sequence")
        .first()
    )
    if payout is None:
        return None
    pending: int = payout.reversals.aggregate(total=Coalesce(Sum("amount"), 0))["total"]
    amount = min(excess, payout.transfer_amount - pending)
    if amount <= 0:
        return None
    reversal = PayoutReversal.objects.create(
        payout=payout,
        booking=booking,
        provider_id=payout.provider_id,
        refund=refund,
        dispute=dispute if refund is None else None,
        amount=amount,
        currency=payout.currency,
        next_attempt_at=timezone.now(),
    )
    cause = f"refund {refund.pk}" if refund else f"dispute {dispute.pk if dispute else ''}"
    audit_record(
        subject=reversal,
        action="reversal.requested",
        to_status=reversal.status,
        reason=f"{cause} after payout {payout.pk}",
        data={"amount": amount},
    )
    from payments.tasks import reversal_execute_task

    enqueue_after_commit(reversal_execute_task, reversal_id=reversal.pk)
    return reversal


def reversal_execute(*, reversal_id: int, now: datetime | None = None) -> None:
    """Send one reversal to Stripe (key ``reversal-<refund id>``). Claimed with a lease like refunds; past
    Stripe's key window the transfer's reversals are read first. Stripe refusing it (the provider's account
    cannot cover it) makes it owed: netted from their next payouts, and admins are told."""
    now = now or timezone.now()
    claimed = PayoutReversal.objects.filter(
        pk=reversal_id,
        status__in=[PayoutReversal.Status.REQUESTED, PayoutReversal.Status.RETRYING],
        next_attempt_at__lte=now,
    ).update(
        next_attempt_at=now + CLAIM_LEASE,
        attempts=F("attempts") + 1,
        first_attempt_at=Coalesce(F("first_attempt_at"), now),
    )
    if not claimed:
        return
    reversal = PayoutReversal.objects.select_related("payout").get(pk=reversal_id)
    transfer_id = reversal.payout.transfer_id
    assert transfer_id is not None  # only transferred payouts are reversed
    try:
        assert reversal.first_attempt_at is not None  # set by the claim
        found = (
            reversal_find_at_stripe(reversal)
            if reversal.first_attempt_at <= now - IDEMPOTENCY_WINDOW
            else None
        )
        result = found or gateway.transfer_reversal_create(
            transfer_id=transfer_id,
            amount=reversal.amount,
            metadata=our_metadata(reversal_id=str(reversal.pk), booking_id=str(reversal.booking_id)),
            idempotency_key=reversal.idempotency_key,
        )
    except gateway.GatewayTemporaryError as error:
        _reversal_retry_later(reversal_id=reversal.pk, error=error, now=now)
        return
    except gateway.GatewayRejectedError as error:
        _reversal_owed(reversal_id=reversal.pk, error=str(error))
        return
    reversal_apply(reversal_id=reversal.pk, stripe_reversal=result)


def reversal_find_at_stripe(reversal: PayoutReversal) -> gateway.TransferReversal | None:
    transfer = gateway.transfer_retrieve(transfer_id=reversal.payout.transfer_id or "")
    for found in transfer.reversals:
        if found.metadata.get("reversal_id") == str(reversal.pk):
            return found
    return None


def reversal_apply(*, reversal_id: int, stripe_reversal: gateway.TransferReversal) -> PayoutReversal:
    """Record a reversal Stripe made, on the reversal and its payout. Idempotent."""
    with transaction.atomic():
        row = PayoutReversal.objects.only("booking_id", "payout_id").get(pk=reversal_id)
        Booking.objects.select_for_update().get(pk=row.booking_id)
        payout = Payout.objects.select_for_update().get(pk=row.payout_id)
        reversal = PayoutReversal.objects.select_for_update().get(pk=reversal_id)
        if reversal.status == PayoutReversal.Status.SUCCEEDED:
            return reversal
        from_status = reversal.status
        reversal.status = PayoutReversal.Status.SUCCEEDED
        reversal.stripe_reversal_id = stripe_reversal.id
        reversal.next_attempt_at = None
        reversal.last_error = ""
        reversal.save(
            update_fields=["status", "stripe_reversal_id", "next_attempt_at", "last_error", "updated_at"]
        )
        audit_record(
            subject=reversal,
            action="reversal.succeeded",
            from_status=from_status,
            to_status=reversal.status,
            data={"stripe_reversal_id": stripe_reversal.id},
        )
        payout.amount_reversed += reversal.amount
        to = (
            Payout.Status.REVERSED
            if payout.amount_reversed >= payout.transfer_amount
            else Payout.Status.PARTIALLY_REVERSED
        )
        _payout_set_status(payout, to=to, reason=f"reversal {reversal.pk}")
        payout.save(update_fields=["amount_reversed", "status", "updated_at"])
    return reversal


@transaction.atomic
def _reversal_retry_later(*, reversal_id: int, error: Exception, now: datetime) -> None:
    reversal = PayoutReversal.objects.select_for_update().get(pk=reversal_id)
    if reversal.status not in (PayoutReversal.Status.REQUESTED, PayoutReversal.Status.RETRYING):
        return
    if reversal.attempts >= settings.PAYOUT_MAX_ATTEMPTS:
        transaction.on_commit(
            partial(
                _reversal_give_up,
                reversal_id=reversal_id,
                error=f"gave up after {reversal.attempts} attempts: {error}",
            )
        )
        return
    reversal.status = PayoutReversal.Status.RETRYING
    reversal.next_attempt_at = now + backoff(reversal.attempts)
    reversal.last_error = str(error)[:2000]
    reversal.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])


def _reversal_give_up(*, reversal_id: int, error: str) -> None:
    reversal = PayoutReversal.objects.select_related("payout").get(pk=reversal_id)
    try:
        found = reversal_find_at_stripe(reversal)
    except gateway.GatewayError:
        found = None
    if found is not None:
        reversal_apply(reversal_id=reversal_id, stripe_reversal=found)
        return
    _reversal_owed(reversal_id=reversal_id, error=error)


@transaction.atomic
def _reversal_owed(*, reversal_id: int, error: str) -> None:
    """Stripe would not take the money back: the provider owes it. It is netted from their next payouts."""
    reversal = (
        PayoutReversal.objects.select_for_update().select_related("provider", "booking").get(pk=reversal_id)
    )
    if reversal.status not in (PayoutReversal.Status.REQUESTED, PayoutReversal.Status.RETRYING):
        return
    from_status = reversal.status
    reversal.status = PayoutReversal.Status.OWED
    reversal.next_attempt_at = None
    reversal.last_error = error[:2000]
    reversal.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])
    audit_record(
        subject=reversal,
        action="reversal.owed",
        from_status=from_status,
        to_status=reversal.status,
        reason=error,
    )
    transaction.on_commit(
        partial(
            admin_alert,
            subject=f"Provider {reversal.provider.display_name} owes {reversal.amount} {reversal.currency}",
            body=(
                f"Stripe refused to take back {reversal.amount} {reversal.currency} of payout "
                f"{reversal.payout_id} (booking {reversal.booking.reference}): {error}. The amount is "
                "recorded as owed and will be kept back from the provider's next payouts."
            ),
        ),
        robust=True,
    )


def _payout_net_debt(payout: Payout) -> None:
    """Keep back from ``payout`` (being decided, its booking locked) what its provider owes from refused
    reversals, oldest first. Serialised on the provider's row, so two payouts never repay one debt twice."""
    owing = PayoutReversal.objects.filter(
        provider_id=payout.provider_id, status=PayoutReversal.Status.OWED, recovered__lt=F("amount")
    )
    # Most providers owe nothing: look without the lock first, so their payouts do not queue on the provider's
    # row. A debt recorded after this look is repaid by their next payout; any repayment still happens under
    # the lock, on rows read again under it, so none is taken twice.
    if not owing.exists():
        return
    Provider.objects.select_for_update().get(pk=payout.provider_id)
    owed = list(owing.select_for_update().order_by("pk"))
    room = payout.amount - payout.debt_netted
    for reversal in owed:
        take = min(reversal.outstanding, room)
        if take <= 0:
            break
        DebtRecovery.objects.create(reversal=reversal, payout=payout, amount=take)
        reversal.recovered += take
        reversal.save(update_fields=["recovered", "updated_at"])
        payout.debt_netted += take
        room -= take
        audit_record(
            subject=payout,
            action="payout.debt_netted",
            reason=f"repays reversal {reversal.pk}",
            data={"amount": take},
        )


def reversals_redrive(*, now: datetime | None = None) -> int:
    """Re-enqueue reversals that are due (a lost task, a retry whose time has come)."""
    from payments.tasks import reversal_execute_task

    now = now or timezone.now()
    due = list(
        PayoutReversal.objects.filter(
            status__in=[PayoutReversal.Status.REQUESTED, PayoutReversal.Status.RETRYING],
            next_attempt_at__lte=now,
        ).values_list("pk", flat=True)[:500]
    )
    for pk in due:
        reversal_execute_task.delay(reversal_id=pk)
    return len(due)


# --- Staff actions ---------------------------------------------------------------------------------------


def payout_retry(*, payout_id: int, actor: User) -> Payout:
    """Staff: send a failed payout again. Its first attempt's time is kept, so a retry past Stripe's key
    window looks for the transfer before making one."""
    with transaction.atomic():
        payout = _lock_for_staff(payout_id)
        if payout.status != Payout.Status.FAILED:
            raise ValueError(f"Payout {payout.pk} is {payout.get_status_display().lower()}, not failed.")
        _payout_set_status(payout, to=Payout.Status.SCHEDULED, reason="retry by staff", actor=actor)
        payout.attempts = 0
        payout.next_attempt_at = None
        payout.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    return payout


def payout_hold(*, payout_id: int, actor: User | None, note: str) -> Payout:
    """Hold a payout that has not been sent: it is never transferred while held. Refused once the transfer
    has begun (``processing``) or happened."""
    with transaction.atomic():
        payout = _lock_for_staff(payout_id)
        if payout.status not in (*Payout.RELEASABLE_STATUSES, Payout.Status.FAILED):
            raise ValueError(
                f"Payout {payout.pk} is {payout.get_status_display().lower()}: too late to hold it."
            )
        payout.is_held = True
        payout.held_note = note[:255]
        reason = note or "Held by our team while something is checked."
        if payout.status != Payout.Status.ON_HOLD and payout.status != Payout.Status.FAILED:
            _payout_set_status(payout, to=Payout.Status.ON_HOLD, reason=reason, actor=actor)
        payout.hold_reason = reason
        payout.save(update_fields=["is_held", "held_note", "status", "hold_reason", "updated_at"])
        audit_record(subject=payout, action="payout.held", actor=actor, reason=reason)
    return payout


def payout_release_hold(*, payout_id: int, actor: User | None) -> Payout:
    """Lift a staff hold: the payout goes with the next release run if nothing else holds it."""
    with transaction.atomic():
        payout = _lock_for_staff(payout_id)
        if not payout.is_held:
            raise ValueError(f"Payout {payout.pk} is not held.")
        payout.is_held = False
        payout.held_note = ""
        if payout.status == Payout.Status.ON_HOLD:
            _payout_set_status(payout, to=Payout.Status.SCHEDULED, reason="hold lifted", actor=actor)
            payout.hold_reason = ""
        payout.save(update_fields=["is_held", "held_note", "status", "hold_reason", "updated_at"])
        audit_record(subject=payout, action="payout.hold_lifted", actor=actor)
    return payout


def _lock_for_staff(payout_id: int) -> Payout:
    row = Payout.objects.only("booking_id", "payment_id").get(pk=payout_id)
    Booking.objects.select_for_update().get(pk=row.booking_id)
    Payment.objects.select_for_update().get(pk=row.payment_id)
    return Payout.objects.select_for_update().get(pk=payout_id)


def payouts_make_due_now(*, provider: Provider | None = None, now: datetime | None = None) -> int:
    """Development only: move scheduled payouts' due time to now, to watch one happen without waiting the
    hold. Returns how many moved."""
    if not settings.DEBUG:
        raise RuntimeError("Moving payouts' due time is for development only (DEBUG is off).")
    rows = Payout.objects.filter(status__in=Payout.RELEASABLE_STATUSES)
    if provider is not None:
        rows = rows.filter(provider=provider)
    now = now or timezone.now()
    # A retrying payout waits for its backoff too: "due now" means both.
    return rows.update(due_at=now, next_attempt_at=None)
