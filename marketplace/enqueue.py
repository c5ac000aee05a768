"""Handing work to Celery once the rows that describe it are committed.

Every side effect is a row first (DESIGN §6), so a task message is only a nudge: if the broker is down when
the transaction commits, the work is already recorded and a sweeper (refunds, webhooks, notifications) sends
it later. Enqueuing must therefore never turn a committed success into an error page.
"""

import logging
from functools import partial
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def _send(task: Any, kwargs: dict[str, Any]) -> None:
    try:
        task.delay(**kwargs)
    except Exception as error:  # a broker outage must not undo what was committed
        logger.warning(
            "could not enqueue %s(%s): %s; its sweeper will pick the work up",
            getattr(task, "name", task),
            kwargs,
            error,
        )


def enqueue_after_commit(task: Any, **kwargs: Any) -> None:
    """Send ``task.delay(**kwargs)`` after the current transaction commits (at once outside one). A failure
    to reach the broker is logged, never raised: the committed rows are the record of the work."""
    transaction.on_commit(partial(_send, task, kwargs), robust=True)
