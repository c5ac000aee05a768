import pytest
from django.core.cache import cache
from django.urls import reverse

from marketplace.tasks import HEARTBEAT_CACHE_KEY, heartbeat


@pytest.mark.django_db
def test_healthz_is_ok_when_database_and_redis_answer(anonymous):
    response = anonymous.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json()["pages"] == "ok"
    assert response.json()["database"] == "ok"
    assert response.json()["redis"] == "ok"
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_unreachable(anonymous, settings):
    # A port nothing listens on: a real failed connection, not a mock.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = anonymous.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {"status": "error", "pages": "ok", "database": "ok", "redis": "error"}


@pytest.mark.django_db
def test_healthz_is_503_when_pages_cannot_render(anonymous, settings, tmp_path):
    # Production's storage with no collected files: every page would fail on its stylesheet's manifest entry.
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

    response = anonymous.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["pages"] == "error"
    assert response.json()["status"] == "error"


@pytest.mark.django_db
def test_healthz_reports_how_long_ago_the_celery_heartbeat_ran(anonymous):
    cache.delete(HEARTBEAT_CACHE_KEY)
    assert anonymous.get(reverse("healthz")).json()["celery_heartbeat_age_seconds"] is None

    heartbeat()

    assert anonymous.get(reverse("healthz")).json()["celery_heartbeat_age_seconds"] == 0


@pytest.mark.django_db
def test_healthz_only_answers_get(anonymous):
    assert anonymous.post(reverse("healthz")).status_code == 405
