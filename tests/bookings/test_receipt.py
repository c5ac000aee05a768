"""The printable receipt: charges and refunds of one booking, for its client only, in their zone, without
anything of Stripe's."""

from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse

from bookings.services import booking_create
from payments.models import Refund
from payments.services import booking_cancel_with_refund
from tests.payments.payout_helpers import paid_booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client_user, bookable_service, slot, stripe_emulator):
    return paid_booking(client_user, bookable_service, slot, stripe_emulator)


def _receipt_url(booking) -> str:
    return reverse("bookings:receipt", args=[booking.reference])


def test_the_client_gets_a_receipt_of_the_charge_in_their_zone(as_client, paid):
    payment = paid.payments.get()

    response = as_client.get(_receipt_url(paid))

    body = response.content.decode()
    assert response.status_code == 200
    assert settings.SITE_NAME in body
    assert paid.reference in body
    assert "Card payment" in body
    assert "$45.00" in body
    # The client lives in New York: the payment's time is shown there, with the zone named.
    paid_local = payment.paid_at.astimezone(ZoneInfo("America/New_York"))
    assert f"{paid_local:%H:%M} E" in body
    assert "Times are in America/New_York" in body


def test_the_receipt_shows_the_refund_and_what_was_paid_in_the_end(
    as_client, paid, stripe_emulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel_with_refund(booking_id=paid.pk, actor=paid.provider.user, by_client=False)
    assert paid.refunds.get().status == Refund.Status.SUCCEEDED

    body = as_client.get(_receipt_url(paid)).content.decode()

    assert "Refund: cancelled by the provider" in body
    assert "\N{MINUS SIGN}$45.00" in body
    assert 'data-testid="receipt-net">$0.00' in body


def test_a_refund_still_on_its_way_is_said_so_not_counted(as_client, paid, settings):
    # No emulator call happens: the refund row is written and its task is never run (no on_commit here).
    booking_cancel_with_refund(booking_id=paid.pk, actor=paid.provider.user, by_client=False)

    body = as_client.get(_receipt_url(paid)).content.decode()

    assert "A refund of $45.00 is on its way to your card" in body
    assert 'data-testid="receipt-net">$45.00' in body


def test_the_receipt_shows_no_stripe_ids(as_client, paid):
    payment = paid.payments.get()

    body = as_client.get(_receipt_url(paid)).content.decode()

    for stripe_id in (payment.charge_id, payment.payment_intent_id, payment.checkout_session_id):
        assert stripe_id
        assert stripe_id not in body
    for prefix in ("ch_", "pi_", "cs_", "re_", "acct_"):
        assert prefix not in body


def test_the_receipt_has_a_print_stylesheet(as_client, paid):
    from django.contrib.staticfiles import finders

    body = as_client.get(_receipt_url(paid)).content.decode()
    with open(finders.find("css/site.css"), encoding="utf-8") as stylesheet:
        css = stylesheet.read()

    assert "data-print" in body
    assert "@media print" in css
    assert ".site-header, .site-footer" in css


@pytest.mark.parametrize("persona", ["as_other_client", "as_provider", "as_other_provider", "as_staff"])
def test_nobody_else_sees_the_receipt(request, persona, paid):
    assert request.getfixturevalue(persona).get(_receipt_url(paid)).status_code == 404


def test_the_sessions_provider_does_not_see_the_clients_receipt(paid):
    from django.test import Client

    browser = Client()
    browser.force_login(paid.provider.user)

    assert browser.get(_receipt_url(paid)).status_code == 404


def test_a_visitor_is_sent_to_log_in(anonymous, paid):
    response = anonymous.get(_receipt_url(paid))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_an_unpaid_booking_has_no_receipt(as_client, client_user, bookable_service, slot):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)

    assert as_client.get(_receipt_url(booking)).status_code == 404


def test_my_bookings_lists_the_payment_and_links_the_receipt(as_client, paid):
    body = as_client.get(reverse("bookings:mine")).content.decode()

    assert "Paid $45.00 on" in body
    assert _receipt_url(paid) in body
