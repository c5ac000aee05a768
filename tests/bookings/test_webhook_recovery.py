"""Webhooks while Redis is away: the endpoint answers 200 for what it stored, and nothing stored is lost (the
sweeper or ``manage.py process_webhooks`` finishes it). Redis here is a private one the test stops."""

import json
import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from bookings.models import Booking
from bookings.services import booking_create
from payments.models import WebhookEvent
from payments.services import checkout_start
from tests.fixtures.stripe import sign_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def completed_event(client_user, bookable_service, slot, stripe_emulator):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)
    event = next(
        e
        for e in stripe_emulator.events("checkout.session.completed")
        if e["data"]["object"]["id"] == payment.checkout_session_id
    )
    return booking, json.dumps(event).encode()


def _deliver(client, payload: bytes, settings):
    return client.post(
        reverse("payments:stripe_webhook"),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_webhook(payload, settings.STRIPE_WEBHOOK_SECRET),
    )


def test_the_webhook_endpoint_answers_200_for_a_stored_event_while_the_broker_is_down(
    client, settings, completed_event, app_on_private_redis, django_capture_on_commit_callbacks, caplog
):
    _, payload = completed_event
    app_on_private_redis.stop()

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = _deliver(client, payload, settings)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PENDING
    assert "could not enqueue payments.tasks.webhook_event_process_task" in caplog.text


def test_process_webhooks_finishes_what_the_broker_never_delivered(
    client, settings, completed_event, app_on_private_redis, django_capture_on_commit_callbacks
):
    booking, payload = completed_event
    app_on_private_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(client, payload, settings)
    output = StringIO()

    call_command("process_webhooks", stdout=output)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    assert "(checkout.session.completed): processed" in output.getvalue()
    assert "Done: 1 event looked at." in output.getvalue()


def test_process_webhooks_leaves_exhausted_events_to_admins_unless_asked(settings, completed_event):
    _, payload = completed_event
    event = json.loads(payload)
    WebhookEvent.objects.create(
        stripe_event_id=event["id"],
        endpoint="platform",
        type=event["type"],
        payload=event,
        status=WebhookEvent.Status.FAILED,
        attempts=settings.WEBHOOK_MAX_ATTEMPTS,
    )
    output = StringIO()

    call_command("process_webhooks", stdout=output)
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.FAILED

    call_command("process_webhooks", "--include-exhausted", stdout=output)
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
