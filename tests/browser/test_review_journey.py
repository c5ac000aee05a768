"""A review, the whole way in a real Chromium: the client of a completed, paid session rates it from the
booking's page, the provider replies from theirs, and the public profile shows both, with the rating."""

import re

import pytest
from playwright.sync_api import expect

from bookings.models import Review
from tests.bookings.review_helpers import completed_booking
from tests.factories import TEST_PASSWORD
from tests.fixtures.bookings import first_slot


def _log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()


@pytest.mark.django_db(transaction=True)
def test_the_client_reviews_the_provider_replies_and_the_profile_shows_both(
    page, client_user, bookable_service, stripe_emulator
):
    booking = completed_booking(client_user, bookable_service, first_slot(bookable_service), stripe_emulator)
    provider = booking.provider

    # The client opens the finished session from their bookings and reviews it.
    _log_in(page, client_user.email)
    page.goto("/bookings/")
    page.get_by_role("link", name=re.compile(r"^Review")).click()
    expect(page.get_by_role("heading", name="Review your session")).to_be_visible()
    page.get_by_role("button", name="Publish review").click()  # nothing chosen yet: refused, said why
    expect(page.get_by_text("Choose a rating from 1 to 5 stars.")).to_be_visible()
    page.get_by_label("4 stars").check()
    page.get_by_label("Your review").fill("Patient and clear. I finally get barre chords.")
    page.get_by_role("button", name="Publish review").click()
    expect(page.get_by_text("your review is on Gabi Guitar's profile")).to_be_visible()
    expect(page.get_by_test_id("booking-review")).to_contain_text("4 / 5")
    expect(page.get_by_role("link", name="Review this session")).to_have_count(0)
    _log_out(page)

    # The provider answers from the session's page.
    _log_in(page, provider.user.email)
    page.goto(f"/bookings/{booking.reference}/")
    page.get_by_label("Your reply").fill("Thank you, Chris! Keep practising the F chord.")
    page.get_by_role("button", name="Publish reply").click()
    expect(page.get_by_text("Your reply is on your profile")).to_be_visible()
    expect(page.get_by_role("button", name="Publish reply")).to_have_count(0)
    _log_out(page)

    # Anyone sees both on the profile, with the rating from the review.
    page.goto(f"/p/{provider.slug}/")
    review = page.get_by_test_id("review")
    expect(review).to_have_count(1)
    expect(review).to_contain_text("4 / 5")
    expect(review).to_contain_text("Chris C.")
    expect(review).to_contain_text("I finally get barre chords.")
    expect(review.get_by_test_id("review-reply")).to_contain_text("Keep practising the F chord.")
    expect(page.get_by_test_id("rating-summary")).to_have_text("4.00 / 5 from 1 review")
    assert Review.objects.get().reply.startswith("Thank you, Chris!")


@pytest.mark.django_db(transaction=True)
def test_a_client_saves_a_provider_to_favourites_and_finds_them_there(page, client_user, bookable_provider):
    _log_in(page, client_user.email)
    page.goto(f"/p/{bookable_provider.slug}/")
    page.get_by_role("button", name="Save to favourites").click()
    expect(page.get_by_text("Gabi Guitar is in your favourites.")).to_be_visible()
    expect(page.get_by_role("button", name="Saved to favourites · Remove")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Favourites").click()
    saved = page.get_by_test_id("favourite")
    expect(saved).to_have_count(1)
    expect(saved).to_contain_text("Gabi Guitar")
    saved.get_by_role("button", name="Remove Gabi Guitar").click()
    expect(page.get_by_text("No favourites yet.")).to_be_visible()
