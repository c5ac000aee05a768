import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import Notification
from tests.factories import TEST_PASSWORD


@pytest.mark.django_db
def test_password_change_needs_the_old_password(as_client, client_user):
    response = as_client.post(
        reverse("password_change"),
        {
            "old_password": "wrong",
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    client_user.refresh_from_db()
    assert client_user.check_password(TEST_PASSWORD)


@pytest.mark.django_db
def test_password_change_keeps_the_user_logged_in(as_client, client_user):
    response = as_client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )

    assert response.url == reverse("password_change_done")
    client_user.refresh_from_db()
    assert client_user.check_password("another-long-passphrase")
    assert as_client.get(reverse("profile")).status_code == 200


def _reset_link(settings) -> str:
    """The path of the link in the one reset email sent."""
    assert len(mail.outbox) == 1
    return re.search(re.escape(settings.SITE_URL) + r"(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)


def _ask_for_reset(browser, email, **extra):
    return browser.post(reverse("password_reset"), {"email": email}, **extra)


@pytest.mark.django_db
def test_password_reset_by_email_link(anonymous, client_user, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _ask_for_reset(anonymous, "client@example.com")

    message = mail.outbox[0]
    assert message.to == ["client@example.com"]
    assert "Reset your password" in message.subject
    link = _reset_link(settings)

    # The link redirects once to a session-bound URL that hides the token, then takes the new password.
    form_url = anonymous.get(link).url
    response = anonymous.post(
        form_url, {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"}
    )

    assert response.url == reverse("password_reset_complete")
    client_user.refresh_from_db()
    assert client_user.check_password("brand-new-passphrase")


@pytest.mark.django_db
def test_password_reset_for_an_unknown_email_says_the_same_and_sends_nothing(
    anonymous, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask_for_reset(anonymous, "nobody@example.com", follow=True)

    assert "Check your email" in response.content.decode()
    assert mail.outbox == []
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_the_reset_email_goes_out_from_the_outbox_in_a_task_after_the_response(
    anonymous, client_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        response = _ask_for_reset(anonymous, "client@example.com")

    # The page has answered without looking the account up or sending anything...
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []
    assert not Notification.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):  # ...the task, after commit, queues and sends it.
        for callback in after_commit:
            callback()

    notification = Notification.objects.get()
    assert notification.to_email == "client@example.com"
    assert notification.status == Notification.Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_reset_request_does_the_same_work_whether_or_not_the_account_exists(
    client_user, django_capture_on_commit_callbacks
):
    work = {}
    for email in ("client@example.com", "nobody@example.com"):
        browser = Client()
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=False) as after_commit,
        ):
            browser.post(reverse("password_reset"), {"email": email})
        work[email] = ([q["sql"] for q in queries.captured_queries], len(after_commit), len(mail.outbox))

    assert work["client@example.com"] == work["nobody@example.com"]


@pytest.mark.django_db
def test_reset_links_point_at_the_site_never_at_the_host_the_request_named(
    anonymous, client_user, settings, django_capture_on_commit_callbacks
):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]
    with django_capture_on_commit_callbacks(execute=True):
        _ask_for_reset(anonymous, "client@example.com", HTTP_HOST="evil.example")

    assert "evil.example" not in mail.outbox[0].body
    assert settings.SITE_URL + "/accounts/reset/" in mail.outbox[0].body


@pytest.mark.django_db
def test_reset_requests_for_one_email_are_limited_from_any_address(
    client_user, settings, django_capture_on_commit_callbacks
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset_email": (3, 3600)}
    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            _ask_for_reset(Client(), "Client@Example.com", REMOTE_ADDR=f"198.51.100.{n}") for n in range(20)
        ]

    assert [r.status_code for r in responses] == [302] * 3 + [429] * 17
    assert "Too many attempts" in responses[-1].content.decode()
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_reset_requests_from_one_address_are_limited_whatever_the_email(anonymous, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset_ip": (2, 3600)}
    for n in range(2):
        _ask_for_reset(anonymous, f"person{n}@example.com")

    response = _ask_for_reset(anonymous, "client@example.com")

    assert response.status_code == 429


@pytest.mark.django_db
def test_a_used_reset_link_no_longer_works(
    anonymous, client_user, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _ask_for_reset(anonymous, "client@example.com")
    link = _reset_link(settings)
    form_url = anonymous.get(link).url
    anonymous.post(
        form_url, {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"}
    )

    response = anonymous.get(link, follow=True)

    assert "This link has expired" in response.content.decode()
