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
