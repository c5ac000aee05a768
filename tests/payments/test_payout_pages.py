"""The provider's payouts page and the completion button: who sees what, and the money told truthfully."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from bookings.models import Booking
from payments.models import Payout
from payments.payouts import session_complete
from tests.payments.payout_helpers import make_payable, paid_booking

pytestmark = pytest.mark.django_db

URL = reverse("payments:payouts")


@pytest.fixture
def confirmed(client_user, bookable_service, slot, stripe_emulator):
    return paid_booking(client_user, bookable_service, slot, stripe_emulator)


def _provider_browser(booking) -> Client:
    browser = Client()
    browser.force_login(booking.provider.user)
    return browser


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("anonymous", 302),
        ("as_client", 404),
        ("as_other_client", 404),
        ("as_staff", 404),
        ("as_provider", 200),
    ],
)
def test_payouts_page_access(request, persona, status):
    assert request.getfixturevalue(persona).get(URL).status_code == status


def test_a_provider_sees_only_their_own_payouts_with_totals(confirmed, other_provider, stripe_emulator):
    session_complete(booking_id=confirmed.pk, actor=None, now=confirmed.start_at + timedelta(hours=1))
    mine = _provider_browser(confirmed).get(URL).content.decode()
    theirs = Client()
    theirs.force_login(other_provider.user)

    assert confirmed.service_title in mine
    assert "$40.50" in mine  # 4500 less the 10% fee, held
    assert confirmed.service_title not in theirs.get(URL).content.decode()


def test_the_page_says_payouts_wait_for_setup_and_links_to_it(confirmed, stripe_emulator):
    body = _provider_browser(confirmed).get(URL).content.decode()

    assert 'data-testid="payout-setup-needed"' in body
    assert reverse("payments:connect_setup") in body


def test_mark_complete_is_refused_before_the_start_and_works_after(confirmed, stripe_emulator):
    browser = _provider_browser(confirmed)
    url = reverse("bookings:complete", args=[confirmed.reference])

    response = browser.post(url, follow=True)
    assert "once it has started" in response.content.decode()
    confirmed.refresh_from_db()
    assert confirmed.status == Booking.Status.CONFIRMED

    with time_machine.travel(confirmed.start_at + timedelta(minutes=30), tick=True):
        page = browser.get(reverse("bookings:provider_bookings")).content.decode()
        assert "Mark complete" in page
        response = browser.post(url, follow=True)
    confirmed.refresh_from_db()
    assert confirmed.status == Booking.Status.COMPLETED
    assert "held until" in response.content.decode()
    assert Payout.objects.get().booking_id == confirmed.pk


@pytest.mark.parametrize("persona", ["as_client", "as_other_client", "as_provider", "as_staff"])
def test_nobody_but_the_sessions_provider_can_mark_it_complete(request, confirmed, persona):
    browser = request.getfixturevalue(persona)

    with time_machine.travel(confirmed.start_at + timedelta(minutes=30), tick=True):
        response = browser.post(reverse("bookings:complete", args=[confirmed.reference]))

    assert response.status_code == 404
    confirmed.refresh_from_db()
    assert confirmed.status == Booking.Status.CONFIRMED


def test_the_client_sees_completed_and_until_when_to_report_a_problem(as_client, confirmed, stripe_emulator):
    done = confirmed.start_at + timedelta(hours=1)
    session_complete(booking_id=confirmed.pk, actor=None, now=done)

    with time_machine.travel(done + timedelta(minutes=5), tick=True):
        body = as_client.get(reverse("bookings:detail", args=[confirmed.reference])).content.decode()

    assert "Completed" in body
    assert "You can report a problem until" in body


def test_the_provider_sees_a_paid_payout_as_paid(
    confirmed, stripe_emulator, settings, django_capture_on_commit_callbacks
):
    from payments.payouts import payouts_release

    make_payable(confirmed.provider, stripe_emulator)
    done = confirmed.start_at + timedelta(hours=1)
    session_complete(booking_id=confirmed.pk, actor=None, now=done)
    with (
        time_machine.travel(done + timedelta(hours=settings.PAYOUT_HOLD_HOURS, minutes=1), tick=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        payouts_release()

    body = _provider_browser(confirmed).get(URL).content.decode()
    assert "$40.50 paid" in body


@pytest.mark.parametrize(
    "model", ["payment", "refund", "payout", "dispute", "payoutreversal", "webhookevent", "booking"]
)
def test_admin_money_reads_in_the_currencys_units(model, confirmed, staff_user, stripe_emulator):
    from django.contrib.admin.sites import site

    from payments.disputes import dispute_open
    from payments.models import Dispute

    session_complete(booking_id=confirmed.pk, actor=None, now=confirmed.start_at + timedelta(hours=1))
    dispute_open(booking_id=confirmed.pk, opened_by=Dispute.OpenedBy.ADMIN, actor=staff_user, reason="other")
    admin = Client()
    admin.force_login(staff_user)
    model_class = next(m for m in site._registry if m._meta.model_name == model)
    app = model_class._meta.app_label

    listing = admin.get(reverse(f"admin:{app}_{model}_changelist"))
    assert listing.status_code == 200
    row = model_class.objects.first()
    if row is not None:
        page = admin.get(reverse(f"admin:{app}_{model}_change", args=[row.pk]))
        assert page.status_code == 200
        assert "Minor units" not in page.content.decode()
    if model in ("payment", "booking"):
        assert "$45.00" in listing.content.decode()
    if model == "payout":
        assert "$40.50" in listing.content.decode()
