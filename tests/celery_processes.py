"""Start and watch real Celery processes (worker, beat) from tests."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def start_celery(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "marketplace", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


# A worker that takes tasks from one queue and sends the tasks it enqueues itself (a release fanning out one
# task per payout) to that same queue, not to the default one no test worker listens to.
_WORKER_ON_ONE_QUEUE = (
    "import sys; from marketplace.celery import app; app.conf.task_default_queue = sys.argv[1]; "
    "app.worker_main(['worker', '--queues', sys.argv[1], *sys.argv[2:]])"
)


def start_worker(queue: str, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """A real worker process on ``queue`` (the ``real_broker`` fixture's) for every task, including those
    its own tasks enqueue."""
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER_ON_ONE_QUEUE, queue, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(process: subprocess.Popen, needle: str, timeout: float) -> list[str]:
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


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
