"""A provider sets up a profile, a service and weekly hours; a visitor elsewhere finds them through search and
sees their open times in the visitor's own zone. In a real Chromium."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from marketplace.models import User
from providers.models import Category, Provider
from providers.services import availability_rules_set, service_create
from providers.slots import service_slots


@pytest.fixture
def browser_timezone() -> str:
    return "Europe/Berlin"  # the provider's browser


@pytest.fixture
def visitor(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url,
        timezone_id="Asia/Tokyo",
        locale="en-US",
        viewport={"width": 1200, "height": 900},
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def set_up_as_provider(page) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Name").fill("Clara Schumann")
    page.get_by_label("Email").fill("clara@example.com")
    page.get_by_label(re.compile(r"^Password")).fill("a-long-unusual-passphrase")
    page.get_by_label("Confirm password").fill("a-long-unusual-passphrase")
    page.get_by_label("I want to offer sessions as a provider").check()
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Provider dashboard")).to_be_visible()
    expect(page.get_by_text("You are not listed yet")).to_be_visible()

    page.get_by_role("link", name="Profile", exact=True).click()
    page.get_by_label("Headline").fill("Harpsichord teacher for curious adults")
    page.get_by_label("About you").fill("I have taught early keyboard music for twenty years.")
    page.get_by_label("Category").select_option(label="Music lessons")
    page.get_by_label("City or area").fill("Leipzig")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile has been saved.")).to_be_visible()

    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_role("link", name="Add a service").click()
    page.get_by_label("Title").fill("Harpsichord lesson")
    page.get_by_label("Duration (minutes)").fill("60")
    page.get_by_label(re.compile(r"^Price")).fill("45.00")
    page.get_by_label("Online").check()
    page.get_by_role("button", name="Save service").click()
    expect(page.get_by_role("cell", name="$45.00")).to_be_visible()

    page.get_by_role("link", name="Weekly hours", exact=True).click()
    for row, day in enumerate(["Monday", "Wednesday", "Friday", "Saturday"]):
        if row >= 3:
            page.get_by_role("button", name="Add another range").click()
        page.get_by_label("Day").nth(row).select_option(label=day)
        page.get_by_label("From").nth(row).fill("09:00")
        page.get_by_label(re.compile(r"^To\b")).nth(row).fill("17:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.get_by_text("Your weekly hours have been saved.")).to_be_visible()

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_text("You are listed in search")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_a_provider_sets_up_and_a_visitor_in_tokyo_finds_them_and_sees_tokyo_times(page, visitor):
    Category.objects.create(name="Music lessons", slug="music")
    set_up_as_provider(page)
    provider = Provider.objects.get(user__email="clara@example.com")
    assert provider.availability_rules.count() == 4

    visitor.goto("/")
    visitor.get_by_label("What are you looking for?").fill("harpsi")
    visitor.get_by_role("button", name="Search").click()
    expect(visitor.get_by_test_id("provider-card")).to_have_count(1)
    expect(visitor.get_by_test_id("from-price")).to_have_text("$45.00")
    visitor.get_by_role("link", name="Clara Schumann").click()

    expect(visitor.get_by_role("heading", name="Clara Schumann")).to_be_visible()
    expect(visitor.get_by_role("heading", name="Harpsichord lesson", exact=True)).to_be_visible()
    # Nobody told the site where the visitor is: the zone comes from their browser.
    expect(visitor.get_by_test_id("slot-zone")).to_have_text("Asia/Tokyo")

    tokyo = ZoneInfo("Asia/Tokyo")
    today = datetime.now(tokyo).date()
    week_start = datetime.combine(today, time(0), tzinfo=tokyo)
    expected = service_slots(
        service=provider.services.get(), start=week_start, end=week_start + timedelta(days=7)
    )
    assert expected, "a provider open four days a week has times in any seven days"
    first = visitor.get_by_test_id("slot").first
    # 09:00 in Leipzig is 16:00 or 17:00 in Tokyo, depending on the time of year.
    expect(first).to_have_text(expected[0].astimezone(tokyo).strftime("%H:%M"))
    expect(first).to_have_attribute("aria-label", re.compile(r", (16|17):00 JST$"))

    first.click()
    expect(visitor.get_by_test_id("picked-slot")).to_contain_text("JST")


@pytest.mark.django_db(transaction=True)
def test_a_visitors_zone_is_guessed_from_the_browser_and_can_be_changed(visitor):
    Category.objects.create(name="Music lessons", slug="music")
    user = User.objects.create_user("hans@example.com", "x-long-password-1", name="Hans Berg")
    provider = Provider.objects.create(
        user=user, display_name="Hans Berg", slug="hans-berg", timezone="Europe/Berlin"
    )
    service_create(
        provider=provider,
        title="Lesson",
        description="",
        duration_minutes=60,
        price_amount=4000,
        location="online",
    )
    availability_rules_set(provider=provider, rules=[(day, time(9), time(17)) for day in range(7)])

    visitor.goto("/")  # site.js stores the browser's zone in a cookie for the next requests
    visitor.goto("/p/hans-berg/")
    expect(visitor.get_by_test_id("slot-zone")).to_have_text("Asia/Tokyo")

    visitor.get_by_label("Show times in").select_option("America/Sao_Paulo")
    visitor.get_by_role("button", name="Change zone").click()

    expect(visitor.get_by_test_id("slot-zone")).to_have_text("America/Sao_Paulo")
    expect(visitor.get_by_test_id("slot").first).to_have_attribute("aria-label", re.compile(r" -03$"))
