"""Gateway calls with the arguments most tests share, so each test states only what it is about."""

from datetime import UTC, datetime, timedelta

from payments import gateway


def _expires_at() -> datetime:
    # The same value for every call within the hour: a repeated call with one idempotency key must send the
    # very same parameters, or Stripe (and the emulator) refuse it as a different request.
    return (datetime.now(UTC) + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)


def checkout_create(
    *, booking_ref: str = "42", amount: int = 5000, key: str | None = None, bank_debits: bool = False
) -> gateway.CheckoutSession:
    """A Checkout Session as the app makes them (cards only), or with ``bank_debits`` one that also offers a
    bank debit ("pay later"), as a platform allowing them would make."""
    if bank_debits:
        cards_only = gateway.PAYMENT_METHOD_TYPES
        gateway.PAYMENT_METHOD_TYPES = ("card", "us_bank_account")
        try:
            return checkout_create(booking_ref=booking_ref, amount=amount, key=key)
        finally:
            gateway.PAYMENT_METHOD_TYPES = cards_only
    return gateway.checkout_session_create(
        booking_ref=booking_ref,
        amount=amount,
        currency="usd",
        product_name="Guitar lesson (60 min)",
        customer_email="client@example.com",
        success_url="http://testserver/bookings/42/paid/?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/bookings/42/",
        expires_at=_expires_at(),
        transfer_group=f"booking-{booking_ref}",
        metadata={"booking_id": booking_ref},
        idempotency_key=key or f"checkout-{booking_ref}-1",
    )


def transfer(
    charge_id: str, destination: str, *, amount: int = 4500, key: str = "payout-1"
) -> gateway.Transfer:
    return gateway.transfer_create(
        amount=amount,
        currency="usd",
        destination=destination,
        source_transaction=charge_id,
        transfer_group="booking-42",
        metadata={"payout_id": key},
        idempotency_key=key,
    )
