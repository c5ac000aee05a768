import pytest
from django.urls import reverse

from tests.factories import TEST_PASSWORD

URL = reverse("login")


@pytest.mark.django_db
def test_login_with_email_in_any_case(anonymous, client_user):
    response = anonymous.post(URL, {"username": "Client@Example.com", "password": TEST_PASSWORD})

    assert response.status_code == 302
    assert response.wsgi_request.user == client_user


@pytest.mark.django_db
def test_login_with_a_wrong_password_shows_an_error(anonymous, client_user):
    response = anonymous.post(URL, {"username": "client@example.com", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_login_follows_a_safe_next_url(anonymous, client_user):
    response = anonymous.post(
        URL + "?next=/accounts/profile/",
        {"username": "client@example.com", "password": TEST_PASSWORD, "next": "/accounts/profile/"},
    )

    assert response.url == "/accounts/profile/"


@pytest.mark.django_db
def test_login_ignores_an_offsite_next_url(anonymous, client_user):
    response = anonymous.post(
        URL, {"username": "client@example.com", "password": TEST_PASSWORD, "next": "https://evil.example/"}
    )

    assert response.url == reverse("home")


@pytest.mark.django_db
def test_repeated_failures_against_one_account_lock_it_even_with_the_right_password(
    anonymous, client_user, settings
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_email": (3, 900)}
    for _ in range(3):
        anonymous.post(URL, {"username": "client@example.com", "password": "guess"})

    response = anonymous.post(URL, {"username": "client@example.com", "password": TEST_PASSWORD})

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_login_limit_per_address_spans_accounts(anonymous, client_user, other_client_user, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": (2, 900)}
    anonymous.post(URL, {"username": "a@example.com", "password": "x"})
    anonymous.post(URL, {"username": "b@example.com", "password": "x"})

    response = anonymous.post(URL, {"username": "other-client@example.com", "password": TEST_PASSWORD})

    assert response.status_code == 429


@pytest.mark.django_db
def test_rate_limit_trusts_forwarded_address_only_behind_configured_proxies(anonymous, client_user, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": (1, 900)}
    settings.TRUSTED_PROXY_COUNT = 1
    anonymous.post(URL, {"username": "x@example.com", "password": "x"}, HTTP_X_FORWARDED_FOR="203.0.113.1")

    # Another address behind the same proxy has its own budget...
    other = anonymous.post(
        URL, {"username": "y@example.com", "password": "x"}, HTTP_X_FORWARDED_FOR="203.0.113.2"
    )
    # ...and the first one is over its limit.
    again = anonymous.post(
        URL, {"username": "z@example.com", "password": "x"}, HTTP_X_FORWARDED_FOR="203.0.113.1"
    )

    assert other.status_code == 200
    assert again.status_code == 429


@pytest.mark.django_db
def test_logout_needs_a_post_and_ends_the_session(as_client):
    assert as_client.get(reverse("logout")).status_code == 405

    response = as_client.post(reverse("logout"))

    assert response.status_code == 302
    assert as_client.get(reverse("profile")).status_code == 302


@pytest.mark.django_db
def test_login_form_is_csrf_protected(client_user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(URL, {"username": "client@example.com", "password": TEST_PASSWORD})

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
