"""How money steps retry Stripe calls: the claim lease, the backoff, and Stripe's idempotency window."""

from datetime import timedelta

# Long enough for one Stripe call with the SDK's own retries; a claim older than this is assumed dead.
CLAIM_LEASE = timedelta(minutes=2)
# Stripe keeps an idempotency key for 24 hours. A resend later than this after the first attempt may not be
# recognised any more, so it looks the object up at Stripe first (an hour of margin for clocks and queues).
IDEMPOTENCY_WINDOW = timedelta(hours=23)


def backoff(attempt: int) -> timedelta:
    """1, 2, 4 ... minutes, capped at two hours: eight attempts stay well inside Stripe's 24-hour idempotency
    window, so every retry of one row is answered by the same Stripe object."""
    return timedelta(minutes=min(2 ** max(attempt - 1, 0), 120))
