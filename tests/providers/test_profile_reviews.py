"""Reviews on the public profile: newest first, ten a page, each with its reply; hidden ones left out; the
same number of queries however many reviews, bookings or favourites there are."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import Review
from bookings.reviews import review_create, review_reply, review_set_hidden
from providers.services import favourite_add
from tests.bookings.review_helpers import completed_bookings_in_bulk
from tests.factories import UserFactory, listed_provider

pytestmark = pytest.mark.django_db


def _review(service, *, rating: int, body: str, name: str = "Ann Lee", days_ago: int = 0) -> Review:
    client = UserFactory(name=name)
    [booking] = completed_bookings_in_bulk(service=service, clients=[client])
    review = review_create(booking_id=booking.pk, user=client, rating=rating, body=body)
    Review.objects.filter(pk=review.pk).update(created_at=review.created_at - timedelta(days=days_ago))
    return review


def _profile(browser, provider, **params) -> str:
    response = browser.get(reverse("providers:profile", args=[provider.slug]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_reviews_are_shown_newest_first_with_the_reply(anonymous, bookable_service):
    old = _review(bookable_service, rating=3, body="Older words", days_ago=5)
    _review(bookable_service, rating=5, body="Newer words", days_ago=1)
    review_reply(review_id=old.pk, user=bookable_service.provider.user, reply="Thanks, noted.")

    body = _profile(anonymous, bookable_service.provider)

    assert body.index("Newer words") < body.index("Older words") < body.index("Thanks, noted.")
    assert "Reply from Gabi Guitar" in body
    assert "4.00 / 5 from 2 reviews" in body


def test_the_reviewer_is_shown_by_first_name_and_initial_never_by_email(anonymous, bookable_service):
    review = _review(bookable_service, rating=4, body="Fine", name="Chris Client")

    body = _profile(anonymous, bookable_service.provider)

    assert "Chris C." in body
    assert review.client.email not in body


def test_a_hidden_review_is_not_on_the_profile(anonymous, bookable_service, staff_user):
    hidden = _review(bookable_service, rating=1, body="Rude words")
    _review(bookable_service, rating=5, body="Kind words")
    review_set_hidden(review_id=hidden.pk, is_hidden=True, actor=staff_user)

    body = _profile(anonymous, bookable_service.provider)

    assert "Rude words" not in body
    assert "Kind words" in body
    assert "5.00 / 5 from 1 review" in body


def test_reviews_are_paginated_ten_a_page(anonymous, bookable_service):
    for number in range(12):
        _review(bookable_service, rating=4, body=f"Review number {number:02d}", days_ago=12 - number)

    first = _profile(anonymous, bookable_service.provider)
    second = _profile(anonymous, bookable_service.provider, reviews=2)
    beyond = _profile(anonymous, bookable_service.provider, reviews=99)

    assert "Review number 11" in first
    assert "Review number 02" in first
    assert "Review number 01" not in first
    assert "Page 1 of 2" in first
    assert "Review number 01" in second
    assert "Review number 00" in second
    assert "Review number 11" not in second
    assert "Review number 00" in beyond  # out of range: the last page, not an error


def test_a_provider_without_reviews_says_so(anonymous, bookable_service):
    assert "No reviews yet." in _profile(anonymous, bookable_service.provider)


def _queries(browser, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(url).status_code == 200
    return len(captured)


def test_the_profile_costs_the_same_queries_with_2_or_25_reviews(as_other_client, bookable_service):
    url = reverse("providers:profile", args=[bookable_service.provider.slug])
    for number in range(2):
        _review(bookable_service, rating=5, body=f"r{number}")
    _queries(as_other_client, url)  # warm the per-process caches (zones, the city list)
    few = _queries(as_other_client, url)

    for number in range(23):
        review = _review(bookable_service, rating=4, body=f"more {number}")
        review_reply(review_id=review.pk, user=bookable_service.provider.user, reply="Thanks")

    assert _queries(as_other_client, url) == few
    assert as_other_client.get(url).content.decode().count('data-testid="review-reply"') == 10


def test_my_bookings_costs_the_same_queries_with_1_or_20_reviewed_sessions(client_user, bookable_service):
    browser = Client()
    browser.force_login(client_user)
    url = reverse("bookings:mine")
    [booking] = completed_bookings_in_bulk(service=bookable_service, clients=[client_user])
    review_create(booking_id=booking.pk, user=client_user, rating=5, body="One")
    few = _queries(browser, url)

    for booking in completed_bookings_in_bulk(service=bookable_service, clients=[client_user] * 19):
        review_create(booking_id=booking.pk, user=client_user, rating=4, body="More")

    assert _queries(browser, url) == few
    assert browser.get(url).content.decode().count("You rated it") == 20


def test_the_favourites_list_costs_the_same_queries_with_1_or_20_providers(client_user):
    browser = Client()
    browser.force_login(client_user)
    url = reverse("providers:favourites")
    favourite_add(user=client_user, provider=listed_provider(display_name="One", slug="one"))
    few = _queries(browser, url)

    for number in range(19):
        provider = listed_provider(display_name=f"P{number}", slug=f"p-{number}")
        favourite_add(user=client_user, provider=provider)

    assert _queries(browser, url) == few
    assert browser.get(url).content.decode().count('data-testid="favourite"') == 20


def test_the_profile_draws_how_many_reviews_gave_each_star_count(anonymous, bookable_service, staff_user):
    for rating in (5, 5, 5, 4, 1):
        _review(bookable_service, rating=rating, body=f"{rating}")
    hidden = _review(bookable_service, rating=2, body="hidden")
    review_set_hidden(review_id=hidden.pk, is_hidden=True, actor=staff_user)

    body = _profile(anonymous, bookable_service.provider)

    chart = body[body.index('data-testid="rating-breakdown"') :]
    chart = chart[: chart.index("</ul>")]
    labels = re.findall(r'breakdown-label">([^<]+)<', chart)
    counts = re.findall(r'breakdown-count">(\d+)<', chart)
    bars = re.findall(r'<rect width="([\d.]+)" height="10" rx="2" fill="#a86400"', chart)
    assert labels == ["5 stars", "4 stars", "3 stars", "2 stars", "1 star"]
    # Each bar is its row's share of the 5 visible reviews; the hidden 2-star one is not counted.
    assert counts == ["3", "1", "0", "0", "1"]
    assert [float(width) for width in bars] == [60.0, 20.0, 0.0, 0.0, 20.0]


def test_the_providers_sessions_list_shows_ratings_and_a_reply_link_at_no_extra_query(bookable_service):
    """The same sessions listed before and after they are reviewed cost the same queries. (The list has a
    query per session without a payout, from ``provider_money``, before this; these bulk sessions have none,
    so the sessions are the same on both sides and only the reviews differ.)"""
    browser = Client()
    browser.force_login(bookable_service.provider.user)
    url = reverse("bookings:provider_bookings")
    clients = [UserFactory() for _ in range(16)]
    bookings = completed_bookings_in_bulk(service=bookable_service, clients=clients)
    unreviewed = _queries(browser, url)

    for booking, client in zip(bookings, clients, strict=True):
        review_create(booking_id=booking.pk, user=client, rating=3, body="ok")
    review_reply(review_id=bookings[0].review.pk, user=bookable_service.provider.user, reply="Thanks")

    assert _queries(browser, url) == unreviewed
    body = browser.get(url).content.decode()
    assert body.count('data-testid="row-review"') == 16
    assert body.count(">Reply<") == 15  # the answered one offers no second reply


def test_review_and_reply_text_is_escaped_on_the_profile(anonymous, bookable_service):
    review = _review(bookable_service, rating=5, body="<script>alert('x')</script> & more")
    review_reply(review_id=review.pk, user=bookable_service.provider.user, reply="<b>bold</b>")

    body = _profile(anonymous, bookable_service.provider)

    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in body


def test_each_page_read_in_sql_is_the_orms_page(bookable_service, staff_user):
    """The profile's page of reviews is written out in SQL (``bookings.reviews._VisibleReviews``); every page,
    and every review on it, is what the ORM reads: hidden ones left out, newest first, ties by id."""
    from bookings.reviews import REVIEWS_PER_PAGE, provider_reviews_page

    made = [
        _review(
            bookable_service, rating=1 + n % 5, body=f"Words {n}", name=f"Client {n} Person", days_ago=n % 7
        )
        for n in range(23)
    ]
    review_set_hidden(review_id=made[4].pk, is_hidden=True, actor=staff_user)
    review_reply(review_id=made[6].pk, user=bookable_service.provider.user, reply="Thank you")
    # Two reviews at the same moment: the newer id first.
    Review.objects.filter(pk__in=[made[8].pk, made[9].pk]).update(created_at=made[8].created_at)
    provider = bookable_service.provider
    visible = list(
        Review.objects.filter(provider=provider, is_hidden=False)
        .select_related("client")
        .order_by("-created_at", "-pk")
    )
    fields = ["pk", "rating", "body", "reply", "replied_at", "created_at", "reviewer_name"]

    pages = [provider_reviews_page(provider, number, total=len(visible)) for number in (1, 2, 3, 99, "x")]

    expected = [visible[:10], visible[10:20], visible[20:], visible[20:], visible[:10]]
    for page, rows in zip(pages, expected, strict=True):
        assert [[getattr(r, f) for f in fields] for r in page] == [
            [getattr(r, f) for f in fields] for r in rows
        ]
    assert pages[0].paginator.num_pages == 3
    assert REVIEWS_PER_PAGE == 10
    assert pages[2][0].pk == visible[20].pk  # a page indexes like a list
    with pytest.raises(IndexError):
        pages[2][5]
