"""The Celery wiring, for real: a worker process on Redis runs a task, and beat schedules the heartbeat."""

import json
import time

import pytest
import redis

from marketplace.celery import app as celery_app
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


def _beat(schedule, redis_url: str, **extra_env: str):
    # Beat sends to a private Redis: its messages must never reach a worker on the shared one.
    env = {"REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url, **extra_env}
    return _start(
        "beat", "--loglevel", "info", "--schedule", str(schedule), "--max-interval", "1", extra_env=env
    )


def test_beat_sends_the_heartbeat_on_schedule(tmp_path, private_redis):
    beat = _beat(tmp_path / "schedule", private_redis.url(), HEARTBEAT_INTERVAL_SECONDS="1")
    try:
        _wait_for_line(beat, "Sending due task heartbeat (marketplace.tasks.heartbeat)", timeout=30)
        # Once at start, then again one interval later.
        _wait_for_line(beat, "Sending due task heartbeat (marketplace.tasks.heartbeat)", timeout=30)
    finally:
        _stop(beat)


def _queued_tasks(redis_url: str) -> set[str]:
    queued = redis.Redis.from_url(redis_url).lrange("celery", 0, -1)
    return {json.loads(message)["headers"]["task"] for message in queued}


def test_beat_sends_every_sweeper_as_soon_as_it_starts(tmp_path, private_redis, settings):
    expected = {settings.CELERY_BEAT_SCHEDULE[name]["task"] for name in settings.BEAT_RUN_AT_START}
    beat = _beat(tmp_path / "schedule", private_redis.url())
    started = time.monotonic()
    try:
        _wait_for_line(beat, "beat: Starting...", timeout=30)
        # Every job's message is in the broker long before any interval (the shortest is a minute) has passed.
        while not expected <= _queued_tasks(private_redis.url()) and time.monotonic() - started < 30:
            time.sleep(0.1)
    finally:
        _stop(beat)

    assert expected <= _queued_tasks(private_redis.url())


def test_every_sweeper_runs_at_beat_start(settings):
    sweepers = {
        "expire-holds",
        "process-refunds",
        "process-webhooks",
        "resend-notifications",
        "close-checkouts",
    }

    assert sweepers <= set(settings.BEAT_RUN_AT_START)
    assert set(settings.BEAT_RUN_AT_START) <= set(settings.CELERY_BEAT_SCHEDULE)
    # A daily report is not re-sent at every deploy.
    assert "check-ledger" not in settings.BEAT_RUN_AT_START


def test_a_killed_workers_message_comes_back_in_minutes_not_an_hour():
    visibility = celery_app.conf.broker_transport_options["visibility_timeout"]

    assert visibility == 300
    # ...yet never while a task may still be running: none runs longer than the visibility timeout.
    assert celery_app.conf.task_time_limit < visibility


def test_worker_settings_favour_redelivery_over_loss(settings):
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
