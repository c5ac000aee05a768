"""Providers add and change their services; prices are typed as decimals and stored as cents."""

import pytest
from django.urls import reverse

from providers.models import Service
from tests.factories import ServiceFactory


def service_data(**overrides) -> dict:
    return {
        "title": "60-minute maths lesson",
        "description": "GCSE and A level.",
        "duration_minutes": "60",
        "price": "45.00",
        "location": "online",
        "is_active": "on",
        **overrides,
    }


@pytest.mark.django_db
def test_a_new_service_stores_the_price_in_cents_of_the_platform_currency(as_provider, provider, settings):
    response = as_provider.post(reverse("providers:service_new"), service_data(price="45.50"))

    assert response["Location"] == reverse("providers:services")
    service = Service.objects.get(provider=provider)
    assert (service.price_amount, service.currency) == (4550, settings.PLATFORM_CURRENCY)
    assert (service.duration_minutes, service.location, service.is_active) == (60, "online", True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "cents"), [("45", 4500), ("0045.10", 4510), ("1.00", 100), ("9999.99", 999999)]
)
def test_prices_convert_to_cents_exactly(as_provider, provider, typed, cents):
    as_provider.post(reverse("providers:service_new"), service_data(price=typed))

    assert Service.objects.get(provider=provider).price_amount == cents


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["45.001", "-5", "0", "abc", "", "10000.01"])
def test_impossible_prices_are_refused_with_a_message(as_provider, provider, typed):
    response = as_provider.post(reverse("providers:service_new"), service_data(price=typed))

    assert response.status_code == 200
    assert response.context["form"].errors["price"]
    assert not Service.objects.exists()


@pytest.mark.django_db
def test_sessions_at_the_clients_place_say_an_address_is_needed(as_provider, provider):
    as_provider.post(reverse("providers:service_new"), service_data(location="client_place"))

    assert Service.objects.get(provider=provider).needs_client_address


@pytest.mark.django_db
def test_editing_a_service_shows_its_current_price_and_saves_changes(as_provider, provider):
    service = ServiceFactory(provider=provider, price_amount=4500, duration_minutes=60)
    url = reverse("providers:service_edit", args=[service.pk])

    assert 'value="45.00"' in as_provider.get(url).content.decode()
    as_provider.post(url, service_data(price="50", duration_minutes="90", is_active=""))

    service.refresh_from_db()
    assert (service.price_amount, service.duration_minutes, service.is_active) == (5000, 90, False)


@pytest.mark.django_db
def test_a_provider_can_have_several_services(as_provider, provider):
    as_provider.post(reverse("providers:service_new"), service_data(title="Short"))
    as_provider.post(reverse("providers:service_new"), service_data(title="Long"))

    assert provider.services.count() == 2
