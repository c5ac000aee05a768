"""``make dev`` (manage.py dev): it listens where SITE_URL points and says so, and a worker's printed email is
an INFO line, not a WARNING."""

import uuid

import pytest
from django.db import connection

from marketplace.management.commands.dev import default_addr, site_url_problem
from marketplace.management.commands.seed_demo import DEMO_PASSWORD, demo_logins_text
from marketplace.tasks import password_reset_send_task
from tests.celery_processes import start_worker, stop, wait_for_line


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
    first_line_of_email = next(line for line in lines if "Content-Type: text/plain" in line)
    assert "INFO/" in first_line_of_email
    assert not [line for line in lines if "WARNING/" in line]
