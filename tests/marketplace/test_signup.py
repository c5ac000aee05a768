import pytest
from django.urls import reverse

from marketplace.models import User
from providers.models import Provider

URL = reverse("signup")


def _form(**overrides):
    data = {
        "name": "Nora New",
        "email": "Nora@Example.com",
        "password1": "a-long-unusual-passphrase",
        "password2": "a-long-unusual-passphrase",
        "timezone": "Europe/Berlin",
    }
    return {**data, **overrides}


@pytest.mark.django_db
def test_signup_creates_account_logs_in_and_keeps_browser_zone(anonymous):
    response = anonymous.post(URL, _form())

    assert response.status_code == 302
    user = User.objects.get(email="nora@example.com")
    assert user.name == "Nora New"
    assert user.timezone == "Europe/Berlin"
    assert user.check_password("a-long-unusual-passphrase")
    assert anonymous.get(reverse("profile")).status_code == 200


@pytest.mark.django_db
def test_signup_with_no_zone_chosen_starts_in_utc(anonymous):
    # No script and no cookie: the zone picker was left at "Choose your time zone".
    anonymous.post(URL, _form(timezone=""))

    assert User.objects.get(email="nora@example.com").timezone == "UTC"


@pytest.mark.django_db
def test_signup_with_a_zone_not_in_the_list_is_refused_with_a_field_error(anonymous):
    response = anonymous.post(URL, _form(timezone="Not/AZone"))

    assert response.status_code == 200
    assert response.context["form"].errors["timezone"] == ["Please choose a time zone from the list."]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_signup_stores_an_old_zone_name_under_its_current_one(anonymous):
    anonymous.post(URL, _form(timezone="Asia/Calcutta"))

    assert User.objects.get(email="nora@example.com").timezone == "Asia/Kolkata"


@pytest.mark.django_db
def test_signup_starts_at_the_zone_in_the_visitors_cookie(anonymous):
    anonymous.cookies["tz"] = "Asia/Tokyo"

    field = str(anonymous.get(URL).context["form"]["timezone"])

    assert '<option value="Asia/Tokyo" selected' in field


@pytest.mark.django_db
def test_signup_as_provider_creates_provider_profile_and_opens_dashboard(anonymous):
    response = anonymous.post(URL, _form(wants_to_provide="on"))

    assert response.status_code == 302
    assert response.url == reverse("providers:dashboard")
    provider = Provider.objects.get(user__email="nora@example.com")
    assert provider.display_name == "Nora New"
    assert provider.timezone == "Europe/Berlin"


@pytest.mark.django_db
def test_signup_link_for_providers_pre_ticks_the_provider_box(anonymous):
    response = anonymous.get(URL + "?provider=1")

    checkbox = str(response.context["form"]["wants_to_provide"])
    assert "checked" in checkbox
    assert checkbox in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"password2": "something-else-entirely"}, "password2", "The two passwords do not match."),
        ({"password1": "short", "password2": "short"}, "password1", "This password is too short."),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_invalid_signup_shows_field_error_and_creates_nothing(anonymous, overrides, field, message):
    response = anonymous.post(URL, _form(**overrides))

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_signup_with_an_existing_email_in_any_case_is_refused(anonymous, client_user):
    response = anonymous.post(URL, _form(email="CLIENT@example.com"))

    assert "An account with this email already exists" in response.content.decode()
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_signups_from_one_address_are_rate_limited(anonymous, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_ip": (2, 3600)}
    for n in range(2):
        anonymous.post(URL, _form(email=f"person{n}@example.com"))
        anonymous.post(reverse("logout"))

    response = anonymous.post(URL, _form(email="third@example.com"))

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert not User.objects.filter(email="third@example.com").exists()


@pytest.mark.django_db
def test_signup_page_redirects_someone_already_logged_in(as_client):
    assert as_client.get(URL).status_code == 302


def _book_url(service, slot) -> str:
    from urllib.parse import quote

    return reverse("bookings:book", args=[service.pk]) + "?start=" + quote(slot.isoformat())


def _inline_signup(**overrides):
    return {f"signup-{name}": value for name, value in _form(**overrides).items()}


@pytest.mark.django_db
def test_signing_up_while_booking_counts_against_the_same_limit(anonymous, bookable_service, slot, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_ip": (2, 3600)}
    for n in range(2):
        anonymous.post(URL, _form(email=f"person{n}@example.com"))
        anonymous.post(reverse("logout"))

    response = anonymous.post(_book_url(bookable_service, slot), _inline_signup(email="third@example.com"))

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert not User.objects.filter(email="third@example.com").exists()


@pytest.mark.django_db
def test_sign_up_attempts_on_the_booking_form_use_up_the_sign_up_pages_budget(
    anonymous, bookable_service, slot, settings
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_ip": (1, 3600)}
    anonymous.post(_book_url(bookable_service, slot), _inline_signup(email="not-an-email"))

    response = anonymous.post(URL, _form())

    assert response.status_code == 429
    assert not User.objects.filter(email="nora@example.com").exists()
