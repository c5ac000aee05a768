"""Search in a real Chromium: the card shows the price that made it match, a backwards price range says so,
a city prefix finds the city, and on a phone the filters fold behind a "Filters" button so results come first.
"""

import pytest
from playwright.sync_api import expect

from tests.factories import listed_provider

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def providers(db):
    # Wide is "from $30" overall, but only its $60 session is inside a search for $50 and up.
    listed_provider(display_name="Wide Range", city="London", services=(("Short", 3000), ("Long", 6000)))
    listed_provider(display_name="Narrow Range", city="London", services=(("Only", 5500),))
    listed_provider(display_name="Cheap Only", city="Leeds", services=(("Short", 2000),))


def test_a_price_search_sorted_by_price_shows_the_matching_prices_in_order(page, providers):
    page.goto("/providers/")
    page.get_by_label("Min price").fill("50")
    page.get_by_label("Sort by").select_option(label="Lowest price")
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_role("heading", name="2 providers")).to_be_visible()
    cards = page.get_by_test_id("provider-card")
    expect(cards.get_by_role("heading")).to_have_text(["Narrow Range", "Wide Range"])
    expect(page.get_by_test_id("from-price")).to_have_text(["$55.00", "$60.00"])
    expect(cards.first).to_contain_text("In your price range, from")
    expect(page.get_by_text("$30.00")).to_have_count(0)


def test_a_min_price_above_the_max_says_so_and_still_shows_providers(page, providers):
    page.goto("/providers/")
    page.get_by_label("Min price").fill("80")
    page.get_by_label("Max price").fill("20")
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_text("The max price (20) is below the min price (80)")).to_be_visible()
    expect(page.get_by_role("heading", name="3 providers")).to_be_visible()


def test_a_city_prefix_finds_the_city(page, providers):
    page.goto("/providers/")
    page.get_by_label("City or area").fill("Lond")
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_role("heading", name="2 providers")).to_be_visible()
    expect(page.get_by_text("Narrow Range")).to_be_visible()
    expect(page.get_by_text("Wide Range")).to_be_visible()
    expect(page.get_by_text("Cheap Only")).to_have_count(0)


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, timezone_id="Europe/London", locale="en-GB", viewport=PHONE, is_mobile=True
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_on_a_phone_the_filters_fold_behind_a_button_and_the_first_result_is_on_the_first_screen(
    phone, providers
):
    phone.goto("/providers/")
    # A first visit shows the results once the page has fetched them again in the browser's zone (site.js):
    # measure the card that stays, not the one being replaced.
    phone.wait_for_function("!document.documentElement.classList.contains('zone-pending')")

    toggle = phone.get_by_role("button", name="Filters")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(phone.get_by_label("Min price")).to_be_hidden()
    first_card = phone.get_by_test_id("provider-card").first
    expect(first_card).to_be_in_viewport()
    box = first_card.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] < PHONE["height"]  # the whole first card, not just its top

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    phone.get_by_label("Min price").fill("50")
    phone.get_by_role("button", name="Search", exact=True).click()

    expect(phone.get_by_role("heading", name="2 providers")).to_be_visible()
    # Folded again on the results, and the keyboard opens it too.
    expect(phone.get_by_label("Min price")).to_be_hidden()
    phone.get_by_role("button", name="Filters").focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_label("Min price")).to_have_value("50")


def test_on_a_phone_filters_with_an_error_stay_open(phone, providers):
    phone.goto("/providers/?price_min=80&price_max=20")

    expect(phone.get_by_role("button", name="Filters")).to_have_attribute("aria-expanded", "true")
    expect(phone.get_by_text("The max price (20) is below the min price (80)")).to_be_visible()


def test_on_a_wide_screen_there_is_no_filters_button_and_the_filters_show(page, providers):
    page.goto("/providers/")

    expect(page.get_by_role("button", name="Filters")).to_be_hidden()
    expect(page.get_by_label("Min price")).to_be_visible()
