"""The webhook endpoints: signatures on the raw body, the inbox, and processing in any order."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.services import booking_create
from payments import services as payments_services
from payments.models import Payment, WebhookEvent
from payments.services import checkout_start, webhook_event_process
from tests.fixtures.stripe import sign_webhook

URL = reverse("payments:stripe_webhook")
CONNECT_URL = reverse("payments:stripe_connect_webhook")


def _event(event_type="checkout.session.completed", obj=None, event_id="evt_test_1", **extra) -> bytes:
    body = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": 1_790_000_000,
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": obj or {"id": "cs_test_unknown", "object": "checkout.session"}},
        **extra,
    }
    return json.dumps(body).encode()


def _post(client, payload: bytes, *, secret: str, url: str = URL, signature: str | None = None):
    header = signature if signature is not None else sign_webhook(payload, secret)
    return client.post(url, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


@pytest.mark.django_db
def test_a_bad_signature_is_refused_and_nothing_is_stored(client, settings):
    response = _post(client, _event(), secret="whsec_someone_else")

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_missing_signature_is_refused(client):
    response = client.post(URL, data=_event(), content_type="application/json")

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_body_changed_after_signing_is_refused(client, settings):
    payload = _event()
    header = sign_webhook(payload, settings.STRIPE_WEBHOOK_SECRET)

    response = _post(client, payload.replace(b"evt_test_1", b"evt_test_2"), secret="", signature=header)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_signed_garbage_is_refused(client, settings):
    response = _post(client, b"{not json", secret=settings.STRIPE_WEBHOOK_SECRET)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_the_connect_endpoint_uses_its_own_secret(client, settings):
    payload = _event("account.updated", {"id": "acct_1", "object": "account"}, account="acct_1")

    assert _post(client, payload, secret=settings.STRIPE_WEBHOOK_SECRET, url=CONNECT_URL).status_code == 400
    assert (
        _post(client, payload, secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET, url=CONNECT_URL).status_code
        == 200
    )
    assert WebhookEvent.objects.get().endpoint == WebhookEvent.Endpoint.CONNECT


@pytest.mark.django_db
def test_webhooks_need_no_csrf_token_but_only_accept_post(settings):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    payload = _event("customer.created", {"id": "cus_1", "object": "customer"})

    assert _post(strict, payload, secret=settings.STRIPE_WEBHOOK_SECRET).status_code == 200
    assert strict.get(URL).status_code == 405


@pytest.mark.django_db
def test_an_unknown_event_type_is_acknowledged_and_ignored(
    client, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client, _event("customer.created", {"id": "cus_1"}), secret=settings.STRIPE_WEBHOOK_SECRET
        )

    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED


@pytest.fixture
def paid_checkout(client_user, bookable_service, slot, stripe_emulator):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)
    return booking, payment


def _session_event(stripe_emulator, session_id: str, event_type: str) -> dict:
    return next(e for e in stripe_emulator.events(event_type) if e["data"]["object"]["id"] == session_id)


@pytest.mark.django_db
def test_the_same_event_twice_is_stored_and_processed_once(
    client, settings, paid_checkout, stripe_emulator, django_capture_on_commit_callbacks
):
    booking, payment = paid_checkout
    event = _session_event(stripe_emulator, payment.checkout_session_id, "checkout.session.completed")
    payload = json.dumps(event).encode()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = _post(client, payload, secret=settings.STRIPE_WEBHOOK_SECRET)
        second = _post(client, payload, secret=settings.STRIPE_WEBHOOK_SECRET)

    assert (first.status_code, second.status_code) == (200, 200)
    row = WebhookEvent.objects.get()
    assert (row.status, row.attempts) == (WebhookEvent.Status.PROCESSED, 1)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.status_changes.filter(to_status="confirmed").count() == 1
    assert len([c for c in callbacks if "webhook_event_process" in repr(c)]) <= 1


def _store(event: dict) -> WebhookEvent:
    return WebhookEvent.objects.create(
        stripe_event_id=event["id"], endpoint="platform", type=event["type"], payload=event
    )


@pytest.mark.django_db
def test_expired_arriving_before_completed_ends_confirmed(paid_checkout, stripe_emulator):
    booking, payment = paid_checkout
    completed = _session_event(stripe_emulator, payment.checkout_session_id, "checkout.session.completed")
    # A forged-late "expired" for the same session: processing re-reads the session, which says paid.
    expired = {**completed, "id": "evt_expired_first", "type": "checkout.session.expired"}

    webhook_event_process(webhook_event_id=_store(expired).pk)
    webhook_event_process(webhook_event_id=_store(completed).pk)

    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert payment.status == Payment.Status.PAID


@pytest.mark.django_db
def test_async_failed_after_succeeded_keeps_the_booking_confirmed(
    client_user, bookable_service, slot, stripe_emulator
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.offer_bank_debits(payment.checkout_session_id)  # a session from before cards-only
    stripe_emulator.pay(payment.checkout_session_id, method="delayed_success")
    stripe_emulator.settle(payment.checkout_session_id)
    succeeded = _session_event(
        stripe_emulator, payment.checkout_session_id, "checkout.session.async_payment_succeeded"
    )
    failed = {**succeeded, "id": "evt_failed_late", "type": "checkout.session.async_payment_failed"}

    webhook_event_process(webhook_event_id=_store(succeeded).pk)
    webhook_event_process(webhook_event_id=_store(failed).pk)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


@pytest.mark.django_db
def test_completed_twice_with_different_event_ids_confirms_once(paid_checkout, stripe_emulator):
    booking, payment = paid_checkout
    completed = _session_event(stripe_emulator, payment.checkout_session_id, "checkout.session.completed")

    webhook_event_process(webhook_event_id=_store(completed).pk)
    webhook_event_process(webhook_event_id=_store({**completed, "id": "evt_again"}).pk)

    assert booking.status_changes.filter(to_status="confirmed").count() == 1
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 2


@pytest.mark.django_db
def test_a_failed_event_is_recorded_and_can_be_replayed(paid_checkout, stripe_emulator):
    booking, payment = paid_checkout
    completed = _session_event(stripe_emulator, payment.checkout_session_id, "checkout.session.completed")
    row = _store(completed)
    stripe_emulator.set_faults("GET /v1/checkout/sessions/*=500x9")

    webhook_event_process(webhook_event_id=row.pk)

    row.refresh_from_db()
    assert row.status == WebhookEvent.Status.FAILED
    assert row.last_error

    stripe_emulator.clear_faults()
    from payments.services import webhook_event_replay

    webhook_event_replay(webhook_event_id=row.pk)
    row.refresh_from_db()
    booking.refresh_from_db()
    assert row.status == WebhookEvent.Status.PROCESSED
    assert booking.status == Booking.Status.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_the_emulator_delivers_signed_events_that_confirm_the_booking(
    live_server, client_user, bookable_service, slot, stripe_emulator, settings
):
    settings.SITE_URL = live_server.url
    stripe_emulator.set_webhooks(url=live_server.url + URL, duplicates=True)
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)

    stripe_emulator.pay(payment.checkout_session_id)
    deliveries = stripe_emulator.wait_for_deliveries(timeout=10)

    # Duplicates on: each event arrives twice, both are acknowledged, the inbox keeps one.
    assert len(deliveries) >= 2
    assert all(d["status"] == "delivered" for d in deliveries)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert WebhookEvent.objects.filter(type="checkout.session.completed").count() == 1


# Malformed events: refused before anything is stored -------------------------------------------------------


def _signed_body(body: dict) -> bytes:
    return json.dumps(body).encode()


_GOOD = json.loads(_event())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "broken",
    [
        {k: v for k, v in _GOOD.items() if k != "created"},
        {k: v for k, v in _GOOD.items() if k != "id"},
        {**_GOOD, "data": "a string"},
        {**_GOOD, "data": {"object": "not an object"}},
        {**_GOOD, "data": {"object": {"object": "checkout.session"}}},  # no id
        {**_GOOD, "id": "evt_" + "x" * 300},
        {**_GOOD, "type": "t" * 101},
        {**_GOOD, "created": "yesterday"},
        {**_GOOD, "created": 10**20},
        {**_GOOD, "account": ["acct_1"]},
        [1, 2, 3],
    ],
    ids=[
        "no-created",
        "no-id",
        "data-string",
        "object-string",
        "object-without-id",
        "long-id",
        "long-type",
        "created-string",
        "created-huge",
        "account-list",
        "a-list",
    ],
)
def test_a_signed_but_malformed_event_is_refused_and_nothing_stored(client, settings, broken):
    response = _post(client, _signed_body(broken), secret=settings.STRIPE_WEBHOOK_SECRET)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


# Failures of any kind are recorded, retried, and end with an alert -----------------------------------------


@pytest.fixture
def alerts(settings):
    from django.core import mail

    settings.ADMIN_ALERT_EMAILS = ["ops@example.com"]
    settings.ADMINS = [("Ops", "ops@example.com")]
    return lambda: [m.subject for m in mail.outbox if m.to == ["ops@example.com"]]


@pytest.mark.django_db
def test_an_unexpected_error_is_recorded_with_its_text(paid_checkout, stripe_emulator, monkeypatch):
    _, payment = paid_checkout
    row = _store(_session_event(stripe_emulator, payment.checkout_session_id, "checkout.session.completed"))

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("payments.services.payment_sync_from_session", broken)
    webhook_event_process(webhook_event_id=row.pk)

    row.refresh_from_db()
    assert row.status == WebhookEvent.Status.FAILED
    assert "RuntimeError: database went away" in row.last_error


@pytest.mark.django_db
def test_an_event_that_keeps_failing_gives_up_once_and_alerts(
    paid_checkout, stripe_emulator, settings, alerts, monkeypatch
):
    from payments.services import webhook_events_redrive

    settings.WEBHOOK_MAX_ATTEMPTS = 3
    _, payment = paid_checkout
    row = _store(_session_event(stripe_emulator, payment.checkout_session_id, "checkout.session.completed"))
    monkeypatch.setattr(
        "payments.services.payment_sync_from_session", lambda **kwargs: 1 / 0
    )  # any exception, not only Stripe's

    for _ in range(3):
        webhook_event_process(webhook_event_id=row.pk)
    WebhookEvent.objects.filter(pk=row.pk).update(received_at=row.received_at - timedelta(minutes=5))
    webhook_events_redrive()

    row.refresh_from_db()
    assert (row.status, row.attempts) == (WebhookEvent.Status.GAVE_UP, 3)
    assert alerts() == [f"[Django] Stripe event {row.stripe_event_id} keeps failing"]


@pytest.mark.django_db
def test_an_event_whose_worker_died_every_time_is_given_up_with_an_alert(
    paid_checkout, stripe_emulator, settings, alerts
):
    from payments.services import webhook_events_redrive

    settings.WEBHOOK_MAX_ATTEMPTS = 2
    _, payment = paid_checkout
    row = _store(_session_event(stripe_emulator, payment.checkout_session_id, "checkout.session.completed"))
    # Two attempts started and never finished: still pending, no error recorded.
    WebhookEvent.objects.filter(pk=row.pk).update(
        attempts=2, received_at=row.received_at - timedelta(minutes=5)
    )

    webhook_events_redrive()
    webhook_events_redrive()

    row.refresh_from_db()
    assert row.status == WebhookEvent.Status.GAVE_UP
    assert "never finished" in row.last_error
    assert len(alerts()) == 1


@pytest.mark.django_db
def test_a_failed_event_waits_longer_after_each_failure_then_goes_through(
    paid_checkout, stripe_emulator, monkeypatch
):
    """An outage of an hour must not use up every attempt in minutes: after each failure the sweeper leaves
    the event alone for 1, 2, 4 ... minutes; once the cause is gone it is processed like any other."""
    from payments.services import webhook_events_redrive

    _, payment = paid_checkout
    row = _store(_session_event(stripe_emulator, payment.checkout_session_id, "checkout.session.completed"))
    real_sync = payments_services.payment_sync_from_session
    sent: list[int] = []
    monkeypatch.setattr(
        "payments.tasks.webhook_event_process_task.delay",
        lambda webhook_event_id: sent.append(webhook_event_id),
    )
    monkeypatch.setattr("payments.services.payment_sync_from_session", lambda **kwargs: 1 / 0)
    start = timezone.now() + timedelta(minutes=5)  # the event is past its first minute

    with time_machine.travel(start, tick=False):
        webhook_event_process(webhook_event_id=row.pk)  # the first try, on arrival: fails
    row.refresh_from_db()
    assert (row.status, row.attempts) == (WebhookEvent.Status.FAILED, 1)
    assert row.next_attempt_at == start + timedelta(minutes=1)

    waits = []
    moment = start
    for attempt in (2, 3, 4):
        waited = row.next_attempt_at - moment
        with time_machine.travel(row.next_attempt_at - timedelta(seconds=1), tick=False):
            webhook_events_redrive()  # too early: left alone
        assert sent == []
        moment = row.next_attempt_at
        with time_machine.travel(moment, tick=False):
            webhook_events_redrive()
            assert sent == [row.pk]
            webhook_event_process(webhook_event_id=sent.pop())
        row.refresh_from_db()
        assert row.attempts == attempt
        waits.append(waited)
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert row.next_attempt_at == moment + timedelta(minutes=8)

    monkeypatch.setattr("payments.services.payment_sync_from_session", real_sync)
    with time_machine.travel(row.next_attempt_at, tick=False):
        webhook_events_redrive()
        webhook_event_process(webhook_event_id=sent.pop())
    row.refresh_from_db()
    payment.refresh_from_db()
    assert row.status == WebhookEvent.Status.PROCESSED
    assert payment.status == Payment.Status.PAID
