"""The provider dashboard's layout, measured in a real Chromium: on a phone its two menus take little of the
screen; every dashboard page has the same order (menu, then heading) in the same place, with space under the
site header; a weekly-hours row with an error keeps its fields in line."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.fixtures.browser import sign_in_by_cookie

PHONES = {"390x844": (390, 844), "360x640": (360, 640)}

pytestmark = pytest.mark.django_db(transaction=True)


def dashboard_pages(provider) -> list[str]:
    return [
        reverse("providers:dashboard"),
        reverse("bookings:provider_bookings"),
        reverse("providers:edit_profile"),
        reverse("providers:services"),
        reverse("providers:service_new"),
        reverse("providers:service_edit", args=[provider.services.get().pk]),
        reverse("providers:availability"),
        reverse("providers:time_off"),
        reverse("payments:payouts"),
        reverse("payments:connect_setup"),
        reverse("providers:booking_settings"),
    ]


def _box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown on {page.url}"
    return box


def _layout(page) -> dict:
    """Where the header, the dashboard menu and the heading are, and what comes first in <main>."""
    return page.evaluate(
        """() => ({
            order: [...document.querySelectorAll('main > :not(.messages)')].slice(0, 2)
                .map(e => e.tagName.toLowerCase() + (e.classList.contains('subnav') ? '.subnav' : '')),
            headerBottom: document.querySelector('.site-header').getBoundingClientRect().bottom,
            subnavTop: document.querySelector('.subnav').getBoundingClientRect().top,
            subnavBottom: document.querySelector('.subnav').getBoundingClientRect().bottom,
            h1Top: document.querySelector('main h1').getBoundingClientRect().top,
        })"""
    )


@pytest.fixture
def phone(browser, live_server, request):
    contexts = []

    def open_phone(size: str, user):
        width, height = PHONES[size]
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            is_mobile=True,
            has_touch=True,
            timezone_id="Europe/Berlin",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        sign_in_by_cookie(context, user, live_server.url)
        return context.new_page()

    yield open_phone
    for context in contexts:
        context.close()


@pytest.mark.parametrize("size", list(PHONES))
def test_on_a_phone_both_menus_take_under_a_third_of_the_screen_on_every_dashboard_page(
    phone, bookable_provider, size
):
    page = phone(size, bookable_provider.user)
    height = PHONES[size][1]

    for url in dashboard_pages(bookable_provider):
        page.goto(url)
        layout = _layout(page)

        assert layout["subnavBottom"] < height / 3, (
            f"{url}: menus end at {layout['subnavBottom']} of {height}px"
        )
        # One row that scrolls sideways, not a block of wrapped lines.
        assert _box(page, ".subnav ul")["height"] < 60, url


def test_on_a_phone_the_current_page_is_in_view_in_the_menu_and_the_rest_scroll_into_reach(
    phone, bookable_provider
):
    page = phone("360x640", bookable_provider.user)
    page.goto(reverse("providers:booking_settings"))  # the last item but one: far off a 360 px screen

    current = page.locator('.subnav [aria-current="page"]')
    box = current.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 360

    first = page.get_by_role("navigation", name="Provider dashboard").get_by_role("link", name="Overview")
    first.scroll_into_view_if_needed()
    first.click()
    expect(page).to_have_url(re.compile(reverse("providers:dashboard") + "$"))


@pytest.mark.parametrize("size", ["desktop", "390x844"])
def test_every_dashboard_page_has_the_menu_then_the_heading_in_the_same_place(
    browser, live_server, bookable_provider, stripe_emulator, size
):
    width, height = PHONES.get(size, (1280, 900))
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    sign_in_by_cookie(context, bookable_provider.user, live_server.url)
    page = context.new_page()
    try:
        layouts = {}
        for url in dashboard_pages(bookable_provider):
            page.goto(url)
            layouts[url] = _layout(page)
    finally:
        context.close()

    for url, layout in layouts.items():
        assert layout["order"] == ["nav.subnav", "h1"], url
        assert layout["subnavTop"] - layout["headerBottom"] >= 16, f"{url}: no space under the site header"
    assert len({round(layout["h1Top"]) for layout in layouts.values()}) == 1, {
        url: layout["h1Top"] for url, layout in layouts.items()
    }


def _weekly_hours_with_an_error(page) -> None:
    page.goto(reverse("providers:availability"))
    page.get_by_label("From").nth(0).fill("17:00")
    page.get_by_label(re.compile(r"^To\b")).nth(0).fill("09:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.get_by_text("The end must be later than the start").first).to_be_visible()


def _centre(box: dict) -> float:
    return box["y"] + box["height"] / 2


def test_a_weekly_hours_row_with_an_error_keeps_its_fields_in_line(page, live_server, bookable_provider):
    sign_in_by_cookie(page.context, bookable_provider.user, live_server.url)
    _weekly_hours_with_an_error(page)

    row = page.locator(".rule-row").first
    day, start, end = (
        row.locator(f"[name$='-{name}']").bounding_box() for name in ("weekday", "start_time", "end_time")
    )
    delete = row.get_by_label("Delete").bounding_box()

    assert day["y"] == start["y"] == end["y"]
    assert abs(_centre(delete) - _centre(end)) <= 3
    # The row without an error lines up with the one that has it.
    other = page.locator(".rule-row").nth(1).locator("[name$='-start_time']").bounding_box()
    assert other["x"] == start["x"]


def test_on_a_phone_a_weekly_hours_row_with_an_error_keeps_from_and_to_side_by_side(phone, bookable_provider):
    page = phone("390x844", bookable_provider.user)
    _weekly_hours_with_an_error(page)

    row = page.locator(".rule-row").first
    start = row.locator("[name$='-start_time']").bounding_box()
    end = row.locator("[name$='-end_time']").bounding_box()
    day = row.locator("[name$='-weekday']").bounding_box()

    assert start["y"] == end["y"]
    assert start["x"] < end["x"]
    assert day["width"] > start["width"] + end["width"]  # the day has the whole width
