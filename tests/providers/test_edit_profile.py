"""Providers edit their public profile, photo included."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from providers.models import Provider
from providers.selectors import provider_search
from tests.factories import CategoryFactory


def image_upload(name="me.png", fmt="PNG", size=(40, 40)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def profile_data(**overrides) -> dict:
    category = CategoryFactory(name="Tutoring", slug="tutoring")
    return {
        "display_name": "Priya Patel",
        "headline": "Maths tutor for teenagers",
        "bio": "I have taught for ten years.",
        "category": category.pk,
        "city": "Leeds",
        "timezone": "Europe/London",
        **overrides,
    }


@pytest.mark.django_db
def test_saving_the_profile_updates_it_and_returns_to_the_dashboard(as_provider, provider):
    response = as_provider.post(reverse("providers:edit_profile"), profile_data())

    assert response["Location"] == reverse("providers:dashboard")
    provider.refresh_from_db()
    assert (provider.headline, provider.city, provider.timezone) == (
        "Maths tutor for teenagers",
        "Leeds",
        "Europe/London",
    )
    assert provider.category.slug == "tutoring"


@pytest.mark.django_db
def test_a_photo_is_stored_under_a_random_name(as_provider, provider):
    as_provider.post(reverse("providers:edit_profile"), profile_data(photo=image_upload("Priya Patel.png")))

    provider.refresh_from_db()
    assert provider.photo.name.startswith("providers/photos/")
    assert "Priya" not in provider.photo.name
    assert provider.photo.storage.exists(provider.photo.name)


@pytest.mark.django_db
def test_a_new_photo_replaces_the_old_file(as_provider, provider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        as_provider.post(reverse("providers:edit_profile"), profile_data(photo=image_upload()))
    provider.refresh_from_db()
    old = provider.photo.name

    with django_capture_on_commit_callbacks(execute=True):
        as_provider.post(
            reverse("providers:edit_profile"), profile_data(photo=image_upload("new.jpg", "JPEG"))
        )

    provider.refresh_from_db()
    assert provider.photo.name != old
    assert not provider.photo.storage.exists(old)


@pytest.mark.django_db
def test_a_file_that_is_not_an_image_is_refused(as_provider, provider):
    fake = SimpleUploadedFile("me.png", b"<script>alert(1)</script>", content_type="image/png")

    response = as_provider.post(reverse("providers:edit_profile"), profile_data(photo=fake))

    assert response.status_code == 200
    assert response.context["form"].errors["photo"]
    assert not Provider.objects.get(pk=provider.pk).photo


@pytest.mark.django_db
def test_an_image_in_another_format_is_refused_even_with_a_jpeg_name(as_provider, provider):
    response = as_provider.post(
        reverse("providers:edit_profile"), profile_data(photo=image_upload("me.jpg", "GIF"))
    )

    assert "Please upload a JPEG, PNG or WebP image." in response.context["form"].errors["photo"]


@pytest.mark.django_db
def test_an_image_over_the_size_limit_is_refused(as_provider, monkeypatch):
    monkeypatch.setattr("providers.forms.PHOTO_MAX_BYTES", 100)

    response = as_provider.post(reverse("providers:edit_profile"), profile_data(photo=image_upload()))

    assert "the limit is" in response.context["form"].errors["photo"][0]


@pytest.mark.django_db
def test_an_unknown_time_zone_is_refused(as_provider):
    response = as_provider.post(reverse("providers:edit_profile"), profile_data(timezone="Mars/Olympus"))

    assert response.context["form"].errors["timezone"]


@pytest.mark.django_db
def test_the_profile_can_be_saved_half_done(as_provider, provider):
    response = as_provider.post(
        reverse("providers:edit_profile"),
        {"display_name": "Priya", "headline": "", "bio": "", "category": "", "city": "", "timezone": "UTC"},
    )

    assert response.status_code == 302


@pytest.mark.django_db
def test_a_changed_headline_is_found_by_search_at_once(provider):
    from providers.services import provider_update_profile
    from tests.factories import AvailabilityRuleFactory, ServiceFactory

    ServiceFactory(provider=provider)
    AvailabilityRuleFactory(provider=provider)
    provider_update_profile(
        provider=provider,
        display_name="Priya",
        headline="Calligraphy workshops",
        bio="Ink and paper.",
        category=CategoryFactory(name="Arts", slug="arts"),
        city="York",
        timezone="Europe/London",
    )

    assert list(provider_search(text="calligraphy")) == [provider]
