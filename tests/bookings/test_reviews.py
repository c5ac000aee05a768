"""Reviews: who may write one (the client of a completed session, once, unless refunded in full), who may
reply (that session's provider, once), hiding in admin, and the provider's rating kept in step."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from bookings.models import Booking, Review
from bookings.reviews import ReviewError, review_create, review_reply, review_set_hidden
from marketplace.models import AuditEntry
from payments.models import Refund
from payments.services import refund_request
from providers.models import Provider
from providers.selectors import provider_search
from tests.bookings.review_helpers import completed_booking, completed_bookings_in_bulk
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def completed(client_user, bookable_service, slot, stripe_emulator):
    return completed_booking(client_user, bookable_service, slot, stripe_emulator)


def _review_url(booking) -> str:
    return reverse("bookings:review", args=[booking.reference])


def _rating(provider) -> tuple[Decimal, int]:
    provider.refresh_from_db()
    return provider.rating_average, provider.rating_count


# --- Writing a review -----------------------------------------------------------------------------------


def test_the_client_of_a_completed_session_reviews_it_and_the_rating_follows(as_client, completed):
    response = as_client.post(_review_url(completed), {"rating": "4", "body": "Clear and patient."})

    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.booking, review.client, review.provider) == (
        completed,
        completed.client,
        completed.provider,
    )
    assert (review.rating, review.body) == (4, "Clear and patient.")
    assert _rating(completed.provider) == (Decimal("4.00"), 1)
    assert AuditEntry.objects.filter(action="review.created", object_id=str(review.pk)).exists()


def test_the_review_form_is_offered_on_the_completed_booking(as_client, completed):
    detail = as_client.get(reverse("bookings:detail", args=[completed.reference])).content.decode()
    form = as_client.get(_review_url(completed))

    assert "Review this session" in detail
    assert form.status_code == 200
    assert "Your rating" in form.content.decode()


def test_a_second_review_of_one_booking_is_refused_and_changes_nothing(as_client, completed):
    as_client.post(_review_url(completed), {"rating": "5", "body": "Great."})

    response = as_client.post(
        _review_url(completed), {"rating": "1", "body": "Changed my mind."}, follow=True
    )

    assert "already reviewed" in response.content.decode()
    assert list(Review.objects.values_list("rating", "body")) == [(5, "Great.")]
    assert _rating(completed.provider) == (Decimal("5.00"), 1)
    with pytest.raises(ReviewError, match="already reviewed"):
        review_create(booking_id=completed.pk, user=completed.client, rating=1, body="Again")


@pytest.mark.parametrize("persona", ["as_other_client", "as_provider", "as_other_provider"])
def test_nobody_but_the_client_can_open_or_post_the_review_page(request, persona, completed):
    browser = request.getfixturevalue(persona)

    assert browser.get(_review_url(completed)).status_code == 404
    assert browser.post(_review_url(completed), {"rating": "5", "body": "x"}).status_code == 404
    assert not Review.objects.exists()


def test_the_sessions_own_provider_cannot_review_it(completed):
    browser = Client()
    browser.force_login(completed.provider.user)

    assert browser.post(_review_url(completed), {"rating": "5", "body": "Me!"}).status_code == 404
    with pytest.raises(ReviewError, match="Only the client"):
        review_create(booking_id=completed.pk, user=completed.provider.user, rating=5, body="Me!")
    assert not Review.objects.exists()


def test_a_visitor_is_sent_to_log_in(anonymous, completed):
    response = anonymous.post(_review_url(completed), {"rating": "5", "body": "x"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Review.objects.exists()


def test_a_session_not_yet_completed_cannot_be_reviewed(
    as_client, client_user, bookable_service, slot, stripe_emulator
):
    from tests.payments.payout_helpers import paid_booking

    confirmed = paid_booking(client_user, bookable_service, slot, stripe_emulator)

    response = as_client.post(_review_url(confirmed), {"rating": "5", "body": "Early"}, follow=True)

    assert "once it is completed" in response.content.decode()
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"body": "No stars"}, "Choose a rating from 1 to 5 stars."),
        ({"rating": "0", "body": "Zero"}, "Choose a rating from 1 to 5 stars."),
        ({"rating": "6", "body": "Six"}, "Choose a rating from 1 to 5 stars."),
        ({"rating": "4.5", "body": "Half"}, "Choose a rating from 1 to 5 stars."),
        ({"rating": "5", "body": "   "}, "Please write a few words about the session."),
        ({"rating": "5", "body": "x" * 2001}, "at most 2000 characters"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(as_client, completed, values, message):
    response = as_client.post(_review_url(completed), values)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Review.objects.exists()
    assert _rating(completed.provider) == (Decimal("0"), 0)


def test_a_session_refunded_in_full_cannot_be_reviewed(
    as_client, completed, django_capture_on_commit_callbacks
):
    payment = completed.payments.get()
    refund_request(payment=payment, amount=payment.amount, reason=Refund.Reason.DISPUTE, actor=None)

    response = as_client.post(_review_url(completed), {"rating": "1", "body": "Refunded"}, follow=True)

    assert "refunded in full" in response.content.decode()
    assert not Review.objects.exists()
    detail = as_client.get(reverse("bookings:detail", args=[completed.reference])).content.decode()
    assert "Review this session" not in detail


def test_a_session_refunded_in_part_can_still_be_reviewed(as_client, completed):
    payment = completed.payments.get()
    refund_request(payment=payment, amount=1000, reason=Refund.Reason.DISPUTE, actor=None)

    as_client.post(_review_url(completed), {"rating": "3", "body": "Half good"})

    assert Review.objects.get().rating == 3


# --- Replies --------------------------------------------------------------------------------------------


@pytest.fixture
def reviewed(completed):
    return review_create(booking_id=completed.pk, user=completed.client, rating=4, body="Helpful.")


def _reply_url(review) -> str:
    return reverse("bookings:review_reply", args=[review.booking.reference])


def test_the_provider_replies_once_from_the_booking_page(reviewed):
    browser = Client()
    browser.force_login(reviewed.provider.user)
    detail = browser.get(reverse("bookings:detail", args=[reviewed.booking.reference])).content.decode()
    assert "Publish reply" in detail

    browser.post(_reply_url(reviewed), {"reply": "Thank you, see you next week."})
    second = browser.post(_reply_url(reviewed), {"reply": "Edited"}, follow=True)

    reviewed.refresh_from_db()
    assert reviewed.reply == "Thank you, see you next week."
    assert reviewed.replied_at is not None
    assert "already replied" in second.content.decode()
    assert AuditEntry.objects.filter(action="review.replied").count() == 1


def test_an_empty_reply_is_refused_with_a_message(reviewed):
    browser = Client()
    browser.force_login(reviewed.provider.user)

    response = browser.post(_reply_url(reviewed), {"reply": "  "}, follow=True)

    assert "Please write your reply." in response.content.decode()
    reviewed.refresh_from_db()
    assert reviewed.reply == ""


@pytest.mark.parametrize("persona", ["as_client", "as_other_client", "as_other_provider", "anonymous"])
def test_nobody_else_can_reply(request, persona, reviewed):
    browser = request.getfixturevalue(persona)

    response = browser.post(_reply_url(reviewed), {"reply": "Not mine to answer"})

    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))
    reviewed.refresh_from_db()
    assert reviewed.reply == ""


def test_another_provider_is_refused_by_the_service_too(reviewed, other_provider):
    with pytest.raises(ReviewError, match="Only the reviewed provider"):
        review_reply(review_id=reviewed.pk, user=other_provider.user, reply="Hi")


def test_replying_needs_the_csrf_token(reviewed):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reviewed.provider.user)

    assert browser.post(_reply_url(reviewed), {"reply": "Forged"}).status_code == 403
    reviewed.refresh_from_db()
    assert reviewed.reply == ""


# --- Hiding and the average -----------------------------------------------------------------------------


def as_staff_user(response):
    return response.wsgi_request.user


def _reviews_of(service, ratings: list[int]) -> list[Review]:
    clients = [UserFactory() for _ in ratings]
    bookings = completed_bookings_in_bulk(service=service, clients=clients)
    return [
        review_create(booking_id=booking.pk, user=client, rating=rating, body=f"{rating} stars")
        for booking, client, rating in zip(bookings, clients, ratings, strict=True)
    ]


def test_the_average_is_rounded_half_up_to_two_decimals(bookable_service):
    _reviews_of(bookable_service, [5, 4, 4])  # 4.333...

    assert _rating(bookable_service.provider) == (Decimal("4.33"), 3)

    _reviews_of(bookable_service, [4, 4, 4, 4, 4])  # 33 / 8 = 4.125: half up, not half to even (4.12)

    assert _rating(bookable_service.provider) == (Decimal("4.13"), 8)


def test_staff_hide_a_review_in_admin_and_it_leaves_the_average_and_the_profile(as_staff, bookable_service):
    low, _high = _reviews_of(bookable_service, [1, 5])
    assert _rating(bookable_service.provider) == (Decimal("3.00"), 2)
    changelist = reverse("admin:bookings_review_changelist")

    response = as_staff.post(changelist, {"action": "hide", "_selected_action": [low.pk]}, follow=True)

    assert "1 review hidden." in response.content.decode()
    assert _rating(bookable_service.provider) == (Decimal("5.00"), 1)
    profile = (
        Client().get(reverse("providers:profile", args=[bookable_service.provider.slug])).content.decode()
    )
    assert "5 stars" in profile
    assert "1 stars" not in profile
    entry = AuditEntry.objects.get(action="review.hidden")
    assert (entry.object_id, entry.actor, entry.to_status) == (
        str(low.pk),
        response.wsgi_request.user,
        "hidden",
    )

    as_staff.post(changelist, {"action": "unhide", "_selected_action": [low.pk]})

    assert _rating(bookable_service.provider) == (Decimal("3.00"), 2)
    assert AuditEntry.objects.filter(action="review.shown", object_id=str(low.pk)).count() == 1


def test_hiding_a_hidden_review_again_changes_and_records_nothing(bookable_service, staff_user):
    [review] = _reviews_of(bookable_service, [2])
    review_set_hidden(review_id=review.pk, is_hidden=True, actor=staff_user)

    review_set_hidden(review_id=review.pk, is_hidden=True, actor=staff_user)

    assert AuditEntry.objects.filter(action="review.hidden").count() == 1
    assert _rating(bookable_service.provider) == (Decimal("0.00"), 0)


def test_hiding_every_review_brings_the_rating_back_to_none(bookable_service, staff_user):
    reviews = _reviews_of(bookable_service, [3, 4])

    for review in reviews:
        review_set_hidden(review_id=review.pk, is_hidden=True, actor=staff_user)

    assert _rating(bookable_service.provider) == (Decimal("0"), 0)


def test_the_review_admin_cannot_edit_add_or_delete(as_staff, bookable_service):
    [review] = _reviews_of(bookable_service, [3])
    change = as_staff.get(reverse("admin:bookings_review_change", args=[review.pk])).content.decode()

    assert 'name="rating"' not in change
    assert 'name="body"' not in change
    assert as_staff.get(reverse("admin:bookings_review_add")).status_code == 403
    assert as_staff.get(reverse("admin:bookings_review_delete", args=[review.pk])).status_code == 403


def test_reviews_feed_the_search_rating_filter_and_sort(bookable_service, other_provider):
    from tests.factories import listed_provider

    rival = listed_provider(display_name="Rival", slug="rival")
    _reviews_of(bookable_service, [5, 4])  # 4.50
    _reviews_of(rival.services.get(), [4, 4])  # 4.00

    assert list(provider_search(rating_min=Decimal("4.5"))) == [bookable_service.provider]
    assert list(provider_search(sort="rating"))[:2] == [bookable_service.provider, rival]


# --- Two at once ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_reviews_of_one_provider_at_once_both_count(bookable_service):
    """Each thread has its own connection and transaction; the provider's row lock makes the second
    recompute after the first commits, so neither update is lost."""
    clients = [UserFactory(), UserFactory()]
    bookings = completed_bookings_in_bulk(service=bookable_service, clients=clients)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(booking: Booking, rating: int) -> None:
        try:
            barrier.wait(timeout=10)
            review_create(booking_id=booking.pk, user=booking.client, rating=rating, body="At once")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(b, r)) for b, r in zip(bookings, (5, 2), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert _rating(bookable_service.provider) == (Decimal("3.50"), 2)


@pytest.mark.django_db(transaction=True)
def test_two_reviews_of_one_booking_at_once_keep_one(bookable_service):
    [booking] = completed_bookings_in_bulk(service=bookable_service, clients=[UserFactory()])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def write(rating: int) -> None:
        try:
            barrier.wait(timeout=10)
            review_create(booking_id=booking.pk, user=booking.client, rating=rating, body="Twice")
            outcomes.append("saved")
        except ReviewError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(rating,)) for rating in (5, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["refused", "saved"]
    assert Review.objects.count() == 1
    provider = Provider.objects.get(pk=bookable_service.provider_id)
    assert provider.rating_count == 1
    assert provider.rating_average == Review.objects.get().rating


@pytest.mark.django_db(transaction=True)
def test_a_review_written_while_a_payout_holds_the_booking_waits_instead_of_deadlocking(bookable_service):
    """The money code locks the booking, then (netting a provider's debt) the provider. A review arriving
    in between must queue behind it, not take the provider first and then wait for the booking."""
    client = UserFactory()
    [booking] = completed_bookings_in_bulk(service=bookable_service, clients=[client])
    booking_locked = threading.Event()
    errors: list[BaseException] = []

    def payout_like() -> None:
        try:
            with transaction.atomic():
                Booking.objects.select_for_update().get(pk=booking.pk)
                booking_locked.set()
                time.sleep(0.5)  # the review starts meanwhile
                Provider.objects.select_for_update().get(pk=booking.provider_id)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def review() -> None:
        try:
            booking_locked.wait(timeout=10)
            review_create(booking_id=booking.pk, user=client, rating=5, body="Meanwhile")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=payout_like), threading.Thread(target=review)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert _rating(bookable_service.provider) == (Decimal("5.00"), 1)
