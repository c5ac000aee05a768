"""Periodic jobs as commands, and what admins can do with bookings, payments and the webhook inbox."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.services import booking_create
from payments.models import WebhookEvent

pytestmark = pytest.mark.django_db


def test_expire_holds_command_releases_lapsed_holds(client_user, bookable_service, slot):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    out = StringIO()

    call_command("expire_holds", stdout=out)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert "Expired 1 lapsed hold." in out.getvalue()


def test_a_booked_slot_disappears_from_the_public_profile(
    as_other_client, client_user, bookable_service, slot
):
    profile = reverse("providers:profile", args=[bookable_service.provider.slug])
    week = f"?service={bookable_service.pk}&week={slot.date().isoformat()}"
    before = as_other_client.get(profile + week).context["week"]
    assert any(slot in day.slots for day in before.days)

    booking_create(client=client_user, service=bookable_service, start_at=slot)

    after = as_other_client.get(profile + week).context["week"]
    assert not any(slot in day.slots for day in after.days)


def test_admin_sees_the_inbox_and_replays_an_event(as_staff):
    event = WebhookEvent.objects.create(
        stripe_event_id="evt_1",
        endpoint="platform",
        type="customer.created",
        payload={"id": "evt_1", "type": "customer.created", "data": {"object": {"id": "cus_1"}}},
        status=WebhookEvent.Status.FAILED,
    )
    changelist = reverse("admin:payments_webhookevent_changelist")
    assert "evt_1" in as_staff.get(changelist).content.decode()

    as_staff.post(changelist, {"action": "replay", "_selected_action": [event.pk]})

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.IGNORED  # processed again; the type is not one we handle


def test_admin_shows_bookings_with_their_history_but_cannot_edit_money(
    as_staff, client_user, bookable_service, slot
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)

    page = as_staff.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()

    assert "slot held for checkout" in page
    assert 'name="price_amount"' not in page


@pytest.mark.parametrize("persona", ["as_client", "as_provider"])
def test_only_staff_reach_the_money_admin(request, persona):
    browser = request.getfixturevalue(persona)

    assert browser.get(reverse("admin:payments_webhookevent_changelist")).status_code == 302
