"""Reviews: the client rates a completed session once, the provider answers once, staff can hide one.

The provider's ``rating_average`` and ``rating_count`` (what search filters and sorts on) are derived from the
visible reviews and recomputed inside the transaction that adds, hides or shows one, after locking the
provider's row: two reviews of one provider landing at once serialise on that lock, and the second recomputes
from a fresh read that includes the first, so no update is lost.

Lock order, kept with the money code's (booking → payment → payout → provider, the provider last when a payout
nets a debt): a new review locks its booking, then the provider (inserting the review also takes a key-share
lock on the booking, so taking the provider first could deadlock with a payout holding the booking); hiding
or showing locks the provider, then the review; a reply locks only the review.

Whether a booking's money was given back in full is the payments app's knowledge, and bookings never imports
payments: payments registers a check with :func:`register_review_refusal` (as bookings does for
``providers.slots``).
"""

from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import overload

from django.core.paginator import Page, Paginator
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from bookings.models import Booking, Review
from marketplace.audit import audit_record
from marketplace.models import User
from marketplace.rows import columns, instance_from_row
from providers.models import Provider
from providers.selectors import ProfileReviews

REVIEWS_PER_PAGE = 10
BODY_MAX_LENGTH = 2000
REPLY_MAX_LENGTH = 2000

ReviewRefusal = Callable[[Booking], str]
_refusals: list[ReviewRefusal] = []


class ReviewError(Exception):
    """A review or reply that cannot be written; the message is for the person who tried."""


def register_review_refusal(refusal: ReviewRefusal) -> None:
    """Let another app add a reason a booking cannot be reviewed: ``refusal(booking)`` returns the reason in
    the client's words, or "" to allow it. Registered once at start-up; the same function twice is a no-op."""
    if refusal not in _refusals:
        _refusals.append(refusal)


def review_refusal(booking: Booking, *, user: User) -> str:
    """Why ``user`` cannot review ``booking`` now, or "" when they can."""
    if booking.client_id != user.pk:
        return "Only the client of a session can review it."
    if booking.status != Booking.Status.COMPLETED:
        return "You can review a session once it is completed."
    if Review.objects.filter(booking=booking).exists():
        return "You have already reviewed this session."
    for refusal in _refusals:
        reason = refusal(booking)
        if reason:
            return reason
    return ""


def _provider_rating_refresh(provider_id: int) -> Provider:
    """Recompute the provider's average and count from their visible reviews. Call inside the transaction
    that changed a review, with the provider's row locked (``_lock_provider``)."""
    totals = Review.objects.filter(provider_id=provider_id, is_hidden=False).aggregate(
        count=Count("pk"), stars=Sum("rating")
    )
    count: int = totals["count"]
    # Two decimals, half up, from integers: 4.665 is 4.67 whatever the float would have said.
    average = (
        (Decimal(totals["stars"]) / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if count
        else Decimal("0")
    )
    Provider.objects.filter(pk=provider_id).update(rating_average=average, rating_count=count)
    return Provider.objects.get(pk=provider_id)


def _lock_provider(provider_id: int) -> None:
    # Every change to a provider's reviews serialises here: see the module docstring.
    Provider.objects.select_for_update().only("pk").get(pk=provider_id)


def review_create(*, booking_id: int, user: User, rating: int, body: str) -> Review:
    """The client of a completed booking rates it (1-5) with a few words. Once per booking: a second attempt
    (another tab, a double click, a race) raises ``ReviewError`` and changes nothing. Refused when the booking
    is not completed, not the user's, or its payment was refunded in full. Updates the provider's rating in
    the same transaction."""
    if not Review.RATING_MIN <= rating <= Review.RATING_MAX:
        raise ReviewError("Choose a rating from 1 to 5 stars.")
    body = body.strip()
    if not body:
        raise ReviewError("Please write a few words about the session.")
    if len(body) > BODY_MAX_LENGTH:
        raise ReviewError(f"Please keep the review under {BODY_MAX_LENGTH} characters.")
    try:
        with transaction.atomic():
            # The booking first, then the provider (the module docstring says why). No-key: rows that point at
            # the booking (payments, refunds) can still be written meanwhile.
            booking = Booking.objects.select_for_update(no_key=True).get(pk=booking_id)
            _lock_provider(booking.provider_id)
            # Checked under the locks: the booking's state and an earlier review are read after any concurrent
            # review of this booking or provider committed.
            refusal = review_refusal(booking, user=user)
            if refusal:
                raise ReviewError(refusal)
            review = Review.objects.create(
                booking=booking, provider_id=booking.provider_id, client=user, rating=rating, body=body
            )
            _provider_rating_refresh(booking.provider_id)
            audit_record(subject=review, action="review.created", actor=user, data={"rating": rating})
    except IntegrityError as error:
        # Two submissions of one booking's review at once: the one-to-one key kept the first.
        raise ReviewError("You have already reviewed this session.") from error
    return review


def review_reply(*, review_id: int, user: User, reply: str) -> Review:
    """The reviewed provider answers a review, once. Raises ``ReviewError`` (and changes nothing) for anyone
    else, a second reply, or an empty or overlong one."""
    reply = reply.strip()
    if not reply:
        raise ReviewError("Please write your reply.")
    if len(reply) > REPLY_MAX_LENGTH:
        raise ReviewError(f"Please keep the reply under {REPLY_MAX_LENGTH} characters.")
    with transaction.atomic():
        review = Review.objects.select_for_update().select_related("provider").get(pk=review_id)
        if review.provider.user_id != user.pk:
            raise ReviewError("Only the reviewed provider can reply.")
        if review.reply:
            raise ReviewError("You have already replied to this review.")
        review.reply = reply
        review.replied_at = timezone.now()
        review.save(update_fields=["reply", "replied_at", "updated_at"])
        audit_record(subject=review, action="review.replied", actor=user)
    return review


def review_set_hidden(*, review_id: int, is_hidden: bool, actor: User | None, reason: str = "") -> Review:
    """Staff hide a review (it leaves the profile and the provider's average) or show it again. Idempotent:
    hiding a hidden review changes and records nothing. The rating is recomputed in the same transaction."""
    with transaction.atomic():
        provider_id = Review.objects.values_list("provider_id", flat=True).get(pk=review_id)
        _lock_provider(provider_id)
        review = Review.objects.select_for_update().get(pk=review_id)
        if review.is_hidden == is_hidden:
            return review
        review.is_hidden = is_hidden
        review.hidden_at = timezone.now() if is_hidden else None
        review.save(update_fields=["is_hidden", "hidden_at", "updated_at"])
        _provider_rating_refresh(provider_id)
        audit_record(
            subject=review,
            action="review.hidden" if is_hidden else "review.shown",
            actor=actor,
            from_status="visible" if is_hidden else "hidden",
            to_status="hidden" if is_hidden else "visible",
            reason=reason,
        )
    return review


def provider_profile_reviews(provider: Provider, page_number: str | int | None) -> ProfileReviews:
    """What ``provider``'s profile shows of their visible reviews: a page of them and the stars breakdown.
    Two queries however many reviews there are, none for a provider nobody has reviewed (their
    ``rating_count``, kept in step with the reviews in the same transaction, says so). Registered with
    ``providers.selectors``."""
    if not provider.rating_count:
        return ProfileReviews(
            page=Paginator(_VisibleReviews(provider.pk, total=0), REVIEWS_PER_PAGE).get_page(page_number),
            breakdown=[(stars, 0) for stars in range(5, 0, -1)],
        )
    # Written out: on the profile of every reviewed provider, and Django's compiler was most of its cost.
    with connection.cursor() as cursor:
        cursor.execute(_STARS_SQL, {"provider": provider.pk})
        counts: dict[int, int] = dict(cursor.fetchall())
    return ProfileReviews(
        page=provider_reviews_page(provider, page_number, total=sum(counts.values())),
        breakdown=[(stars, counts.get(stars, 0)) for stars in range(5, 0, -1)],
    )


_STARS_SQL = f"""
SELECT rating, count(*) FROM {Review._meta.db_table} WHERE provider_id = %(provider)s AND NOT is_hidden
GROUP BY rating
"""  # noqa: S608 - the table name from the model, values as parameters


def provider_reviews_page(provider: Provider, page_number: str | int | None, *, total: int) -> Page:
    """One page of ``provider``'s ``total`` visible reviews, newest first, with each reviewer's name: one
    query. A page number out of range gives the last page."""
    return Paginator(_VisibleReviews(provider.pk, total=total), REVIEWS_PER_PAGE).get_page(page_number)


# What a review on the profile shows, and of its reviewer (``Review.reviewer_name``).
_PAGE_REVIEW_FIELDS = ("id", "client_id", "rating", "body", "reply", "replied_at", "created_at")
_PAGE_CLIENT_FIELDS = ("id", "name", "email")

# Written out for the reason the stars are: the ORM's compiler cost more CPU than the query on every view of
# a reviewed provider's profile (docs/benchmarks.md). tests/providers/test_profile_reviews.py holds it to the
# ORM's page.
_PAGE_SQL = f"""
SELECT {columns(Review, "r", _PAGE_REVIEW_FIELDS)}, {columns(User, "u", _PAGE_CLIENT_FIELDS)}
FROM {Review._meta.db_table} r JOIN {User._meta.db_table} u ON u.id = r.client_id
WHERE r.provider_id = %(provider)s AND NOT r.is_hidden
ORDER BY r.created_at DESC, r.id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""  # noqa: S608 - names from the models, values as parameters


class _VisibleReviews:
    """A provider's visible reviews, newest first, as the paginator reads them: ``total`` long (known from
    the provider's counts, so no count query), and each slice one query."""

    def __init__(self, provider_id: int, *, total: int) -> None:
        self.provider_id = provider_id
        self.total = total

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[Review]:
        return iter(self[:])

    @overload
    def __getitem__(self, key: int) -> Review: ...

    @overload
    def __getitem__(self, key: slice) -> list[Review]: ...

    def __getitem__(self, key: int | slice) -> Review | list[Review]:
        if isinstance(key, int):
            index = range(self.total)[key]  # an IndexError out of range, as a list's
            return self[index : index + 1][0]
        start, stop, step = key.indices(self.total)
        assert step == 1, "pages are contiguous"
        if stop <= start:
            return []
        with connection.cursor() as cursor:
            cursor.execute(_PAGE_SQL, {"provider": self.provider_id, "limit": stop - start, "offset": start})
            rows = cursor.fetchall()
        width = len(_PAGE_REVIEW_FIELDS)
        reviews = []
        for row in rows:
            review = instance_from_row(Review, row[:width], _PAGE_REVIEW_FIELDS)
            Review.client.field.set_cached_value(
                review, instance_from_row(User, row[width:], _PAGE_CLIENT_FIELDS)
            )
            reviews.append(review)
        return reviews
