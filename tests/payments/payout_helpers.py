"""Providers who can be paid and bookings that were: what payout tests start from."""

from bookings.models import Booking
from bookings.services import booking_create
from payments import gateway
from payments.namespace import stripe_key
from payments.services import checkout_start, payment_sync_from_session
from providers.models import Provider


def make_payable(provider: Provider, stripe_emulator) -> str:
    """Give ``provider`` an onboarded Express account at the emulator, as Connect onboarding would."""
    account = gateway.connect_account_create(
        email=provider.user.email,
        country="US",
        metadata={"provider_id": str(provider.pk)},
        idempotency_key=stripe_key(f"account-{provider.pk}"),
    )
    stripe_emulator.complete_onboarding(account.id)
    Provider.objects.filter(pk=provider.pk).update(
        stripe_account_id=account.id,
        payout_country="US",
        stripe_transfers_capability="active",
        stripe_details_submitted=True,
        stripe_payouts_enabled=True,
        payouts_blocked_reason="",
    )
    return account.id


def paid_booking(client, service, start, stripe_emulator) -> Booking:
    booking = booking_create(client=client, service=service, start_at=start)
    payment = checkout_start(booking_id=booking.pk)
    stripe_emulator.pay(payment.checkout_session_id)
    payment_sync_from_session(session_id=payment.checkout_session_id)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    return booking
