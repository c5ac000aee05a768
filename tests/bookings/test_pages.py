"""Booking pages: the booking form, checkout return pages, my bookings, detail and cancel; who sees what."""

from datetime import timedelta, timezone
from urllib.parse import quote

import pytest
from django.urls import reverse

from bookings.models import Booking
from bookings.services import booking_create
from marketplace.models import User
from payments.models import Refund
from payments.services import checkout_start, payment_sync_from_session
from tests.factories import UserFactory
from tests.fixtures.bookings import first_slot

pytestmark = pytest.mark.django_db


def _book_url(service, slot) -> str:
    return reverse("bookings:book", args=[service.pk]) + "?start=" + quote(slot.isoformat())


@pytest.fixture
def confirmed_booking(
    client_user, bookable_service, slot, stripe_emulator, django_capture_on_commit_callbacks
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)
    with django_capture_on_commit_callbacks(execute=True):
        payment_sync_from_session(session_id=payment.checkout_session_id)
    booking.refresh_from_db()
    return booking


def test_booking_form_shows_the_slot_in_the_viewers_zone(as_client, bookable_service, slot):
    response = as_client.get(_book_url(bookable_service, slot))

    local = slot.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    body = response.content.decode()
    assert response.status_code == 200
    assert f"{local:%H:%M} E" in body  # 'EST'/'EDT' named after the time
    assert "$45.00" in body


def test_booking_form_for_a_taken_slot_sends_back_to_the_profile(
    as_client, other_client_user, bookable_service, slot
):
    booking_create(client=other_client_user, service=bookable_service, start_at=slot)

    response = as_client.get(_book_url(bookable_service, slot), follow=True)

    assert "no longer available" in response.content.decode()
    assert response.redirect_chain[-1][0].startswith(
        reverse("providers:profile", args=[bookable_service.provider.slug])
    )


def test_booking_form_refuses_a_start_without_a_zone(as_client, bookable_service, slot):
    naive = slot.replace(tzinfo=None).isoformat()

    response = as_client.get(reverse("bookings:book", args=[bookable_service.pk]) + "?start=" + naive)

    assert response.status_code == 302


@pytest.mark.parametrize(
    "start",
    [
        "9999-12-31T23:59:59+00:00",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+23:59",
        "2030-06-01T10:00:00+23:59",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_start_out_of_range_is_an_unavailable_slot_never_an_error(
    as_client, bookable_service, start, method
):
    url = reverse("bookings:book", args=[bookable_service.pk]) + "?start=" + quote(start)

    response = getattr(as_client, method)(url, follow=True)

    assert response.status_code == 200
    assert "that time is no longer available" in response.content.decode()
    assert not Booking.objects.exists()


def test_a_slot_named_with_an_extreme_offset_is_booked_at_the_same_instant(
    as_client, bookable_service, slot, stripe_emulator
):
    # +23:59 is valid ISO 8601 and Python, beyond PostgreSQL's ±15:59: the slot is still the slot.
    shifted = slot.astimezone(timezone(timedelta(hours=23, minutes=59)))

    response = as_client.post(_book_url(bookable_service, shifted), {})

    assert response.status_code == 302
    assert Booking.objects.get().start_at == slot


def test_submitting_the_form_holds_the_slot_and_sends_the_client_to_stripe(
    as_client, client_user, bookable_service, slot, stripe_emulator
):
    response = as_client.post(_book_url(bookable_service, slot), {"client_notes": "First lesson"})

    booking = Booking.objects.get()
    assert (booking.client, booking.client_notes, booking.status) == (
        client_user,
        "First lesson",
        "pending_payment",
    )
    assert response.status_code == 302
    assert response.url == booking.payments.get().checkout_url
    assert response.url.startswith(stripe_emulator.url)


def test_a_visitor_signs_up_inline_while_booking(anonymous, bookable_service, slot, stripe_emulator):
    response = anonymous.post(
        _book_url(bookable_service, slot),
        {
            "signup-name": "Vera Visitor",
            "signup-email": "vera@example.com",
            "signup-password1": "a-long-unusual-passphrase",
            "signup-password2": "a-long-unusual-passphrase",
            "signup-timezone": "Asia/Tokyo",
        },
    )

    vera = User.objects.get(email="vera@example.com")
    assert vera.timezone == "Asia/Tokyo"
    assert Booking.objects.get().client == vera
    assert response.url.startswith(stripe_emulator.url)


def test_a_visitor_with_signup_errors_books_nothing(anonymous, bookable_service, slot, stripe_emulator):
    response = anonymous.post(_book_url(bookable_service, slot), {"signup-email": "bad"})

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not Booking.objects.exists()
    assert not User.objects.filter(email="bad").exists()


def test_an_address_is_required_for_sessions_at_the_clients_place(
    as_client, bookable_service, slot, stripe_emulator
):
    bookable_service.location = "client_place"
    bookable_service.save()

    response = as_client.post(_book_url(bookable_service, slot), {"client_notes": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Booking.objects.exists()


def test_checkout_creation_is_rate_limited_per_user(
    as_client, bookable_service, slot, stripe_emulator, settings
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "checkout_user": (1, 600)}
    as_client.post(_book_url(bookable_service, slot), {})

    another_day = first_slot(bookable_service, after_days=5)  # bookable whatever the time of day
    response = as_client.post(_book_url(bookable_service, another_day), {})

    assert response.status_code == 429
    assert Booking.objects.count() == 1


def test_success_page_fulfils_when_the_webhook_has_not_landed(
    as_client, client_user, bookable_service, slot, stripe_emulator
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)

    response = as_client.get(
        reverse("bookings:checkout_success", args=[booking.reference])
        + f"?session_id={payment.checkout_session_id}"
    )

    assert "You're booked!" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_success_page_says_processing_for_a_delayed_payment(
    as_client, client_user, bookable_service, slot, stripe_emulator
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.offer_bank_debits(payment.checkout_session_id)  # a session from before cards-only
    stripe_emulator.pay(payment.checkout_session_id, method="delayed_success")

    response = as_client.get(
        reverse("bookings:checkout_success", args=[booking.reference])
        + f"?session_id={payment.checkout_session_id}"
    )

    assert "Payment processing" in response.content.decode()


def test_cancelled_checkout_offers_to_try_again_while_the_hold_lasts(
    as_client, client_user, bookable_service, slot, stripe_emulator
):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    checkout_start(booking_id=booking.pk)

    body = as_client.get(reverse("bookings:checkout_cancelled", args=[booking.reference])).content.decode()

    assert "Try paying again" in body
    assert "Pick another time" in body


def test_trying_again_opens_a_new_session(as_client, client_user, bookable_service, slot, stripe_emulator):
    booking = booking_create(client=client_user, service=bookable_service, start_at=slot)
    first = checkout_start(booking_id=booking.pk)

    response = as_client.post(reverse("bookings:checkout", args=[booking.reference]))

    second = booking.payments.order_by("-attempt").first()
    assert second.attempt == 2
    assert response.url == second.checkout_url != first.checkout_url


def test_my_bookings_lists_upcoming_with_status_and_amount(as_client, confirmed_booking):
    body = as_client.get(reverse("bookings:mine")).content.decode()

    assert confirmed_booking.service_title in body
    assert "Confirmed" in body
    assert "$45.00" in body


def test_detail_shows_timeline_and_receipt(as_client, confirmed_booking):
    body = as_client.get(reverse("bookings:detail", args=[confirmed_booking.reference])).content.decode()

    assert "Timeline" in body
    assert "slot held for checkout" in body
    assert 'data-testid="amount-paid">$45.00' in body


def test_cancel_page_shows_the_refund_before_anything_happens(as_client, confirmed_booking):
    response = as_client.get(reverse("bookings:cancel", args=[confirmed_booking.reference]))

    assert "You will get back" in response.content.decode()
    assert "$45.00" in response.content.decode()
    confirmed_booking.refresh_from_db()
    assert confirmed_booking.status == Booking.Status.CONFIRMED


def test_client_cancels_and_sees_the_refund(
    as_client, confirmed_booking, stripe_emulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_client.post(
            reverse("bookings:cancel", args=[confirmed_booking.reference]),
            {"reason": "ill", "expected_refund": 4500},
            follow=True,
        )

    body = response.content.decode()
    assert "A refund of $45.00 is on its way" in body
    assert 'data-testid="refund-row"' in body
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED


def test_provider_cancels_from_the_dashboard_with_a_full_refund(
    confirmed_booking, stripe_emulator, django_capture_on_commit_callbacks
):
    from django.test import Client

    provider_browser = Client()
    provider_browser.force_login(confirmed_booking.provider.user)
    assert (
        confirmed_booking.reference
        in provider_browser.get(reverse("bookings:provider_bookings")).content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        provider_browser.post(
            reverse("bookings:cancel", args=[confirmed_booking.reference]), {"expected_refund": 4500}
        )

    refund = Refund.objects.get()
    assert (refund.amount, refund.reason) == (4500, Refund.Reason.PROVIDER_CANCELLED)


@pytest.mark.parametrize(
    ("persona", "detail", "cancel"),
    [
        ("anonymous", 302, 302),
        ("as_client", 200, 200),  # the booking's client
        ("as_other_client", 404, 404),
        ("as_provider", 404, 404),  # a provider, but not this booking's
        ("as_staff", 404, 404),  # staff work in Django admin
    ],
)
def test_only_the_client_and_the_provider_see_a_booking(request, confirmed_booking, persona, detail, cancel):
    browser = request.getfixturevalue(persona)

    assert browser.get(reverse("bookings:detail", args=[confirmed_booking.reference])).status_code == detail
    assert browser.get(reverse("bookings:cancel", args=[confirmed_booking.reference])).status_code == cancel


def test_the_bookings_provider_sees_it_but_cannot_pay_or_view_checkout_pages(confirmed_booking):
    from django.test import Client

    provider_browser = Client()
    provider_browser.force_login(confirmed_booking.provider.user)

    assert (
        provider_browser.get(reverse("bookings:detail", args=[confirmed_booking.reference])).status_code
        == 200
    )
    assert (
        provider_browser.post(reverse("bookings:checkout", args=[confirmed_booking.reference])).status_code
        == 404
    )
    assert (
        provider_browser.get(
            reverse("bookings:checkout_success", args=[confirmed_booking.reference])
        ).status_code
        == 404
    )


def test_another_client_cannot_cancel_by_posting(as_other_client, confirmed_booking):
    response = as_other_client.post(reverse("bookings:cancel", args=[confirmed_booking.reference]), {})

    assert response.status_code == 404
    confirmed_booking.refresh_from_db()
    assert confirmed_booking.status == Booking.Status.CONFIRMED


def test_my_bookings_shows_only_mine(as_other_client, confirmed_booking):
    body = as_other_client.get(reverse("bookings:mine")).content.decode()

    assert confirmed_booking.reference not in body
    assert "Nothing booked yet" in body


def test_a_client_cannot_open_the_provider_sessions_page(as_client):
    assert as_client.get(reverse("bookings:provider_bookings")).status_code == 404


def test_times_on_the_detail_page_follow_each_viewers_zone(confirmed_booking):
    from django.test import Client

    tokyo = UserFactory(timezone="Asia/Tokyo")
    booking = confirmed_booking
    Booking.objects.filter(pk=booking.pk).update(client=tokyo)
    browser = Client()
    browser.force_login(tokyo)

    body = browser.get(reverse("bookings:detail", args=[booking.reference])).content.decode()

    local = booking.start_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert f"{local:%H:%M} JST" in body


# The refund shown is the refund given ----------------------------------------------------------------------


def test_cancelling_after_the_free_deadline_passed_on_the_open_page_asks_again(
    as_client, confirmed_booking, stripe_emulator
):
    import time_machine

    url = reverse("bookings:cancel", args=[confirmed_booking.reference])
    assert 'name="expected_refund" value="4500"' in as_client.get(url).content.decode()
    late = confirmed_booking.start_at - timedelta(hours=2)  # the free-cancellation deadline has passed

    with time_machine.travel(late, tick=True):
        response = as_client.post(url, {"reason": "", "expected_refund": 4500})

    body = response.content.decode()
    assert response.status_code == 200
    assert "The refund has changed since you opened this page: $0.00 now" in body
    assert 'name="expected_refund" value="0"' in body
    confirmed_booking.refresh_from_db()
    assert confirmed_booking.status == Booking.Status.CONFIRMED
    assert not Refund.objects.exists()

    with time_machine.travel(late, tick=True):
        as_client.post(url, {"reason": "", "expected_refund": 0})
    confirmed_booking.refresh_from_db()
    assert confirmed_booking.status == Booking.Status.CANCELLED
    assert not Refund.objects.exists()


@pytest.mark.parametrize("posted", ["999999", "", "-5"])
def test_a_cancel_post_with_another_amount_changes_nothing(as_client, confirmed_booking, posted):
    url = reverse("bookings:cancel", args=[confirmed_booking.reference])

    response = as_client.post(url, {"reason": "", "expected_refund": posted})

    assert response.status_code == 200
    confirmed_booking.refresh_from_db()
    assert confirmed_booking.status == Booking.Status.CONFIRMED
    assert not Refund.objects.exists()
