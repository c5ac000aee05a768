"""The whole chain with real parts: a signed webhook is stored by the web view, its task travels through
Redis to a real Celery worker process, which asks the Stripe emulator over HTTP and confirms the booking in
PostgreSQL."""

import time

import pytest
from django.db import connection
from django.urls import reverse

from bookings.models import Booking
from bookings.services import booking_create
from payments.models import WebhookEvent
from payments.services import checkout_start
from tests.celery_processes import start_celery, stop, wait_for_line
from tests.fixtures.stripe import TEST_SECRET_KEY, sign_webhook

pytestmark = pytest.mark.celery_worker


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_processed_by_a_real_worker(
    client, client_user, bookable_service, slot, stripe_emulator, real_broker, settings
):
    db = connection.settings_dict
    worker = start_celery(
        "worker",
        "--pool",
        "solo",
        "--queues",
        real_broker,
        "--loglevel",
        "info",
        "--without-heartbeat",
        extra_env={
            # The worker is another process: point it at this test's database and emulator.
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "STRIPE_API_BASE": stripe_emulator.url,
            "STRIPE_SECRET_KEY": TEST_SECRET_KEY,
            "CONN_MAX_AGE": "0",
        },
    )
    try:
        wait_for_line(worker, "ready.", timeout=30)
        booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
        payment = checkout_start(booking_id=booking.pk)
        stripe_emulator.pay(payment.checkout_session_id)
        event = next(e for e in stripe_emulator.events("checkout.session.completed"))
        payload = __import__("json").dumps(event).encode()

        response = client.post(
            reverse("payments:stripe_webhook"),
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign_webhook(payload, settings.STRIPE_WEBHOOK_SECRET),
        )
        assert response.status_code == 200

        wait_for_line(worker, "payments.tasks.webhook_event_process_task", timeout=30)
        # The worker confirms the booking, then marks the event processed a moment later: wait for both.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            booking.refresh_from_db()
            event_done = WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).exists()
            if booking.status == Booking.Status.CONFIRMED and event_done:
                break
            time.sleep(0.2)
        assert booking.status == Booking.Status.CONFIRMED
        assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    finally:
        stop(worker)
