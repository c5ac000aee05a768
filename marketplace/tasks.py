import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from marketplace.services import password_reset_send

logger = logging.getLogger(__name__)

HEARTBEAT_CACHE_KEY = "celery:heartbeat:last"


@shared_task
def heartbeat() -> None:
    """Prove beat and a worker are alive: log a line and note the time for /healthz/ to report."""
    now = timezone.now()
    cache.set(HEARTBEAT_CACHE_KEY, now.isoformat(), timeout=None)
    logger.info("heartbeat at %s", now.isoformat())


@shared_task
def password_reset_send_task(*, email: str, request_id: str) -> None:
    password_reset_send(email=email, request_id=request_id)
