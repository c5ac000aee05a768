"""People see the marketplace's name (``SITE_NAME``), never the host it runs on, in titles and emails;
every page has a favicon."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core import mail
from django.test import Client, override_settings
from django.urls import path, reverse


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password_reset/", "/providers/"]
)
def test_page_titles_use_the_marketplace_name(anonymous, settings, url):
    settings.SITE_NAME = "Harbour Tutors"

    body = anonymous.get(url, HTTP_HOST="localhost").content.decode()

    title = body.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "Harbour Tutors" in title
    assert "localhost" not in title


@pytest.mark.django_db
def test_admin_pages_are_titled_with_the_marketplace_name_not_django(as_staff):
    body = as_staff.get(reverse("admin:index")).content.decode()

    assert "<title>Site administration | Sessions Marketplace admin</title>" in body
    assert "Django administration" not in body
    assert "Django site admin" not in body


@pytest.mark.django_db
def test_password_reset_subject_names_the_marketplace_not_the_host(
    anonymous, client_user, settings, django_capture_on_commit_callbacks
):
    settings.SITE_NAME = "Harbour Tutors"
    settings.SITE_URL = "http://127.0.0.1:8000"

    with django_capture_on_commit_callbacks(execute=True):
        anonymous.post(reverse("password_reset"), {"email": client_user.email}, HTTP_HOST="127.0.0.1:8000")

    assert [message.subject for message in mail.outbox] == ["Reset your password on Harbour Tutors"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/admin/login/"])
def test_pages_link_the_favicon(anonymous, url):
    body = anonymous.get(url).content.decode()

    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in body


@pytest.mark.django_db
def test_favicon_ico_leads_to_the_svg_which_exists(anonymous):
    response = anonymous.get("/favicon.ico")

    assert response.status_code == 302
    assert response.url == "/static/favicon.svg"
    assert "<svg" in Path(finders.find("favicon.svg")).read_text()


def _raise(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _raise)]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False, SITE_NAME="Harbour Tutors")
def test_the_500_page_uses_the_marketplace_name_without_a_request_context():
    body = Client(raise_request_exception=False).get("/boom/").content.decode()

    assert "<title>Something went wrong · Harbour Tutors</title>" in body
