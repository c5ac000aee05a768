"""Payout release at scale: 10,000 due payouts released and transferred through the Stripe emulator, as a
ratio to the emulator's raw transfer-create rate measured in the same run.

Two measurements, one emulator process, one database, the same `stripe` SDK client (the gateway's) and the
same concurrency (`--workers` threads, default 4):

- **raw**: the threads call `gateway.transfer_create` directly, one transfer per paid charge, with the
  parameters a payout sends (amount, currency, destination, `source_transaction`, `transfer_group`,
  metadata, an idempotency key). Nothing else happens: the floor of any payout.
- **release**: `payouts_release()` (what beat runs) on the main thread, and every
  `payout_execute_batch_task` it enqueues on commit (`PAYOUT_TASK_BATCH` payouts each) run by the worker
  threads through the real task code (claim, locks, holds, one transfer per payout,
  `payout_apply_transfers` with the audit entries and "payout sent" notification rows), until every
  payout is paid. In-process threads stand in for Celery workers so both measurements have the same
  process model; a real worker would add one Redis round trip per task (the broker hop, well under a
  millisecond on loopback) and nothing else. The queued "payout sent" emails are left queued (their rows
  are written; sending mail is not the release's work).

The emulator runs in its own process (`python -m stripe_emulator`, no webhooks), as Stripe is another
machine: its CPU is not shared with the client's interpreter. Raw runs first, so the release meets an
emulator already holding the raw run's transfers (the harder order for the release).

Data, built fresh each run: one provider with an onboarded Express account at the emulator (as Connect
onboarding leaves it) and N completed sessions, each with a real Checkout Session paid by card at the
emulator (so each payout's `source_transaction` is a real charge with room for the transfer), its paid
Payment and its scheduled payout of the provider's share, due now. Rows are written in bulk, as
`tests/payments/payout_helpers.due_payouts_in_bulk` writes them, but the sessions are created and paid
over HTTP since the emulator is another process. A second set of N paid charges feeds the raw run.

At the end every payout must be paid exactly once (one `transfer_id` each, all distinct, one
`payout.paid` audit entry each) and the emulator must hold exactly one transfer per payout, of the right
amount, from the right charge, to the provider; anything else raises `BenchmarkFailed`.

    .venv/bin/python benchmarks/run.py --only payouts [--payouts 10000] [--workers 4] [--profile]

`--profile` runs the release under cProfile (one profiler per thread, merged, timing each thread's own
CPU) and prints where the time goes; with `BENCH_PROFILE_FILE=path` it also writes the stats there for
`python -m pstats`. A profiled run is slower, so its figures are not the recorded ones.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import queue
import signal
import socket
import subprocess
import sys
import threading
import time as clock
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bookings.models import Booking
from marketplace.audit import AuditEntry
from marketplace.models import User
from marketplace.money import fee_split
from notifications.models import Notification
from payments import gateway
from payments.models import Payment, Payout
from payments.namespace import booking_transfer_group, our_metadata, stripe_key
from payments.payouts import payouts_release
from providers.models import Provider, Service

ROOT = Path(__file__).resolve().parent.parent
COUNT = 10_000
WORKERS = 4
PROVIDER_EMAIL = "payout-provider@bench.example"
CLIENT_EMAIL = "payout-client@bench.example"
PRICE = 5000  # cents


class BenchmarkFailed(AssertionError):
    """The run paid something twice, missed one, or the emulator disagrees with the database."""


# --- The emulator, in its own process ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmulatorProcess:
    """`python -m stripe_emulator` on a loopback port, without webhooks (the release path uses none)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or int(os.environ.get("BENCH_EMULATOR_PORT") or 0) or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with socket.socket() as sock:  # another emulator there would answer for ours
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the emulator binds
            try:
                sock.bind(("127.0.0.1", self.port))
            except OSError as error:
                raise RuntimeError(f"port {self.port} is taken (another benchmark run?): {error}") from error
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no user input
            [sys.executable, "-m", "stripe_emulator", "--port", str(self.port), "--no-webhooks"],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.http = requests.Session()
        deadline = clock.monotonic() + 30
        while clock.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read() if self.process.stdout else ""
                raise RuntimeError(f"the Stripe emulator exited at start:\n{output}")
            try:
                self.http.get(f"{self.url}/_emulator/faults", timeout=1).raise_for_status()
                return
            except requests.RequestException:
                clock.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the Stripe emulator did not answer on {self.url} within 30 s")

    def control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(f"{self.url}/_emulator{path}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        return self.control(f"/accounts/{account_id}/complete_onboarding")

    def pay(self, session_id: str) -> dict[str, Any]:
        return self.control(f"/checkout/sessions/{session_id}/pay", {"method": "card"})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def emulator_for_the_app(port: int | None = None) -> Iterator[EmulatorProcess]:
    """Start an emulator and point the app's gateway at it for the duration."""
    emulator = EmulatorProcess(port)
    saved = (settings.STRIPE_API_BASE, settings.STRIPE_SECRET_KEY)
    settings.STRIPE_API_BASE = emulator.url
    settings.STRIPE_SECRET_KEY = "sk_test_emulator"  # noqa: S105 - the emulator's test key, not a secret
    try:
        yield emulator
    finally:
        settings.STRIPE_API_BASE, settings.STRIPE_SECRET_KEY = saved
        emulator.stop()


# --- Threads -------------------------------------------------------------------------------------------


@dataclass
class Breakdown:
    """Where the worker threads' time goes, summed over every job: SQL statements (their count and wall
    time, commits included), the Stripe call, and the job as a whole."""

    jobs: int = 0
    job_seconds: float = 0.0
    queries: int = 0
    sql_seconds: float = 0.0
    stripe_calls: int = 0
    stripe_seconds: float = 0.0
    release_seconds: float = 0.0  # until payouts_release() returned (its tasks run meanwhile and after)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **amounts: float) -> None:
        with self.lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def count_sql(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = clock.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.add(queries=1, sql_seconds=clock.perf_counter() - started)

    @contextmanager
    def timing_stripe(self) -> Iterator[None]:
        """Time every `gateway.transfer_create` the payout code makes."""
        real = gateway.transfer_create

        def timed(**kwargs: Any) -> gateway.Transfer:
            started = clock.perf_counter()
            try:
                return real(**kwargs)
            finally:
                self.add(stripe_calls=1, stripe_seconds=clock.perf_counter() - started)

        gateway.transfer_create = timed
        try:
            yield
        finally:
            gateway.transfer_create = real

    def summary(self) -> str:
        per = max(self.stripe_calls, 1)  # one call per payout
        batch = self.stripe_calls / max(self.jobs, 1)
        return (
            f"per payout, on the worker threads ({self.jobs:,} tasks, {batch:.1f} payouts each): "
            f"{self.job_seconds / per * 1000:.1f} ms in all, "
            f"{self.queries / per:.1f} SQL statements taking {self.sql_seconds / per * 1000:.1f} ms, "
            f"the Stripe call {self.stripe_seconds / per * 1000:.1f} ms; "
            f"payouts_release() itself returned after {self.release_seconds:.1f} s"
        )


@dataclass
class WorkerThreads:
    """Threads taking jobs off a queue, as several Celery workers take tasks; each has its own database
    connection (closed when it stops) and, with `profile`, its own cProfile profiler."""

    count: int
    profile: bool = False
    breakdown: Breakdown | None = None
    jobs: queue.Queue[Callable[[], None] | None] = field(default_factory=queue.Queue)
    errors: list[BaseException] = field(default_factory=list)
    profiles: list[cProfile.Profile] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(self.count)]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        profiler = cProfile.Profile(clock.thread_time) if self.profile else None
        if profiler is not None:
            self.profiles.append(profiler)
        breakdown = self.breakdown
        try:
            with connection.execute_wrapper(breakdown.count_sql) if breakdown else nullcontext():
                while (job := self.jobs.get()) is not None:
                    started = clock.perf_counter()
                    try:
                        if profiler is not None:
                            profiler.runcall(job)
                        else:
                            job()
                    except BaseException as error:  # reported by the caller
                        self.errors.append(error)
                    finally:
                        if breakdown is not None:
                            breakdown.add(jobs=1, job_seconds=clock.perf_counter() - started)
                        self.jobs.task_done()
            self.jobs.task_done()
        finally:
            connection.close()

    def stop(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()
        if self.errors:
            raise BenchmarkFailed(f"{len(self.errors)} jobs raised; the first: {self.errors[0]!r}")


def run_on_threads(jobs: list[Callable[[], None]], *, workers: int) -> float:
    """Run every job on `workers` threads; the seconds from the first start to the last end."""
    pool = WorkerThreads(workers)
    started = clock.perf_counter()
    for job in jobs:
        pool.jobs.put(job)
    pool.jobs.join()
    elapsed = clock.perf_counter() - started
    pool.stop()
    return elapsed


@contextmanager
def payout_tasks_on(pool: WorkerThreads) -> Iterator[None]:
    """Route the payout tasks enqueued on commit to `pool`; other tasks (the "payout sent" emails) stay
    queued as rows. Restores the real enqueue after."""
    import marketplace.enqueue
    from payments.tasks import payout_execute_batch_task, payout_execute_task

    send = marketplace.enqueue._send

    def route(task: Any, kwargs: dict[str, Any]) -> None:
        if task is payout_execute_task or task is payout_execute_batch_task:
            pool.jobs.put(partial(task, **kwargs))

    marketplace.enqueue._send = route
    try:
        yield
    finally:
        marketplace.enqueue._send = send


# --- Data ----------------------------------------------------------------------------------------------


def _remove_earlier_runs() -> None:
    """Forget the last run's provider, client and everything hanging off them (the emulator is new each
    run, so their Stripe ids would mean nothing)."""
    provider = Provider.objects.filter(user__email=PROVIDER_EMAIL).first()
    if provider is not None:
        payout_ids = [str(pk) for pk in Payout.objects.filter(provider=provider).values_list("pk", flat=True)]
        with transaction.atomic():
            AuditEntry.objects.filter(object_type="payments.payout", object_id__in=payout_ids).delete()
            Notification.objects.filter(to_email=PROVIDER_EMAIL).delete()
            Payout.objects.filter(provider=provider).delete()
            Payment.objects.filter(booking__provider=provider).delete()
            Booking.objects.filter(provider=provider).delete()
    User.objects.filter(email__in=[PROVIDER_EMAIL, CLIENT_EMAIL]).delete()


def _people() -> tuple[User, Service]:
    client = User.objects.create_user(email=CLIENT_EMAIL, password=None, name="Bench Client")
    provider_user = User.objects.create_user(email=PROVIDER_EMAIL, password=None, name="Bench Provider")
    provider = Provider.objects.create(
        user=provider_user, display_name="Bench Provider", slug="payout-bench-provider", timezone="UTC"
    )
    service = Service.objects.create(
        provider=provider, title="Bench session", duration_minutes=60, price_amount=PRICE, currency="usd"
    )
    return client, service


def make_payable(provider: Provider, emulator: EmulatorProcess) -> str:
    """Give `provider` an onboarded Express account at the emulator (as tests.payments.payout_helpers
    does, through the emulator's control endpoint)."""
    from tests.payments.payout_helpers import make_payable as make_payable_for_tests

    return make_payable_for_tests(provider, emulator)


@dataclass(frozen=True)
class PaidCharge:
    session_id: str
    intent_id: str
    charge_id: str


def paid_charge(
    emulator: EmulatorProcess, *, reference: str, amount: int, email: str, transfer_group: str
) -> PaidCharge:
    """A Checkout Session made by the app's gateway (the parameters `checkout_start` sends), paid by card on
    the emulator's hosted page, and its charge id as `payment_sync_from_session` reads it."""
    metadata = our_metadata(booking_ref=reference)
    session = gateway.checkout_session_create(
        booking_ref=reference,
        amount=amount,
        currency="usd",
        product_name="Bench session",
        customer_email=email,
        success_url=f"{settings.SITE_URL}/done/{{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{settings.SITE_URL}/cancelled/",
        expires_at=timezone.now() + timedelta(hours=1),
        transfer_group=transfer_group,
        metadata=metadata,
        idempotency_key=stripe_key(f"bench-checkout-{reference}"),
    )
    intent_id = emulator.pay(session.id)["session"]["payment_intent"]
    charge_id = gateway.stripe_client().v1.payment_intents.retrieve(intent_id).latest_charge
    assert isinstance(charge_id, str), charge_id
    return PaidCharge(session.id, intent_id, charge_id)


def paid_charges(
    emulator: EmulatorProcess, specs: list[dict[str, Any]], *, workers: int
) -> tuple[list[PaidCharge], float]:
    results: list[PaidCharge | None] = [None] * len(specs)

    def make(index: int) -> None:
        results[index] = paid_charge(emulator, **specs[index])

    seconds = run_on_threads([partial(make, n) for n in range(len(specs))], workers=workers)
    assert all(results)
    return [charge for charge in results if charge is not None], seconds


def due_payouts(
    emulator: EmulatorProcess, *, client: User, service: Service, count: int, workers: int
) -> list[Payout]:
    """`count` completed sessions of `service` that ended four days ago, back to back, each paid by card at
    the emulator, with a scheduled payout of the provider's share due now."""
    now = timezone.now()
    from tests.payments.payout_helpers import completed_sessions_in_bulk, scheduled_payouts_in_bulk

    first_start = now - timedelta(days=4) - count * timedelta(minutes=service.duration_minutes)
    bookings = completed_sessions_in_bulk(
        service=service, clients=[client] * count, first_start=first_start, batch_size=2000
    )
    charges, _ = paid_charges(
        emulator,
        [
            {
                "reference": booking.reference,
                "amount": booking.price_amount,
                "email": client.email,
                "transfer_group": booking_transfer_group(booking.pk),
            }
            for booking in bookings
        ],
        workers=workers,
    )
    payments = Payment.objects.bulk_create(
        [
            Payment(
                booking=booking,
                attempt=1,
                status=Payment.Status.PAID,
                amount=booking.price_amount,
                currency=booking.currency,
                checkout_session_id=charge.session_id,
                payment_intent_id=charge.intent_id,
                charge_id=charge.charge_id,
                paid_at=booking.confirmed_at,
            )
            for booking, charge in zip(bookings, charges, strict=True)
        ],
        batch_size=2000,
    )
    return scheduled_payouts_in_bulk(
        bookings=bookings, payments=payments, due_at=now - timedelta(minutes=1), batch_size=2000
    )


# --- Measuring -----------------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    count: int
    seconds: float
    breakdown: Breakdown | None = None
    cpu_seconds: float = 0.0  # this process (client, app, worker threads), user + system
    emulator_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def line(self) -> str:
        return (
            f"{self.label:<22} {self.count:>6,} in {self.seconds:7.1f} s  {self.rate:8.1f} /s  CPU per item: "
            f"{self.cpu_seconds / self.count * 1000:.1f} ms here, "
            f"{self.emulator_cpu_seconds / self.count * 1000:.1f} ms in the emulator"
        )


@contextmanager
def cpu_time(result_holder: dict[str, float], emulator: EmulatorProcess) -> Iterator[None]:
    """CPU seconds this process and the emulator process spent inside the block (the machine is shared, so
    wall time alone says little about where the work is)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def emulator_cpu() -> float:
        fields = Path(f"/proc/{emulator.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    here, there = os.times(), emulator_cpu()
    yield
    after = os.times()
    result_holder["cpu"] = after.user + after.system - here.user - here.system
    result_holder["emulator_cpu"] = emulator_cpu() - there


def measure_raw(
    emulator: EmulatorProcess, *, account: str, count: int, workers: int, out: Callable[[str], None]
) -> Result:
    """`count` transfers straight through the gateway, one per fresh paid charge, with a payout's
    parameters."""
    split = fee_split(amount=PRICE, fee_percent=settings.PLATFORM_FEE_PERCENT)
    run_id = clock.time_ns()
    charges, seconds = paid_charges(
        emulator,
        [
            {
                "reference": f"raw-{run_id}-{n}",
                "amount": split.amount,
                "email": CLIENT_EMAIL,
                "transfer_group": stripe_key(f"bench-raw-{run_id}-{n}"),
            }
            for n in range(count)
        ],
        workers=workers,
    )
    out(f"  setup: {count:,} more paid charges for the raw run in {seconds:.1f} s")

    def transfer(n: int, charge: PaidCharge) -> None:
        gateway.transfer_create(
            amount=split.provider_amount,
            currency="usd",
            destination=account,
            source_transaction=charge.charge_id,
            transfer_group=stripe_key(f"bench-raw-{run_id}-{n}"),
            metadata=our_metadata(bench_raw=str(n), booking_id=str(n)),
            idempotency_key=stripe_key(f"bench-raw-{run_id}-{n}"),
        )

    cpu: dict[str, float] = {}
    with cpu_time(cpu, emulator):
        seconds = run_on_threads(
            [partial(transfer, n, charge) for n, charge in enumerate(charges)], workers=workers
        )
    return Result("raw transfer create", count, seconds, None, cpu["cpu"], cpu["emulator_cpu"])


def measure_release(
    emulator: EmulatorProcess, *, count: int, workers: int, profile: bool = False
) -> tuple[Result, list[cProfile.Profile]]:
    """`payouts_release()` and every payout task it enqueues, until the last has run."""
    breakdown = Breakdown()
    pool = WorkerThreads(workers, profile=profile, breakdown=breakdown)
    main_profile = cProfile.Profile(clock.thread_time) if profile else None
    cpu: dict[str, float] = {}
    with payout_tasks_on(pool), breakdown.timing_stripe(), cpu_time(cpu, emulator):
        started = clock.perf_counter()
        summary = main_profile.runcall(payouts_release) if main_profile else payouts_release()
        breakdown.release_seconds = clock.perf_counter() - started
        pool.jobs.join()
        seconds = clock.perf_counter() - started
    pool.stop()
    if summary.sent != count:
        raise BenchmarkFailed(f"the release sent {summary.sent} payouts, expected {count}")
    result = Result("release and execute", count, seconds, breakdown, cpu["cpu"], cpu["emulator_cpu"])
    return result, [
        *pool.profiles,
        *([main_profile] if main_profile else []),
    ]


def verify(*, provider: Provider, account: str, count: int, out: Callable[[str], None]) -> None:
    """Every payout paid once, and exactly one transfer per payout at the emulator, matching it."""
    payouts = list(Payout.objects.filter(provider=provider).select_related("payment", "booking"))
    problems = []
    if len(payouts) != count:
        problems.append(f"{len(payouts)} payouts in the database, expected {count}")
    not_paid = [p.pk for p in payouts if p.status != Payout.Status.PAID or not p.transfer_id]
    if not_paid:
        problems.append(f"{len(not_paid)} payouts not paid, e.g. {not_paid[:5]}")
    if len({p.transfer_id for p in payouts}) != len(payouts):
        problems.append("two payouts share one transfer id")
    paid_entries = AuditEntry.objects.filter(
        object_type="payments.payout", object_id__in=[str(p.pk) for p in payouts], action="payout.paid"
    ).count()
    if paid_entries != len(payouts):
        problems.append(f"{paid_entries} payout.paid audit entries for {len(payouts)} payouts")
    by_payout: dict[str, list[dict[str, Any]]] = {}
    raw = 0
    listing = gateway.stripe_client().v1.transfers.list({"destination": account, "limit": 100})
    for item in listing.auto_paging_iter():
        transfer = item.to_dict()
        if "payout_id" in transfer["metadata"]:
            by_payout.setdefault(transfer["metadata"]["payout_id"], []).append(transfer)
        else:
            raw += 1
    problems += transfer_problems(payouts=payouts, by_payout=by_payout, raw=raw, count=count, account=account)
    if problems:
        raise BenchmarkFailed("; ".join(problems[:20]))
    out(
        f"  verified: {count:,} payouts paid once each (one transfer id, one payout.paid entry); the "
        f"emulator holds exactly one matching transfer per payout and {raw:,} raw transfers"
    )


def transfer_problems(
    *,
    payouts: list[Payout],
    by_payout: dict[str, list[dict[str, Any]]],
    raw: int,
    count: int,
    account: str | None = None,
) -> list[str]:
    """What is wrong between the payouts and the transfers the emulator holds (`by_payout`: by our
    `payout_id` metadata; `raw`: how many carry none), if anything."""
    problems = []
    if raw != count:
        problems.append(f"{raw} raw transfers at the emulator, expected {count}")
    twice = [pk for pk, found in by_payout.items() if len(found) > 1]
    if twice:
        problems.append(f"{len(twice)} payouts with more than one transfer at the emulator, e.g. {twice[:5]}")
    for payout in payouts:
        found = by_payout.get(str(payout.pk), [])
        if not found:
            problems.append(f"payout {payout.pk} has no transfer at the emulator")
        if len(found) != 1:
            continue
        transfer = found[0]
        if (
            transfer["id"] != payout.transfer_id
            or transfer["amount"] != payout.transfer_amount
            or transfer["source_transaction"] != payout.payment.charge_id
            or transfer["transfer_group"] != booking_transfer_group(payout.booking_id)
            or (account is not None and transfer["destination"] != account)
        ):
            problems.append(f"payout {payout.pk} does not match its transfer {transfer['id']}")
    if len(by_payout) != len(payouts):
        problems.append(f"{len(by_payout)} payouts have transfers at the emulator, expected {len(payouts)}")
    return problems


def print_profile(profiles: list[cProfile.Profile], out: Callable[[str], None], *, lines: int = 30) -> None:
    buffer = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=buffer)
    for profiler in profiles[1:]:
        stats.add(profiler)
    if dump := os.environ.get("BENCH_PROFILE_FILE"):
        stats.dump_stats(dump)  # for a closer look: python -m pstats FILE
    stats.strip_dirs().sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(lines)
    for line in buffer.getvalue().splitlines():
        out(line)


def run(
    *, count: int = COUNT, workers: int = WORKERS, profile: bool = False, out: Callable[[str], None] = print
) -> dict[str, float]:
    _remove_earlier_runs()
    with emulator_for_the_app() as emulator:
        client, service = _people()
        account = make_payable(service.provider, emulator)
        started = clock.monotonic()
        due_payouts(emulator, client=client, service=service, count=count, workers=workers)
        seconds = clock.monotonic() - started
        out(f"  setup: {count:,} completed, paid sessions with due payouts in {seconds:.1f} s")
        raw = measure_raw(emulator, account=account, count=count, workers=workers, out=out)
        out(f"  {raw.line()}")
        release, profiles = measure_release(emulator, count=count, workers=workers, profile=profile)
        out(f"  {release.line()}")
        if release.breakdown is not None:
            out(f"  {release.breakdown.summary()}")
        ratio = release.rate / raw.rate
        out(f"  ratio release / raw: {ratio:.2f} ({workers} worker threads, emulator in its own process)")
        verify(provider=service.provider, account=account, count=count, out=out)
        if profile:
            print_profile(profiles, out)
    return {"raw_per_second": raw.rate, "release_per_second": release.rate, "ratio": ratio}
