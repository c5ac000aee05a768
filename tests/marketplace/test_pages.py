"""The shared page frame: navigation per persona, the home page, time zone of visitors, error pages."""

import pytest
from django.test import Client, override_settings
from django.urls import path, reverse


@pytest.mark.django_db
def test_home_page_says_what_the_marketplace_is(anonymous):
    body = anonymous.get(reverse("home")).content.decode()

    assert "Book a session with someone who knows." in body
    assert "How it works" in body


@pytest.mark.django_db
def test_visitor_navigation_offers_login_and_signup(anonymous):
    body = anonymous.get(reverse("home")).content.decode()

    assert 'href="/accounts/login/"' in body
    assert 'href="/accounts/signup/"' in body
    assert "Log out" not in body


@pytest.mark.django_db
def test_client_navigation_has_profile_and_logout_but_no_dashboard_or_admin(as_client):
    body = as_client.get(reverse("home")).content.decode()

    assert "Chris Client" in body
    assert "Log out" in body
    assert "Provider dashboard" not in body
    assert 'href="/admin/"' not in body


@pytest.mark.django_db
def test_provider_navigation_links_to_the_dashboard(as_provider):
    body = as_provider.get(reverse("home")).content.decode()

    assert "Provider dashboard" in body
    assert 'href="/admin/"' not in body


@pytest.mark.django_db
def test_staff_navigation_links_to_admin(as_staff):
    body = as_staff.get(reverse("home")).content.decode()

    assert 'href="/admin/"' in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("anonymous", 302),
        ("as_client", 404),
        ("as_provider", 200),
        ("as_other_provider", 200),
        ("as_staff", 404),
    ],
)
def test_provider_dashboard_access(request, persona, expected):
    browser = request.getfixturevalue(persona)

    assert browser.get(reverse("providers:dashboard")).status_code == expected


@pytest.mark.django_db
def test_provider_dashboard_shows_only_the_signed_in_providers_profile(as_provider, provider, other_provider):
    body = as_provider.get(reverse("providers:dashboard")).content.decode()

    assert provider.display_name in body
    assert other_provider.display_name not in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "expected"), [("anonymous", 302), ("as_client", 302), ("as_provider", 302), ("as_staff", 200)]
)
def test_admin_is_for_staff_only(request, persona, expected):
    assert request.getfixturevalue(persona).get("/admin/").status_code == expected


@pytest.mark.django_db
def test_admin_lists_users(as_staff, client_user):
    body = as_staff.get("/admin/marketplace/user/").content.decode()

    assert "client@example.com" in body


@pytest.mark.django_db
def test_visitor_zone_comes_from_the_browser_cookie(anonymous):
    anonymous.cookies["tz"] = "Australia/Sydney"

    assert anonymous.get(reverse("home")).context["viewer_timezone"] == "Australia/Sydney"


@pytest.mark.django_db
def test_a_forged_zone_cookie_falls_back_to_utc(anonymous):
    anonymous.cookies["tz"] = "<script>"

    assert anonymous.get(reverse("home")).context["viewer_timezone"] == "UTC"


@pytest.mark.django_db
def test_a_users_profile_zone_wins_over_the_cookie(as_client):
    as_client.cookies["tz"] = "Australia/Sydney"

    assert as_client.get(reverse("home")).context["viewer_timezone"] == "America/New_York"


@pytest.mark.django_db
def test_unknown_page_shows_our_404(anonymous):
    response = anonymous.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def _raise(request):
    raise RuntimeError("secret internals: db password is hunter2")


urlpatterns = [path("boom/", _raise)]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_server_error_shows_our_500_without_a_traceback():
    browser = Client(raise_request_exception=False)

    response = browser.get("/boom/")

    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    assert "Traceback" not in body
    assert "hunter2" not in body


@pytest.mark.django_db
def test_a_percent_encoded_zone_cookie_is_understood(anonymous):
    anonymous.cookies["tz"] = "Asia%2FTokyo"

    assert anonymous.get(reverse("home")).context["viewer_timezone"] == "Asia/Tokyo"
