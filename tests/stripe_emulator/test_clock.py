"""The emulator's clock (`EmulatorState.tick`): what is due is released, in the order it was made, and a
tick looks only at what is due, never at the whole account."""

import time
from collections.abc import Iterator
from typing import Any

import pytest

from stripe_emulator import state as state_module
from stripe_emulator.faults import FaultPlan
from stripe_emulator.state import IDEMPOTENCY_KEY_LIFETIME, EmulatorState
from stripe_emulator.webhooks import WebhookDispatcher

T0 = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(state_module, "now", lambda: fake.now)
    return fake


@pytest.fixture
def state() -> Iterator[EmulatorState]:
    dispatcher = WebhookDispatcher()
    yield EmulatorState(public_url="http://emulator.test", webhooks=dispatcher, faults=FaultPlan())
    dispatcher.stop()


def _pending(state: EmulatorState, amount: int, available_on: int, **extra: Any) -> str:
    txn = state._book(
        account=extra.pop("account", None),
        amount=amount,
        currency="usd",
        type="adjustment",
        category="other_adjustment",
        source=extra.pop("source", None),
        available_on=available_on,
        **extra,
    )
    return txn["id"]


def _session(state: EmulatorState, session_id: str, expires_at: int) -> None:
    state.checkout_sessions[session_id] = {"id": session_id, "status": "open", "expires_at": expires_at}


def _types(state: EmulatorState) -> list[str]:
    return [event["type"] for event in state.events]


def test_tick_releases_due_funds_waiters_sessions_and_keys_in_creation_order(state, clock):
    late = _pending(state, 100, T0 + 300, source="ch_1")  # a charge's funds name the charge
    first = _pending(state, 200, T0 + 100, account="acct_a")
    second = _pending(state, 300, T0 + 50, account="acct_b")
    # A transfer's funds waiting for a charge whose own funds come with `late`.
    state.charges["ch_1"] = {"id": "ch_1", "balance_transaction": late}
    waiter = _pending(state, 50, T0 + 300, account="acct_c", waits_for="ch_1")
    # Sessions added behind the state's back, then indexed again, as a loaded state file is.
    _session(state, "cs_b", T0 + 100)
    _session(state, "cs_a", T0 + 90)
    _session(state, "cs_later", T0 + 1000)
    state.reindex_clock()
    state.store_idempotency_record(
        "old", {"status": 200, "first_used_at": time.time() - IDEMPOTENCY_KEY_LIFETIME}
    )
    state.store_idempotency_record("new", {"status": 200, "first_used_at": time.time()})

    clock.now = T0 + 80
    state.tick()
    assert state.balance_transactions[second]["status"] == "available"
    assert state.balance_transactions[first]["status"] == "pending"
    assert set(state.idempotency) == {"new"}
    assert _types(state) == ["balance.available"]
    assert state.events[-1]["account"] == "acct_b"

    clock.now = T0 + 150
    state.tick()
    # Both sessions expire, in the order they were created (not by expiry time); then the funds.
    assert [state.checkout_sessions[s]["status"] for s in ("cs_b", "cs_a", "cs_later")] == [
        "expired",
        "expired",
        "open",
    ]
    assert _types(state)[1:] == ["checkout.session.expired", "checkout.session.expired", "balance.available"]
    assert [state.events[1]["data"]["object"]["id"], state.events[2]["data"]["object"]["id"]] == [
        "cs_b",
        "cs_a",
    ]
    assert state.balance_transactions[first]["available_on"] == T0 + 100

    clock.now = T0 + 400
    state.tick()
    # The charge's funds and, in the same tick, what waited for them (at the charge's `available_on`).
    assert state.balance_transactions[late]["status"] == "available"
    assert state.balance_transactions[waiter]["status"] == "available"
    assert state.balance_transactions[waiter]["available_on"] == T0 + 300
    assert state.funds_wait_for == {}
    assert [e.get("account") for e in state.events[4:]] == [None, "acct_c"]

    clock.now = T0 + 500
    state.tick()
    assert len(state.events) == 6  # nothing else was due


def test_a_transaction_moved_later_waits_and_one_moved_earlier_is_reindexed(state, clock):
    moved_later = _pending(state, 100, T0 + 10)
    moved_earlier = _pending(state, 100, T0 + 1000)
    state.balance_transactions[moved_later]["available_on"] = T0 + 500
    state.balance_transactions[moved_earlier]["available_on"] = T0 + 5
    state.reindex_clock()

    clock.now = T0 + 20
    state.tick()

    assert state.balance_transactions[moved_later]["status"] == "pending"
    assert state.balance_transactions[moved_earlier]["status"] == "available"
    clock.now = T0 + 500
    state.tick()
    assert state.balance_transactions[moved_later]["status"] == "available"


class NoScan(dict):
    """A store that fails the test when something walks through it."""

    def _scan(self, *args: Any) -> Any:
        raise AssertionError("the clock scanned a whole store")

    __iter__ = items = values = keys = _scan  # type: ignore[assignment]


def test_a_tick_never_walks_through_the_account(state, clock):
    state.charges["ch_1"] = {"id": "ch_1", "balance_transaction": None}
    for n in range(200):
        _pending(state, 100, T0 + 3600)
        _pending(state, 100, T0 + 3600, waits_for="ch_1")
        _session(state, f"cs_{n}", T0 + 3600)
        state.store_idempotency_record(f"key-{n}", {"status": 200, "first_used_at": time.time()})
    _session(state, "cs_due", T0 + 10)
    state.reindex_clock()
    state.store_idempotency_record(
        "old", {"status": 200, "first_used_at": time.time() - IDEMPOTENCY_KEY_LIFETIME}
    )
    for name in ("balance_transactions", "funds_wait_for", "checkout_sessions", "idempotency", "charges"):
        setattr(state, name, NoScan(getattr(state, name)))

    clock.now = T0 + 20
    state.tick()

    assert state.checkout_sessions["cs_due"]["status"] == "expired"
    assert "old" not in state.idempotency
