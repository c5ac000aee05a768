"""Production settings: refuse to start without secrets, and pass Django's deployment checklist.

Each case runs manage.py in a fresh interpreter, because settings are read once at start-up.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "a9Vq3!kLx_72mPz#Rt0wYc8N&uEs4Hb6Jd1Gf5Ko-Qi=ZlXnWe",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/marketplace",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "sessions.example.com",
    "SITE_URL": "https://sessions.example.com",
    "STRIPE_SECRET_KEY": "sk_live_placeholder",
    "STRIPE_WEBHOOK_SECRET": "whsec_platform",
    "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect",
    "RESEND_API_KEY": "re_placeholder",
    "DEFAULT_FROM_EMAIL": "Sessions <hello@sessions.example.com>",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # Start from a clean slate: nothing from the developer's shell or a local .env may fill a gap.
    base = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "PYTHONPATH"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_READ_DOT_ENV": "0", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_passes_the_deployment_checklist():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "RESEND_API_KEY"])
def test_production_refuses_to_start_without_a_secret_and_names_it(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "missing required environment variables" in result.stderr
    assert missing in result.stderr


def test_production_names_every_missing_secret_at_once():
    result = _manage("check", env={"DJANGO_ENV": "production"})

    assert "SECRET_KEY, DATABASE_URL, REDIS_URL" in result.stderr


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"SECRET_KEY": "short-but-present"}, "SECRET_KEY has 17 characters"),
        ({"SECRET_KEY": " " * 60}, "SECRET_KEY has 0 characters besides whitespace"),
        ({"SECRET_KEY": "  padded-" + " " * 50}, "SECRET_KEY has 7 characters besides whitespace"),
        ({"SECRET_KEY": "ab" * 30}, "SECRET_KEY is not random"),
        ({"DEBUG": "true"}, "DEBUG is on"),
        ({"ALLOWED_HOSTS": "sessions.example.com,*"}, "ALLOWED_HOSTS contains '*'"),
    ],
)
def test_production_refuses_unsafe_values_and_names_the_problem(override, problem):
    result = _manage("check", env={**PRODUCTION_ENV, **override})

    assert result.returncode != 0
    assert "Production settings are unsafe" in result.stderr
    assert problem in result.stderr


def test_production_names_every_unsafe_value_at_once():
    result = _manage(
        "check", env={**PRODUCTION_ENV, "SECRET_KEY": "x" * 10, "DEBUG": "on", "ALLOWED_HOSTS": "*"}
    )

    assert all(name in result.stderr for name in ("SECRET_KEY has 10", "DEBUG is on", "ALLOWED_HOSTS"))


def test_development_needs_nothing_set():
    result = _manage("check", env={})

    assert result.returncode == 0, result.stderr


def test_production_never_shows_debug_pages():
    result = _manage(
        "shell", "-c", "from django.conf import settings; print(settings.DEBUG)", env=PRODUCTION_ENV
    )

    assert result.stdout.strip().splitlines()[-1] == "False"


def test_the_test_database_is_named_after_the_configured_one():
    # Two checkouts with their own DATABASE_URL never share (and destroy) one throwaway test database.
    show = "from django.conf import settings; print(settings.DATABASES['default']['TEST']['NAME'])"

    result = _manage(
        "shell", "-c", show, env={"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/marketplace_ci"}
    )

    assert result.stdout.strip().splitlines()[-1] == "test_marketplace_ci"
