import logging

from celery import shared_task

from providers.selectors import providers_to_refresh
from providers.services import provider_refresh_next_available

logger = logging.getLogger(__name__)


@shared_task
def refresh_next_available() -> None:
    """Move stored next available times forward as time passes: the providers whose stored time slid into
    their notice window, and those without one (new days come into the horizon); see
    ``providers_to_refresh``. Safe to run twice or concurrently: each refresh is idempotent."""
    count = 0
    for provider_id in providers_to_refresh():
        provider_refresh_next_available(provider_id=provider_id)
        count += 1
    logger.info("refresh_next_available: %d providers refreshed", count)
