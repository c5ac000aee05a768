"""Run the whole development stack in the foreground: web, Celery worker, Celery beat and, when no real
Stripe key is configured, the local Stripe emulator. Output is interleaved with a name per line; Ctrl-C (or
any one process exiting) stops them all.

The emulator starts first and demo data is seeded once it answers, so seeded paid bookings are real
payments at the emulator (their refunds and transfers work later).
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand
from django.urls import reverse

COLOURS = ["\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m"]
RESET = "\033[0m"


class Command(BaseCommand):
    help = "Run web + Celery worker + beat (+ the Stripe emulator) together in the foreground."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default=os.environ.get("DEV_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--no-seed", action="store_true", help="Do not run seed_demo before starting.")

    def handle(self, *args, addr: str, no_seed: bool = False, **options) -> None:
        python = sys.executable
        var_dir = Path(settings.BASE_DIR) / "var"
        var_dir.mkdir(exist_ok=True)
        celery = [python, "-m", "celery", "-A", "marketplace"]
        processes: dict[str, list[str]] = {}
        if settings.USES_STRIPE_EMULATOR and "stripe_emulator" in get_commands():
            # Its state lives in var/ so Stripe ids stored in the database stay valid across restarts.
            processes["stripe"] = [
                python,
                "manage.py",
                "stripe_emulator",
                "--port",
                str(settings.STRIPE_EMULATOR_PORT),
                "--state-file",
                str(var_dir / "stripe-emulator.json"),
            ]
        processes["web"] = [python, "manage.py", "runserver", addr]
        processes["worker"] = [*celery, "worker", "--loglevel", "info", "--concurrency", "2"]
        processes["beat"] = [
            *celery,
            "beat",
            "--loglevel",
            "info",
            "--schedule",
            str(var_dir / "celerybeat-schedule"),
        ]

        colour = sys.stdout.isatty()
        width = max(len(name) for name in processes)
        lock = threading.Lock()

        def pump(name: str, index: int, stream) -> None:
            prefix = f"{name:<{width}} | "
            if colour:
                prefix = f"{COLOURS[index % len(COLOURS)]}{prefix}{RESET}"
            for line in iter(stream.readline, ""):
                with lock:
                    sys.stdout.write(prefix + line)
                    sys.stdout.flush()

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        running: dict[str, subprocess.Popen] = {}

        def start(index: int, name: str, command: list[str]) -> None:
            # Own session per child: Ctrl-C reaches only us, and we stop the children in order.
            child = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            running[name] = child
            threading.Thread(target=pump, args=(name, index, child.stdout), daemon=True).start()

        names = list(processes)
        try:
            if "stripe" in processes:
                start(names.index("stripe"), "stripe", processes["stripe"])
                self._wait_for_emulator()
            if not no_seed:
                # Before the web server, in the foreground: its last lines are the demo logins people want.
                subprocess.run([python, "manage.py", "seed_demo"], cwd=settings.BASE_DIR, env=env, check=True)
            for index, name in enumerate(names):
                if name not in running:
                    start(index, name, processes[name])
        except (KeyboardInterrupt, subprocess.CalledProcessError):
            self._stop_all(running)
            raise
        base = f"http://{addr.replace('127.0.0.1', 'localhost')}"
        self.stdout.write(f"Serving on {base}/ — Ctrl-C stops everything.")
        # No mail server in development: every email is kept in the outbox and shown there as sent.
        self.stdout.write(f"Emails sent (staff login): {base}{reverse('notifications:outbox')}")

        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        exited = None
        while not stop.is_set() and exited is None:
            exited = next((name for name, child in running.items() if child.poll() is not None), None)
            stop.wait(0.5)
        if exited:
            self.stderr.write(f"{exited} exited with code {running[exited].returncode}; stopping the rest.")
        self._stop_all(running)
        if exited:
            sys.exit(1)

    @staticmethod
    def _stop_all(running: dict[str, subprocess.Popen]) -> None:
        for child in running.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in running.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)

    def _wait_for_emulator(self, timeout: float = 20.0) -> None:
        url = f"{settings.STRIPE_API_BASE}/_emulator/state"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stderr.write(
            f"The Stripe emulator did not answer at {url} within {timeout:.0f}s; going on without it."
        )
