"""``make dev`` (manage.py dev): it listens where SITE_URL points and says so, and a worker's printed email is
an INFO line, not a WARNING."""

import os
import re
import signal
import socket
import subprocess
import sys
import uuid

import pytest
import requests
from django.db import connection

from marketplace.management.commands.dev import default_addr, site_url_problem
from marketplace.management.commands.seed_demo import DEMO_PASSWORD, demo_logins_text
from marketplace.tasks import password_reset_send_task
from tests.celery_processes import ROOT, start_worker, stop, wait_for_line


@pytest.mark.parametrize(
    ("site_url", "addr"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://localhost:8104", "127.0.0.1:8104"),
        ("http://[::1]:9000", "127.0.0.1:9000"),
        # Another machine (a tunnel, a LAN name): nothing to follow, the usual port.
        ("https://demo.example.com", "127.0.0.1:8000"),
    ],
)
def test_the_web_server_listens_on_the_port_site_url_names(site_url, addr):
    assert default_addr(site_url) == addr


def test_site_url_on_this_machine_at_the_served_port_is_fine():
    assert site_url_problem("http://localhost:8000", "127.0.0.1:8000") == ""
    assert site_url_problem("http://127.0.0.1:8104", "0.0.0.0:8104") == ""


def test_site_url_at_another_port_is_named_with_the_fix():
    problem = site_url_problem("http://127.0.0.1:8000", "127.0.0.1:8104")

    assert "SITE_URL is http://127.0.0.1:8000" in problem
    assert "SITE_URL=http://127.0.0.1:8104" in problem


def test_a_site_url_elsewhere_is_not_second_guessed():
    assert site_url_problem("https://abc.tunnel.example", "127.0.0.1:8000") == ""


def test_the_demo_logins_name_every_role_with_the_password():
    text = demo_logins_text()

    for email in ["admin@example.com", "client@example.com", "provider@example.com", "lena@example.com"]:
        assert f"{email:<24} password: {DEMO_PASSWORD}" in text


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_prints_a_development_email_at_info_not_warning(client_user, real_broker):
    db = connection.settings_dict
    worker = start_worker(
        real_broker,
        "--pool",
        "solo",
        "--loglevel",
        "info",
        "--without-heartbeat",
        extra_env={
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "CONN_MAX_AGE": "0",
        },
    )
    try:
        wait_for_line(worker, "ready.", timeout=30)

        password_reset_send_task.delay(email=client_user.email, request_id=uuid.uuid4().hex)

        lines = wait_for_line(worker, "Subject: Reset your password", timeout=30)
        wait_for_line(worker, "notification_send_task", timeout=30)  # the email's end
    finally:
        stop(worker)
    first_line_of_email = next(line for line in lines if "Content-Type: " in line)  # multipart: text and HTML
    assert "INFO/" in first_line_of_email
    assert not [line for line in lines if "WARNING/" in line]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_make_dev_serves_at_site_url_and_says_so_once_everything_is_up(tmp_path, private_redis):
    """The real command, with its real processes (emulator, web, worker, beat) on a private Redis and this
    test's database. Without demo data: seeding thirty providers takes a minute."""
    db = connection.settings_dict
    web_port, emulator_port = _free_port(), _free_port()
    site_url = f"http://127.0.0.1:{web_port}"
    env = {key: value for key, value in os.environ.items() if key != "DEV_ADDR"}
    env.update(
        DJANGO_READ_DOT_ENV="false",
        SITE_URL=site_url,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=private_redis.url(),
        STRIPE_SECRET_KEY="",
        STRIPE_EMULATOR_PORT=str(emulator_port),
        CONN_MAX_AGE="0",
        PYTHONUNBUFFERED="1",
    )
    dev = subprocess.Popen(
        [sys.executable, "manage.py", "dev", "--no-seed", "--var-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = wait_for_line(dev, "Ctrl-C stops everything", timeout=120)
        health = requests.get(f"{site_url}/healthz/", timeout=5)
    finally:
        os.killpg(dev.pid, signal.SIGINT)  # as Ctrl-C: dev stops its children
        try:
            dev.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)

    output = "".join(lines)
    banner = output[output.rindex("=" * 78) :]  # the last block: after every process's start-up lines
    assert f"Open {site_url}/" in banner
    assert f"Stripe emulator console: http://127.0.0.1:{emulator_port}/_emulator/" in banner
    assert f"Emails sent (staff login): {site_url}/staff/outbox/" in banner
    assert "Up: stripe, web, worker, beat." in banner
    before_banner = output.split("=" * 78)[0]
    assert re.search(r"celery@\S+ ready\.", before_banner)  # the worker was working before the banner
    assert "beat: Starting" in before_banner
    assert "localhost" not in banner
    assert health.status_code in (200, 503)  # it answered at SITE_URL (503: a check failed, not the address)
    assert (tmp_path / "demo-logins.txt").read_text().startswith(f"Open {site_url}/")
