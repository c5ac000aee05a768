"""seed_demo fills search with providers that have profiles, services and weekly hours."""

import pytest
from django.core.management import call_command

from providers.models import Provider
from providers.selectors import provider_search


@pytest.mark.django_db
def test_seed_demo_lists_thirty_providers_across_categories_cities_and_zones(capsys):
    call_command("seed_demo")

    listed = list(provider_search())
    assert len(listed) >= 30
    assert len({p.category_id for p in listed}) >= 5
    assert len({p.city for p in listed}) >= 20
    assert len({p.timezone for p in listed}) >= 15
    assert all(p.next_available_at for p in listed)
    out = capsys.readouterr().out
    assert "[30/30] provider profile:" in out


@pytest.mark.django_db
def test_seed_demo_twice_leaves_providers_as_they_were(capsys):
    call_command("seed_demo")
    before = {p.pk: (p.services.count(), p.availability_rules.count()) for p in Provider.objects.all()}

    call_command("seed_demo")

    after = {p.pk: (p.services.count(), p.availability_rules.count()) for p in Provider.objects.all()}
    assert after == before
    assert "(exists)" in capsys.readouterr().out
