import uuid

import pytest

from marketplace.celery import app as celery_app

pytest_plugins = [
    "tests.fixtures.personas",
    "tests.fixtures.browser",
    "tests.fixtures.stripe",
    "tests.fixtures.bookings",
    "tests.fixtures.redis",
]


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Give every test its own key space in the real Redis cache.

    Rate-limit counters and other cached state must not leak between tests or between concurrent test runs
    sharing one Redis; a fresh prefix isolates them without FLUSHDB, which would also wipe the broker.
    """
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}"}
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The production hasher is slow on purpose (a quarter second per password); tests make hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_runs_inline():
    """Tasks run in the calling thread, as a worker would run them, so tests see their effects and never
    leave messages in the shared Redis for a developer's worker to pick up. Tests of the wiring itself use
    ``real_broker`` (below), which sends through Redis to a real worker process."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def real_broker():
    """Send tasks through Redis for real, to a queue of this test's own (no other worker can take them)."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    yield queue
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous


@pytest.fixture(autouse=True)
def _no_stripe_by_accident(settings):
    """Point the Stripe SDK at a closed port unless a test asks for the emulator (``stripe_emulator``), so no
    test ever talks to a developer's running emulator or to Stripe itself."""
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded files (provider photos) go to a throwaway folder, never into the checkout's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _stripe_namespace_per_test():
    """The installation's key namespace is cached per process; a transactional test's flush deletes its row.
    Clearing the cache makes every test (and the worker processes it starts) read the same row."""
    from payments.namespace import _database_namespace

    _database_namespace.cache_clear()
    yield
    _database_namespace.cache_clear()
