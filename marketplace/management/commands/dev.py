"""Run the whole development stack in the foreground: web, Celery worker, Celery beat and, when no real
Stripe key is configured, the local Stripe emulator. Output is interleaved with a name per line; Ctrl-C (or
any one process exiting) stops them all.

The emulator starts first and demo data is seeded once it answers, so seeded paid bookings are real
payments at the emulator (their refunds and transfers work later).

The web server listens where ``SITE_URL`` points (when it names this machine) and the address printed is
``SITE_URL`` itself: Stripe Checkout and emails send people back to ``SITE_URL``, and a login cookie set
for ``localhost`` is not sent to ``127.0.0.1``. Once every process is up, the address, the emulator console
and the demo logins are printed again (the start-up logs push the first copy off screen) and kept in
var/demo-logins.txt.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand
from django.urls import reverse

from marketplace.management.commands.seed_demo import demo_logins_text

COLOURS = ["\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m"]
RESET = "\033[0m"
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
# The line each Celery process prints once it is working (the web server is asked over HTTP instead).
READY_LINES = {
    "worker": re.compile(r"celery@\S+ ready\."),
    "beat": re.compile(r"beat: Starting"),
}
UP_TIMEOUT_SECONDS = 90


def default_addr(site_url: str) -> str:
    """Where runserver listens unless told: the port of ``SITE_URL`` when it names this machine, else 8000."""
    parts = urlsplit(site_url)
    if parts.hostname in LOOPBACK_HOSTS and parts.port:
        return f"127.0.0.1:{parts.port}"
    return "127.0.0.1:8000"


def site_url_problem(site_url: str, addr: str) -> str:
    """Why ``SITE_URL`` does not reach the server listening on ``addr``, or "" when it does (or when it names
    another machine, a tunnel or proxy, which cannot be checked from here)."""
    parts = urlsplit(site_url)
    if parts.hostname not in LOOPBACK_HOSTS:
        return ""
    port = int(addr.rpartition(":")[2])
    site_port = parts.port or (443 if parts.scheme == "https" else 80)
    if site_port == port:
        return ""
    return (
        f"SITE_URL is {site_url} but the web server listens on port {port}: Stripe Checkout and emails send "
        f"people to SITE_URL. Set SITE_URL=http://127.0.0.1:{port} (in .env) or run with --addr "
        f"127.0.0.1:{site_port}."
    )


class Command(BaseCommand):
    help = "Run web + Celery worker + beat (+ the Stripe emulator) together in the foreground."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--addr",
            default=os.environ.get("DEV_ADDR") or default_addr(settings.SITE_URL),
            help="host:port for the web server (default: the port of SITE_URL, or DEV_ADDR)",
        )
        parser.add_argument("--no-seed", action="store_true", help="Do not run seed_demo before starting.")
        parser.add_argument(
            "--var-dir",
            default=str(Path(settings.BASE_DIR) / "var"),
            help="where the emulator's state, beat's schedule and demo-logins.txt are kept (default: var/)",
        )

    def handle(self, *args, addr: str, var_dir: str, no_seed: bool = False, **options) -> None:
        python = sys.executable
        state_dir = Path(var_dir)
        state_dir.mkdir(exist_ok=True)
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
                str(state_dir / "stripe-emulator.json"),
            ]
        processes["web"] = [python, "manage.py", "runserver", addr]
        processes["worker"] = [*celery, "worker", "--loglevel", "info", "--concurrency", "2"]
        processes["beat"] = [
            *celery,
            "beat",
            "--loglevel",
            "info",
            "--schedule",
            str(state_dir / "celerybeat-schedule"),
        ]

        colour = sys.stdout.isatty()
        width = max(len(name) for name in processes)
        lock = threading.Lock()

        ready = {name: threading.Event() for name in READY_LINES if name in processes}

        def pump(name: str, index: int, stream) -> None:
            prefix = f"{name:<{width}} | "
            if colour:
                prefix = f"{COLOURS[index % len(COLOURS)]}{prefix}{RESET}"
            ready_line = READY_LINES.get(name)
            for line in iter(stream.readline, ""):
                if ready_line and ready_line.search(line):
                    ready[name].set()
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
        problem = site_url_problem(settings.SITE_URL, addr)
        if problem:
            self.stderr.write(problem)
        threading.Thread(
            target=self._announce_when_up,
            kwargs={
                "addr": addr,
                "ready": ready,
                "running": running,
                "lock": lock,
                "problem": problem,
                "with_logins": not no_seed,
                "path": state_dir / "demo-logins.txt",
            },
            daemon=True,
        ).start()

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

    def _announce_when_up(
        self,
        *,
        addr: str,
        ready: dict[str, threading.Event],
        running: dict[str, subprocess.Popen],
        lock: threading.Lock,
        problem: str,
        with_logins: bool,
        path: Path,
    ) -> None:
        """Wait until the web server answers and the worker and beat say they are working, then print where
        to go and who to log in as, and keep it in ``path``."""
        deadline = time.monotonic() + UP_TIMEOUT_SECONDS
        host, _, port = addr.rpartition(":")
        listening_everywhere = host in ("", "0.0.0.0")  # noqa: S104 - a comparison, not a bind
        probe = f"http://{'127.0.0.1' if listening_everywhere else host}:{port}/healthz/"
        web_up = False
        while time.monotonic() < deadline and not web_up:
            try:
                requests.get(probe, timeout=2)  # any answer, 503 included: the server is there
                web_up = True
            except requests.RequestException:
                time.sleep(0.5)
        for event in ready.values():
            event.wait(max(0.0, deadline - time.monotonic()))
        late = [name for name, event in ready.items() if not event.is_set()] + ([] if web_up else ["web"])
        if problem:
            lines = [f"The web server is at http://{addr}/", problem]
        else:
            lines = [
                f"Open {settings.SITE_URL}/  (SITE_URL: under another name the login is lost after checkout)"
            ]
        if "stripe" in running:
            lines.append(f"Stripe emulator console: {settings.STRIPE_API_BASE}/_emulator/")
        # No mail server in development: every email is kept in the outbox and shown there as sent.
        lines.append(f"Emails sent (staff login): {settings.SITE_URL}{reverse('notifications:outbox')}")
        if with_logins:
            lines.append(demo_logins_text())
        if late:
            lines.append(f"Still starting after {UP_TIMEOUT_SECONDS}s: {', '.join(late)}.")
        else:
            lines.append(f"Up: {', '.join(running)}. Ctrl-C stops everything.")
        text = "\n".join(lines) + "\n"
        path.write_text(text)
        rule = "=" * 78
        with lock:
            sys.stdout.write(f"\n{rule}\n{text}(This text is also in {path}.)\n{rule}\n")
            sys.stdout.flush()

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
