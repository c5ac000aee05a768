"""Providers who can be paid and bookings that were: what payout tests start from."""

from datetime import datetime, timedelta

from django.conf import settings

from bookings.models import Booking
from bookings.services import booking_create
from marketplace.models import User
from marketplace.money import fee_split
from payments import gateway
from payments.models import Payment, Payout
from payments.namespace import booking_transfer_group, our_metadata, stripe_key
from payments.payouts import provider_share
from payments.services import checkout_start, payment_sync_from_session
from providers.models import Provider, Service


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


def completed_sessions_in_bulk(
    *, service: Service, clients: list[User], first_start: datetime, batch_size: int | None = None
) -> list[Booking]:
    """One completed session of ``service`` per entry of ``clients`` (repeat a client for several), back to
    back from ``first_start``, with the price split as booking_create freezes it, written with bulk_create:
    no payment, no payout. The bulk builders of the payout tests, the review tests and the payout benchmark
    start from these."""
    duration = timedelta(minutes=service.duration_minutes)
    split = fee_split(amount=service.price_amount, fee_percent=settings.PLATFORM_FEE_PERCENT)
    return Booking.objects.bulk_create(
        (
            Booking(
                client=client,
                provider=service.provider,
                service=service,
                start_at=first_start + index * duration,
                end_at=first_start + (index + 1) * duration,
                status=Booking.Status.COMPLETED,
                service_title=service.title,
                price_amount=split.amount,
                platform_fee_amount=split.platform_fee,
                provider_amount=split.provider_amount,
                currency=service.currency,
                confirmed_at=first_start,
                completed_at=first_start + (index + 1) * duration,
            )
            for index, client in enumerate(clients)
        ),
        batch_size=batch_size,
    )


def due_payouts_in_bulk(
    *, client: User, service: Service, count: int, ended_by: datetime, stripe_emulator
) -> list[Payout]:
    """``count`` completed sessions of ``service``, back to back and all over by ``ended_by``, each paid with
    a real card charge at the emulator, with its payout of the provider's share scheduled and due at
    ``ended_by``.

    For tests of many payouts. Rows are written in bulk and the Checkout Sessions made and paid through the
    emulator's in-process handle, instead of booking_create, checkout, its webhook and session_complete for
    each (their slot search, round trips and locks take seconds per hundred; the single-payout tests go
    that way). What the release reads is the same: a completed booking, its paid payment with a real
    charge, a scheduled payout of ``provider_share``.
    """
    first_start = ended_by - count * timedelta(minutes=service.duration_minutes)
    bookings = completed_sessions_in_bulk(service=service, clients=[client] * count, first_start=first_start)
    state = stripe_emulator.server.state
    payments = []
    for booking in bookings:
        metadata = our_metadata(booking_id=str(booking.pk), booking_ref=booking.reference)
        session = state.api_checkout_session_create(
            {
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": booking.currency,
                            "unit_amount": booking.price_amount,
                            "product_data": {"name": booking.service_title},
                        },
                    }
                ],
                "client_reference_id": booking.reference,
                "customer_email": client.email,
                "metadata": metadata,
                "payment_intent_data": {
                    "metadata": metadata,
                    "transfer_group": booking_transfer_group(booking.pk),
                },
                "allowed_payment_method_types": list(gateway.PAYMENT_METHOD_TYPES),
            }
        )
        intent_id = stripe_emulator.pay(session["id"])["session"]["payment_intent"]
        payments.append(
            Payment(
                booking=booking,
                attempt=1,
                status=Payment.Status.PAID,
                amount=booking.price_amount,
                currency=booking.currency,
                checkout_session_id=session["id"],
                payment_intent_id=intent_id,
                charge_id=state.payment_intents[intent_id]["latest_charge"],
                paid_at=booking.confirmed_at,
            )
        )
    Payment.objects.bulk_create(payments)
    return scheduled_payouts_in_bulk(bookings=bookings, payments=payments, due_at=ended_by)


def scheduled_payouts_in_bulk(
    *, bookings: list[Booking], payments: list[Payment], due_at: datetime, batch_size: int | None = None
) -> list[Payout]:
    """A scheduled payout of the provider's share (``provider_share``, as session_complete computes it) for
    each booking and its paid payment, due at ``due_at``, written with bulk_create."""
    return Payout.objects.bulk_create(
        (
            Payout(
                booking=booking,
                provider=booking.provider,
                payment=payment,
                amount=provider_share(booking=booking, kept=payment.amount),
                currency=booking.currency,
                due_at=due_at,
            )
            for booking, payment in zip(bookings, payments, strict=True)
        ),
        batch_size=batch_size,
    )
