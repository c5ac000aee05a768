"""In a real Chromium: a provider reads their earnings, switches the chart to weeks and downloads the CSV;
staff open the operator's dashboard from the admin index and choose a period."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from payments import history
from tests.factories import TEST_PASSWORD
from tests.payments.payout_helpers import make_payable

pytestmark = pytest.mark.django_db(transaction=True)


def _log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def past_sessions(bookable_provider, client_user, staff_user, stripe_emulator):
    make_payable(bookable_provider, stripe_emulator)
    bookable_provider.refresh_from_db()
    now = timezone.now()
    plan = history.past_sessions_plan(
        services=[bookable_provider.services.get()],
        clients=[client_user],
        start=now - timedelta(days=75),
        end=now - timedelta(days=1),
    )
    return history.past_sessions_create(plan, staff=staff_user)


def test_a_provider_reads_their_earnings_and_downloads_them(page, past_sessions, bookable_provider):
    _log_in(page, bookable_provider.user.email)
    page.goto("/dashboard/")
    page.get_by_role("link", name="Earnings").click()

    expect(page.get_by_role("heading", name="Your earnings")).to_be_visible()
    chart = page.get_by_role("img", name=re.compile("Net earnings per month"))
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 100
    rows = page.get_by_test_id("earnings-row")
    expect(rows).to_have_count(len(past_sessions))

    page.get_by_label("Chart by").select_option("week")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("img", name=re.compile("Net earnings per week"))).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_test_id("csv-link").click()
    text = download_info.value.path().read_text(encoding="utf-8")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert len(lines) == len(past_sessions)
    assert {line["reference"] for line in lines} == {booking.reference for booking in past_sessions}

    # On a phone the wide tables scroll inside their box; the page itself does not scroll sideways.
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    # What sticks out, to say which element is at fault when this fails.
    wide = page.evaluate(
        """[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 8).map(e => e.tagName + '.' + e.className)"""
    )
    assert overflow <= 0, wide
    expect(page.get_by_role("img", name=re.compile("Net earnings per week"))).to_be_visible()


def test_staff_open_the_operator_dashboard_from_the_admin(page, past_sessions, staff_user):
    _log_in(page, staff_user.email)
    page.goto("/admin/")
    page.get_by_role("link", name="Operator dashboard").click()

    expect(page.get_by_role("heading", name="Operator dashboard")).to_be_visible()
    page.get_by_role("link", name="Last year").click()
    chart = page.get_by_role("img", name=re.compile("Gross volume per week"))
    expect(chart).to_be_visible()
    assert chart.locator("rect.chart-bar").count() >= 52
    expect(page.get_by_test_id("bookings-paid")).not_to_have_text("0")
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
