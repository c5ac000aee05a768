"""The Celery wiring, for real: a worker process on Redis runs a task, and beat schedules the heartbeat."""

import pytest

from marketplace.tasks import heartbeat
from tests.celery_processes import start_celery as _start
from tests.celery_processes import stop as _stop
from tests.celery_processes import wait_for_line as _wait_for_line

pytestmark = pytest.mark.celery_worker


def test_a_real_worker_on_redis_runs_a_task(real_broker):
    queue = real_broker
    worker = _start(
        "worker", "--pool", "solo", "--queues", queue, "--loglevel", "info", "--without-heartbeat"
    )
    try:
        _wait_for_line(worker, "ready.", timeout=30)

        result = heartbeat.apply_async(queue=queue)

        lines = _wait_for_line(worker, f"Task marketplace.tasks.heartbeat[{result.id}] succeeded", timeout=30)
        assert any("heartbeat at" in line for line in lines)
    finally:
        _stop(worker)


def test_beat_sends_the_heartbeat_on_schedule(tmp_path):
    beat = _start(
        "beat",
        "--loglevel",
        "info",
        "--schedule",
        str(tmp_path / "schedule"),
        "--max-interval",
        "1",
        # Heartbeats expire after one interval, so the few sent here never pile up for a later worker.
        extra_env={"HEARTBEAT_INTERVAL_SECONDS": "1"},
    )
    try:
        _wait_for_line(beat, "Sending due task heartbeat (marketplace.tasks.heartbeat)", timeout=30)
    finally:
        _stop(beat)


def test_worker_settings_favour_redelivery_over_loss(settings):
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
