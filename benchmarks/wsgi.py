"""The site as gunicorn serves it in production, plus the trivial view and the benchmark's busy-time source.

Used only by benchmarks/throughput.py: ``gunicorn benchmarks.wsgi:application``.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

from django.conf import settings
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
settings.ROOT_URLCONF = "benchmarks.urls"

from benchmarks.bench_discovery import _busy_source  # noqa: E402 - needs the apps loaded
from providers.slots import register_busy_source  # noqa: E402

# The profile page and the soonest sort subtract busy time exactly as in the in-process figures.
register_busy_source(_busy_source)
