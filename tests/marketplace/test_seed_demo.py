"""seed_demo: the demo people, bookings in every state, payouts in every state, months of history. Tests of
the rest pass ``history_days=0``: history has its own test, and each of them would take seconds longer."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command

from marketplace.models import User
from providers.models import Provider


@pytest.mark.django_db
def test_seed_demo_creates_staff_clients_and_providers_and_prints_logins(capsys):
    call_command("seed_demo", history_days=0)

    out = capsys.readouterr().out
    assert User.objects.get(email="admin@example.com").is_staff
    assert Provider.objects.filter(user__email="provider@example.com").exists()
    assert "[1/7]" in out
    assert "[7/7]" in out
    assert "client@example.com" in out
    assert "password:" in out


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing(capsys):
    call_command("seed_demo", history_days=0)
    counts = (User.objects.count(), Provider.objects.count())

    call_command("seed_demo", history_days=0)

    assert (User.objects.count(), Provider.objects.count()) == counts
    assert "(exists)" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_refuses_production(settings):
    from django.core.management.base import CommandError

    settings.IS_PRODUCTION = True

    with pytest.raises(CommandError, match="refused in production"):
        call_command("seed_demo", history_days=0)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_seed_demo_makes_bookings_in_every_state_through_the_emulator(
    stripe_emulator, capsys, django_capture_on_commit_callbacks
):
    from bookings.models import Booking
    from payments.models import Payment, Refund

    with django_capture_on_commit_callbacks(execute=True):  # the refund task runs after its commit
        call_command("seed_demo", history_days=0)

    states = set(Booking.objects.filter(client__email="client@example.com").values_list("status", flat=True))
    assert states == {"pending_payment", "expired", "confirmed", "cancelled", "completed"}
    assert Payment.objects.filter(status="paid").count() == 5  # the confirmed and the 4 completed bookings
    assert Refund.objects.get().status == "succeeded"
    # Real objects at "Stripe": a later refund or transfer of seeded money works.
    assert len(stripe_emulator.state()["charges"]) == 6
    assert "booking: cancelled with refund" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_makes_completed_sessions_with_payouts_paid_failed_waiting_and_held(
    stripe_emulator, capsys
):
    from django.utils import timezone

    from payments.models import Payout
    from payments.namespace import booking_transfer_group

    call_command("seed_demo", history_days=0)

    ready = Provider.objects.get(user__email="provider@example.com")
    lena = Provider.objects.get(user__email="lena@example.com")
    payouts = {p.status: p for p in Payout.objects.select_related("booking", "payment")}
    assert set(payouts) == {"paid", "failed", "on_hold", "scheduled"}
    assert {p.booking.status for p in payouts.values()} == {"completed"}
    # Paid: one real transfer at the emulator, from the session's charge to Priya's account.
    paid = payouts["paid"]
    [transfer] = stripe_emulator.state()["transfers"].values()
    assert paid.transfer_id == transfer["id"]
    assert transfer["amount"] == paid.amount == paid.booking.provider_amount
    assert transfer["destination"] == ready.stripe_account_id
    assert transfer["source_transaction"] == paid.payment.charge_id
    assert transfer["transfer_group"] == booking_transfer_group(paid.booking_id)
    # Failed: Stripe refused that one transfer; the fault is gone, so a staff retry would go through.
    assert payouts["failed"].provider == ready
    assert "refused" in payouts["failed"].last_error
    assert stripe_emulator.server.fault_plan.to_list() == []
    # Waiting: Lena's setup is unfinished, and the payout says so.
    assert payouts["on_hold"].provider == lena
    assert payouts["on_hold"].hold_reason == lena.payouts_blocked_reason != ""
    # Held: the hold is not over yet.
    assert payouts["scheduled"].provider == ready
    assert payouts["scheduled"].due_at > timezone.now()
    out = capsys.readouterr().out
    assert "[1/4] completed session with Priya Patel: payout paid: transfer tr_" in out
    assert "[4/4] completed session with Priya Patel: payout held until" in out


@pytest.mark.django_db
def test_seed_demo_without_an_emulator_seeds_the_unpaid_states_and_says_so(capsys):
    from bookings.models import Booking

    call_command("seed_demo", history_days=0)

    assert set(Booking.objects.values_list("status", flat=True)) == {"pending_payment", "expired"}
    assert "paid states skipped" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_sets_up_one_providers_payouts_and_leaves_one_unfinished(stripe_emulator, capsys):
    call_command("seed_demo", history_days=0)

    ready = Provider.objects.get(user__email="provider@example.com")
    unfinished = Provider.objects.get(user__email="lena@example.com")
    assert ready.can_receive_payouts
    assert ready.payout_country == unfinished.payout_country == "US"
    assert unfinished.payout_setup == Provider.PayoutSetup.DETAILS_MISSING
    accounts = stripe_emulator.state()["accounts"]
    assert set(accounts) == {ready.stripe_account_id, unfinished.stripe_account_id}
    assert accounts[ready.stripe_account_id]["capabilities"] == {"transfers": "active"}
    assert Provider.objects.exclude(stripe_account_id=None).count() == 2
    out = capsys.readouterr().out
    assert "[1/2] payouts: Priya Patel: ready (created)" in out
    assert "[2/2] payouts: Lena Okafor: details missing (created)" in out


@pytest.mark.django_db
def test_seed_demo_twice_opens_no_second_payout_account_and_pays_nothing_twice(stripe_emulator, capsys):
    from payments.models import Payout

    call_command("seed_demo", history_days=0)
    accounts = set(stripe_emulator.state()["accounts"])
    payouts = set(Payout.objects.values_list("pk", "status"))
    capsys.readouterr()

    call_command("seed_demo", history_days=0)

    assert set(stripe_emulator.state()["accounts"]) == accounts
    assert Provider.objects.get(user__email="provider@example.com").can_receive_payouts
    assert set(Payout.objects.values_list("pk", "status")) == payouts
    assert len(stripe_emulator.state()["transfers"]) == 1
    out = capsys.readouterr().out
    assert "[1/2] payouts: Priya Patel: ready (exists)" in out
    assert re.search(
        r"\[1/4\] completed session with Priya Patel: payout paid: transfer tr_\w+ \(exists\)", out
    )


@pytest.mark.django_db
def test_seed_demo_without_an_emulator_leaves_payouts_unset_and_says_so(capsys):
    call_command("seed_demo", history_days=0)

    assert not Provider.objects.exclude(stripe_account_id=None).exists()
    assert "payouts: skipped" in capsys.readouterr().out
    # The two providers meant to be paid live where the platform pays out (the US by default).
    for email in ("provider@example.com", "lena@example.com"):
        provider = Provider.objects.get(user__email=email)
        assert provider.timezone.startswith("America/")
        assert provider.user.timezone.startswith("America/")


@pytest.mark.django_db
def test_seed_demo_reviews_completed_sessions_so_ratings_come_from_reviews(stripe_emulator, capsys):
    from decimal import ROUND_HALF_UP, Decimal

    from bookings.models import Booking, Review

    call_command("seed_demo", history_days=0)
    call_command("seed_demo", history_days=0)  # a second run writes no second review

    completed = Booking.objects.filter(status=Booking.Status.COMPLETED)
    reviews = Review.objects.select_related("provider")
    assert reviews.count() == completed.count() - 1  # the newest one is left for a person to review
    assert reviews.exclude(reply="").exists()
    # Every provider's rating is exactly what their visible reviews say.
    for provider in Provider.objects.all():
        stars = [r.rating for r in reviews if r.provider_id == provider.pk and not r.is_hidden]
        average = Decimal(sum(stars)) / len(stars) if stars else Decimal(0)
        average = average.quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert (provider.rating_average, provider.rating_count) == (average, len(stars))
    assert Provider.objects.filter(rating_count__gt=0).count() >= 2
    out = capsys.readouterr().out
    assert "reviews: 3 written, 3 in all" in out
    assert "reviews: 0 written, 3 in all" in out
    assert "left to review" in out


@pytest.mark.django_db
def test_seed_demo_history_spans_months_in_every_outcome_and_the_ledger_agrees_with_stripe(
    stripe_emulator, capsys, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from bookings.models import Booking
    from payments import history
    from payments.ledger import ledger_check
    from payments.models import Dispute, Payout, Refund

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", history_days=120)

    past = Booking.objects.filter(client_notes=history.HISTORY_NOTE)
    months = {(b.start_at.year, b.start_at.month) for b in past}
    assert len(months) >= 4
    assert all(b.end_at < timezone.now() - timedelta(days=13) for b in past)
    assert {b.client.email for b in past} == {"client@example.com", "maria@example.com", "kenji@example.com"}
    payouts = Payout.objects.filter(booking__in=past)
    assert payouts.filter(status="paid").count() >= 20
    assert all(
        p.transfer_id and p.paid_at == p.due_at + timedelta(minutes=5) for p in payouts.filter(status="paid")
    )
    assert payouts.filter(status="cancelled").exists()  # refunded after a reported problem
    assert payouts.filter(status="on_hold").exists()  # a problem still open
    assert Refund.objects.filter(booking__in=past, reason="provider_cancelled", status="succeeded").exists()
    assert Refund.objects.filter(booking__in=past, reason="dispute", status="succeeded").exists()
    assert Dispute.objects.filter(booking__in=past, status="open").exists()
    # Every charge, refund and transfer is a real object at the emulator, and our rows agree with them.
    report = ledger_check(with_stripe=True)
    assert report.checked >= past.count()
    assert [m.problems for m in report.mismatches] == []
    assert len(stripe_emulator.state()["transfers"]) == Payout.objects.exclude(transfer_id=None).count()
    out = capsys.readouterr().out
    assert re.search(r"history: \d+ past sessions with Priya Patel \(\d+ paid, \d+ refunded", out)

    capsys.readouterr()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", history_days=120)

    assert Booking.objects.filter(client_notes=history.HISTORY_NOTE).count() == past.count()
    assert "history: past sessions exist" in capsys.readouterr().out
