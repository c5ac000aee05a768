"""Completion and payouts: the provider's share, held for PAYOUT_HOLD_HOURS, transferred exactly once."""

import queue
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import pytest
import time_machine
from django.core import mail
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from bookings.models import Booking
from bookings.services import InvalidTransitionError
from payments.models import Payout, Refund
from payments.namespace import booking_transfer_group, stripe_key
from payments.payouts import (
    payout_hold,
    payout_release_hold,
    payout_retry,
    payouts_release,
    provider_share,
    session_complete,
    sessions_auto_complete,
)
from payments.services import booking_cancel_with_refund
from providers.models import Provider
from tests.factories import UserFactory
from tests.payments.payout_helpers import due_payouts_in_bulk, make_payable, paid_booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed(client_user, bookable_service, slot, stripe_emulator):
    return paid_booking(client_user, bookable_service, slot, stripe_emulator)


def _complete_and_pass_the_hold(booking, settings) -> tuple[Payout, timezone.datetime]:
    done_at = booking.start_at + timedelta(hours=1)
    _, payout = session_complete(booking_id=booking.pk, actor=booking.provider.user, now=done_at)
    assert payout is not None
    return payout, done_at + timedelta(hours=settings.PAYOUT_HOLD_HOURS, minutes=1)


@pytest.fixture
def release(django_capture_on_commit_callbacks):
    """Run the release job as beat would, with the transfer tasks it enqueues after commit run too."""

    def run(now):
        # Time itself moves (for the tasks, which read the clock, and the emulator too), not just an argument.
        with time_machine.travel(now, tick=True), django_capture_on_commit_callbacks(execute=True):
            return payouts_release()

    return run


def _transfers(stripe_emulator) -> list[dict]:
    return list(stripe_emulator.state()["transfers"].values())


# Amounts ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("refunded", [0, 1, 2500, 4998, 4999])
def test_the_three_parts_always_add_up_to_what_was_charged(refunded):
    booking = Booking(price_amount=4999, platform_fee_amount=500, provider_amount=4499)

    provider_part = provider_share(booking=booking, kept=4999 - refunded)
    platform_part = 4999 - refunded - provider_part

    assert provider_part + platform_part + refunded == 4999
    assert provider_part >= 0
    assert platform_part >= 0
    if refunded == 0:
        assert provider_part == 4499
    if refunded == 4999:
        assert provider_part == 0


def test_provider_share_of_a_partial_amount_is_split_by_the_frozen_fee():
    booking = Booking(price_amount=4999, platform_fee_amount=500, provider_amount=4499)

    assert provider_share(booking=booking, kept=2499) == 2249  # 2499 * 4499 / 4999 = 2249.05


# Completion ------------------------------------------------------------------------------------------------


def test_marking_complete_before_the_start_is_refused(confirmed):
    with pytest.raises(InvalidTransitionError, match="once it has started"):
        session_complete(booking_id=confirmed.pk, actor=confirmed.provider.user)

    confirmed.refresh_from_db()
    assert confirmed.status == Booking.Status.CONFIRMED
    assert not Payout.objects.exists()


def test_completing_schedules_the_providers_share_after_the_hold(confirmed, settings):
    done_at = confirmed.start_at + timedelta(minutes=70)

    booking, payout = session_complete(booking_id=confirmed.pk, actor=confirmed.provider.user, now=done_at)

    assert booking.status == Booking.Status.COMPLETED
    assert (payout.amount, payout.status) == (confirmed.provider_amount, Payout.Status.SCHEDULED)
    assert payout.due_at == done_at + timedelta(hours=settings.PAYOUT_HOLD_HOURS)
    _, same = session_complete(booking_id=confirmed.pk, actor=None, now=done_at + timedelta(hours=1))
    assert same.pk == payout.pk
    assert Payout.objects.count() == 1


def test_auto_complete_moves_only_overdue_confirmed_sessions(
    client_user, other_client_user, bookable_service, stripe_emulator, settings
):
    from tests.fixtures.bookings import first_slot

    overdue = paid_booking(client_user, bookable_service, first_slot(bookable_service), stripe_emulator)
    recent = paid_booking(
        other_client_user, bookable_service, first_slot(bookable_service, after_days=5), stripe_emulator
    )
    now = overdue.end_at + timedelta(hours=settings.AUTO_COMPLETE_HOURS, minutes=1)
    assert recent.end_at > now - timedelta(hours=settings.AUTO_COMPLETE_HOURS)

    assert sessions_auto_complete(now=now) == 1

    overdue.refresh_from_db()
    recent.refresh_from_db()
    assert overdue.status == Booking.Status.COMPLETED
    assert recent.status == Booking.Status.CONFIRMED
    assert Payout.objects.get().booking_id == overdue.pk


def test_a_late_cancellation_that_keeps_money_owes_the_provider_their_share(
    confirmed, stripe_emulator, settings
):
    settings.LATE_CANCELLATION_REFUND_PERCENT = 50
    late = confirmed.start_at - timedelta(hours=2)

    booking_cancel_with_refund(booking_id=confirmed.pk, actor=confirmed.client, by_client=True, now=late)

    payout = Payout.objects.get()
    refund = Refund.objects.get()
    kept = confirmed.price_amount - refund.amount
    assert payout.amount == provider_share(booking=confirmed, kept=kept)
    assert payout.due_at == late + timedelta(hours=settings.PAYOUT_HOLD_HOURS)


def test_a_full_refund_owes_the_provider_nothing(confirmed, stripe_emulator):
    booking_cancel_with_refund(booking_id=confirmed.pk, actor=confirmed.provider.user, by_client=False)

    assert not Payout.objects.exists()


# Release ---------------------------------------------------------------------------------------------------


def test_a_due_payout_becomes_one_transfer_to_the_provider(confirmed, stripe_emulator, settings, release):
    account = make_payable(confirmed.provider, stripe_emulator)
    payout, after_hold = _complete_and_pass_the_hold(confirmed, settings)

    assert release(after_hold - timedelta(hours=1)).sent == 0  # not due yet
    summary = release(after_hold)

    payout.refresh_from_db()
    [transfer] = _transfers(stripe_emulator)
    assert summary.sent == 1
    assert payout.status == Payout.Status.PAID
    assert payout.transfer_id == transfer["id"]
    assert transfer["amount"] == confirmed.provider_amount
    assert transfer["destination"] == account
    assert transfer["source_transaction"] == confirmed.payments.get().charge_id
    assert transfer["transfer_group"] == booking_transfer_group(confirmed.pk)
    [request] = stripe_emulator.requests(method="POST", path="/v1/transfers")
    assert request["idempotency_key"] == stripe_key(f"payout-{payout.pk}")
    provider_mail = [m.subject for m in mail.outbox if m.to == [confirmed.provider.user.email]]
    assert any("is in your Stripe account" in subject for subject in provider_mail)


def test_a_provider_without_payouts_set_up_waits_with_the_reason_shown(
    confirmed, stripe_emulator, settings, release
):
    payout, after_hold = _complete_and_pass_the_hold(confirmed, settings)

    summary = release(after_hold)

    payout.refresh_from_db()
    assert summary.waiting == 1
    assert payout.status == Payout.Status.ON_HOLD
    assert "payout" in payout.hold_reason.lower()
    assert not _transfers(stripe_emulator)

    make_payable(confirmed.provider, stripe_emulator)
    release(after_hold)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID


def test_a_held_payout_is_never_transferred_until_released(
    confirmed, stripe_emulator, settings, staff_user, release
):
    make_payable(confirmed.provider, stripe_emulator)
    payout, after_hold = _complete_and_pass_the_hold(confirmed, settings)
    payout_hold(payout_id=payout.pk, actor=staff_user, note="Client wrote to support")

    release(after_hold)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.ON_HOLD
    assert payout.hold_reason == "Client wrote to support"
    assert not _transfers(stripe_emulator)

    payout_release_hold(payout_id=payout.pk, actor=staff_user)
    release(after_hold)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID


# Exactly once ----------------------------------------------------------------------------------------------


def test_a_worker_dying_after_stripe_accepted_the_transfer_pays_once(
    confirmed, stripe_emulator, settings, monkeypatch, release
):
    make_payable(confirmed.provider, stripe_emulator)
    payout, after_hold = _complete_and_pass_the_hold(confirmed, settings)
    import payments.payouts as payouts_module

    real_apply = payouts_module.payout_apply_transfers

    def die(*args, **kwargs):
        raise SystemExit("worker killed between Stripe's answer and our commit")

    monkeypatch.setattr(payouts_module, "payout_apply_transfers", die)
    with pytest.raises(SystemExit):
        release(after_hold)
    monkeypatch.setattr(payouts_module, "payout_apply_transfers", real_apply)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PROCESSING
    assert len(_transfers(stripe_emulator)) == 1

    # The lease lapses; the next release run hands it to a task again, whose call replays Stripe's answer.
    release(after_hold + timedelta(minutes=3))

    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(_transfers(stripe_emulator)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_release_runs_at_once_pay_each_payout_once(
    client_user, bookable_service, stripe_emulator, settings
):
    from tests.fixtures.bookings import first_slot

    make_payable(bookable_service.provider, stripe_emulator)
    payouts = []
    for day in range(3, 9):
        client = UserFactory()
        booking = paid_booking(
            client, bookable_service, first_slot(bookable_service, after_days=day), stripe_emulator
        )
        payout, _ = _complete_and_pass_the_hold(booking, settings)
        payouts.append(payout)
    later = max(p.due_at for p in payouts) + timedelta(minutes=1)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            payouts_release()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run) for _ in range(2)]
    with time_machine.travel(later, tick=True):  # the tasks read the clock
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert not errors
    assert set(Payout.objects.values_list("status", flat=True)) == {Payout.Status.PAID}
    assert len(_transfers(stripe_emulator)) == len(payouts)


@pytest.mark.django_db(transaction=True)
def test_a_payout_does_not_wait_for_someone_holding_its_providers_row(
    confirmed, stripe_emulator, settings, release
):
    """Booking a session locks the provider's row (bookings serialise there). A payout of a provider who
    owes nothing must go meanwhile: it locks booking, payment and payout, never the provider."""
    make_payable(confirmed.provider, stripe_emulator)
    payout, after_hold = _complete_and_pass_the_hold(confirmed, settings)
    locked, finished = threading.Event(), threading.Event()

    def hold_the_providers_row():
        try:
            with transaction.atomic():
                Provider.objects.select_for_update().get(pk=confirmed.provider_id)
                locked.set()
                finished.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_providers_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # waiting for that lock fails instead of hanging
        release(after_hold)
    finally:
        finished.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(_transfers(stripe_emulator)) == 1


def test_a_retry_after_25_hours_adopts_the_transfer_stripe_already_made(
    confirmed, stripe_emulator, settings, release
):
    make_payable(confirmed.provider, stripe_emulator)
    payout, after_hold = _complete_and_pass_the_hold(confirmed, settings)
    settings.STRIPE_HTTP_TIMEOUT_SECONDS = 1
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    stripe_emulator.set_faults("POST /v1/transfers=timeout", delay=10)  # made at Stripe, answer lost

    release(after_hold)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.RETRYING
    stripe_emulator.clear_faults()

    stripe_emulator.age_idempotency_keys(25 * 3600)  # Stripe has forgotten the key
    a_day_later = after_hold + timedelta(hours=25)
    release(a_day_later)

    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(_transfers(stripe_emulator)) == 1


def test_a_payout_that_keeps_failing_alerts_and_staff_can_retry(
    confirmed, stripe_emulator, settings, staff_user, release
):
    settings.ADMIN_ALERT_EMAILS = ["ops@example.com"]
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.PAYOUT_MAX_ATTEMPTS = 2
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    make_payable(confirmed.provider, stripe_emulator)
    payout, after_hold = _complete_and_pass_the_hold(confirmed, settings)
    stripe_emulator.set_faults("POST /v1/transfers=503")

    release(after_hold)
    release(after_hold + timedelta(hours=1))

    payout.refresh_from_db()
    assert payout.status == Payout.Status.FAILED
    assert any(f"Payout {payout.pk} failed" in m.subject for m in mail.outbox if m.to == ["ops@example.com"])

    stripe_emulator.clear_faults()
    payout_retry(payout_id=payout.pk, actor=staff_user)
    release(after_hold + timedelta(hours=2))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(_transfers(stripe_emulator)) == 1


class _WorkerThreads:
    """Threads taking payout tasks off a queue, as several Celery workers would: transfers go side by side, so
    one whose answer is held back by a timeout does not hold up the rest."""

    def __init__(self, count: int) -> None:
        self.jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._work) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        try:
            while (job := self.jobs.get()) is not None:
                try:
                    job()
                except BaseException as error:  # reported by the fixture
                    self.errors.append(error)
                finally:
                    self.jobs.task_done()
            self.jobs.task_done()
        finally:
            connection.close()  # each thread has its own

    def stop(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()


@pytest.fixture
def worker_threads(monkeypatch):
    """Payout tasks enqueued on commit run on eight worker threads instead of inline. The "payout sent" emails
    stay queued (their rows are written; sending them is other tests' business). Other tasks run inline."""
    import marketplace.enqueue
    from notifications.tasks import notification_send_task
    from payments.tasks import payout_execute_batch_task, payout_execute_task

    workers = _WorkerThreads(8)
    send = marketplace.enqueue._send

    def route(task, kwargs):
        if task in (payout_execute_task, payout_execute_batch_task):
            workers.jobs.put(partial(task, **kwargs))
        elif task is not notification_send_task:
            send(task, kwargs)

    monkeypatch.setattr(marketplace.enqueue, "_send", route)
    yield workers
    workers.stop()
    assert not workers.errors


@pytest.mark.django_db(transaction=True)
def test_500_payouts_under_20_percent_injected_stripe_faults_are_each_paid_exactly_once(
    client_user, bookable_service, stripe_emulator, settings, worker_threads
):
    """One transfer call in ten answered 500 before Stripe does anything, one in ten made at Stripe with its
    answer lost (a timeout). No SDK retries, so every fault comes back to the payout's own retry. Each of
    500 payouts ends paid, and the emulator holds exactly one transfer per payout: the provider's share, to
    their account, from the session's charge, in the booking's transfer group."""
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_HTTP_TIMEOUT_SECONDS = 0.5
    account = make_payable(bookable_service.provider, stripe_emulator)
    now = timezone.now()
    due_payouts_in_bulk(
        client=client_user,
        service=bookable_service,
        count=500,
        ended_by=now - timedelta(days=4),
        stripe_emulator=stripe_emulator,
    )
    stripe_emulator.set_faults("POST /v1/transfers=500:0.1", "POST /v1/transfers=timeout:0.1", delay=1)

    for _ in range(10):  # release runs, each later than the last retry's backoff
        with time_machine.travel(now, tick=True):  # the tasks read the clock
            payouts_release()
            worker_threads.jobs.join()
        if not Payout.objects.exclude(status=Payout.Status.PAID).exists():
            break
        now += timedelta(hours=3)

    hits = {fault["kind"]: fault["hits"] for fault in stripe_emulator.server.fault_plan.to_list()}
    stripe_emulator.clear_faults()
    assert hits["500"] >= 25
    assert hits["timeout"] >= 25
    assert set(Payout.objects.values_list("status", flat=True)) == {Payout.Status.PAID}
    made = list(stripe_emulator.state()["transfers"].values())
    transfers = {transfer["metadata"]["payout_id"]: transfer for transfer in made}
    assert len(made) == len(transfers) == 500
    for payout in Payout.objects.select_related("booking", "payment"):
        transfer = transfers[str(payout.pk)]
        assert payout.transfer_id == transfer["id"]
        assert transfer["amount"] == payout.amount == payout.booking.provider_amount
        assert transfer["destination"] == account
        assert transfer["source_transaction"] == payout.payment.charge_id
        assert transfer["transfer_group"] == booking_transfer_group(payout.booking_id)
