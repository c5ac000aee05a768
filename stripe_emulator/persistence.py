"""Keep the emulator's account in a JSON file, so development data survives a restart (`--state-file`).

The app's database keeps Stripe ids (`cs_test_...`, `pi_...`, `ch_...`, `re_...`, `acct_...`) across
restarts; real Stripe never forgets them, so neither may the emulator. `EmulatorState` loads the file once
at start and saves it whenever its state lock is released by the outermost holder and the persisted data
changed (see `PersistingLock`): that covers API requests, hosted pages, control endpoints, the expiry
clock, delayed settlements and direct calls from tests alike, and a save always runs under the lock, so it
never sees half an update. A save writes a temporary file next to the target, fsyncs it and
`os.replace`s it over the target, so a crash leaves either the old or the new file, never a torn one.
If a save fails (disk full, say) the change that triggered it still stands in memory and the request
answers 500 ("The emulator itself failed.", with the error logged); the next change writes everything again.

Kept: every object store, the balance transactions balances are summed from, idempotency records with the
time each key was first used (replays, mismatches and the 24-hour expiry behave the same) and events.
Not kept: the request log, webhook deliveries (queued or finished: events raised before a restart
are not delivered after it), faults, webhook settings and the `/_emulator/config` switches (those come
from the command line on each start). "Pay later" payments still processing are rescheduled at start
(`EmulatorState.resume_settlements`) when `async_delay_seconds` is set.

Versions: 2 (current) keeps balance transactions and each idempotency key's first use. Version 1 files
(bare balance counters, keys without a time) still load: their keys count as first used at load time,
their balances become `adjustment` transactions (`LoadedState.legacy_balances`), and the file is rewritten
as version 2.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

FORMAT = "stripe-emulator-state"
VERSION = 2
READABLE_VERSIONS = (1, 2)

# Attributes of `EmulatorState` written to the file, and the JSON type each must have.
PERSISTED_FIELDS: dict[str, type] = {
    "checkout_sessions": dict,
    "session_private": dict,
    "payment_intents": dict,
    "charges": dict,
    "refunds": dict,
    "transfers": dict,
    "transfer_reversals": dict,
    "disputes": dict,
    "accounts": dict,
    "account_links": dict,
    "login_links": dict,
    "payouts": dict,
    "balance_transactions": dict,
    "account_of": dict,
    "funds_wait_for": dict,
    "events": list,
    "idempotency": dict,
}
# Version 1 kept balances as counters: {"balance": {"available": {...}, "pending": {...}},
# "account_balances": {acct: {currency: available}}}.
LEGACY_BALANCE_FIELDS = ("balance", "account_balances")


class StateFileError(Exception):
    """The state file exists but cannot be read or does not hold emulator state."""


@dataclass
class LoadedState:
    fields: dict[str, Any]
    # A version 1 file's balance counters, to be booked as adjustments (empty for version 2).
    legacy_balances: dict[str, Any] = field(default_factory=dict)
    upgraded: bool = False  # read from an older version: write it back in the current one


def load_state_file(path: Path) -> LoadedState | None:
    """The persisted fields stored in `path`, or None when the file does not exist.

    Raises `StateFileError` naming the file for anything else: an unreadable, corrupt or foreign file is
    somebody's data, so it is never silently replaced by an empty account.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(f"Cannot read Stripe emulator state file {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateFileError(f"Stripe emulator state file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateFileError(f'{path} is not a Stripe emulator state file (no "format": "{FORMAT}").')
    version = data.get("version")
    if version not in READABLE_VERSIONS:
        raise StateFileError(
            f"Stripe emulator state file {path} has version {version!r}; this emulator reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}."
        )
    fields: dict[str, Any] = {}
    for name, kind in PERSISTED_FIELDS.items():
        value = data.get(name, kind())
        if not isinstance(value, kind):
            raise StateFileError(
                f"Stripe emulator state file {path} is damaged: {name!r} should be a JSON "
                f"{'object' if kind is dict else 'array'}."
            )
        fields[name] = value
    if version == VERSION:
        return LoadedState(fields)
    first_used_at = time.time()
    for record in fields["idempotency"].values():
        if isinstance(record, dict):
            record.setdefault("first_used_at", first_used_at)
    for account in fields["accounts"].values():
        if isinstance(account, dict):
            account.setdefault(
                "tos_acceptance", {"date": None, "ip": None, "service_agreement": "full", "user_agent": None}
            )
    legacy = {name: data[name] for name in LEGACY_BALANCE_FIELDS if isinstance(data.get(name), dict)}
    return LoadedState(fields, legacy_balances=legacy, upgraded=True)


def dump_state(fields: dict[str, Any]) -> str:
    return json.dumps({"format": FORMAT, "version": VERSION, **fields}, separators=(",", ":"))


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text`: temp file in the same directory, fsync, `os.replace`, fsync the dir."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # e.g. a platform that cannot open directories; the rename itself is done
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


class PersistingLock:
    """A re-entrant lock that calls `on_release` when its outermost holder is about to let go.

    `on_release` runs while the lock is still held, so it sees the state between two complete updates.
    It is called even when the `with` block raised (a failed operation may still have changed something);
    an exception from `on_release` propagates, after the lock is released.
    """

    def __init__(self, on_release: Callable[[], None] | None = None) -> None:
        self._lock = threading.RLock()
        self._depth = 0  # only the owning thread touches it
        self.on_release = on_release

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        acquired = self._lock.acquire(blocking, timeout)
        if acquired:
            self._depth += 1
        return acquired

    def release(self) -> None:
        try:
            if self._depth == 1 and self.on_release is not None:
                self.on_release()
        finally:
            self._depth -= 1
            self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
