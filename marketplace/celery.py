"""The Celery app. Configuration lives in Django settings under the ``CELERY_`` prefix (see settings.py)."""

import logging
import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@beat_init.connect
def run_sweepers_at_beat_start(sender, **kwargs) -> None:
    """Send each job in ``BEAT_RUN_AT_START`` once, now, through beat's own scheduler. Its ``apply_entry`` is
    what every tick uses: same options (expiry included), and a failed send (broker still down) is logged
    and left to the job's next regular run, never a crash of beat."""
    from django.conf import settings

    scheduler = sender.scheduler
    for name in settings.BEAT_RUN_AT_START:
        entry = scheduler.schedule.get(name)
        if entry is None:
            logger.warning("beat: %s is in BEAT_RUN_AT_START but not scheduled", name)
            continue
        scheduler.apply_entry(entry, producer=scheduler.producer)
