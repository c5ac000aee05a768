import uuid

import pytest

pytest_plugins = [
    "tests.fixtures.personas",
    "tests.fixtures.browser",
    "tests.fixtures.stripe",
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
