"""The payout batch's two money totals are written out in SQL (``providers_owed``, ``providers_paid``) for
speed; here they are held to the same totals computed through the ORM, over bookings in every state the
money can be in: several payment attempts, refunds in each status, chargebacks withdrawn and reinstated,
payouts in each status, reversals."""

import itertools
from datetime import timedelta

import pytest
from django.db.models import F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings.models import Booking
from payments.models import Dispute, Payment, Payout, PayoutReversal, Refund
from payments.payouts import provider_share, providers_owed, providers_paid
from tests.factories import UserFactory
from tests.payments.payout_helpers import completed_sessions_in_bulk

pytestmark = pytest.mark.django_db


def _total(rows, amount, *, of: str):
    summed = rows.filter(**{of: OuterRef("pk")}).order_by().values(of).annotate(total=Sum(amount))
    return Coalesce(Subquery(summed.values("total")), 0)


def _owed_by_the_orm(bookings: list[Booking]) -> dict[int, int]:
    owed = {booking.pk: 0 for booking in bookings}
    by_pk = {booking.pk: booking for booking in bookings}
    rows = (
        Payment.objects.filter(booking_id__in=by_pk, status__in=Payment.PAID_STATUSES)
        .order_by("booking_id", "paid_at", "pk")
        .distinct("booking_id")
        .values_list(
            "booking_id",
            "amount",
            _total(Refund.objects.filter(status__in=Refund.COMMITTED_STATUSES), "amount", of="payment"),
            _total(Dispute.objects.all(), F("funds_withdrawn") - F("funds_reinstated"), of="payment"),
        )
    )
    for booking_id, amount, refunded, withdrawn in rows:
        owed[booking_id] = provider_share(
            booking=by_pk[booking_id], kept=max(amount - refunded - max(withdrawn, 0), 0)
        )
    return owed


def _paid_by_the_orm(bookings: list[Booking]) -> dict[int, int]:
    rows = Booking.objects.filter(pk__in=[b.pk for b in bookings]).values_list(
        "pk",
        _total(Payout.objects.filter(status__in=Payout.TRANSFERRED_STATUSES), "amount", of="booking"),
        _total(PayoutReversal.objects.all(), "amount", of="booking"),
    )
    return {pk: transferred - reversed_ for pk, transferred, reversed_ in rows}


@pytest.fixture
def bookings_in_every_money_state(bookable_service) -> list[Booking]:
    now = timezone.now()
    clients = [UserFactory() for _ in range(3)]
    bookings = completed_sessions_in_bulk(
        service=bookable_service,
        clients=[clients[n % 3] for n in range(24)],
        first_start=now - timedelta(days=30),
    )
    refund_states = itertools.cycle([None, *Refund.Status.values])
    payout_states = itertools.cycle(Payout.Status.values)
    for index, booking in enumerate(bookings):
        if index % 8 == 7:
            continue  # never paid: owed nothing
        payments = []
        # Some bookings were paid more than once (duplicates, refunded): the first paid attempt counts.
        for attempt, status in enumerate(
            [Payment.Status.PAID]
            if index % 3
            else [Payment.Status.FAILED, Payment.Status.REFUNDED, Payment.Status.PARTIALLY_REFUNDED],
            start=1,
        ):
            payments.append(
                Payment.objects.create(
                    booking=booking,
                    attempt=attempt,
                    status=status,
                    amount=booking.price_amount,
                    currency=booking.currency,
                    checkout_session_id=f"cs_totals_{booking.pk}_{attempt}",
                    paid_at=None if status == Payment.Status.FAILED else now - timedelta(hours=10 - attempt),
                )
            )
        payment = payments[-1]
        if (refund_status := next(refund_states)) is not None:
            Refund.objects.create(
                payment=payment,
                booking=booking,
                amount=500 + index * 37,
                currency=booking.currency,
                reason=Refund.Reason.values[0],
                status=refund_status,
            )
        if index % 4 == 1:
            Dispute.objects.create(
                booking=booking,
                payment=payment,
                opened_by=Dispute.OpenedBy.values[0],
                amount=booking.price_amount,
                currency=booking.currency,
                funds_withdrawn=booking.price_amount if index % 8 == 1 else 1200,
                funds_reinstated=0 if index % 8 == 1 else 1500,  # more back than taken: counts as none
            )
        for sequence in (1, 2) if index % 5 == 0 else (1,):
            status = next(payout_states)
            payout = Payout.objects.create(
                booking=booking,
                provider=booking.provider,
                payment=payment,
                sequence=sequence,
                amount=booking.provider_amount - 100 * sequence,
                currency=booking.currency,
                due_at=now,
                status=status,
                transfer_id=f"tr_totals_{booking.pk}_{sequence}"
                if status in Payout.TRANSFERRED_STATUSES
                else None,
            )
            if index % 3 == 0:
                cause = Refund.objects.create(
                    payment=payment,
                    booking=booking,
                    amount=300 + index,
                    currency=booking.currency,
                    reason=Refund.Reason.values[0],
                    status=Refund.Status.SUCCEEDED,
                )
                PayoutReversal.objects.create(
                    refund=cause,
                    payout=payout,
                    booking=booking,
                    provider=booking.provider,
                    amount=300 + index,
                    currency=booking.currency,
                )
    return bookings


def test_what_is_owed_is_the_orms_answer(bookings_in_every_money_state):
    bookings = bookings_in_every_money_state
    expected = _owed_by_the_orm(bookings)

    assert providers_owed(bookings) == expected
    assert len(set(expected.values())) > 5  # the data covers many different amounts
    assert 0 in expected.values()


def test_what_was_paid_is_the_orms_answer(bookings_in_every_money_state):
    bookings = bookings_in_every_money_state
    expected = _paid_by_the_orm(bookings)

    assert providers_paid(b.pk for b in bookings) == expected
    assert len(set(expected.values())) > 5
    assert any(value < 0 for value in expected.values()) or 0 in expected.values()


def test_no_bookings_no_totals():
    assert providers_owed([]) == {}
    assert providers_paid([]) == {}
