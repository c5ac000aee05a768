"""The ledger holds whatever happens: random histories of a few bookings, checked after every step.

A hypothesis state machine books, pays (webhooks delivered signed to the real webhook view, late, twice and
out of order), cancels (client, late client, provider), completes, flags and resolves (refund, split,
release), lets the client's bank open and close disputes, settles and fails refunds at Stripe, retries failed
refunds as staff, lets the provider cash out their Stripe balance (so a clawback can be refused and become a
debt), moves time past the payout hold and runs the beat jobs, and makes chosen Stripe calls fail (5xx, 429,
400, a crash after the work, a lost answer). Everything goes through the real services, the real stripe SDK
and the in-process emulator (``stripe_emulator`` fixture).

After every step, with Stripe answering normally again, the same check ``manage.py check_ledger`` runs
(``ledger_check``: our rows against each other, and against the emulator's objects whenever every event
Stripe sent has been delivered, since until then our rows cannot know) must find nothing, and:

* each payout made at most one transfer at Stripe, and no payout records a transfer another one records;
* no charge at Stripe was refunded more than it charged, and our refunds of a payment never exceed it;
* no task or webhook handler raised (eager tasks swallow errors into the log: the log is watched).

Sizes: ``LEDGER_STATEFUL_EXAMPLES`` sequences (CI default 6, under a minute here) of up to
``LEDGER_STATEFUL_STEPS`` steps (default 20). docs/testing.md has the long run and its figures.

Database: the services commit (tasks run on commit, as in production), so the test is transactional; each
sequence starts from empty money tables and a reset emulator, and keeps the people and the
provider's listing made once.
"""

import functools
import json
import logging
import os
import random
import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from bookings.models import Booking
from bookings.selectors import bookable_slots
from bookings.services import BookingError, booking_create
from payments import gateway
from payments.disputes import DisputeError, Outcome, dispute_open, dispute_resolution_preview, dispute_resolve
from payments.ledger import ledger_check
from payments.models import Dispute, Payment, Payout, PayoutReversal, Refund
from payments.namespace import _database_namespace
from payments.payouts import payouts_release, reversals_redrive, session_complete
from payments.services import (
    CheckoutError,
    booking_cancel_with_refund,
    checkout_start,
    checkouts_sweep,
    payment_sync_from_session,
    refund_retry,
    refunds_redrive,
    webhook_events_redrive,
)
from stripe_emulator.faults import parse_fault
from stripe_emulator.wire import StripeApiError
from tests.factories import ServiceFactory, StaffFactory, UserFactory
from tests.fixtures.stripe import sign_webhook
from tests.payments.payout_helpers import make_payable

EXAMPLES = int(os.environ.get("LEDGER_STATEFUL_EXAMPLES", "6"))
STEPS = int(os.environ.get("LEDGER_STATEFUL_STEPS", "20"))
# A long run writes how far it got here after every sequence (a run stopped early still has its figures).
PROGRESS_FILE = os.environ.get("LEDGER_STATEFUL_PROGRESS", "")
MAX_BOOKINGS = 3
# How far along the money path a sequence's first bookings start.
STAGES = ("pending", "paid", "confirmed", "completed", "paid out")

# A step may be refused: a person, a rule or Stripe says no, or Stripe is unreachable. Anything else is a bug.
REFUSALS = (BookingError, DisputeError, CheckoutError, gateway.GatewayError, StripeApiError)

# The money tables a sequence starts without; people, providers and services are made once per test.
RESET_APPS = ("bookings", "payments", "notifications")

# One injected failure each, on the calls that move money or read what the services act on.
FAULTS = (
    "POST /v1/transfers=500x1",
    "POST /v1/transfers=429x1",
    "POST /v1/transfers=400x1",
    "POST /v1/transfers=crashx1",
    "POST /v1/transfers=timeoutx1",
    "POST /v1/refunds=500x1",
    "POST /v1/refunds=429x1",
    "POST /v1/refunds=400x1",
    "POST /v1/refunds=crashx1",
    "POST /v1/refunds=timeoutx1",
    "POST /v1/transfers/*/reversals=500x1",
    "POST /v1/transfers/*/reversals=400x1",
    "POST /v1/transfers/*/reversals=crashx1",
    "POST /v1/checkout/sessions=503x1",
    "GET /v1/checkout/sessions/*=500x1",
    "GET /v1/refunds/*=429x1",
    "GET /v1/disputes/*=500x1",
    "GET /v1/transfers=500x1",
)
# A lost answer costs the client's timeout: keep both short (the SDK retries the timeout with the same key).
CLIENT_TIMEOUT_SECONDS = 0.5
TIMEOUT_FAULT_DELAY = 0.8


class LogWatch(logging.Handler):
    """Collects what says a task or handler raised: eager Celery tasks are sent through
    ``enqueue_after_commit``, which logs a failure instead of raising it."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.crashes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info or record.name == "marketplace.enqueue" or "too much" in message:
            self.crashes.append(f"{record.name}: {message}\n{self.format(record)}")


def _empty_money_tables() -> None:
    """Delete every row of the money tables, children first (DELETE beats TRUNCATE on a few rows)."""
    tables = [
        model._meta.db_table for label in RESET_APPS for model in apps.get_app_config(label).get_models()
    ]
    tables.append(apps.get_model("marketplace", "AuditEntry")._meta.db_table)
    with connection.cursor() as cursor:
        left = list(reversed(tables))
        while left:  # a table still referenced by another not emptied yet waits for the next round
            blocked = []
            for table in left:
                try:
                    with transaction.atomic():
                        cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")  # noqa: S608
                except IntegrityError:
                    blocked.append(table)
            assert len(blocked) < len(left), f"cannot empty {blocked}"
            left = blocked
    _database_namespace.cache_clear()


# Which of the rows a step acts on: an index drawn the same way whatever the rows are, so that hypothesis
# replays a sequence with the same draws even if a row more or less exists this time.
PICK = st.integers(0, 99)


def _nth(items: list, pick: int):
    return items[pick % len(items)]


def _when_booked(step):
    """A step about one of the bookings does nothing before there is one. (Not a hypothesis precondition:
    whether a booking exists can differ between two runs of one sequence, and the steps hypothesis may choose
    must not.)"""

    @functools.wraps(step)
    def run(self, *args, **kwargs):
        if self.booking_ids:
            step(self, *args, **kwargs)

    return run


def _open_desk_disputes():
    """Open disputes staff resolve (not the bank's: Stripe decides those)."""
    return Dispute.objects.filter(status=Dispute.Status.OPEN).exclude(opened_by=Dispute.OpenedBy.STRIPE)


def _failed_refunds_to_retry():
    return Refund.objects.filter(status=Refund.Status.FAILED, retried_by__isnull=True).exclude(
        reason=Refund.Reason.EXTERNAL
    )


@pytest.fixture
def cast(bookable_provider, db):
    """Two clients, staff, and a provider with two prices (one whose fee rounds)."""
    ServiceFactory(provider=bookable_provider, title="Short lesson", price_amount=1999, duration_minutes=30)
    return {
        "clients": [UserFactory(), UserFactory()],
        "staff": StaffFactory(),
        "provider": bookable_provider,
        "services": list(bookable_provider.services.order_by("price_amount")),
    }


@pytest.mark.django_db(transaction=True)
def test_the_ledger_adds_up_after_every_step_of_random_histories(
    cast, stripe_emulator, settings, monkeypatch
):
    # What time does at Stripe by itself (sessions expire, funds become available, keys are forgotten) happens
    # when the sequence moves the clock, not whenever the emulator's clock thread wakes: a sequence replays
    # the same way, which hypothesis needs to shrink a failure.
    monkeypatch.setattr(stripe_emulator.server.state, "tick", lambda: None)
    settings.STRIPE_HTTP_TIMEOUT_SECONDS = CLIENT_TIMEOUT_SECONDS
    with connection.cursor() as cursor:
        # Thousands of small commits per run need not wait for the disk: a crash of the test database loses
        # nothing anyone needs, and every transaction still commits and is visible to the next step as before.
        cursor.execute("SET synchronous_commit TO OFF")
    watch = LogWatch()
    reached: Counter[str] = Counter()
    logging.getLogger().addHandler(watch)
    try:
        run_state_machine_as_test(
            machine_for(cast, stripe_emulator, watch, reached),
            settings=hypothesis_settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                # The suite's own size replays the same sequences on every machine, whether or not the CI
                # runner sets CI; a hunt (LEDGER_STATEFUL_EXAMPLES given, outside CI) explores new ones.
                derandomize=bool(os.environ.get("CI")) or "LEDGER_STATEFUL_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                print_blob=True,
            ),
        )
    finally:
        logging.getLogger().removeHandler(watch)
        print("\nsequences, steps and what they reached:")
        for what, count in sorted(reached.items()):
            print(f"{count:8d}  {what}")


def machine_for(cast, emulator, watch: LogWatch, reached: Counter[str]) -> type[RuleBasedStateMachine]:
    clients = cast["clients"]
    staff = cast["staff"]
    provider = cast["provider"]
    services = cast["services"]
    browser = Client()

    def stripe_clock_ticks() -> None:
        type(emulator.server.state).tick(emulator.server.state)

    started = time.monotonic()

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            _empty_money_tables()
            emulator.server.reset()
            emulator.set_webhooks(
                secret=django_settings.STRIPE_WEBHOOK_SECRET,
                connect_secret=django_settings.STRIPE_CONNECT_WEBHOOK_SECRET,
            )
            self.account_id = make_payable(provider, emulator)
            watch.crashes.clear()
            self.traveller = time_machine.travel(timezone.now(), tick=True)
            self.clock = self.traveller.start()
            self.booking_ids: list[int] = []
            self.delivered: set[str] = set()
            self.steps: list[str] = []
            reached["sequences"] += 1
            self.checks = 0

        def teardown(self) -> None:
            # The ledger is checked once before the first step, then after each.
            reached["steps"] += self.checks - 1
            if PROGRESS_FILE:
                elapsed = time.monotonic() - started
                with open(PROGRESS_FILE, "w") as progress:
                    progress.write(
                        f"{reached['sequences']} sequences, {reached['steps']} steps, {elapsed:.0f} s, "
                        f"{reached['sequences'] / elapsed * 3600:.0f} sequences/hour\n"
                    )
                    progress.writelines(f"{count:8d}  {what}\n" for what, count in sorted(reached.items()))
            # What the sequence reached (printed at the end with -s): are the deep states visited at all?
            for status in Payout.objects.values_list("status", flat=True).distinct():
                reached[f"payout reached {status}"] += 1
            for status in Refund.objects.values_list("status", flat=True).distinct():
                reached[f"refund reached {status}"] += 1
            for status in Dispute.objects.values_list("status", flat=True).distinct():
                reached[f"dispute reached {status}"] += 1
            for status in PayoutReversal.objects.values_list("status", flat=True).distinct():
                reached[f"reversal reached {status}"] += 1
            emulator.clear_faults()
            self.traveller.stop()

        # Helpers ---------------------------------------------------------------------------------------

        def _booking(self, index: int) -> Booking:
            return Booking.objects.get(pk=self.booking_ids[index % len(self.booking_ids)])

        def _payment(self, booking: Booking) -> Payment | None:
            return booking.payments.order_by("-attempt").first()

        def _try(self, what: str, action) -> None:
            """Run a step; a refusal (a person, a rule or Stripe saying no) is an outcome, not a failure."""
            try:
                action()
                self.steps.append(what)
                reached[f"done: {what}"] += 1
            except REFUSALS as error:
                self.steps.append(f"{what}: refused ({type(error).__name__}: {error})")
                reached[f"refused: {what} ({type(error).__name__})"] += 1

        def _events(self) -> list[dict]:
            state = emulator.server.state
            with state.lock:
                return list(state.events)

        def _deliver(self, event: dict) -> None:
            body = json.dumps(event).encode()
            connect = "account" in event
            secret = (
                django_settings.STRIPE_CONNECT_WEBHOOK_SECRET
                if connect
                else django_settings.STRIPE_WEBHOOK_SECRET
            )
            path = reverse("payments:stripe_connect_webhook" if connect else "payments:stripe_webhook")
            answer = browser.post(
                path,
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=sign_webhook(body, secret),
            )
            assert answer.status_code == 200, answer.content
            self.delivered.add(event["id"])

        # Clients ---------------------------------------------------------------------------------------

        @initialize(
            choices=st.lists(
                st.tuples(
                    st.integers(0, len(clients) - 1),
                    st.integers(0, len(services) - 1),
                    st.sampled_from([2, 30, 80]),
                    st.sampled_from(STAGES),
                ),
                min_size=1,
                max_size=MAX_BOOKINGS,
            )
        )
        def clients_book(self, choices: list[tuple[int, int, int, str]]) -> None:
            """Start every sequence with a few bookings taken some way along the money path by the same
            services (paid with the webhooks still on their way, confirmed by the success page, completed,
            paid out): the rules below then have money to act on, not only empty bookings."""
            for client, service, lead_hours, stage in choices:
                self.book_and_start_checkout(client, service, lead_hours)
                if stage == "pending" or not self.booking_ids:
                    continue
                index = len(self.booking_ids) - 1
                self.pay_on_stripes_page(index, "card")
                if stage == "paid":
                    continue
                self.land_on_the_success_page(index)
                if stage in ("completed", "paid out"):
                    self.complete(index)
            if any(stage == "paid out" for *_, stage in choices):
                self.time_passes(django_settings.PAYOUT_HOLD_HOURS + 1)
                self.beat_runs()

        @rule(
            client=st.integers(0, len(clients) - 1),
            service=st.integers(0, len(services) - 1),
            lead_hours=st.sampled_from([2, 30, 80]),
        )
        def book_and_start_checkout(self, client: int, service: int, lead_hours: int) -> None:
            """A client picks a slot (2 h ahead: only a late cancellation; 30 or 80 h: free to cancel)."""
            if len(self.booking_ids) >= MAX_BOOKINGS:
                return
            start = timezone.now() + timedelta(hours=lead_hours)
            slots = bookable_slots(service=services[service], start=start, end=start + timedelta(days=3))
            if not slots:
                return

            def act() -> None:
                booking = booking_create(client=clients[client], service=services[service], start_at=slots[0])
                self.booking_ids.append(booking.pk)
                checkout_start(booking_id=booking.pk)

            self._try("book", act)

        @rule(
            index=st.integers(0, MAX_BOOKINGS - 1), method=st.sampled_from(["card", "card", "declined_card"])
        )
        @_when_booked
        def pay_on_stripes_page(self, index: int, method: str) -> None:
            payment = self._payment(self._booking(index))
            if payment is None or not payment.checkout_session_id:
                return
            self._try(f"pay {method}", lambda: emulator.pay(payment.checkout_session_id, method=method))

        @rule(index=st.integers(0, MAX_BOOKINGS - 1))
        @_when_booked
        def check_out_again(self, index: int) -> None:
            """The client backs out of Stripe's page and starts again (a second session for one booking)."""
            booking = self._booking(index)
            self._try("checkout again", lambda: checkout_start(booking_id=booking.pk, restart=True))

        @rule(index=st.integers(0, MAX_BOOKINGS - 1))
        @_when_booked
        def land_on_the_success_page(self, index: int) -> None:
            payment = self._payment(self._booking(index))
            if payment is None or not payment.checkout_session_id:
                return
            self._try(
                "success page", lambda: payment_sync_from_session(session_id=payment.checkout_session_id)
            )

        @rule(index=st.integers(0, MAX_BOOKINGS - 1), by_client=st.booleans())
        @_when_booked
        def cancel(self, index: int, by_client: bool) -> None:
            booking = self._booking(index)
            actor = booking.client if by_client else provider.user
            self._try(
                f"cancel by {'client' if by_client else 'provider'}",
                lambda: booking_cancel_with_refund(booking_id=booking.pk, actor=actor, by_client=by_client),
            )

        @rule(index=st.integers(0, MAX_BOOKINGS - 1))
        @_when_booked
        def report_a_problem(self, index: int) -> None:
            booking = self._booking(index)
            self._try(
                "client reports a problem",
                lambda: dispute_open(
                    booking_id=booking.pk,
                    opened_by=Dispute.OpenedBy.CLIENT,
                    actor=booking.client,
                    reason=Dispute.Reason.QUALITY,
                ),
            )

        # Provider and staff ----------------------------------------------------------------------------

        @rule(index=st.integers(0, MAX_BOOKINGS - 1))
        @_when_booked
        def complete(self, index: int) -> None:
            """The provider marks the session done (time moves to its end first when it is still ahead)."""
            booking = self._booking(index)
            if booking.status != Booking.Status.CONFIRMED:
                return
            if timezone.now() < booking.end_at:
                self.clock.move_to(booking.end_at + timedelta(minutes=1))
                stripe_clock_ticks()
            self._try("complete", lambda: session_complete(booking_id=booking.pk, actor=provider.user))

        @rule(index=st.integers(0, MAX_BOOKINGS - 1))
        @_when_booked
        def staff_flag(self, index: int) -> None:
            booking = self._booking(index)
            self._try(
                "staff flag",
                lambda: dispute_open(
                    booking_id=booking.pk, opened_by=Dispute.OpenedBy.ADMIN, actor=staff, reason="other"
                ),
            )

        @rule(
            pick=PICK,
            outcome=st.sampled_from([Outcome.REFUND, Outcome.SPLIT, Outcome.RELEASE]),
            share=st.floats(0.01, 0.99),
        )
        def staff_resolve(self, pick: int, outcome: str, share: float) -> None:
            disputes = list(_open_desk_disputes().order_by("pk"))
            if not disputes:
                return
            dispute = _nth(disputes, pick)

            def act() -> None:
                amount = None
                if outcome == Outcome.SPLIT:
                    left = dispute_resolution_preview(dispute=dispute, outcome=Outcome.RELEASE).left_to_refund
                    amount = max(1, int(left * share))
                dispute_resolve(dispute_id=dispute.pk, outcome=outcome, actor=staff, refund_amount=amount)

            self._try(f"resolve {outcome}", act)

        @rule(pick=PICK)
        def staff_retries_a_failed_refund(self, pick: int) -> None:
            failed = list(_failed_refunds_to_retry().order_by("pk"))
            if not failed:
                return
            refund = _nth(failed, pick)
            try:
                refund_retry(refund_id=refund.pk, actor=staff)
                self.steps.append("retry refund")
            except ValueError as error:  # retried or not failed any more: the service says so
                self.steps.append(f"retry refund: refused ({error})")

        @rule()
        def provider_cashes_out(self) -> None:
            """Stripe pays the provider's available balance to their bank: a later clawback may be refused."""
            emulator.settle_balance()
            self._try("provider cashes out", lambda: emulator.payout(self.account_id))

        # The client's bank and Stripe ------------------------------------------------------------------

        @rule(index=st.integers(0, MAX_BOOKINGS - 1), kind=st.sampled_from(["chargeback", "inquiry"]))
        @_when_booked
        def bank_opens_a_dispute(self, index: int, kind: str) -> None:
            payment = self._payment(self._booking(index))
            if payment is None or not payment.charge_id:
                return
            self._try(f"bank opens {kind}", lambda: emulator.open_dispute(payment.charge_id, kind=kind))

        @rule(pick=PICK, won=st.booleans())
        def bank_closes_a_dispute(self, pick: int, won: bool) -> None:
            state = emulator.server.state
            with state.lock:
                open_ones = [
                    (d["id"], d["status"])
                    for d in state.disputes.values()
                    if d["status"] not in ("won", "lost", "warning_closed")
                ]
            if not open_ones:
                return
            dispute_id, status = _nth(sorted(open_ones), pick)
            outcome = "warning_closed" if status.startswith("warning_") else ("won" if won else "lost")
            self._try(f"bank closes {outcome}", lambda: emulator.close_dispute(dispute_id, status=outcome))

        @rule(pending=st.booleans())
        def refunds_start_pending(self, pending: bool) -> None:
            emulator.set_refunds_pending(pending)

        @rule(pick=PICK, succeeds=st.booleans())
        def stripe_settles_a_refund(self, pick: int, succeeds: bool) -> None:
            """A pending refund succeeds or fails; a succeeded one may fail later (the bank sends it back)."""
            state = emulator.server.state
            with state.lock:
                refunds = sorted(
                    (r["id"], r["status"])
                    for r in state.refunds.values()
                    if r["status"] in ("pending", "succeeded")
                )
            if not refunds:
                return
            refund_id, status = _nth(refunds, pick)
            to = "succeeded" if succeeds and status == "pending" else "failed"
            self._try(f"refund {status} -> {to}", lambda: emulator.settle_refund(refund_id, status=to))

        @rule(fault=st.sampled_from(FAULTS))
        def stripe_fails_the_next_call(self, fault: str) -> None:
            emulator.server.fault_plan.add(parse_fault(fault, delay=TIMEOUT_FAULT_DELAY))
            self.steps.append(f"fault {fault}")

        @rule(seed=st.integers(0, 2**32 - 1))
        def webhooks_arrive(self, seed: int) -> None:
            """Some of the events not delivered yet, in any order, and some delivered before, again."""
            events = self._events()
            waiting = [e for e in events if e["id"] not in self.delivered]
            seen = [e for e in events if e["id"] in self.delivered]
            if not waiting and not seen:
                return
            randoms = random.Random(seed)
            randoms.shuffle(waiting)
            batch = waiting[: randoms.randint(0, len(waiting))] if waiting else []
            batch += [e for e in seen if randoms.random() < 0.2]
            randoms.shuffle(batch)
            for event in batch:
                self._deliver(event)
            self.steps.append(f"webhooks {[e['type'] for e in batch]}")

        @rule()
        def every_webhook_arrives(self) -> None:
            for event in self._events():
                if event["id"] not in self.delivered:
                    self._deliver(event)
            self.steps.append("all webhooks")

        # Time and the beat jobs ------------------------------------------------------------------------

        @rule(hours=st.sampled_from([1, 25, django_settings.PAYOUT_HOLD_HOURS + 1]))
        def time_passes(self, hours: int) -> None:
            self.clock.shift(timedelta(hours=hours))
            stripe_clock_ticks()
            self.steps.append(f"+{hours} h")

        @rule()
        def beat_runs(self) -> None:
            """Every money job of the beat schedule, as ``manage.py`` would run them."""
            stripe_clock_ticks()
            payouts_release()
            refunds_redrive()
            reversals_redrive()
            webhook_events_redrive()
            checkouts_sweep()
            self.steps.append("beat")

        # What must always be true ----------------------------------------------------------------------

        @invariant()
        def the_ledger_finds_nothing(self) -> None:
            # Our rows must always agree with each other. They can agree with Stripe only once Stripe has told
            # us what it did: while some of its events are still on their way, Stripe is not asked.
            self.checks += 1
            told_everything = all(e["id"] in self.delivered for e in self._events())
            with emulator.faults_paused():
                report = ledger_check(with_stripe=told_everything)
                reached["checked with Stripe" if told_everything else "checked, events on their way"] += 1
                state = emulator.server.state
                with state.lock:
                    transfers = [dict(t) for t in state.transfers.values()]
                    charges = [dict(c) for c in state.charges.values()]
            history = "\n".join(self.steps)
            assert not watch.crashes, f"{watch.crashes}\nafter:\n{history}"
            assert report.mismatches == [], (
                "\n".join(f"{m.reference}: {m.problems}" for m in report.mismatches) + f"\nafter:\n{history}"
            )
            per_payout: dict[str, int] = {}
            for transfer in transfers:
                payout_id = transfer["metadata"].get("payout_id")
                if payout_id:
                    per_payout[payout_id] = per_payout.get(payout_id, 0) + 1
            assert all(count <= 1 for count in per_payout.values()), f"{per_payout}\nafter:\n{history}"
            recorded = list(Payout.objects.exclude(transfer_id=None).values_list("transfer_id", flat=True))
            assert len(recorded) == len(set(recorded)), f"{recorded}\nafter:\n{history}"
            for charge in charges:
                assert 0 <= charge["amount_refunded"] <= charge["amount"], f"{charge}\nafter:\n{history}"
            for payment in Payment.objects.all():
                committed = sum(
                    r.amount for r in payment.refunds.all() if r.status in Refund.COMMITTED_STATUSES
                )
                assert committed <= payment.amount, f"payment {payment.pk}\nafter:\n{history}"

    return LedgerMachine
