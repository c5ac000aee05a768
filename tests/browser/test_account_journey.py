"""A person signs up, logs out, logs back in and sets their time zone, in a real Chromium."""

import re

import pytest
from playwright.sync_api import expect

from marketplace.models import User


@pytest.mark.django_db(transaction=True)
def test_sign_up_log_out_log_in_and_set_time_zone(page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()

    page.get_by_label("Name").fill("Bea Browser")
    page.get_by_label("Email").fill("bea@example.com")
    page.get_by_label(re.compile(r"^Password")).fill("a-long-unusual-passphrase")
    page.get_by_label("Confirm password").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_text("Welcome, Bea Browser! Your account is ready.")).to_be_visible()
    # The account starts in the zone the browser reported.
    assert User.objects.get(email="bea@example.com").timezone == "America/New_York"

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("BEA@example.com")
    page.get_by_label(re.compile(r"^Password")).fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Bea Browser")).to_be_visible()

    page.get_by_role("link", name="Bea Browser").click()
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Your profile has been saved.")).to_be_visible()
    expect(page.get_by_test_id("viewer-timezone")).to_have_text("Europe/Berlin")
    expect(page.get_by_test_id("local-time")).to_have_text(re.compile(r" CES?T$"))
    assert User.objects.get(email="bea@example.com").timezone == "Europe/Berlin"


@pytest.mark.django_db(transaction=True)
def test_signup_errors_are_shown_next_to_the_fields(page):
    page.goto("/accounts/signup/")
    page.get_by_label("Name").fill("Bea")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label(re.compile(r"^Password")).fill("short")
    page.get_by_label("Confirm password").fill("different")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("alert")).to_contain_text("Please correct the errors below.")
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_text("The two passwords do not match.")).to_be_visible()
    assert not User.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_site_works_with_the_keyboard_alone(page):
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

    # Tab through the header until the sign-up link has focus, then follow it with Enter.
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Sign up":
            break
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))


@pytest.mark.django_db(transaction=True)
def test_pages_fit_a_phone_screen(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 375, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    try:
        for path in ["/", "/accounts/signup/", "/accounts/login/"]:
            page.goto(path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"
    finally:
        context.close()
