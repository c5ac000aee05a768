"""Discovery at scale: search, a profile with its slot picker, and 30 days of slots, beside a trivial view.

Data: 10,000 listed providers (1-3 services, weekday hours with a lunch break, a few with time off) and
100,000 busy intervals (ten per provider over the next 30 days). Busy time lives in a plain benchmark table
(`bench_busy`) read through `providers.slots.register_busy_source`, the same hook the bookings app uses, so
the measured path includes fetching busy intervals from PostgreSQL.

Runs against its own database (`marketplace_bench`, created and filled on first run, reused after). Every
measurement is bounded by a request count and a time budget. Server time is measured in-process with
Django's test client: the whole middleware, view, ORM and template stack, without network or a web server.

    .venv/bin/python benchmarks/run.py              # or: make bench
    .venv/bin/python benchmarks/run.py --rebuild    # drop and regenerate the data
"""

from __future__ import annotations

import os
import random
import statistics
import time as clock
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.models import User
from providers.models import Category, Provider, Service
from providers.selectors import provider_search, providers_to_refresh
from providers.services import provider_refresh_next_available
from providers.slots import register_busy_source, service_slots

PROVIDERS = 10_000
REFRESHED_AT_MOST = 10_000
BUSY_PER_PROVIDER = 10
ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Chicago",
    "Asia/Tokyo",
    "Australia/Sydney",
]
CITIES = ["Berlin", "London", "New York", "Chicago", "Tokyo", "Sydney", "Paris", "Madrid", "Toronto", "Oslo"]
CATEGORIES = [
    "Tutoring",
    "Music lessons",
    "Languages",
    "Coaching",
    "Fitness",
    "Tech mentoring",
    "Home services",
]
WORDS = [
    "maths",
    "physics",
    "chemistry",
    "piano",
    "guitar",
    "violin",
    "spanish",
    "french",
    "japanese",
    "career",
    "leadership",
    "yoga",
    "pilates",
    "running",
    "python",
    "django",
    "plumbing",
    "electrician",
    "essay",
    "exam",
]
SEARCHES = [
    "?q=maths",
    "?q=piano&sort=price",
    "?q=yoga&city=Berlin",
    "?category=tutoring&sort=soonest",
    "?price_min=20&price_max=60&sort=rating",
    "?sort=soonest",
    "?q=career+coach",
    "?",
]


# --- Data -------------------------------------------------------------------------------------------------


def _busy_source(provider: Provider, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT start_at, end_at FROM bench_busy "
            "WHERE provider_id = %s AND start_at < %s AND end_at > %s",
            [provider.pk, end, start],
        )
        return list(cursor.fetchall())


def _scale() -> int:
    """Providers in the data set: 10,000, or BENCH_PROVIDERS (100,000 uses a database of its own)."""
    return int(os.environ.get("BENCH_PROVIDERS", PROVIDERS))


def ensure_data(*, rebuild: bool, out: Callable[[str], None]) -> None:
    """Build the data set once: users and providers through bulk_create, everything else set-based in SQL
    (100,000 providers' services, 900,000 weekly rules and a million busy intervals take seconds, not the
    minutes row-by-row inserts would). Every provider is made listed the way the site does it: the stored
    ``is_listed`` is the ``listed()`` definition evaluated, so search shows what it would in production.
    """
    providers_wanted = _scale()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_busy "
            "(provider_id bigint NOT NULL, start_at timestamptz NOT NULL, end_at timestamptz NOT NULL)"
        )
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS bench_busy_provider_start ON bench_busy (provider_id, start_at)"
        )
    if not rebuild and Provider.objects.filter(is_listed=True).count() >= providers_wanted:
        out(f"data: reusing {providers_wanted:,} listed providers")
        return
    started = clock.monotonic()
    rng = random.Random(2026)  # noqa: S311 - reproducible data, not secrets
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE bench_busy")
            # Faster than the ORM's cascade over 100,000 providers; the benchmark database holds nothing else.
            cursor.execute(
                "TRUNCATE providers_availabilityrule, providers_timeoff, providers_service, "
                "providers_provider CASCADE"
            )
        User.objects.filter(email__endswith="@bench.example").delete()
        categories = [
            Category.objects.get_or_create(slug=name.split()[0].lower(), defaults={"name": name})[0]
            for name in CATEGORIES
        ]
        password = make_password("bench-password")
        users = User.objects.bulk_create(
            [
                User(email=f"p{n}@bench.example", name=f"Provider {n}", password=password)
                for n in range(providers_wanted)
            ],
            batch_size=5000,
        )
        providers = []
        for n, user in enumerate(users):
            first, second = rng.sample(WORDS, 2)
            providers.append(
                Provider(
                    user=user,
                    display_name=f"{rng.choice(['Ada', 'Ben', 'Cleo', 'Dev', 'Eva', 'Finn'])} {n}",
                    slug=f"bench-{n}",
                    timezone=rng.choice(ZONES),
                    headline=f"{first.title()} and {second} sessions",
                    bio="Experienced and patient. " * 10,
                    category=rng.choice(categories),
                    city=rng.choice(CITIES),
                    min_notice_minutes=120,
                    booking_horizon_days=60,
                    buffer_after_minutes=rng.choice([0, 0, 15]),
                    slot_step_minutes=rng.choice([15, 30, 60]),
                    rating_average=rng.choice([0, 3.5, 4.2, 4.8]),
                    rating_count=rng.randint(0, 80),
                )
            )
        Provider.objects.bulk_create(providers, batch_size=5000)
        out(f"data: {len(providers):,} providers ({clock.monotonic() - started:.0f} s)")
        now = timezone.now().replace(minute=0, second=0, microsecond=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.2026)")  # the same random() sequence every build
            # 1-3 services each, a word from WORDS in the title, $15-$145 in $5 steps.
            cursor.execute(
                """
                INSERT INTO providers_service (provider_id, title, description, duration_minutes,
                    price_amount, currency, location, is_active, created_at, updated_at)
                SELECT p.id, initcap((%s::text[])[1 + floor(random() * %s)::int]) || ' session', '',
                    (ARRAY[30, 45, 60, 90])[1 + floor(random() * 4)::int],
                    1500 + 500 * floor(random() * 27)::int, 'usd', 'online', true, now(), now()
                FROM providers_provider p
                CROSS JOIN LATERAL generate_series(1, 1 + floor(random() * 3)::int + 0 * p.id) AS n
                """,
                [WORDS, len(WORDS)],
            )
            # About 4.5 working days a week (always at least one), each 09-12 and 13-18 with a lunch break.
            cursor.execute(
                """
                INSERT INTO providers_availabilityrule (provider_id, weekday, start_time, end_time)
                SELECT p.id, d.day, w.start_time, w.end_time
                FROM providers_provider p
                CROSS JOIN generate_series(0, 6) AS d(day)
                CROSS JOIN (VALUES (time '09:00', time '12:00'), (time '13:00', time '18:00'))
                    AS w(start_time, end_time)
                WHERE d.day = mod(p.id, 7) OR random() < 0.6
                """
            )
            # A tenth of providers take four days off in the next three weeks.
            cursor.execute(
                """
                INSERT INTO providers_timeoff (provider_id, start_date, end_date, note)
                SELECT id, current_date + o.days, current_date + o.days + 3, ''
                FROM (SELECT id, floor(random() * 21)::int AS days, random() AS r FROM providers_provider) o
                WHERE o.r < 0.1
                """
            )
            # Ten busy intervals each in the next 30 days, starting on the hour, 30-90 minutes long.
            cursor.execute(
                """
                INSERT INTO bench_busy (provider_id, start_at, end_at)
                SELECT b.id, b.start_at, b.start_at + (ARRAY[30, 60, 90])[1 + floor(random() * 3)::int]
                    * interval '1 minute'
                FROM (SELECT p.id, %s + (3 + floor(random() * (30 * 24 - 3))::int) * interval '1 hour'
                        AS start_at
                      FROM providers_provider p CROSS JOIN generate_series(1, %s)) b
                """,
                [now, BUSY_PER_PROVIDER],
            )
            tables = ("providers_service", "providers_availabilityrule", "providers_timeoff", "bench_busy")
            for table in tables:
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
                out(f"data: {cursor.fetchone()[0]:,} rows in {table}")
            # The same document provider_reindex_search builds, for all providers in one statement.
            cursor.execute(
                """
                UPDATE providers_provider p SET search_vector =
                    setweight(to_tsvector('english', p.display_name), 'A')
                    || setweight(to_tsvector('english', p.headline || ' ' || coalesce((
                        SELECT string_agg(s.title, ' ') FROM providers_service s
                        WHERE s.provider_id = p.id AND s.is_active), '')), 'B')
                    || setweight(to_tsvector('english', c.name || ' ' || p.city), 'C')
                    || setweight(to_tsvector('english', p.bio), 'D')
                FROM providers_category c WHERE c.id = p.category_id
                """
            )
        # What provider_reindex_search stores: the listed() definition, evaluated. The first version of this
        # builder never set it, so every search page it measured was empty.
        listed = Provider.objects.filter(pk__in=Provider.objects.listed().values("pk")).update(is_listed=True)
        with connection.cursor() as cursor:
            # provider_reindex_search stores the lowest active price beside is_listed; so does this.
            cursor.execute(
                "UPDATE providers_provider p SET price_from = (SELECT min(s.price_amount) "
                "FROM providers_service s WHERE s.provider_id = p.id AND s.is_active)"
            )
        if listed != providers_wanted:
            raise SystemExit(f"data: only {listed:,} of {providers_wanted:,} providers are listed")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    out(
        f"data: built in {clock.monotonic() - started:.0f} s; refreshing next available times (the beat job)…"
    )
    started = clock.monotonic()
    # The real refresh job, ~9 ms a provider: 90 s for 10,000, but well over an hour for 100,000 on a shared
    # machine. Above 10,000 only the first 10,000 get a time; the rest keep none ("No open times"; the
    # soonest sort puts them last), which changes what the cards say, not which queries and indexes run.
    ids = list(Provider.objects.order_by("pk").values_list("pk", flat=True)[:REFRESHED_AT_MOST])
    for n, provider_id in enumerate(ids, start=1):
        provider_refresh_next_available(provider_id=provider_id)
        if n % 5000 == 0:
            out(f"  [{n}/{len(ids)}]")
    elapsed = clock.monotonic() - started
    out(f"data: refresh job took {elapsed:.1f} s ({elapsed / len(ids) * 1000:.2f} ms per provider)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- Measuring ----------------------------------------------------------------------------------------------


def measure(label: str, action: Callable[[int], object], *, count: int, budget_seconds: float) -> dict:
    for n in range(min(10, count)):  # warm caches and connections
        action(n)
    timings = []
    deadline = clock.monotonic() + budget_seconds
    for n in range(count):
        started = clock.perf_counter()
        action(n)
        timings.append((clock.perf_counter() - started) * 1000)
        if clock.monotonic() > deadline:
            break
    timings.sort()
    return {
        "label": label,
        "n": len(timings),
        "median": statistics.median(timings),
        "p95": timings[max(0, int(len(timings) * 0.95) - 1)],
    }


def sql_share(client: Client, url: str) -> tuple[int, float, float]:
    """Queries, SQL milliseconds and total milliseconds of one request (median of five)."""
    samples = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as captured:
            started = clock.perf_counter()
            client.get(url)
            total = (clock.perf_counter() - started) * 1000
        samples.append(
            (len(captured), sum(float(q["time"]) for q in captured.captured_queries) * 1000, total)
        )
    return sorted(samples, key=lambda s: s[2])[2]


PROVIDER_CARD = b'data-testid="provider-card"'
OPEN_SLOT = b'data-testid="slot"'


def require_content(client: Client, url: str, marker: bytes) -> None:
    """Fail the run, loudly, when a page it measures is not a 200 showing ``marker`` (a result, a slot)."""
    response = client.get(url)
    if response.status_code != 200 or marker not in response.content:
        raise SystemExit(
            f"benchmark data is wrong: {url} answered {response.status_code} without {marker.decode()}; "
            "rebuild it with --rebuild"
        )


def run(*, out: Callable[[str], None] = print) -> list[dict]:
    """In-process latency of each page beside the trivial view, and each page's queries and SQL time."""
    register_busy_source(_busy_source)
    rng = random.Random(7)  # noqa: S311
    slugs = list(Provider.objects.listed().values_list("slug", flat=True))
    services = list(Service.objects.filter(is_active=True).select_related("provider")[:5000])
    client = Client()
    client.cookies["tz"] = "America/New_York"

    def get(url: str) -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    # A page measured empty measures nothing (the first version of this benchmark timed 10,000 unlisted
    # providers' empty search pages). Every URL below must show what a visitor would come for.
    for url in {*(f"/providers/{query}" for query in SEARCHES), *(f"/providers/?q={word}" for word in WORDS)}:
        require_content(client, url, PROVIDER_CARD)
    for slug in slugs[:20]:
        require_content(client, f"/p/{slug}/", OPEN_SLOT)

    now = timezone.now()
    results = [
        measure(
            "trivial view (HttpResponse)", lambda n: get("/_bench/trivial/"), count=2000, budget_seconds=10
        ),
        measure(
            "search page",
            lambda n: get("/providers/" + SEARCHES[n % len(SEARCHES)]),
            count=400,
            budget_seconds=40,
        ),
        measure(
            "search page, one word",
            lambda n: get("/providers/?q=" + WORDS[n % len(WORDS)]),
            count=300,
            budget_seconds=30,
        ),
        measure(
            "profile page with slot picker",
            lambda n: get(f"/p/{rng.choice(slugs)}/"),
            count=400,
            budget_seconds=40,
        ),
        measure(
            "service_slots, 30 days, busy from DB",
            lambda n: service_slots(
                service=(s := services[n % len(services)]),
                start=now,
                end=now + timedelta(days=30),
                busy=_busy_source(s.provider, now, now + timedelta(days=30)),
            ),
            count=1000,
            budget_seconds=30,
        ),
    ]
    for row in results:
        out(f"{row['label']:<40} n={row['n']:<5} median {row['median']:7.2f} ms   p95 {row['p95']:7.2f} ms")
    for label, url in [
        ("search ?q=maths", "/providers/?q=maths"),
        ("search ?q=piano&sort=price", "/providers/?q=piano&sort=price"),
        ("search ?sort=soonest", "/providers/?sort=soonest"),
        (
            "search, category+price+soonest",
            "/providers/?category=tutoring&price_min=30&price_max=80&sort=soonest",
        ),
        ("search, no filters", "/providers/"),
        ("home", "/"),
        ("profile", f"/p/{slugs[0]}/"),
    ]:
        queries, sql_ms, total_ms = sql_share(client, url)
        out(f"{label:<40} {queries} queries, SQL {sql_ms:.1f} ms of {total_ms:.1f} ms")
    return results


PLANNED: dict[str, dict[str, Any]] = {
    "no filters": {},
    "a word, by price": {"text": "piano", "sort": "price"},
    "category + price + soonest": {
        "category_slug": "tutoring",
        "price_min": 3000,
        "price_max": 8000,
        "sort": "soonest",
    },
    "a word, by relevance": {"text": "maths"},
    "city prefix": {"city": "Lond"},
}


def explain(*, out: Callable[[str], None] = print) -> None:
    """The search page's two provider queries (the bounded count and the first page) under EXPLAIN ANALYZE:
    which scans they use and how long PostgreSQL took, to compare across data sizes."""
    from providers.views import RESULTS_PER_PAGE, SEARCH_RESULTS_CAP

    for label, filters in PLANNED.items():
        results = provider_search(**filters)
        for part, queryset in [
            ("count", results.order_by().values("pk")[: SEARCH_RESULTS_CAP + 1]),
            ("page", results[:RESULTS_PER_PAGE]),
        ]:
            plan = queryset.explain(analyze=True)
            scans = sorted(
                {
                    " ".join(line.split("(")[0].split()[1:] if "->" in line else line.split("(")[0].split())
                    for line in plan.splitlines()
                    if "Scan" in line and "Bitmap Heap" not in line
                }
            )
            took = next(line for line in plan.splitlines() if line.startswith("Execution Time"))
            out(f"  {label:<28} {part:<6} {took.split(': ')[1]:>10}   {'; '.join(scans)}")


def run_refresh_job(*, out: Callable[[str], None] = print) -> None:
    register_busy_source(_busy_source)
    now = timezone.now()
    # The beat job in steady state: catch up now, then run it as it would run every ten minutes for 6 hours.
    runs = [("refresh job, catching up", now)] + [
        (f"refresh job at +{minutes} min", now + timedelta(minutes=minutes))
        for minutes in range(10, 6 * 60 + 1, 10)
    ]
    steady = []
    for label, at in runs:
        started = clock.monotonic()
        ids = providers_to_refresh(now=at)
        for provider_id in ids:
            provider_refresh_next_available(provider_id=provider_id, now=at)
        elapsed = clock.monotonic() - started
        if at == now:
            out(f"{label:<40} {len(ids):,} stale providers recomputed in {elapsed:.1f} s")
        else:
            steady.append((len(ids), elapsed))
    counts = sorted(count for count, _ in steady)
    seconds = sorted(elapsed for _, elapsed in steady)
    out(
        f"{'refresh job, every 10 min for 6 hours':<40} stale median {statistics.median(counts):.0f}, "
        f"max {counts[-1]}; seconds median {statistics.median(seconds):.2f}, max {seconds[-1]:.2f}"
    )
