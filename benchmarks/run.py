"""Run the benchmarks (`make bench`). Not tests: they measure, on a database of their own, and print results
that docs/benchmarks.md records. Bounded: each measurement stops at a request count or a time budget.

    .venv/bin/python benchmarks/run.py [--rebuild] [--only discovery|payouts] [--payouts N] [--workers N]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/marketplace_bench (never the development
database): the data set is large and is kept between runs.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and regenerate the benchmark data")
    parser.add_argument("--only", choices=["discovery", "payouts"], help="run one benchmark (default: all)")
    parser.add_argument("--payouts", type=int, default=10_000, help="due payouts to release (default 10,000)")
    parser.add_argument("--workers", type=int, default=4, help="payout worker threads (default 4)")
    parser.add_argument("--profile", action="store_true", help="profile the payout release (cProfile)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/marketplace_bench"
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

    from benchmarks import bench_discovery, bench_payouts

    def out(line: str) -> None:
        print(line, flush=True)

    if args.only in (None, "discovery"):
        print("Discovery: 10,000 providers, 100,000 busy intervals")
        bench_discovery.run(rebuild=args.rebuild, out=out)
    if args.only in (None, "payouts"):
        print(f"Payouts: {args.payouts:,} due payouts released through the Stripe emulator")
        bench_payouts.run(count=args.payouts, workers=args.workers, profile=args.profile, out=out)


if __name__ == "__main__":
    main()
