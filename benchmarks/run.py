"""Run the benchmarks (`make bench`). Not tests: they measure, on a database of their own, and print results
that docs/benchmarks.md records. Bounded: each measurement stops at a request count or a time budget.

    .venv/bin/python benchmarks/run.py [--only discovery|payouts] [--rebuild] [--providers 100000]
        [--skip latency,explain,refresh,throughput] [--payouts N] [--workers N] [--profile]

The database defaults to postgres://postgres@127.0.0.1:5432/marketplace_bench (marketplace_bench_100000 for
--providers 100000; never the development database), or BENCH_DATABASE_URL: the data set is large and is kept
between runs. The throughput part needs wrk (apt-get install wrk) and serves the site with gunicorn.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("latency", "explain", "refresh", "throughput")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and regenerate the benchmark data")
    parser.add_argument("--providers", type=int, default=10_000, help="listed providers in the data set")
    parser.add_argument("--skip", default="", help=f"comma-separated parts to skip: {', '.join(PARTS)}")
    parser.add_argument("--seconds", type=int, default=3, help="seconds of load per throughput slice")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds per page")
    parser.add_argument("--only", choices=["discovery", "payouts"], help="run one benchmark (default: both)")
    parser.add_argument("--payouts", type=int, default=10_000, help="due payouts to release (default 10,000)")
    parser.add_argument("--workers", type=int, default=4, help="payout worker threads (default 4)")
    parser.add_argument("--profile", action="store_true", help="profile the payout release (cProfile)")
    args = parser.parse_args()
    skip = {part for part in args.skip.split(",") if part}
    if skip - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(skip - set(PARTS)))}")

    sys.path.insert(0, str(ROOT))
    name = "marketplace_bench" if args.providers == 10_000 else f"marketplace_bench_{args.providers}"
    os.environ["BENCH_PROVIDERS"] = str(args.providers)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{name}"
    )
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.ROOT_URLCONF = "benchmarks.urls"
    call_command("ensure_database")
    call_command("migrate", verbosity=0)

    from benchmarks import bench_discovery, bench_payouts, throughput
    from providers.models import Category, Provider

    def out(line: str) -> None:
        print(line, flush=True)

    if args.only in (None, "discovery"):
        out(f"Discovery: {args.providers:,} providers, {args.providers * 10:,} busy intervals")
        bench_discovery.ensure_data(rebuild=args.rebuild, out=out)
        if "latency" not in skip:
            bench_discovery.run(out=out)
        if "explain" not in skip:
            out("search queries under EXPLAIN ANALYZE (execution time, scans):")
            bench_discovery.explain(out=out)
        if "refresh" not in skip:
            bench_discovery.run_refresh_job(out=out)
        if "throughput" not in skip:
            from django.db import connections

            slugs = list(Provider.objects.filter(is_listed=True).values_list("slug", flat=True))
            categories = list(Category.objects.values_list("slug", flat=True))
            connections.close_all()
            throughput.run(
                slugs=slugs,
                words=bench_discovery.WORDS,
                categories=categories,
                seconds=args.seconds,
                rounds=args.rounds,
                out=out,
            )
    if args.only in (None, "payouts"):
        out(f"Payouts: {args.payouts:,} due payouts released through the Stripe emulator")
        bench_payouts.run(count=args.payouts, workers=args.workers, profile=args.profile, out=out)


if __name__ == "__main__":
    main()
