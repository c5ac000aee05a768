"""The Celery wiring, for real: a worker process on Redis runs a task, and beat schedules the heartbeat."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from marketplace.tasks import heartbeat

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.celery_worker


def _start(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "marketplace", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_line(process: subprocess.Popen, needle: str, timeout: float) -> list[str]:
    """Read the process's output until a line contains ``needle``; fail with everything seen otherwise."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            seen.append(line)
            if needle in line:
                return seen
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.05)
    pytest.fail(f"did not see {needle!r} within {timeout}s; output was:\n" + "".join(seen))


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_real_worker_on_redis_runs_a_task():
    # A queue of our own, so a developer's running worker cannot take the message first.
    queue = f"test-{uuid.uuid4().hex[:8]}"
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
