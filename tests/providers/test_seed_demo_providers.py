"""seed_demo fills search with providers that have profiles, services and weekly hours."""

from io import BytesIO

import pytest
from django.core.management import call_command
from PIL import Image

from providers.demo import demo_portrait
from providers.models import Provider
from providers.selectors import provider_search


@pytest.mark.django_db
def test_seed_demo_lists_thirty_providers_across_categories_cities_and_zones(capsys):
    call_command("seed_demo", history_days=0)

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
    call_command("seed_demo", history_days=0)
    before = {p.pk: (p.services.count(), p.availability_rules.count()) for p in Provider.objects.all()}

    call_command("seed_demo", history_days=0)

    after = {p.pk: (p.services.count(), p.availability_rules.count()) for p in Provider.objects.all()}
    assert after == before
    assert "(exists)" in capsys.readouterr().out


@pytest.mark.django_db
def test_seeded_providers_have_portraits_that_differ_and_survive_a_reseed(settings):
    call_command("seed_demo", history_days=0)
    photos = {p.pk: p.photo.name for p in Provider.objects.all()}

    assert all(photos.values())
    contents = set()
    for provider in Provider.objects.all():
        with provider.photo.open("rb") as file:
            data = file.read()
        assert data.startswith(b"\xff\xd8")  # JPEG
        assert len(data) < 20_000
        contents.add(data)
    assert len(contents) >= 25  # thirty providers, (nearly) thirty faces

    call_command("seed_demo", history_days=0)

    assert {p.pk: p.photo.name for p in Provider.objects.all()} == photos  # kept, not replaced


@pytest.mark.django_db
def test_seed_demo_gives_a_portrait_to_a_provider_seeded_before_portraits_existed():
    call_command("seed_demo", history_days=0)
    priya = Provider.objects.get(user__email="provider@example.com")
    Provider.objects.filter(pk=priya.pk).update(photo="")

    call_command("seed_demo", history_days=0)

    priya.refresh_from_db()
    assert priya.photo.name.startswith("providers/photos/")
    assert priya.services.exists()  # the rest of the profile untouched
    assert priya.headline


def test_demo_portrait_is_the_same_for_the_same_name_and_a_256_px_square():
    assert demo_portrait("Priya Patel") == demo_portrait("Priya Patel")
    assert demo_portrait("Priya Patel") != demo_portrait("Tom Becker")
    assert Image.open(BytesIO(demo_portrait("Priya Patel"))).size == (256, 256)
