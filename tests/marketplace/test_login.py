import pytest
from django.test import Client
from django.urls import reverse

from notifications.models import Notification
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


ATTACKER = "198.51.100.66"
OWNER = "203.0.113.10"


def _guess(browser, email="client@example.com", *, address=ATTACKER, password=None):
    return browser.post(URL, {"username": email, "password": password or "guess"}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_an_address_that_keeps_failing_is_refused_for_that_account_even_with_the_right_password(
    anonymous, client_user, settings
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account_ip": (3, 900)}
    for _ in range(3):
        _guess(anonymous)

    response = _guess(anonymous, password=TEST_PASSWORD)

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_the_owner_still_logs_in_from_an_address_that_has_not_been_failing(anonymous, client_user, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account_ip": (3, 900)}
    for _ in range(10):
        _guess(Client())

    response = _guess(anonymous, address=OWNER, password=TEST_PASSWORD)

    assert response.status_code == 302
    assert response.wsgi_request.user == client_user


@pytest.mark.django_db
def test_failures_at_one_account_do_not_use_up_the_budget_for_another(
    anonymous, client_user, other_client_user
):
    for _ in range(8):
        _guess(anonymous)

    response = _guess(anonymous, "other-client@example.com", password=TEST_PASSWORD)

    assert response.status_code == 302


@pytest.mark.django_db
def test_a_success_forgets_the_addresses_earlier_failures(client_user, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account_ip": (3, 900)}
    for _ in range(2):
        _guess(Client(), address=OWNER)
    assert _guess(Client(), address=OWNER, password=TEST_PASSWORD).status_code == 302
    for _ in range(2):
        _guess(Client(), address=OWNER)

    response = _guess(Client(), address=OWNER, password=TEST_PASSWORD)

    assert response.status_code == 302


@pytest.mark.django_db
def test_the_owner_is_emailed_once_per_window_when_their_account_is_being_guessed_at(client_user, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account_alert": (5, 3600)}
    for n in range(5):
        _guess(Client(), address=f"198.51.100.{n}")
    assert not Notification.objects.exists()

    for n in range(5, 20):
        _guess(Client(), address=f"198.51.100.{n}")

    alert = Notification.objects.get()
    assert alert.to_email == "client@example.com"
    assert alert.subject == "Someone is trying to log in to your account"
    assert "6 times" in alert.body_text
    assert "198.51.100.5" in alert.body_text


@pytest.mark.django_db
def test_guesses_at_an_account_that_does_not_exist_email_nobody(anonymous, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account_alert": (1, 3600)}
    for n in range(3):
        _guess(Client(), "nobody@example.com", address=f"198.51.100.{n}")

    assert not Notification.objects.exists()


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
