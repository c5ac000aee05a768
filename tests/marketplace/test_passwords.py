import re

import pytest
from django.core import mail
from django.urls import reverse

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


@pytest.mark.django_db
def test_password_reset_by_email_link(anonymous, client_user):
    anonymous.post(reverse("password_reset"), {"email": "client@example.com"})

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["client@example.com"]
    assert "Reset your password" in message.subject
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)

    # The link redirects once to a session-bound URL that hides the token, then takes the new password.
    form_url = anonymous.get(link).url
    response = anonymous.post(
        form_url, {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"}
    )

    assert response.url == reverse("password_reset_complete")
    client_user.refresh_from_db()
    assert client_user.check_password("brand-new-passphrase")


@pytest.mark.django_db
def test_password_reset_for_an_unknown_email_says_the_same_and_sends_nothing(anonymous):
    response = anonymous.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)

    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_used_reset_link_no_longer_works(anonymous, client_user):
    anonymous.post(reverse("password_reset"), {"email": "client@example.com"})
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = anonymous.get(link).url
    anonymous.post(
        form_url, {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"}
    )

    response = anonymous.get(link, follow=True)

    assert "This link has expired" in response.content.decode()
