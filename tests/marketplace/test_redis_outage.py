"""Redis away: pages that use it only as a cache or a counter keep working (docs/decisions.md, "Redis down").

Each test takes away a Redis of its own (``app_on_private_redis``), never the shared one.
"""

import threading
import time
from urllib.parse import quote

import pytest
from django.urls import reverse

from bookings.models import Booking
from marketplace.enqueue import enqueue_after_commit
from marketplace.models import User
from marketplace.tasks import heartbeat
from tests.factories import TEST_PASSWORD, listed_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(app_on_private_redis):
    app_on_private_redis.stop()
    return app_on_private_redis


def test_search_computes_the_city_list_itself_while_redis_is_down(anonymous, redis_down):
    listed_provider(city="Lisbon")

    response = anonymous.get(reverse("providers:search"), {"q": "teacher"})

    assert response.status_code == 200
    assert response.context["cities"] == ["Lisbon"]


def test_login_fails_open_while_redis_is_down(anonymous, client_user, redis_down):
    response = anonymous.post(reverse("login"), {"username": client_user.email, "password": TEST_PASSWORD})

    assert response.status_code == 302
    assert response.wsgi_request.user == client_user


def test_a_wrong_password_is_still_refused_while_redis_is_down(anonymous, client_user, redis_down):
    response = anonymous.post(reverse("login"), {"username": client_user.email, "password": "guess"})

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_booking_fails_open_while_redis_is_down(
    as_client, bookable_service, slot, stripe_emulator, redis_down
):
    url = reverse("bookings:book", args=[bookable_service.pk]) + "?start=" + quote(slot.isoformat())

    response = as_client.post(url, {"client_notes": ""})

    assert response.status_code == 302
    assert response.url.startswith(stripe_emulator.url)
    assert Booking.objects.get().status == Booking.Status.PENDING_PAYMENT


def test_sign_up_fails_closed_with_try_again_in_a_minute_while_redis_is_down(anonymous, redis_down):
    form = {"name": "Nora", "email": "nora@example.com", "password1": "a-long-unusual-passphrase"}
    response = anonymous.post(reverse("signup"), {**form, "password2": form["password1"]})

    assert response.status_code == 503
    assert "Please try again in a minute." in response.content.decode()
    assert not User.objects.filter(email="nora@example.com").exists()


def test_limits_count_again_once_redis_is_back(anonymous, client_user, app_on_private_redis, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": (1, 900)}
    app_on_private_redis.stop()
    anonymous.post(reverse("login"), {"username": "a@example.com", "password": "x"})
    anonymous.post(reverse("login"), {"username": "b@example.com", "password": "x"})
    app_on_private_redis.start()
    anonymous.post(reverse("login"), {"username": "c@example.com", "password": "x"})

    response = anonymous.post(reverse("login"), {"username": "d@example.com", "password": "x"})

    assert response.status_code == 429


def test_a_hung_redis_costs_a_page_about_a_second_not_the_page(anonymous, app_on_private_redis):
    listed_provider(city="Lisbon")
    app_on_private_redis.freeze()

    started = time.monotonic()
    response = anonymous.get(reverse("providers:search"))

    assert response.status_code == 200
    assert time.monotonic() - started < 3


def test_password_reset_fails_closed_with_try_again_in_a_minute_while_redis_is_down(
    anonymous, client_user, redis_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        response = anonymous.post(reverse("password_reset"), {"email": client_user.email})

    assert response.status_code == 503
    assert "Please try again in a minute." in response.content.decode()
    assert after_commit == []


def test_enqueuing_to_a_hung_broker_gives_up_within_seconds(app_on_private_redis, caplog):
    heartbeat.delay()  # connected, as a web process is
    app_on_private_redis.freeze()

    # In a thread, so that without socket timeouts the test fails instead of waiting forever.
    sender = threading.Thread(target=enqueue_after_commit, args=(heartbeat,), daemon=True)
    started = time.monotonic()
    sender.start()
    sender.join(timeout=15)

    assert not sender.is_alive(), "enqueuing to a hung broker still waits"
    assert time.monotonic() - started < 10
    assert "could not enqueue marketplace.tasks.heartbeat" in caplog.text


def test_the_home_page_and_search_form_render_while_redis_is_down(anonymous, redis_down):
    from tests.factories import CategoryFactory

    CategoryFactory(name="Astronomy", slug="astronomy")  # the cache cannot be told: saving still works

    home = anonymous.get(reverse("home"))
    search = anonymous.get(reverse("providers:search"))

    assert home.status_code == 200
    assert '<option value="astronomy">Astronomy</option>' in home.content.decode()
    assert '<option value="astronomy">Astronomy</option>' in search.content.decode()
