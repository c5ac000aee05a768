"""Who may open the provider's editing pages, and whose data they see there."""

import pytest
from django.urls import reverse

from tests.factories import ServiceFactory, TimeOffFactory

EDIT_PAGES = [
    "providers:dashboard",
    "providers:edit_profile",
    "providers:services",
    "providers:service_new",
    "providers:availability",
    "providers:time_off",
    "providers:booking_settings",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", EDIT_PAGES)
def test_visitors_are_sent_to_log_in(anonymous, name):
    response = anonymous.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", EDIT_PAGES)
def test_a_client_without_a_provider_profile_gets_404(as_client, name):
    assert as_client.get(reverse(name)).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("name", EDIT_PAGES)
def test_staff_without_a_provider_profile_gets_404(as_staff, name):
    assert as_staff.get(reverse(name)).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("name", EDIT_PAGES)
def test_providers_open_their_own_pages(as_provider, name):
    assert as_provider.get(reverse(name)).status_code == 200


@pytest.mark.django_db
def test_another_providers_service_is_a_404_to_view_and_to_change(as_other_provider, provider):
    service = ServiceFactory(provider=provider, title="Mine", price_amount=4500)
    url = reverse("providers:service_edit", args=[service.pk])

    assert as_other_provider.get(url).status_code == 404
    response = as_other_provider.post(
        url, {"title": "Stolen", "duration_minutes": 30, "price": "1.00", "location": "online"}
    )

    assert response.status_code == 404
    service.refresh_from_db()
    assert (service.title, service.price_amount) == ("Mine", 4500)


@pytest.mark.django_db
def test_another_providers_time_off_cannot_be_removed(as_other_provider, provider):
    time_off = TimeOffFactory(provider=provider)

    response = as_other_provider.post(reverse("providers:time_off_remove", args=[time_off.pk]))

    assert response.status_code == 404
    assert provider.time_off.count() == 1


@pytest.mark.django_db
def test_the_services_page_lists_only_the_providers_own_services(as_provider, provider, other_provider):
    ServiceFactory(provider=provider, title="Algebra basics")
    ServiceFactory(provider=other_provider, title="Guitar for beginners")

    body = as_provider.get(reverse("providers:services")).content.decode()

    assert "Algebra basics" in body
    assert "Guitar for beginners" not in body


@pytest.mark.django_db
def test_a_client_can_become_a_provider(as_client, client_user):
    page = as_client.get(reverse("providers:become"))
    assert page.status_code == 200

    response = as_client.post(reverse("providers:become"))

    assert response["Location"] == reverse("providers:edit_profile")
    client_user.refresh_from_db()
    assert client_user.provider.display_name == "Chris Client"
    assert client_user.provider.timezone == "America/New_York"


@pytest.mark.django_db
def test_becoming_a_provider_twice_keeps_one_profile(as_provider, provider):
    response = as_provider.post(reverse("providers:become"))

    assert response["Location"] == reverse("providers:dashboard")
    assert provider.user.provider == provider


@pytest.mark.django_db
def test_clients_are_offered_to_become_providers_in_the_navigation(as_client):
    assert reverse("providers:become") in as_client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_fee_override_is_not_in_the_providers_own_form(as_provider):
    body = as_provider.get(reverse("providers:edit_profile")).content.decode()

    assert "platform_fee_percent" not in body


@pytest.mark.django_db
def test_staff_set_a_providers_fee_in_admin(as_staff, provider):
    url = reverse("admin:providers_provider_change", args=[provider.pk])

    assert "platform_fee_percent" in as_staff.get(url).content.decode()
