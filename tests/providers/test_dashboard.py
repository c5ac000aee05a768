"""The provider dashboard: what is missing before search lists them, and where to fix it."""

import pytest
from django.urls import reverse

from tests.factories import listed_provider


@pytest.mark.django_db
def test_a_new_provider_sees_every_step_still_to_do_with_links(as_provider):
    body = as_provider.get(reverse("providers:dashboard")).content.decode()

    assert "You are not listed yet" in body
    for label in ["Headline", "About you (bio)", "Category", "City or area", "At least one active service"]:
        assert label in body
    assert reverse("providers:edit_profile") in body
    assert reverse("providers:service_new") in body or reverse("providers:services") in body
    assert reverse("providers:availability") in body


@pytest.mark.django_db
def test_a_complete_provider_is_told_they_are_listed_and_gets_their_public_link(client):
    provider = listed_provider(slug="ada-lovelace")
    client.force_login(provider.user)

    body = client.get(reverse("providers:dashboard")).content.decode()

    assert "You are listed in search" in body
    assert reverse("providers:profile", args=["ada-lovelace"]) in body


@pytest.mark.django_db
def test_a_paused_provider_is_told_why_they_are_not_listed(client):
    provider = listed_provider(is_active=False)
    client.force_login(provider.user)

    body = client.get(reverse("providers:dashboard")).content.decode()

    assert "You are not listed yet" in body
    assert "paused" in body
