"""A provider gets paid for a session, the whole way, in a real Chromium: they finish onboarding on Stripe's
(the emulator's) page, a client books and pays on Stripe's hosted page, the provider marks the session
complete, the 72-hour hold passes, the release job runs in a real Celery worker process, and the provider
sees the money paid.

The journey happens six days ago: time-machine moves this process's clock (the live server's and the
in-process emulator's too) back for the pages and forward through the hold; the worker, another process,
runs at today's real time, when the hold is over as well."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from playwright.sync_api import expect

from bookings.models import Booking
from payments.models import Payout
from payments.namespace import booking_transfer_group
from payments.tasks import release_payouts_task
from tests.celery_processes import start_worker, stop, wait_for_line
from tests.factories import TEST_PASSWORD
from tests.fixtures.stripe import TEST_SECRET_KEY

pytestmark = pytest.mark.celery_worker


def _a_wednesday_morning_days_ago(days: int) -> datetime:
    # A weekday morning: the provider's first open hour is that afternoon, in the week the page shows.
    day = datetime.now(UTC) - timedelta(days=days)
    day -= timedelta(days=(day.weekday() - 2) % 7)
    return day.replace(hour=9, minute=0, second=0, microsecond=0)


def _log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def client_page(browser, live_server):
    """A second browser, for the client, beside the provider's ``page``."""
    context = browser.new_context(base_url=live_server.url, timezone_id="America/New_York", locale="en-US")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def stripe_to_live_server(live_server, stripe_emulator, settings):
    """Stripe's redirects reach this test's server. No webhooks: the pages the browser comes back to read
    Stripe themselves, and an event handled by the worker at today's time while the pages live six days
    ago would race them (a payment read after its session started is refunded)."""
    settings.SITE_URL = live_server.url
    return stripe_emulator


@pytest.fixture
def worker(real_broker, stripe_emulator):
    """A real worker process on this test's queue, against this test's database and emulator."""
    db = connection.settings_dict
    process = start_worker(
        real_broker,
        "--pool",
        "solo",
        "--loglevel",
        "info",
        "--without-heartbeat",
        extra_env={
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "STRIPE_API_BASE": stripe_emulator.url,
            "STRIPE_SECRET_KEY": TEST_SECRET_KEY,
            "CONN_MAX_AGE": "0",
        },
    )
    yield process
    stop(process)


@pytest.mark.django_db(transaction=True)
def test_a_provider_sets_up_payouts_completes_a_paid_session_and_is_paid_by_the_worker(
    page, client_page, bookable_provider, client_user, stripe_to_live_server, worker
):
    provider = bookable_provider
    with time_machine.travel(_a_wednesday_morning_days_ago(6), tick=True) as traveller:
        # The provider finishes onboarding on Stripe's page.
        _log_in(page, provider.user.email)
        page.goto("/dashboard/")
        page.get_by_test_id("payout-summary").get_by_role("link", name="Set up payouts").click()
        page.get_by_label("Country where you live and bank").select_option(label="United States")
        page.get_by_role("button", name="Set up payouts").click()
        page.get_by_role("button", name=re.compile(r"^Complete")).click()
        expect(page.get_by_role("heading", name="Payouts are ready")).to_be_visible()

        # A client books the first open hour and pays on Stripe's hosted page.
        _log_in(client_page, client_user.email)
        client_page.goto(f"/p/{provider.slug}/")
        client_page.get_by_test_id("slot").first.click()
        client_page.get_by_role("link", name="Book this time").click()
        client_page.get_by_role("button", name="Continue to payment").click()
        client_page.get_by_role("button", name="Pay", exact=True).click()
        expect(client_page.get_by_role("heading", name="You're booked!")).to_be_visible()
        booking = Booking.objects.get()

        # Once the session has started, the provider marks it complete on their Sessions page.
        traveller.move_to(booking.start_at + timedelta(minutes=50))
        page.goto("/dashboard/bookings/")
        row = page.get_by_test_id("booking-row").filter(has_text=booking.service_title)
        row.get_by_role("button", name="Mark complete").click()
        expect(row.get_by_test_id("provider-money")).to_contain_text("held until")
        payout = Payout.objects.get()

        # The hold passes. Nothing has gone yet: the release job has not run.
        traveller.move_to(payout.due_at + timedelta(minutes=1))
        page.goto("/dashboard/payouts/")
        expect(page.get_by_test_id("payout-row")).to_contain_text("held until")

    # Beat's job, in the worker: the release hands the payout to a task, which the worker runs too.
    wait_for_line(worker, "ready.", timeout=60)
    release_payouts_task.delay()
    wait_for_line(worker, "payments.tasks.payout_execute_batch_task", timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        payout.refresh_from_db()
        if payout.status == Payout.Status.PAID:
            break
        time.sleep(0.2)

    assert payout.status == Payout.Status.PAID
    provider.refresh_from_db()
    [transfer] = stripe_to_live_server.state()["transfers"].values()
    assert payout.transfer_id == transfer["id"]
    assert transfer["amount"] == booking.provider_amount == 4050  # 45.00 less the 10% fee
    assert transfer["destination"] == provider.stripe_account_id
    assert transfer["source_transaction"] == booking.payments.get().charge_id
    assert transfer["transfer_group"] == booking_transfer_group(booking.pk)

    page.goto("/dashboard/payouts/")
    expect(page.get_by_test_id("payout-row")).to_contain_text("$40.50 paid")
    totals = page.get_by_test_id("payout-totals")
    expect(totals.locator("div").filter(has_text="Paid")).to_contain_text("$40.50")
    expect(totals.locator("div").filter(has_text="Held")).to_contain_text("$0.00")
