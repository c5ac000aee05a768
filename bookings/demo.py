"""Demo bookings in every state, for ``seed_demo``. Paid states go through the real money flow against the
local Stripe emulator (the one ``make dev`` runs), so refunds and later payouts of seeded bookings work.
Completed sessions come with their payouts, from ``payments.demo``."""

from collections.abc import Callable
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.utils import timezone

from bookings.models import Booking, Review
from bookings.reviews import review_create, review_refusal, review_reply
from bookings.selectors import bookable_slots
from bookings.services import booking_create, booking_expire
from marketplace.models import User
from payments.services import booking_cancel_with_refund, checkout_start, payment_sync_from_session
from providers.models import Provider, Service


def emulator_reachable() -> bool:
    if not settings.USES_STRIPE_EMULATOR:
        return False  # never make demo charges against a real Stripe account, test mode or not
    try:
        return requests.get(f"{settings.STRIPE_API_BASE}/_emulator/state", timeout=2).ok
    except requests.RequestException:
        return False


def _emulator_pay(session_id: str) -> None:
    """Pay as the customer would on the hosted page (the emulator's control endpoint)."""
    response = requests.post(
        f"{settings.STRIPE_API_BASE}/_emulator/checkout/sessions/{session_id}/pay", json={}, timeout=10
    )
    response.raise_for_status()


def _slot(service: Service, *, days_ahead: int, taken: set[datetime]) -> datetime:
    start = timezone.now() + timedelta(days=days_ahead)
    for slot in bookable_slots(service=service, start=start, end=start + timedelta(days=7)):
        if slot not in taken:
            taken.add(slot)
            return slot
    raise RuntimeError(f"{service} has no open slot around {days_ahead} days ahead")


def demo_paid_booking(
    client: User, service: Service, slot: datetime, *, notes: str = "Demo booking"
) -> Booking:
    """A booking of ``slot`` paid by card on the emulator's hosted page and confirmed, as a client would."""
    booking = booking_create(client=client, service=service, start_at=slot, client_notes=notes)
    payment = checkout_start(booking_id=booking.pk)
    session_id = payment.checkout_session_id
    assert session_id is not None  # checkout_start stores it before returning
    _emulator_pay(session_id)
    payment_sync_from_session(session_id=session_id)
    booking.refresh_from_db()
    return booking


def seed_demo_bookings(*, client: User, provider: Provider, say: Callable[[str], None]) -> None:
    """One booking of ``client`` with ``provider`` in each state up to confirmed and cancelled (completed ones
    come with their payouts: ``payments.demo.seed_demo_payouts``). Idempotent: does nothing once the client
    has bookings with this provider. Each step commits as it goes: Stripe is never called inside an open
    transaction."""
    if Booking.objects.filter(client=client, provider=provider).exists():
        say("bookings: demo bookings exist")
        return
    service = provider.services.filter(is_active=True).order_by("pk").first()
    if service is None:
        say("bookings: skipped, the demo provider has no active service")
        return
    taken: set[datetime] = set()
    paid = emulator_reachable()
    total = 4 if paid else 2

    booking_create(client=client, service=service, start_at=_slot(service, days_ahead=4, taken=taken))
    say(f"[1/{total}] booking: awaiting payment")
    abandoned = booking_create(
        client=client, service=service, start_at=_slot(service, days_ahead=5, taken=taken)
    )
    booking_expire(booking_id=abandoned.pk, reason="demo: checkout abandoned")
    say(f"[2/{total}] booking: expired hold")
    if not paid:
        say(
            "bookings: paid states skipped (no Stripe emulator reachable; `make dev` runs one and seeds them)"
        )
        return
    demo_paid_booking(client, service, _slot(service, days_ahead=3, taken=taken))
    say(f"[3/{total}] booking: confirmed (paid)")
    to_cancel = demo_paid_booking(client, service, _slot(service, days_ahead=6, taken=taken))
    booking_cancel_with_refund(
        booking_id=to_cancel.pk, actor=client, by_client=True, reason="demo: plans changed"
    )
    say(f"[4/{total}] booking: cancelled with refund")


# (stars, words, the provider's reply or ""), given in turn to the demo's completed sessions.
DEMO_REVIEWS = (
    (5, "Well prepared and patient. I left with a plan for the next two weeks.", "Thank you! See you soon."),
    (4, "Very helpful session. We ran a few minutes over, which I did not mind.", ""),
    (5, "Explained it three different ways until it clicked. Highly recommended.", ""),
    (3, "Good content, but the video link arrived late.", "Sorry about the link; it is sent earlier now."),
)


def seed_demo_reviews(*, clients: list[User], say: Callable[[str], None]) -> None:
    """Reviews of the demo clients' completed sessions, written by ``review_create`` (and replies by
    ``review_reply``), so every provider's rating in search is derived from reviews, as in real use. Runs
    after every step that completes sessions. Leaves the newest completed session of the first client
    unreviewed, for a person trying the demo to review. Idempotent: reviewed sessions are left alone."""
    completed = list(
        Booking.objects.filter(client__in=clients, status=Booking.Status.COMPLETED)
        .select_related("provider__user", "client")
        .order_by("end_at", "pk")
    )
    to_try = next((b for b in reversed(completed) if b.client_id == clients[0].pk), None)
    written = 0
    for index, booking in enumerate(completed):
        if booking == to_try or Review.objects.filter(booking=booking).exists():
            continue
        if review_refusal(booking, user=booking.client):
            continue  # refunded in full: no review, as for anyone
        stars, words, reply = DEMO_REVIEWS[index % len(DEMO_REVIEWS)]
        review = review_create(booking_id=booking.pk, user=booking.client, rating=stars, body=words)
        if reply:
            review_reply(review_id=review.pk, user=booking.provider.user, reply=reply)
        written += 1
    reviewed = Review.objects.filter(client__in=clients).count()
    left = f"; {to_try.service_title} with {to_try.provider.display_name} left to review" if to_try else ""
    say(f"reviews: {written} written, {reviewed} in all{left}")
