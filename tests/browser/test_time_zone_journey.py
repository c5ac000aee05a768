"""Time zones the way a visitor meets them, in a real Chromium whose clock says New York: the very first view
of a profile already shows New York times (no reload, nothing shown in UTC first); without JavaScript the page
says UTC and the zone picker changes it; the picker finds a city by typing, browser's zone first; and a zone
the visitor picked is the one their account gets when they sign up inside the booking form."""

import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from marketplace.models import User

NEW_YORK = ZoneInfo("America/New_York")


def _profile_url(service) -> str:
    return f"/p/{service.provider.slug}/?service={service.pk}"


@pytest.mark.django_db(transaction=True)
def test_the_first_profile_view_shows_the_browsers_zone_without_a_reload(page, bookable_service):
    navigations: list[str] = []
    page.on(
        "framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None
    )
    # Hold the page's second look at the server (the one that carries the zone) to see what shows meanwhile.
    held = []
    page.route(
        re.compile(r".*/p/.*"),
        lambda route: held.append(route) if route.request.headers.get("x-zone-detect") else route.continue_(),
    )

    page.goto(_profile_url(bookable_service))

    # Before the zone is known, the times are there but not shown (and the rest of the page is).
    page.wait_for_function("document.documentElement.classList.contains('zone-pending')")
    expect(page.get_by_role("heading", name="Gabi Guitar")).to_be_visible()
    expect(page.locator("#times")).to_be_hidden()
    page.wait_for_timeout(300)
    assert len(held) == 1
    held[0].continue_()

    expect(page.locator("#times")).to_be_visible()
    expect(page.get_by_test_id("slot-zone")).to_have_text("America/New_York")
    expect(page.get_by_test_id("viewer-timezone")).to_have_text("America/New_York")
    first_slot = page.get_by_test_id("slot").first
    expect(first_slot).to_have_attribute("aria-label", re.compile(r"E[SD]T$"))
    assert navigations == [page.url]  # one page load: no reload
    # The slot's own link carries its instant: the label shows it in New York time.
    href = first_slot.get_attribute("href") or ""
    assert "slot=" in href


@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_page_says_utc_and_the_picker_changes_it(
    browser, live_server, bookable_service
):
    context = browser.new_context(
        base_url=live_server.url, timezone_id="America/New_York", locale="en-US", java_script_enabled=False
    )
    page = context.new_page()
    try:
        page.goto(_profile_url(bookable_service))
        expect(page.locator("#times")).to_be_visible()  # nothing is held back without script
        expect(page.get_by_test_id("slot-zone")).to_have_text("UTC")

        page.get_by_label("Show times in").select_option("America/New_York")
        page.get_by_role("button", name="Change zone").click()

        expect(page.get_by_test_id("slot-zone")).to_have_text("America/New_York")
        expect(page.get_by_test_id("slot").first).to_have_attribute("aria-label", re.compile(r"E[SD]T$"))
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_the_zone_picker_puts_the_browsers_zone_first_and_finds_a_city_by_typing(page, bookable_service):
    page.goto(_profile_url(bookable_service))
    expect(page.get_by_test_id("slot-zone")).to_have_text("America/New_York")  # the first visit's zone is in
    picker = page.get_by_label("Show times in")

    first_group = picker.locator("optgroup").first
    expect(first_group).to_have_attribute("label", "Detected from your browser")
    expect(first_group.locator("option")).to_have_attribute("value", "America/New_York")
    expect(picker.locator("optgroup[label=Europe] option[value='Europe/Berlin']")).to_have_text(
        "Berlin, Germany"
    )
    expect(picker.locator("option[value='Africa/Asmera']")).to_have_count(0)

    # Keyboard only: tab into the search box, type an old name, then a city, and submit with Enter.
    search = page.get_by_label("Find a city or country")
    search.focus()
    page.keyboard.type("calcutta")
    expect(picker).to_have_value("Asia/Kolkata")
    expect(page.get_by_role("status").filter(has_text="1 zone matches")).to_have_count(1)
    search.fill("")
    page.keyboard.type("tokyo")
    expect(picker).to_have_value("Asia/Tokyo")
    page.keyboard.press("Enter")

    expect(page.get_by_test_id("slot-zone")).to_have_text("Asia/Tokyo")
    expect(page.get_by_test_id("slot").first).to_have_attribute("aria-label", re.compile(r"JST$"))


@pytest.fixture
def stripe_to_live_server(live_server, stripe_emulator, settings):
    settings.SITE_URL = live_server.url
    stripe_emulator.set_webhooks(url=live_server.url + "/webhooks/stripe/")
    return stripe_emulator


@pytest.mark.django_db(transaction=True)
def test_a_zone_the_visitor_picked_is_kept_when_they_sign_up_in_the_booking_form(
    page, bookable_service, stripe_to_live_server
):
    page.goto(_profile_url(bookable_service))
    page.get_by_label("Show times in").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Change zone").click()
    expect(page.get_by_test_id("slot-zone")).to_have_text("Asia/Tokyo")

    page.get_by_role("link", name="Next week →").click()
    page.get_by_test_id("slot").first.click()
    page.get_by_role("link", name="Book this time").click()
    expect(page.get_by_test_id("book-when")).to_contain_text("JST")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")  # not the browser's New York
    page.get_by_label("Name").fill("Taro Tanaka")
    page.get_by_label("Email").fill("taro@example.com")
    page.get_by_label(re.compile(r"^Password")).fill("a-long-unusual-passphrase")
    page.get_by_label("Confirm password").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("button", name="Pay", exact=True)).to_be_visible()
    assert User.objects.get(email="taro@example.com").timezone == "Asia/Tokyo"


@pytest.mark.django_db(transaction=True)
def test_a_first_time_visitor_signing_up_starts_in_the_browsers_zone(page):
    page.goto("/accounts/signup/")

    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
