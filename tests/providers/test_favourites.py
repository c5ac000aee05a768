"""Favourite providers: saved and removed from the profile with a POST (CSRF-checked), idempotent, listed in
the client's area, each user's own."""

import pytest
from django.test import Client
from django.urls import reverse

from providers.models import Favourite
from providers.services import favourite_add

pytestmark = pytest.mark.django_db


def _favourite_url(provider) -> str:
    return reverse("providers:favourite", args=[provider.slug])


def test_a_client_saves_a_provider_from_the_profile_and_finds_them_in_favourites(
    as_client, bookable_provider
):
    profile = as_client.get(reverse("providers:profile", args=[bookable_provider.slug])).content.decode()
    assert "Save to favourites" in profile

    response = as_client.post(_favourite_url(bookable_provider), {"action": "add"}, follow=True)

    assert "Gabi Guitar is in your favourites." in response.content.decode()
    assert "Saved to favourites" in response.content.decode()
    listing = as_client.get(reverse("providers:favourites")).content.decode()
    assert "Gabi Guitar" in listing
    assert reverse("providers:profile", args=[bookable_provider.slug]) in listing


def test_saving_twice_keeps_one(as_client, client_user, bookable_provider):
    as_client.post(_favourite_url(bookable_provider), {"action": "add"})
    as_client.post(_favourite_url(bookable_provider), {"action": "add"})

    assert Favourite.objects.filter(user=client_user, provider=bookable_provider).count() == 1


def test_removing_twice_is_harmless(as_client, client_user, bookable_provider):
    favourite_add(user=client_user, provider=bookable_provider)

    as_client.post(_favourite_url(bookable_provider), {"action": "remove"})
    response = as_client.post(_favourite_url(bookable_provider), {"action": "remove"})

    assert response.status_code == 302
    assert not Favourite.objects.exists()


def test_removing_from_the_list_comes_back_to_the_list(as_client, client_user, bookable_provider):
    favourite_add(user=client_user, provider=bookable_provider)

    response = as_client.post(
        _favourite_url(bookable_provider), {"action": "remove", "next": reverse("providers:favourites")}
    )

    assert response["Location"] == reverse("providers:favourites")
    assert not Favourite.objects.exists()


def test_an_outside_next_address_is_ignored(as_client, bookable_provider):
    response = as_client.post(
        _favourite_url(bookable_provider), {"action": "add", "next": "https://evil.example/"}
    )

    assert response["Location"] == reverse("providers:profile", args=[bookable_provider.slug])


def test_saving_needs_the_csrf_token(client_user, bookable_provider):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(client_user)

    assert browser.post(_favourite_url(bookable_provider), {"action": "add"}).status_code == 403
    assert not Favourite.objects.exists()


def test_a_get_saves_nothing(as_client, bookable_provider):
    assert as_client.get(_favourite_url(bookable_provider), {"action": "add"}).status_code == 405
    assert not Favourite.objects.exists()


def test_a_visitor_is_sent_to_log_in(anonymous, bookable_provider):
    response = anonymous.post(_favourite_url(bookable_provider), {"action": "add"})

    assert response["Location"].startswith(reverse("login"))
    assert not Favourite.objects.exists()
    assert anonymous.get(reverse("providers:favourites"))["Location"].startswith(reverse("login"))


def test_an_unknown_provider_is_404(as_client):
    assert (
        as_client.post(reverse("providers:favourite", args=["nobody"]), {"action": "add"}).status_code == 404
    )


def test_each_user_sees_only_their_own_favourites(as_other_client, client_user, bookable_provider):
    favourite_add(user=client_user, provider=bookable_provider)

    listing = as_other_client.get(reverse("providers:favourites")).content.decode()

    assert "Gabi Guitar" not in listing
    assert "No favourites yet." in listing


def test_a_provider_is_not_offered_to_save_themselves(bookable_provider):
    browser = Client()
    browser.force_login(bookable_provider.user)

    profile = browser.get(reverse("providers:profile", args=[bookable_provider.slug])).content.decode()

    assert "Save to favourites" not in profile


@pytest.mark.parametrize("action", ["", "delete", "ADD"])
def test_an_unknown_action_changes_nothing_and_says_so(as_client, client_user, bookable_provider, action):
    favourite_add(user=client_user, provider=bookable_provider)

    response = as_client.post(_favourite_url(bookable_provider), {"action": action}, follow=True)

    assert "nothing was changed" in response.content.decode()
    assert Favourite.objects.filter(user=client_user, provider=bookable_provider).count() == 1
