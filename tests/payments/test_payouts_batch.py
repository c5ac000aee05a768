"""Payouts executed in batches (``payouts_execute``): each payout ends as the single path (``payout_execute``,
the batch of one) ends it, one transfer and one key per paid payout, in a number of SQL statements that does
not grow with the batch."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.models import AuditEntry
from notifications.models import Notification
from payments import gateway, payouts
from payments.models import DebtRecovery, Payout, PayoutReversal, Refund
from payments.namespace import stripe_key
from payments.payouts import payout_execute, payouts_execute, provider_share
from payments.retries import backoff
from tests.payments.payout_helpers import due_payouts_in_bulk, make_payable

pytestmark = pytest.mark.django_db


def _released(
    client_user, service, stripe_emulator, count: int, *, days_ago: int = 4
) -> tuple[list[Payout], timezone.datetime]:
    """``count`` payouts of one payable provider, released (``processing``, lease free) as the release job
    leaves them, and the time they were released at."""
    make_payable(service.provider, stripe_emulator)
    now = timezone.now()
    made = due_payouts_in_bulk(
        client=client_user,
        service=service,
        count=count,
        ended_by=now - timedelta(days=days_ago),
        stripe_emulator=stripe_emulator,
    )
    Payout.objects.filter(pk__in=[p.pk for p in made]).update(
        status=Payout.Status.PROCESSING, next_attempt_at=now
    )
    return sorted(made, key=lambda p: p.pk), now


def _actions(payout: Payout) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="payments.payout", object_id=str(payout.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )


@pytest.mark.parametrize("mode", ["batch", "one by one"])
def test_a_mixed_batch_ends_each_payout_as_the_single_path_does(
    mode, client_user, bookable_service, stripe_emulator, settings, monkeypatch
):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    # The last payout only lends its booking to the provider's debt (a reversal Stripe refused); not executed.
    made, now = _released(client_user, bookable_service, stripe_emulator, 8)
    plain_a, held, refunded, plain_b, failing, rejected, plain_c, debt_source = made
    Payout.objects.filter(pk=held.pk).update(is_held=True, held_note="Client wrote to support")
    refund_amount = refunded.booking.price_amount // 2
    Refund.objects.create(
        payment=refunded.payment,
        booking=refunded.booking,
        amount=refund_amount,
        currency="usd",
        reason=Refund.Reason.DISPUTE,
        status=Refund.Status.SUCCEEDED,
    )
    cause = Refund.objects.create(
        payment=debt_source.payment,
        booking=debt_source.booking,
        amount=300,
        currency="usd",
        reason=Refund.Reason.DISPUTE,
        status=Refund.Status.SUCCEEDED,
    )
    PayoutReversal.objects.create(
        refund=cause,
        payout=debt_source,
        booking=debt_source.booking,
        provider=debt_source.provider,
        amount=300,
        currency="usd",
        status=PayoutReversal.Status.OWED,
    )
    real_create = gateway.transfer_create

    def transfer_create(**kwargs):
        payout_id = kwargs["metadata"]["payout_id"]
        if payout_id == str(failing.pk):
            raise gateway.GatewayTemporaryError("Stripe is down", http_status=503)
        if payout_id == str(rejected.pk):
            raise gateway.GatewayRejectedError(
                "No such destination", code="resource_missing", http_status=400
            )
        return real_create(**kwargs)

    monkeypatch.setattr(gateway, "transfer_create", transfer_create)
    ids = [p.pk for p in made[:-1]]
    with time_machine.travel(now, tick=True):
        if mode == "batch":
            payouts_execute(payout_ids=ids, now=now)
        else:
            for payout_id in ids:
                payout_execute(payout_id=payout_id, now=now)

    for payout in made:
        payout.refresh_from_db()
    transfers = {t["metadata"]["payout_id"]: t for t in stripe_emulator.state()["transfers"].values()}
    paid = [plain_a, refunded, plain_b, plain_c]
    assert sorted(transfers) == sorted(str(p.pk) for p in paid)
    assert {p.status for p in paid} == {Payout.Status.PAID}
    for payout in paid:
        assert payout.transfer_id == transfers[str(payout.pk)]["id"]
        assert transfers[str(payout.pk)]["amount"] == payout.transfer_amount
        assert Notification.objects.filter(key=f"payout-sent-{payout.pk}").count() == 1
    requests = stripe_emulator.requests(method="POST", path="/v1/transfers")
    assert sorted(r["idempotency_key"] for r in requests) == sorted(
        stripe_key(f"payout-{p.pk}") for p in paid
    )
    # The debt is repaid by the first payout decided, in pk order.
    assert plain_a.debt_netted == 300
    assert transfers[str(plain_a.pk)]["amount"] == plain_a.amount - 300
    assert DebtRecovery.objects.get().payout_id == plain_a.pk
    assert _actions(plain_a) == ["payout.debt_netted", "payout.paid"]
    assert _actions(plain_b) == ["payout.paid"]
    # Held under the lock just before the call: never sent.
    assert (held.status, held.hold_reason, held.transfer_id) == (
        Payout.Status.ON_HOLD,
        "Client wrote to support",
        None,
    )
    assert _actions(held) == ["payout.on_hold"]
    # A refund since scheduling: the share of what is left, decided before the first call.
    kept = refunded.booking.price_amount - refund_amount
    assert refunded.amount == provider_share(booking=refunded.booking, kept=kept)
    assert _actions(refunded) == ["payout.amount", "payout.paid"]
    # A temporary failure waits for its backoff; a rejection fails.
    assert failing.status == Payout.Status.RETRYING
    assert failing.next_attempt_at == now + backoff(1)
    assert "Stripe is down" in failing.last_error
    assert rejected.status == Payout.Status.FAILED
    assert _actions(rejected) == ["payout.failed"]
    assert debt_source.status == Payout.Status.PROCESSING  # not in the batch


def test_a_batch_run_twice_pays_each_payout_once(client_user, bookable_service, stripe_emulator):
    made, now = _released(client_user, bookable_service, stripe_emulator, 4)
    ids = [p.pk for p in made]

    with time_machine.travel(now, tick=True):
        payouts_execute(payout_ids=ids, now=now)
        payouts_execute(payout_ids=ids, now=now)  # claimed or done: nothing
    with time_machine.travel(now + timedelta(minutes=3), tick=True):
        payouts_execute(payout_ids=ids, now=now + timedelta(minutes=3))  # the lease lapsed, but all are paid

    assert set(Payout.objects.values_list("status", flat=True)) == {Payout.Status.PAID}
    assert len(stripe_emulator.state()["transfers"]) == 4
    assert AuditEntry.objects.filter(action="payout.paid").count() == 4


def test_a_batch_that_spends_its_lease_budget_hands_the_rest_to_a_new_task(
    client_user, bookable_service, stripe_emulator, monkeypatch, django_capture_on_commit_callbacks
):
    made, now = _released(client_user, bookable_service, stripe_emulator, 3)
    monkeypatch.setattr(payouts, "LEASE_BUDGET", timedelta(0))  # one call per task, then give the rest back

    with time_machine.travel(now, tick=True), django_capture_on_commit_callbacks(execute=True):
        payouts_execute(payout_ids=[p.pk for p in made], now=now)

    assert set(Payout.objects.values_list("status", flat=True)) == {Payout.Status.PAID}
    assert len(stripe_emulator.state()["transfers"]) == 3
    # An attempt given back is not counted: each was claimed for its call once.
    assert set(Payout.objects.values_list("attempts", flat=True)) == {1}


def _statements(client_user, service, stripe_emulator, count: int, *, days_ago: int) -> int:
    made, now = _released(client_user, service, stripe_emulator, count, days_ago=days_ago)
    with time_machine.travel(now, tick=True), CaptureQueriesContext(connection) as queries:
        payouts_execute(payout_ids=[p.pk for p in made], now=now)
    assert Payout.objects.filter(status=Payout.Status.PAID).count() == count
    Payout.objects.update(status=Payout.Status.CANCELLED)  # out of the next count's way
    return len(queries)


def test_a_batch_of_25_plain_payouts_takes_as_many_statements_as_a_batch_of_5(
    client_user, bookable_service, stripe_emulator
):
    five = _statements(client_user, bookable_service, stripe_emulator, 5, days_ago=4)
    twenty_five = _statements(client_user, bookable_service, stripe_emulator, 25, days_ago=10)

    assert twenty_five == five
    assert five <= 30  # the claim, two transactions of about a dozen, whatever the batch size
