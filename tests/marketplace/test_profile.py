import pytest
import time_machine
from django.urls import reverse

URL = reverse("profile")


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(anonymous):
    response = anonymous.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_user_sets_name_and_time_zone(as_client, client_user):
    response = as_client.post(URL, {"name": "Chris C.", "timezone": "Asia/Kolkata"}, follow=True)

    client_user.refresh_from_db()
    assert (client_user.name, client_user.timezone) == ("Chris C.", "Asia/Kolkata")
    assert "Your profile has been saved." in response.content.decode()


@pytest.mark.django_db
def test_unknown_time_zone_shows_a_field_error_and_saves_nothing(as_client, client_user):
    response = as_client.post(URL, {"name": "Changed", "timezone": "Atlantis/Capital"})

    assert response.status_code == 200
    assert "timezone" in response.context["form"].errors
    client_user.refresh_from_db()
    assert client_user.name == "Chris Client"


@pytest.mark.django_db
def test_profile_edits_only_the_signed_in_user(as_client, client_user, other_client_user):
    # There is no user id in the URL or form to tamper with: posting always edits oneself.
    as_client.post(
        URL, {"name": "Mine", "timezone": "UTC", "email": other_client_user.email, "id": other_client_user.pk}
    )

    other_client_user.refresh_from_db()
    client_user.refresh_from_db()
    assert other_client_user.name == "Olive Other"
    assert client_user.name == "Mine"
    assert client_user.email == "client@example.com"


# 2026-03-08 is the day New York moves its clocks from 02:00 EST to 03:00 EDT (07:00 UTC).
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("utc_now", "shown"),
    [
        ("2026-03-08T06:30:00Z", "Sunday 8 March 2026, 01:30 EST"),
        ("2026-03-08T07:30:00Z", "Sunday 8 March 2026, 03:30 EDT"),
        ("2026-11-01T05:30:00Z", "Sunday 1 November 2026, 01:30 EDT"),
        ("2026-11-01T06:30:00Z", "Sunday 1 November 2026, 01:30 EST"),
    ],
)
def test_times_are_shown_in_the_users_zone_across_dst(as_client, utc_now, shown):
    with time_machine.travel(utc_now, tick=False):
        response = as_client.get(URL)

    assert shown in response.content.decode()
