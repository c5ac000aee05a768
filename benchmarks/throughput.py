"""Throughput under gunicorn, as a ratio to a trivial view served by the same processes in the same run.

gunicorn (2 sync workers, the production server) serves the benchmark database; wrk
(https://github.com/wg/wrk, Debian/Ubuntu: ``apt-get install wrk``, macOS: ``brew install wrk``) loads one
page at a time with 4 connections. Each round alternates short slices of the trivial view and the page, and
its figure is the page's requests per second divided by the trivial view's over the same minutes: on a shared
machine absolute figures swing with the neighbours' load, the ratio much less. A page answering anything but
200, or showing no result, fails the run.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time as clock
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8108"))
BASE = f"http://127.0.0.1:{PORT}"
TRIVIAL = "/_bench/trivial/"
WRK = shutil.which("wrk")
SLICES = 4  # page slices per round, each between two trivial ones

LUA = """
paths = {%(paths)s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def pages(slugs: list[str], words: list[str], categories: list[str]) -> list[tuple[str, list[str], bytes]]:
    """(label, paths rotated through, what each answer must contain)."""
    card, slot = b'data-testid="provider-card"', b'data-testid="slot"'
    rng = random.Random(11)  # noqa: S311 - a reproducible sample of profiles
    return [
        ("search, no filters", ["/providers/"], card),
        ("search, a word, sorted by price", [f"/providers/?q={word}&sort=price" for word in words], card),
        (
            "search, category + price + soonest",
            [f"/providers/?category={slug}&price_min=30&price_max=80&sort=soonest" for slug in categories],
            card,
        ),
        ("profile with its week of slots", [f"/p/{slug}/" for slug in rng.sample(slugs, 50)], slot),
        ("home", ["/"], b'role="search"'),
    ]


def _fetch(path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(BASE + path, timeout=30) as response:  # noqa: S310 - our own server
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def _wrk(paths: list[str], seconds: int, workdir: Path) -> float:
    script = workdir / "paths.lua"
    script.write_text(LUA % {"paths": ", ".join(f'"{path}"' for path in paths)})
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [WRK or "wrk", "-t1", "-c4", f"-d{seconds}s", "-s", str(script), BASE],
        capture_output=True,
        text=True,
        check=True,
    )
    if "Non-2xx" in result.stdout or "Socket errors" in result.stdout:
        raise SystemExit(f"throughput: errors while loading {paths[0]}…\n{result.stdout}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if not match:
        raise SystemExit(f"throughput: no figure from wrk\n{result.stdout}")
    return float(match.group(1))


def run(
    *, slugs: list[str], words: list[str], categories: list[str], seconds: int, rounds: int, out: Callable
) -> list[dict]:
    if WRK is None:
        raise SystemExit("throughput needs wrk: apt-get install wrk (Debian/Ubuntu) or brew install wrk")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers=2",
            f"--bind=127.0.0.1:{PORT}",
            "--log-level=warning",
            "benchmarks.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    results = []
    try:
        for _ in range(100):
            try:
                if _fetch(TRIVIAL)[0] == 200:
                    break
            except OSError:
                clock.sleep(0.2)
        else:
            raise SystemExit("throughput: gunicorn did not start")
        measured = pages(slugs, words, categories)
        for _label, paths, marker in measured:
            for path in paths:
                status, body = _fetch(path)
                if status != 200 or marker not in body:
                    raise SystemExit(f"throughput: {path} answered {status} without {marker.decode()}")
        with tempfile.TemporaryDirectory(prefix="bench-wrk-") as workdir:
            _wrk([TRIVIAL], 2, Path(workdir))  # warm both workers
            for label, paths, _marker in measured:
                ratios, rates = [], []
                for _ in range(rounds):
                    # Short alternating slices, so a neighbour's burst of load falls on both about equally.
                    page_rates, trivial_rates = [], []
                    for _slice in range(SLICES):
                        trivial_rates.append(_wrk([TRIVIAL], seconds, Path(workdir)))
                        page_rates.append(_wrk(paths, seconds, Path(workdir)))
                    trivial_rates.append(_wrk([TRIVIAL], seconds, Path(workdir)))
                    rate = sum(page_rates) / len(page_rates)
                    trivial = sum(trivial_rates) / len(trivial_rates)
                    rates.append(rate)
                    ratios.append(rate / trivial)
                    out(f"  {label:<38} {rate:8.1f} req/s, trivial {trivial:7.1f} -> ratio {ratios[-1]:.3f}")
                results.append({"label": label, "rates": rates, "ratios": ratios})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    out("throughput (ratio to the trivial view, each round):")
    for row in results:
        ratio_list = ", ".join(f"{ratio:.3f}" for ratio in row["ratios"])
        rate_list = ", ".join(f"{rate:.0f}" for rate in row["rates"])
        out(f"  {row['label']:<38} ratio {ratio_list}   ({rate_list} req/s)")
    return results
