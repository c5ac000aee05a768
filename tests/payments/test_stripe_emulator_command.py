"""The `stripe_emulator` management command's argument handling (serving itself is covered by the fixture)."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

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
    code = "import sys, payments.emulator; print(sorted(m for m in sys.modules if m.startswith('django')))"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
