import pytest
from django.core.management import call_command

from marketplace.models import User
from providers.models import Provider


@pytest.mark.django_db
def test_seed_demo_creates_staff_clients_and_providers_and_prints_logins(capsys):
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert User.objects.get(email="admin@example.com").is_staff
    assert Provider.objects.filter(user__email="provider@example.com").exists()
    assert "[1/7]" in out
    assert "[7/7]" in out
    assert "client@example.com" in out
    assert "password:" in out


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing(capsys):
    call_command("seed_demo")
    counts = (User.objects.count(), Provider.objects.count())

    call_command("seed_demo")

    assert (User.objects.count(), Provider.objects.count()) == counts
    assert "(exists)" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_refuses_production(settings):
    from django.core.management.base import CommandError

    settings.IS_PRODUCTION = True

    with pytest.raises(CommandError, match="refused in production"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_seed_demo_makes_bookings_in_every_state_through_the_emulator(
    stripe_emulator, capsys, django_capture_on_commit_callbacks
):
    from bookings.models import Booking
    from payments.models import Payment, Refund

    with django_capture_on_commit_callbacks(execute=True):  # the refund task runs after its commit
        call_command("seed_demo")

    states = set(Booking.objects.filter(client__email="client@example.com").values_list("status", flat=True))
    assert states == {"pending_payment", "expired", "confirmed", "cancelled", "completed"}
    assert Payment.objects.filter(status="paid").count() == 2  # the confirmed and the completed booking
    assert Refund.objects.get().status == "succeeded"
    # Real objects at "Stripe": a later refund or transfer of seeded money works.
    assert len(stripe_emulator.state()["charges"]) == 3
    assert "booking: cancelled with refund" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_without_an_emulator_seeds_the_unpaid_states_and_says_so(capsys):
    from bookings.models import Booking

    call_command("seed_demo")

    assert set(Booking.objects.values_list("status", flat=True)) == {"pending_payment", "expired"}
    assert "paid states skipped" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_sets_up_one_providers_payouts_and_leaves_one_unfinished(stripe_emulator, capsys):
    call_command("seed_demo")

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
def test_seed_demo_twice_opens_no_second_payout_account(stripe_emulator, capsys):
    call_command("seed_demo")
    accounts = set(stripe_emulator.state()["accounts"])

    call_command("seed_demo")

    assert set(stripe_emulator.state()["accounts"]) == accounts
    assert Provider.objects.get(user__email="provider@example.com").can_receive_payouts
    assert "[1/2] payouts: Priya Patel: ready (exists)" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_without_an_emulator_leaves_payouts_unset_and_says_so(capsys):
    call_command("seed_demo")

    assert not Provider.objects.exclude(stripe_account_id=None).exists()
    assert "payouts: skipped" in capsys.readouterr().out
    # The two providers meant to be paid live where the platform pays out (the US by default).
    for email in ("provider@example.com", "lena@example.com"):
        provider = Provider.objects.get(user__email=email)
        assert provider.timezone.startswith("America/")
        assert provider.user.timezone.startswith("America/")
