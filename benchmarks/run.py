"""Run the benchmarks (`make bench`). Not tests: they measure, on a database of their own, and print results
that docs/benchmarks.md records. Bounded: each measurement stops at a request count or a time budget.

    .venv/bin/python benchmarks/run.py [--rebuild]

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

    from benchmarks import bench_discovery

    print("Discovery: 10,000 providers, 100,000 busy intervals")
    bench_discovery.run(rebuild=args.rebuild, out=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
