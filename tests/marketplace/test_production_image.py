"""The production smoke test: what the image does, done here for real.

No Docker engine is needed: the Dockerfile's build step and its command are both ``marketplace/image.sh``, so
this runs the same script. ``collectstatic`` gets no secrets at all (as in ``docker build``); ``web`` starts
gunicorn with ``DJANGO_ENV=production``, real-looking secrets, this run's throwaway database and a private
Redis, and the pages are fetched over HTTP as a browser behind a TLS proxy would.
"""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db import connection

from tests.celery_processes import stop
from tests.factories import listed_provider
from tests.fixtures.redis import RedisServer

ROOT = Path(__file__).resolve().parents[2]
IMAGE = str(ROOT / "marketplace" / "image.sh")
HOST = "sessions.example.com"
# What a TLS-terminating proxy in front of the app sends.
BROWSER = {"Host": HOST, "X-Forwarded-Proto": "https"}


def _clean_env(**extra: str) -> dict[str, str]:
    # Nothing from the developer's shell or a local .env may fill a gap the image would have.
    base = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
    return {**base, "PYTHON": sys.executable, "DJANGO_READ_DOT_ENV": "0", **extra}


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def production_site(django_db_setup, tmp_path_factory) -> Iterator[str]:
    static_root = str(tmp_path_factory.mktemp("staticfiles"))
    build = subprocess.run(
        [IMAGE, "collectstatic"],
        env=_clean_env(STATIC_ROOT=static_root),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert (Path(static_root) / "staticfiles.json").exists(), "no manifest: not built for production"

    redis_server = RedisServer(tmp_path_factory.mktemp("redis"))
    redis_server.start()
    env = _clean_env(
        DJANGO_ENV="production",
        SECRET_KEY="pZ4r_8vKq2#Lm9wXy!3TnB6cD0eFgH1jK5sU7oRaV-QiW=zE8uNt",
        DATABASE_URL=_database_url(),
        CONN_MAX_AGE="0",  # the test database is truncated between tests: hold no connection open
        REDIS_URL=redis_server.url(),
        ALLOWED_HOSTS=HOST,
        SITE_URL=f"https://{HOST}",
        STRIPE_SECRET_KEY="sk_live_51SmokeTestOnlyNeverARealKey00000000000000",
        STRIPE_WEBHOOK_SECRET="whsec_smoke_test_platform_secret",
        STRIPE_CONNECT_WEBHOOK_SECRET="whsec_smoke_test_connect_secret",
        RESEND_API_KEY="re_smoke_test_key",
        DEFAULT_FROM_EMAIL=f"Sessions <hello@{HOST}>",
        # No page fetched here talks to Stripe or Resend; if one ever did, it must not reach the internet.
        STRIPE_API_BASE="http://127.0.0.1:9",
        RESEND_API_URL="http://127.0.0.1:9",
        STATIC_ROOT=static_root,
        GUNICORN_BIND="127.0.0.1:0",
        GUNICORN_WORKERS="2",
    )
    # The log goes to a file, not a pipe: a pipe nobody drains fills up with tracebacks and hangs gunicorn.
    log = tmp_path_factory.mktemp("gunicorn") / "web.log"
    with log.open("w") as output:
        web = subprocess.Popen([IMAGE, "web"], env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not (match := re.search(r"Listening at: (http://\S+)", log.read_text())):
            assert web.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield match.group(1)
    finally:
        stop(web)
        redis_server.stop()


def _get(site: str, path: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(site + path, headers=BROWSER if headers is None else headers, timeout=30)


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/", 200, "Book a session with someone who knows."),
        ("/providers/?q=guitar&city=Berlin", 200, "Find a provider"),
        ("/accounts/login/", 200, "Log in"),
        ("/no-such-page/", 404, "Page not found"),
    ],
)
def test_production_serves_pages(production_site, path, status, text):
    response = _get(production_site, path)

    assert response.status_code == status, response.text[:2000]
    assert text in response.text


@pytest.mark.django_db(transaction=True)
def test_production_serves_a_provider_profile(production_site):
    provider = listed_provider(display_name="Gabi Guitar", slug="gabi-guitar")

    response = _get(production_site, f"/p/{provider.slug}/")

    assert response.status_code == 200, response.text[:2000]
    assert "Gabi Guitar" in response.text


def test_production_serves_hashed_static_files_for_a_year(production_site):
    page = _get(production_site, "/").text
    stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, "the page does not link the stylesheet by its hashed name"

    response = _get(production_site, stylesheet.group(1))

    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]


def test_production_healthz_answers_over_plain_http(production_site):
    # Load balancers probe inside the network, without the proxy's headers: no redirect to HTTPS.
    response = _get(production_site, "/healthz/", headers={"Host": HOST})

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["pages"] == "ok"


def test_production_sends_plain_http_pages_to_https(production_site):
    response = requests.get(production_site + "/", headers={"Host": HOST}, allow_redirects=False, timeout=30)

    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{HOST}/"
