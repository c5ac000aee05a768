"""The command lines, `manage.py stripe_emulator` and `python -m stripe_emulator` (serving itself is
covered by the fixture), and the package's independence from Django."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

from payments.management.commands.stripe_emulator import Command
from stripe_emulator.cli import Defaults, add_arguments, build

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_bad_fault_spec_stops_the_command_with_a_message():
    with pytest.raises(CommandError, match="Bad fault spec"):
        call_command("stripe_emulator", "--port", "0", "--fault", "POST /v1/transfers")


def test_port_in_use_stops_the_command_with_a_message(stripe_emulator_server):
    with pytest.raises(CommandError, match="Cannot listen"):
        call_command("stripe_emulator", "--port", str(stripe_emulator_server.port))


def test_emulator_package_imports_nothing_from_django():
    # The emulator keeps its state in memory (or its own JSON file) and must never reach the app's
    # database; not importing Django at all is the simple way to be sure.
    code = "import sys, stripe_emulator; print(sorted(m for m in sys.modules if m.startswith('django')))"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"


def test_python_dash_m_serves_without_django():
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", "0", "--no-webhooks"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        url = first_line.split()[3]  # "Stripe emulator on http://127.0.0.1:PORT (console: ...)"

        state = requests.get(f"{url}/_emulator/state", timeout=5).json()

        assert first_line.startswith("Stripe emulator on http://127.0.0.1:")
        assert state["checkout_sessions"] == {}
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_python_dash_m_refuses_a_bad_fault_spec_with_a_message():
    result = subprocess.run(
        [sys.executable, "-m", "stripe_emulator", "--port", "0", "--fault", "POST /v1/transfers"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 2
    assert "Bad fault spec" in result.stderr


def test_pay_later_payments_settle_only_when_told_by_default():
    parser = argparse.ArgumentParser()
    add_arguments(parser, Defaults())
    emulator = build(vars(parser.parse_args(["--port", "0", "--no-webhooks"])))
    try:
        assert emulator.state.async_delay_seconds is None
    finally:
        emulator.httpd.server_close()
        emulator.dispatcher.stop()


def test_manage_py_command_defaults_to_settling_only_when_told():
    options = Command().create_parser("manage.py", "stripe_emulator").parse_args([])

    assert options.async_delay == 0


def test_a_delay_can_still_be_asked_for():
    parser = argparse.ArgumentParser()
    add_arguments(parser, Defaults())
    emulator = build(vars(parser.parse_args(["--port", "0", "--no-webhooks", "--async-delay", "5"])))
    try:
        assert emulator.state.async_delay_seconds == 5
    finally:
        emulator.httpd.server_close()
        emulator.dispatcher.stop()
