"""The emulator's in-memory Stripe account: objects, money rules and the events they raise.

Everything here runs under one re-entrant lock: the HTTP server is threaded, the webhook worker and the
clock are threads too, and money rules (a refund must not exceed what is left) are check-then-act.
Objects are kept as plain dicts already shaped like Stripe's JSON (built in objects.py); helpers hand out
deep copies so a caller can never mutate state behind the lock. With a state file (`--state-file`), leaving
the outermost `with self.lock:` saves the persisted fields when they changed (persistence.py), so every
change made under the lock reaches the file before the answer goes out.

Nothing here knows about Django or HTTP. The API layer (`api.py`) validates parameters and calls the
`api_*` methods; the pages and control endpoints call the `control_*` methods; the clock calls `tick`.

Money model (what the rules check; the arithmetic is in ledger.py):
- Every movement is a balance transaction on the platform or on a connected account; a balance is the sum
  of an account's transactions, `pending` until their `available_on`, then `available` (the clock moves
  them; `control_settle_balance` moves them all at once).
- A card charge credits the platform's pending balance with its amount minus Stripe's fee (2.9% + 30c),
  available two days later. A bank debit ("pay later") is `pending` until settled by a control endpoint
  (or `async_delay_seconds`); only then does it book its funds (fee 0.8%, capped at 5.00).
- A refund debits the platform at once (available may go negative, as Stripe's does); the fee is not given
  back. A refund that fails later credits the amount back (`refund_failure`).
- A chargeback withdraws the disputed amount plus the 15.00 dispute fee at once; winning it reinstates the
  amount (the fee is kept). An inquiry moves no money. Refunds are refused while a chargeback is not won
  (`charge_disputed`); refunding a charge in full closes its inquiry.
- A transfer without `source_transaction` needs the platform's available balance. With one, it draws on
  that charge (still pending is fine, failed is not) and never exceeds what is left of it (amount minus
  refunded minus already transferred); the funds reach the connected account when the charge's funds
  become available. A bank debit that fails takes its transfers back (reversed in full).
- A reversal takes money back from the connected account: from the transfer's own funds while they are
  still pending there, else from the account's available balance, which a payout may have emptied
  (`balance_insufficient`).
"""

from __future__ import annotations

import copy
import heapq
import json
import secrets
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stripe_emulator import connect, ledger, objects
from stripe_emulator.faults import FaultPlan
from stripe_emulator.objects import list_object
from stripe_emulator.persistence import (
    PERSISTED_FIELDS,
    PersistingLock,
    StateFileError,
    dump_state,
    load_state_file,
    write_atomically,
)
from stripe_emulator.webhooks import WebhookDispatcher
from stripe_emulator.wire import StripeApiError, resource_missing

API_VERSION = "2026-10-28.endive"
MIN_SESSION_LIFETIME = 30 * 60
MAX_SESSION_LIFETIME = 24 * 60 * 60
DEFAULT_SESSION_LIFETIME = 24 * 60 * 60
ACCOUNT_LINK_LIFETIME = 300
# Stripe keeps an idempotency key's first answer for 24 hours; after that the key is new again.
IDEMPOTENCY_KEY_LIFETIME = 24 * 60 * 60
PAYMENT_METHODS = ("card", "declined_card", "delayed_success", "delayed_failure")
# Stripe's test card numbers, so a human can type the usual ones on the hosted page.
DECLINED_TEST_CARDS = {"4000000000000002", "4000000000009995", "4000000000000069"}
# Stripe's minimum charge per currency, in minor units (the common ones; others only need to be positive).
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50}
# The request log is for tests and debugging; cap it so a long development session does not grow forever.
REQUEST_LOG_LIMIT = 10_000
DISPUTE_KINDS = ("chargeback", "inquiry")
ONBOARDING_ACTIONS = ("complete", "submit", "save", "abandon")
REFUND_FAILURE_REASONS = (
    "lost_or_stolen_card",
    "expired_or_canceled_card",
    "charge_for_pending_refund_disputed",
    "insufficient_funds",
    "declined",
    "merchant_request",
    "unknown",
)

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    return int(time.time())


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`previous_attributes` for an update: the old value of every top-level field that changed."""
    return {key: copy.deepcopy(before.get(key)) for key, value in after.items() if before.get(key) != value}


def _pop_due(
    heap: list[tuple[int, int, str]], current: int, due_at: Callable[[str], int | None]
) -> list[str]:
    """Take off ``heap`` (entries ``(time, sequence, id)``) the ids due at ``current``, in the order they
    were created. ``due_at(id)`` is the item's time now, or None when it no longer waits (gone, or done):
    such entries are dropped, and an item moved later since goes back in to wait again. Only what is due is
    looked at, however large the account."""
    due: list[tuple[int, str]] = []
    while heap and heap[0][0] <= current:
        _, seq, item_id = heapq.heappop(heap)
        at = due_at(item_id)
        if at is None:
            continue
        if at > current:
            heapq.heappush(heap, (at, seq, item_id))
            continue
        due.append((seq, item_id))
    return [item_id for _, item_id in sorted(due)]


def _page(items: list[dict[str, Any]], params: dict[str, Any], url: str, kind: str) -> dict[str, Any]:
    """One page of a list, newest first, as Stripe pages: `limit` (1-100, default 10), and either
    `starting_after` (older than that id) or `ending_before` (newer than it)."""
    # Objects created in the same second keep their creation order, reversed.
    ranked = sorted(enumerate(items), key=lambda pair: (pair[1]["created"], pair[0]), reverse=True)
    newest_first = [item for _, item in ranked]
    limit = params.get("limit", 10)
    if not 1 <= limit <= 100:
        raise StripeApiError(400, "limit must be between 1 and 100", param="limit")
    ids = [item["id"] for item in newest_first]
    if "starting_after" in params:
        if params["starting_after"] not in ids:
            raise resource_missing(kind, params["starting_after"], param="starting_after")
        rest = newest_first[ids.index(params["starting_after"]) + 1 :]
        page, has_more = rest[:limit], len(rest) > limit
    elif "ending_before" in params:
        if params["ending_before"] not in ids:
            raise resource_missing(kind, params["ending_before"], param="ending_before")
        rest = newest_first[: ids.index(params["ending_before"])]
        page, has_more = rest[-limit:], len(rest) > limit
    else:
        page, has_more = newest_first[:limit], len(newest_first) > limit
    return list_object(copy.deepcopy(page), url, has_more=has_more)


class EmulatorState:
    """One emulated Stripe platform account (in the US) and its connected accounts."""

    def __init__(
        self,
        *,
        public_url: str,
        webhooks: WebhookDispatcher,
        faults: FaultPlan,
        state_file: str | Path | None = None,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.webhooks = webhooks
        self.faults = faults
        # With a state file, every outermost release of the lock saves the state if it changed
        # (persistence.py); without one this is a plain re-entrant lock.
        self.state_file = Path(state_file) if state_file is not None else None
        self.lock = PersistingLock(self._save_if_changed if self.state_file is not None else None)
        self._saved_text: str | None = None
        self.current_request = threading.local()
        # Seconds after which a "pay later" payment settles on its own; None = only when told to.
        self.async_delay_seconds: float | None = None
        # When True, new refunds stay `pending` until `control_settle_refund` (like bank-debit refunds).
        self.refunds_start_pending = False
        self._reset_objects()
        if self.state_file is not None:
            self._load()

    def _reset_objects(self) -> None:
        self.generation = getattr(self, "generation", 0) + 1
        self.checkout_sessions: dict[str, dict[str, Any]] = {}
        self.session_private: dict[str, dict[str, Any]] = {}  # line items, payment_intent_data, pay method
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.transfers: dict[str, dict[str, Any]] = {}
        # Charge id -> the sum of the transfers drawing on it (`source_transaction`), so checking a new
        # transfer's room costs the same with ten transfers as with a million. Derived from `transfers`
        # (rebuilt when a state file is loaded), never persisted.
        self.transferred_from_charge: dict[str, int] = {}
        self.transfer_reversals: dict[str, dict[str, Any]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.account_links: dict[str, dict[str, Any]] = {}  # keyed by the token in the link's URL
        self.login_links: dict[str, dict[str, Any]] = {}
        self.payouts: dict[str, dict[str, Any]] = {}
        self.balance_transactions: dict[str, dict[str, Any]] = {}
        # Object id (balance transaction, payout) -> the connected account it belongs to; absent = platform.
        self.account_of: dict[str, str] = {}
        # Balance transaction id -> the charge whose funds it waits for (transfers with source_transaction).
        self.funds_wait_for: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self.idempotency: dict[str, dict[str, Any]] = {}
        self.in_flight_keys: set[str] = set()
        self.request_log: list[dict[str, Any]] = []
        self.reindex_clock()

    # The clock's indexes ----------------------------------------------------------------------------
    # What `tick` has to look at, kept so that a tick costs what is due, not the size of the account.
    # All derived (rebuilt by `reindex_clock` when a state file is loaded), never persisted, and lazy:
    # an entry is checked against its object when it comes due and dropped if it no longer applies.
    # They are kept up to date by the methods here that add objects or move their times. Code that edits
    # a stored object's `available_on`, `expires_at` or `first_used_at` directly must call
    # `reindex_clock()` afterwards (under the lock).

    def reindex_clock(self) -> None:
        """Rebuild the clock's indexes from the objects (cost: the size of the account). Call it with the
        lock held; it takes none itself, since leaving the outermost lock saves the state file, which the
        constructor must not do before the file is loaded."""
        # Creation order of balance transactions (the order the clock releases them in).
        self._txn_seq: dict[str, int] = {txn_id: n for n, txn_id in enumerate(self.balance_transactions)}
        self._next_txn_seq = len(self._txn_seq)
        # (available_on, seq, txn id) of pending transactions not waiting for a charge.
        self._pending_heap: list[tuple[int, int, str]] = [
            (txn["available_on"], self._txn_seq[txn_id], txn_id)
            for txn_id, txn in self.balance_transactions.items()
            if txn["status"] == "pending" and txn_id not in self.funds_wait_for
        ]
        heapq.heapify(self._pending_heap)
        # Charge id -> the transactions waiting for its funds (a superset of `funds_wait_for`'s).
        self._waiters: dict[str, list[str]] = {}
        for txn_id, charge_id in self.funds_wait_for.items():
            self._waiters.setdefault(charge_id, []).append(txn_id)
        # Charges whose waiters the next tick must look at (their funds may be available already).
        self._charges_to_check: set[str] = set(self._waiters)
        # (expires_at, seq, session id) of open checkout sessions.
        self._session_seq = len(self.checkout_sessions)
        self._session_heap: list[tuple[int, int, str]] = [
            (session["expires_at"], n, session_id)
            for n, (session_id, session) in enumerate(self.checkout_sessions.items())
            if session["status"] == "open"
        ]
        heapq.heapify(self._session_heap)
        self._reindex_idempotency_keys()

    def _reindex_idempotency_keys(self) -> None:
        # (first_used_at, key) of stored idempotency keys.
        self._key_heap: list[tuple[float, str]] = [
            (record["first_used_at"], key) for key, record in self.idempotency.items()
        ]
        heapq.heapify(self._key_heap)

    def store_idempotency_record(self, key: str, record: dict[str, Any]) -> None:
        """Keep a key's answer (the API layer calls this with the lock held)."""
        with self.lock:
            self.idempotency[key] = record
            heapq.heappush(self._key_heap, (record["first_used_at"], key))

    def reset(self) -> None:
        with self.lock:
            self._reset_objects()
            self._saved_text = None  # write the empty account even if nothing seemed to change
            self.faults.clear()
            self.async_delay_seconds = None
            self.refunds_start_pending = False
        self.webhooks.reset()

    def tick(self) -> None:
        """What time does by itself (the clock thread calls this every second): sessions expire, pending
        funds become available, idempotency keys older than 24 hours are forgotten."""
        with self.lock:
            self.expire_due_sessions()
            self.release_due_funds()
            self.forget_expired_idempotency_keys()

    # Persistence ----------------------------------------------------------------------------------

    def _load(self) -> None:
        """Take over the account stored in the state file (raises `StateFileError` naming the file)."""
        assert self.state_file is not None
        loaded = load_state_file(self.state_file)
        try:
            with self.lock:
                if loaded is not None:
                    for name, value in loaded.fields.items():
                        setattr(self, name, value)
                    self._index_transfers()
                    self.reindex_clock()
                    self._book_legacy_balances(loaded.legacy_balances)
                    # A file of an older version is rewritten in the current one when the lock is left.
                    if not loaded.upgraded:
                        self._saved_text = dump_state(self._persisted_fields())
                # Leaving the lock writes the file when it did not exist, so an unwritable path fails now.
        except OSError as exc:
            raise StateFileError(f"Cannot write Stripe emulator state file {self.state_file}: {exc}") from exc

    def _book_legacy_balances(self, legacy: dict[str, Any]) -> None:
        """Version 1 files kept bare balance counters; they become `adjustment` transactions (pending
        funds available two days from now), so the balances read the same after the upgrade."""
        platform = legacy.get("balance", {})
        for currency, amount in platform.get("available", {}).items():
            self._adjust(None, currency, amount, "Balance carried over from a version 1 state file")
        for currency, amount in platform.get("pending", {}).items():
            self._adjust(
                None,
                currency,
                amount,
                "Pending balance carried over from a version 1 state file",
                available_on=now() + ledger.AVAILABLE_AFTER_SECONDS,
            )
        for account_id, amounts in legacy.get("account_balances", {}).items():
            for currency, amount in amounts.items():
                self._adjust(account_id, currency, amount, "Balance carried over from a version 1 state file")

    def _index_transfers(self) -> None:
        self.transferred_from_charge = {}
        for transfer in self.transfers.values():
            if transfer["source_transaction"] is not None:
                source = transfer["source_transaction"]
                self.transferred_from_charge[source] = (
                    self.transferred_from_charge.get(source, 0) + transfer["amount"]
                )

    def _persisted_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PERSISTED_FIELDS}

    def _save_if_changed(self) -> None:
        """Called with the lock held by `PersistingLock` when its outermost holder leaves."""
        assert self.state_file is not None
        text = dump_state(self._persisted_fields())
        if text != self._saved_text:
            write_atomically(self.state_file, text)
            self._saved_text = text

    # Lookups --------------------------------------------------------------------------------------

    def _stores(self) -> dict[str, tuple[str, dict[str, dict[str, Any]]]]:
        return {
            "cs_": ("checkout.session", self.checkout_sessions),
            "pi_": ("payment_intent", self.payment_intents),
            "ch_": ("charge", self.charges),
            "re_": ("refund", self.refunds),
            "trr_": ("transfer_reversal", self.transfer_reversals),
            "tr_": ("transfer", self.transfers),
            "dp_": ("dispute", self.disputes),
            "acct_": ("account", self.accounts),
            "txn_": ("balance_transaction", self.balance_transactions),
            "po_": ("payout", self.payouts),
        }

    def find(self, object_id: str) -> dict[str, Any] | None:
        for prefix, (_, store) in self._stores().items():
            if object_id.startswith(prefix):
                return store.get(object_id)
        return None

    def _get(self, store: dict[str, dict[str, Any]], kind: str, object_id: str, *, param: str = "id") -> dict:
        found = store.get(object_id)
        if found is None:
            raise resource_missing(kind, object_id, param=param)
        return found

    def expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        """A copy of `obj` with each dotted path in `paths` replaced by the object it names."""
        result = copy.deepcopy(obj)
        for path in paths:
            self._expand_path(result, path.split("."), path)
        return result

    def _expand_path(self, obj: Any, parts: list[str], full_path: str) -> None:
        if isinstance(obj, list):
            for item in obj:
                self._expand_path(item, parts, full_path)
            return
        field, rest = parts[0], parts[1:]
        if not isinstance(obj, dict) or field not in obj:
            raise StripeApiError(400, f"This property cannot be expanded ({full_path}).", param="expand")
        value = obj[field]
        if isinstance(value, str):
            target = self.find(value)
            if target is None:
                raise StripeApiError(400, f"This property cannot be expanded ({full_path}).", param="expand")
            value = copy.deepcopy(target)
            obj[field] = value
        if rest and value is not None:
            self._expand_path(value, rest, full_path)

    # Events ---------------------------------------------------------------------------------------

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        *,
        account: str | None = None,
        previous_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request = getattr(self.current_request, "info", None) or {"id": None, "idempotency_key": None}
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        event: dict[str, Any] = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": dict(request),
            "type": event_type,
        }
        if account is not None:
            event["account"] = account
        self.events.append(event)
        body = json.dumps(event, indent=2).encode()
        self.webhooks.enqueue(event["id"], event_type, body, connect=account is not None)
        return event

    # Idempotency keys -----------------------------------------------------------------------------

    def _key_expired(self, record: dict[str, Any]) -> bool:
        return time.time() - record["first_used_at"] >= IDEMPOTENCY_KEY_LIFETIME

    def idempotency_record(self, key: str) -> dict[str, Any] | None:
        """The stored answer for `key`, or None when the key is new or older than 24 hours (then forgotten:
        its request executes anew)."""
        with self.lock:
            record = self.idempotency.get(key)
            if record is not None and self._key_expired(record):
                del self.idempotency[key]
                return None
            return record

    def forget_expired_idempotency_keys(self) -> None:
        with self.lock:
            heap = self._key_heap
            while heap and self._key_expired({"first_used_at": heap[0][0]}):
                first_used_at, key = heapq.heappop(heap)
                record = self.idempotency.get(key)
                # A key forgotten on read and used again has a newer record, with its own entry.
                if (
                    record is not None
                    and record["first_used_at"] == first_used_at
                    and self._key_expired(record)
                ):
                    del self.idempotency[key]

    def control_age_idempotency_keys(self, seconds: float) -> dict[str, Any]:
        """Pretend every stored key was first used `seconds` earlier (for tests of the 24-hour expiry)."""
        with self.lock:
            for record in self.idempotency.values():
                record["first_used_at"] -= seconds
            self._reindex_idempotency_keys()
            return {"keys": len(self.idempotency), "aged_seconds": seconds}

    # Balances and balance transactions ------------------------------------------------------------

    def _book(
        self,
        *,
        account: str | None,
        amount: int,
        currency: str,
        type: str,
        category: str,
        source: str | None,
        fee: int = 0,
        fee_description: str | None = None,
        available_on: int | None = None,
        waits_for: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """Record one movement of money on the platform (`account=None`) or a connected account. It is
        pending while it waits for a charge's funds (`waits_for`) or until a future `available_on`."""
        created = now()
        available_on = created if available_on is None else available_on
        is_pending = waits_for is not None or available_on > created
        txn = ledger.balance_transaction(
            txn_id=new_id("txn_"),
            amount=amount,
            currency=currency,
            type=type,
            reporting_category=category,
            source=source,
            created=created,
            available_on=available_on,
            status="pending" if is_pending else "available",
            fee=fee,
            fee_description=fee_description,
            description=description,
        )
        self.balance_transactions[txn["id"]] = txn
        self._txn_seq[txn["id"]] = seq = self._next_txn_seq
        self._next_txn_seq += 1
        if account is not None:
            self.account_of[txn["id"]] = account
        if waits_for is not None:
            self.funds_wait_for[txn["id"]] = waits_for
            self._waiters.setdefault(waits_for, []).append(txn["id"])
            if self._charge_funds_available(waits_for):  # since this second: the next tick releases it
                self._charges_to_check.add(waits_for)
        elif is_pending:
            heapq.heappush(self._pending_heap, (available_on, seq, txn["id"]))
        return txn

    def _balances(self, account: str | None) -> dict[str, dict[str, int]]:
        return ledger.balances(
            txn for txn_id, txn in self.balance_transactions.items() if self.account_of.get(txn_id) == account
        )

    def _available(self, account: str | None, currency: str) -> int:
        return self._balances(account)["available"].get(currency, 0)

    def _adjust(
        self,
        account: str | None,
        currency: str,
        amount: int,
        description: str,
        *,
        available_on: int | None = None,
    ) -> None:
        if amount:
            self._book(
                account=account,
                amount=amount,
                currency=currency,
                type="adjustment",
                category="other_adjustment",
                source=None,
                available_on=available_on,
                description=description,
            )

    def _charge_funds(self, charge: dict[str, Any]) -> tuple[int | None, str | None]:
        """When money drawn on `charge` becomes available: `(None, None)` if the charge's funds already
        are, else `(estimated available_on, the charge's id to wait for)`."""
        txn = self.balance_transactions.get(charge["balance_transaction"] or "")
        if txn is not None and txn["status"] == "available":
            return None, None
        if txn is None and charge["status"] == "succeeded":
            return None, None  # paid before balance transactions were kept (a version 1 state file)
        available_on = txn["available_on"] if txn is not None else now() + ledger.AVAILABLE_AFTER_SECONDS
        return available_on, charge["id"]

    def release_due_funds(self, *, everything: bool = False) -> int:
        """Make pending funds available: those whose `available_on` has passed (all of them with
        `everything`), then those waiting for a charge whose funds now are. Sends `balance.available` to
        each account whose balance changed. Returns how many transactions became available.

        The clock's call looks only at what is due (the heap of pending transactions by `available_on`,
        the charges whose funds may just have arrived); `everything` scans the account."""
        with self.lock:
            current = now()
            released: list[str] = []
            if everything:
                for txn_id, txn in self.balance_transactions.items():
                    if txn["status"] != "pending" or txn_id in self.funds_wait_for:
                        continue
                    txn.update(status="available", available_on=min(txn["available_on"], current))
                    released.append(txn_id)
                self._charges_to_check.update(self._waiters)
            else:

                def still_pending(txn_id: str) -> int | None:
                    entry = self.balance_transactions.get(txn_id)
                    if entry is None or entry["status"] != "pending" or txn_id in self.funds_wait_for:
                        return None
                    return entry["available_on"]

                for txn_id in _pop_due(self._pending_heap, current, still_pending):
                    txn = self.balance_transactions[txn_id]
                    txn.update(status="available", available_on=min(txn["available_on"], current))
                    released.append(txn_id)
                    if txn["source"] in self._waiters:
                        self._charges_to_check.add(txn["source"])
            waiting: list[tuple[int, str]] = []
            charges, self._charges_to_check = self._charges_to_check, set()
            for charge_id in charges:
                if not self._charge_funds_available(charge_id):
                    continue  # looked at again when its funds are released (above)
                for txn_id in self._waiters.pop(charge_id, []):
                    if self.funds_wait_for.get(txn_id) == charge_id:
                        waiting.append((self._txn_seq[txn_id], txn_id))
            for _, txn_id in sorted(waiting):  # in the order they were booked, as `funds_wait_for` is
                charge = self.charges[self.funds_wait_for[txn_id]]
                source = self.balance_transactions[charge["balance_transaction"]]
                self.balance_transactions[txn_id].update(
                    status="available", available_on=source["available_on"]
                )
                del self.funds_wait_for[txn_id]
                released.append(txn_id)
            for account in dict.fromkeys(self.account_of.get(txn_id) for txn_id in released):
                self.emit("balance.available", self.api_balance_retrieve(account), account=account)
            return len(released)

    def _charge_funds_available(self, charge_id: str) -> bool:
        charge = self.charges.get(charge_id) or {}
        source = self.balance_transactions.get(charge.get("balance_transaction") or "")
        return source is not None and source["status"] == "available"

    def control_settle_balance(self) -> dict[str, Any]:
        """Make every pending fund available now (funds waiting for a bank debit that has not succeeded
        yet stay pending: there is no money until it does)."""
        with self.lock:
            released = self.release_due_funds(everything=True)
            return {"released": released, "balance": self._balances(None)}

    def api_balance_retrieve(self, account: str | None = None) -> dict[str, Any]:
        with self.lock:
            default = self.accounts[account]["default_currency"] if account in self.accounts else "usd"
            return ledger.balance_object(self._balances(account), default_currency=default or "usd")

    def api_balance_transaction_retrieve(self, txn_id: str, account: str | None = None) -> dict[str, Any]:
        with self.lock:
            txn = self.balance_transactions.get(txn_id)
            if txn is None or self.account_of.get(txn_id) != account:
                raise resource_missing("balance transaction", txn_id)
            return copy.deepcopy(txn)

    def control_set_balance(self, *, available: int, currency: str = "usd") -> dict[str, Any]:
        """Set the platform's available balance (an `adjustment` for the difference)."""
        with self.lock:
            currency = currency.lower()
            self._adjust(
                None, currency, available - self._available(None, currency), "Set through the emulator"
            )
            return self._balances(None)

    def control_set_account_balance(self, account_id: str, *, available: int, currency: str = "usd") -> dict:
        """Set a connected account's available balance (an `adjustment` for the difference)."""
        with self.lock:
            self._get(self.accounts, "account", account_id)
            currency = currency.lower()
            self._adjust(
                account_id,
                currency,
                available - self._available(account_id, currency),
                "Set through the emulator",
            )
            return self._balances(account_id)

    def control_payout(self, account_id: str, *, amount: int | None = None, currency: str = "usd") -> dict:
        """Pay out a connected account's available balance (all of it, or `amount`) to its bank account,
        as Stripe's automatic payouts do: afterwards a reversal of a transfer to it can fail."""
        with self.lock:
            self._get(self.accounts, "account", account_id)
            currency = currency.lower()
            available = self._available(account_id, currency)
            amount = available if amount is None else amount
            if amount <= 0:
                raise StripeApiError(
                    400,
                    f"Account {account_id} has no available {currency} balance to pay out.",
                    code="balance_insufficient",
                    param="amount",
                )
            if amount > available:
                raise StripeApiError(
                    400,
                    f"Account {account_id} has {available} {currency} available; it cannot pay out {amount}.",
                    code="balance_insufficient",
                    param="amount",
                )
            payout_id = new_id("po_")
            txn = self._book(
                account=account_id,
                amount=-amount,
                currency=currency,
                type="payout",
                category="payout",
                source=payout_id,
                description="STRIPE PAYOUT",
            )
            payout = objects.payout(
                payout_id=payout_id,
                amount=amount,
                currency=currency,
                created=now(),
                balance_transaction=txn["id"],
            )
            self.payouts[payout_id] = payout
            self.account_of[payout_id] = account_id
            self.emit("payout.created", payout, account=account_id)
            self.emit("payout.paid", payout, account=account_id)
            return copy.deepcopy(payout)

    # Checkout sessions ----------------------------------------------------------------------------

    def api_checkout_session_create(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            created = now()
            expires_at = params.get("expires_at", created + DEFAULT_SESSION_LIFETIME)
            if not created + MIN_SESSION_LIFETIME <= expires_at <= created + MAX_SESSION_LIFETIME:
                raise StripeApiError(
                    400,
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout "
                    "Session creation.",
                    code="parameter_invalid_integer",
                    param="expires_at",
                )
            currencies = {item["price_data"]["currency"].lower() for item in params["line_items"]}
            if len(currencies) != 1:
                raise StripeApiError(400, "All line items must use the same currency.", param="line_items")
            amount = sum(
                item["price_data"]["unit_amount"] * item["quantity"] for item in params["line_items"]
            )
            currency = next(iter(currencies))
            if amount < MINIMUM_CHARGE.get(currency, 1):
                raise StripeApiError(
                    400,
                    f"The Checkout Session's total amount due must add up to at least "
                    f"{MINIMUM_CHARGE[currency]} {currency} (minor units).",
                    code="amount_too_small",
                    param="line_items",
                )
            session_id = new_id("cs_test_", 58)
            session = {
                "id": session_id,
                "object": "checkout.session",
                "amount_subtotal": amount,
                "amount_total": amount,
                "cancel_url": params.get("cancel_url"),
                "client_reference_id": params.get("client_reference_id"),
                "created": created,
                "currency": currency,
                "customer": None,
                "customer_details": None,
                "customer_email": params.get("customer_email"),
                "expires_at": expires_at,
                "livemode": False,
                "metadata": params.get("metadata", {}),
                "mode": params["mode"],
                "payment_intent": None,
                "payment_method_types": params.get(
                    "allowed_payment_method_types", ["card", "us_bank_account"]
                ),
                "payment_status": "unpaid",
                "status": "open",
                "success_url": params.get("success_url"),
                "ui_mode": "hosted_page",
                "url": f"{self.public_url}/c/pay/{session_id}",
            }
            self.checkout_sessions[session_id] = session
            heapq.heappush(self._session_heap, (expires_at, self._session_seq, session_id))
            self._session_seq += 1
            self.session_private[session_id] = {
                "line_items": params["line_items"],
                "payment_intent_data": params.get("payment_intent_data", {}),
                "method": None,
                "decline_message": None,
            }
            return copy.deepcopy(session)

    def api_checkout_session_retrieve(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            self.expire_due_sessions()
            return copy.deepcopy(self._get(self.checkout_sessions, "checkout.session", session_id))

    def api_checkout_session_expire(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            session = self._get(self.checkout_sessions, "checkout.session", session_id)
            if session["status"] != "open":
                raise StripeApiError(
                    400,
                    f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
                    f'Session has a status of "{session["status"]}".',
                    code="checkout_session_not_open",
                )
            self._expire_session(session)
            return copy.deepcopy(session)

    def _expire_session(self, session: dict[str, Any]) -> None:
        session["status"] = "expired"
        session["url"] = None
        self.emit("checkout.session.expired", session)

    def expire_due_sessions(self) -> None:
        """Expire open sessions past their `expires_at` (called by the clock thread and on reads), in the
        order they were created; only the sessions due are looked at (a heap by `expires_at`)."""
        with self.lock:
            current = now()

            def still_open(session_id: str) -> int | None:
                session = self.checkout_sessions.get(session_id)
                return session["expires_at"] if session is not None and session["status"] == "open" else None

            for session_id in _pop_due(self._session_heap, current, still_open):
                self._expire_session(self.checkout_sessions[session_id])

    def control_expire_session(self, session_id: str) -> dict[str, Any]:
        return self.api_checkout_session_expire(session_id)

    def control_pay_session(self, session_id: str, *, method: str, card_number: str | None = None) -> dict:
        """Pay (or fail to pay) an open session as the customer would on the hosted page.

        Returns `{"outcome": "paid" | "declined" | "processing", "redirect_url": str | None,
        "message": str | None, "session": {...}}`.
        """
        if method not in PAYMENT_METHODS:
            raise StripeApiError(400, f"Unknown payment method {method!r}; use one of {PAYMENT_METHODS}")
        with self.lock:
            self.expire_due_sessions()
            session = self._get(self.checkout_sessions, "checkout.session", session_id)
            if session["status"] != "open":
                raise StripeApiError(400, f"This Checkout Session is {session['status']}; it can't be paid.")
            private = self.session_private[session_id]
            if method.startswith("delayed_") and "us_bank_account" not in session["payment_method_types"]:
                # A session made with allowed_payment_method_types=["card"] never offers a bank debit.
                raise StripeApiError(
                    400,
                    "This Checkout Session accepts only "
                    + ", ".join(session["payment_method_types"])
                    + ": a bank debit cannot pay it.",
                )
            digits = "".join(ch for ch in (card_number or "") if ch.isdigit())
            if method == "declined_card" or (method == "card" and digits in DECLINED_TEST_CARDS):
                private["decline_message"] = "Your card was declined."
                return {
                    "outcome": "declined",
                    "redirect_url": None,
                    "message": private["decline_message"],
                    "session": copy.deepcopy(session),
                }
            private["method"] = method
            private["decline_message"] = None
            is_delayed = method.startswith("delayed_")
            intent = self._create_payment(session, private, delayed=is_delayed, card_digits=digits)
            session["status"] = "complete"
            session["url"] = None
            session["payment_intent"] = intent["id"]
            session["payment_status"] = "unpaid" if is_delayed else "paid"
            session["customer_details"] = {
                "email": session["customer_email"],
                "name": None,
                "address": None,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            }
            self.emit("checkout.session.completed", session)
            if is_delayed and self.async_delay_seconds is not None:
                self._schedule_settlement(session_id, self.async_delay_seconds)
            redirect = (session["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", session_id) or None
            return {
                "outcome": "processing" if is_delayed else "paid",
                "redirect_url": redirect,
                "message": None,
                "session": copy.deepcopy(session),
            }

    def _create_payment(
        self, session: dict[str, Any], private: dict[str, Any], *, delayed: bool, card_digits: str
    ) -> dict[str, Any]:
        """The payment intent and charge behind a paid session; a card charge books its funds at once."""
        created = now()
        intent_id, charge_id = new_id("pi_"), new_id("ch_")
        method_type = "us_bank_account" if delayed else "card"
        details: dict[str, Any] = {"type": method_type}
        if delayed:
            details["us_bank_account"] = {"bank_name": "STRIPE TEST BANK", "last4": "6789"}
        else:
            details["card"] = {"brand": "visa", "last4": (card_digits or "4242424242424242")[-4:]}
        common = {
            "amount": session["amount_total"],
            "currency": session["currency"],
            "created": created,
            "email": session["customer_email"],
            "intent_data": private["payment_intent_data"],
            "delayed": delayed,
        }
        charge = objects.charge(
            charge_id=charge_id, intent_id=intent_id, payment_method_details=details, **common
        )
        intent = objects.payment_intent(
            intent_id=intent_id, charge_id=charge_id, method_type=method_type, **common
        )
        self.charges[charge_id] = charge
        self.payment_intents[intent_id] = intent
        if not delayed:
            self._book_charge(charge)
        return intent

    def _book_charge(self, charge: dict[str, Any]) -> None:
        """Credit a succeeded charge, minus Stripe's fee, to the platform's pending balance."""
        method_type = charge["payment_method_details"]["type"]
        txn = self._book(
            account=None,
            amount=charge["amount"],
            currency=charge["currency"],
            type="charge",
            category="charge",
            source=charge["id"],
            fee=ledger.processing_fee(charge["amount"], method_type),
            fee_description="Stripe processing fees",
            available_on=now() + ledger.AVAILABLE_AFTER_SECONDS,
        )
        charge["balance_transaction"] = txn["id"]
        # Transfers made while the charge was processing now know when its funds arrive.
        for txn_id, charge_id in self.funds_wait_for.items():
            if charge_id == charge["id"]:
                self.balance_transactions[txn_id]["available_on"] = txn["available_on"]

    def _schedule_settlement(self, session_id: str, delay: float) -> None:
        generation = self.generation

        def settle() -> None:
            with self.lock:
                if self.generation != generation:
                    return  # the emulator was reset meanwhile
                session = self.checkout_sessions.get(session_id)
                if session is None or session["payment_status"] != "unpaid":
                    return
                self.control_settle_session(session_id)

        timer = threading.Timer(delay, settle)
        timer.daemon = True
        timer.start()

    def resume_settlements(self) -> None:
        """Schedule the automatic settlement of "pay later" payments still processing (after loading a state
        file, whose timers did not survive the restart); each settles `async_delay_seconds` after it was
        paid, or at once if that moment has passed. Does nothing while `async_delay_seconds` is None."""
        with self.lock:
            if self.async_delay_seconds is None:
                return
            current = now()
            for session_id, session in self.checkout_sessions.items():
                method = self.session_private.get(session_id, {}).get("method")
                intent = self.payment_intents.get(session["payment_intent"] or "")
                if (
                    session["status"] == "complete"
                    and session["payment_status"] == "unpaid"
                    and method in ("delayed_success", "delayed_failure")
                    and intent is not None
                    and intent["status"] == "processing"
                ):
                    due = intent["created"] + self.async_delay_seconds
                    self._schedule_settlement(session_id, max(0.0, due - current))

    def control_settle_session(self, session_id: str, *, outcome: str | None = None) -> dict[str, Any]:
        """Finish a delayed ("pay later") payment: `succeeded` or `failed` (default: as the page chose)."""
        with self.lock:
            session = self._get(self.checkout_sessions, "checkout.session", session_id)
            private = self.session_private[session_id]
            if (
                private["method"] not in ("delayed_success", "delayed_failure")
                or session["payment_status"] != "unpaid"
            ):
                raise StripeApiError(400, "This Checkout Session has no payment waiting to settle.")
            outcome = outcome or ("succeeded" if private["method"] == "delayed_success" else "failed")
            if outcome not in ("succeeded", "failed"):
                raise StripeApiError(400, "outcome must be 'succeeded' or 'failed'", param="outcome")
            intent = self.payment_intents[session["payment_intent"]]
            charge = self.charges[intent["latest_charge"]]
            private["method"] = None  # settled: a second settle is refused above
            if outcome == "succeeded":
                charge.update(status="succeeded", paid=True)
                intent.update(status="succeeded", amount_received=intent["amount"])
                session["payment_status"] = "paid"
                self._book_charge(charge)
                self.emit("checkout.session.async_payment_succeeded", session)
            else:
                charge.update(
                    status="failed",
                    paid=False,
                    failure_code="insufficient_funds",
                    failure_message="The customer's account has insufficient funds to cover this payment.",
                )
                intent.update(
                    status="requires_payment_method",
                    last_payment_error={
                        "type": "card_error",
                        "code": "insufficient_funds",
                        "message": charge["failure_message"],
                    },
                )
                self._take_back_transfers(charge)
                self.emit("checkout.session.async_payment_failed", session)
            return copy.deepcopy(session)

    # Payment intents and charges ------------------------------------------------------------------

    def api_payment_intent_retrieve(self, intent_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._get(self.payment_intents, "payment_intent", intent_id))

    def api_charge_retrieve(self, charge_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._get(self.charges, "charge", charge_id))

    # Refunds --------------------------------------------------------------------------------------

    def _refundable_charge(self, params: dict[str, Any]) -> dict[str, Any]:
        if ("charge" in params) == ("payment_intent" in params):
            raise StripeApiError(400, "You must pass either `charge` or `payment_intent` (exactly one).")
        if "payment_intent" in params:
            intent = self._get(
                self.payment_intents, "payment_intent", params["payment_intent"], param="payment_intent"
            )
            charge = self.charges[intent["latest_charge"]] if intent["latest_charge"] else None
            if charge is None or charge["status"] != "succeeded":
                raise StripeApiError(
                    400,
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            return charge
        charge = self._get(self.charges, "charge", params["charge"], param="charge")
        if charge["status"] != "succeeded":
            raise StripeApiError(
                400, f"Charge {charge['id']} has not succeeded.", code="charge_not_refundable"
            )
        return charge

    def api_refund_create(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            charge = self._refundable_charge(params)
            if self._has_blocking_dispute(charge["id"]):
                raise StripeApiError(
                    400,
                    f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                    code="charge_disputed",
                )
            remaining = charge["amount"] - charge["amount_refunded"]
            if remaining <= 0:
                raise StripeApiError(
                    400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
                )
            amount = params.get("amount", remaining)
            if amount <= 0:
                raise StripeApiError(
                    400, "Refund amount must be positive.", code="parameter_invalid_integer", param="amount"
                )
            if amount > remaining:
                raise StripeApiError(
                    400,
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                    code="amount_too_large",
                    param="amount",
                )
            refund_id = new_id("re_")
            # The platform pays the refund at once (Stripe's fee on the charge is not given back).
            txn = self._book(
                account=None,
                amount=-amount,
                currency=charge["currency"],
                type="refund",
                category="refund",
                source=refund_id,
            )
            refund = objects.refund(
                refund_id=refund_id,
                charge=charge,
                amount=amount,
                created=now(),
                status="pending" if self.refunds_start_pending else "succeeded",
                balance_transaction=txn["id"],
                metadata=params.get("metadata", {}),
                reason=params.get("reason"),
            )
            self.refunds[refund_id] = refund
            # The refunded amount is reserved at once, so two refunds cannot both take the last dollars.
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            self.emit("refund.created", refund)
            self.emit("charge.refunded", charge)
            if charge["refunded"]:
                self._close_inquiries(charge["id"])
            return copy.deepcopy(refund)

    def api_refund_retrieve(self, refund_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._get(self.refunds, "refund", refund_id))

    def api_refund_list(self, params: dict[str, Any]) -> dict[str, Any]:
        """Refunds, newest first, optionally of one `charge` or `payment_intent` (paged like Stripe)."""
        with self.lock:
            matching = [
                refund
                for refund in self.refunds.values()
                if all(refund[key] == params[key] for key in ("charge", "payment_intent") if key in params)
            ]
            return _page(matching, params, "/v1/refunds", "refund")

    def control_settle_refund(
        self, refund_id: str, *, status: str, failure_reason: str | None = None
    ) -> dict[str, Any]:
        """Move a pending refund to `succeeded` or `failed`, or fail a succeeded one (the card network sent
        it back). A failed refund gives the amount back to the charge and to the platform's balance."""
        if status not in ("succeeded", "failed"):
            raise StripeApiError(400, "status must be 'succeeded' or 'failed'", param="status")
        reason = failure_reason or "expired_or_canceled_card"
        if reason not in REFUND_FAILURE_REASONS:
            raise StripeApiError(
                400,
                f"failure_reason must be one of {', '.join(REFUND_FAILURE_REASONS)}",
                param="failure_reason",
            )
        with self.lock:
            refund = self._get(self.refunds, "refund", refund_id)
            if refund["status"] not in ("pending", "succeeded"):
                raise StripeApiError(400, f"Refund {refund_id} is {refund['status']}; it can't change now.")
            previous = {"status": refund["status"], "failure_reason": refund["failure_reason"]}
            if refund["status"] == status:
                return copy.deepcopy(refund)
            if status == "failed":
                self._fail_refund(refund, reason)
            else:
                refund["status"] = "succeeded"
                del previous["failure_reason"]
            self.emit("charge.refund.updated", refund, previous_attributes=previous)
            self.emit("refund.updated", refund, previous_attributes=previous)
            if status == "failed":
                self.emit("refund.failed", refund)
            return copy.deepcopy(refund)

    def _fail_refund(self, refund: dict[str, Any], reason: str) -> None:
        txn = self._book(
            account=None,
            amount=refund["amount"],
            currency=refund["currency"],
            type="refund_failure",
            category="refund_failure",
            source=refund["id"],
            description="REFUND FOR FAILED REFUND",
        )
        refund.update(status="failed", failure_reason=reason, failure_balance_transaction=txn["id"])
        charge = self.charges[refund["charge"]]
        charge["amount_refunded"] -= refund["amount"]
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]

    # Disputes -------------------------------------------------------------------------------------

    @staticmethod
    def _is_inquiry(dispute: dict[str, Any]) -> bool:
        return str(dispute["status"]).startswith("warning_")

    def _has_blocking_dispute(self, charge_id: str) -> bool:
        """A chargeback not won blocks refunds; an inquiry never does."""
        return any(
            dispute["charge"] == charge_id and not self._is_inquiry(dispute) and dispute["status"] != "won"
            for dispute in self.disputes.values()
        )

    def control_open_dispute(
        self, charge_id: str, *, reason: str = "fraudulent", kind: str = "chargeback"
    ) -> dict[str, Any]:
        """The cardholder disputes the charge: an `inquiry` (no money moves, the charge stays refundable)
        or a `chargeback` (the amount and the dispute fee are withdrawn at once)."""
        if kind not in DISPUTE_KINDS:
            raise StripeApiError(400, f"kind must be one of {', '.join(DISPUTE_KINDS)}", param="kind")
        with self.lock:
            charge = self._get(self.charges, "charge", charge_id)
            if charge["status"] != "succeeded":
                raise StripeApiError(400, f"Charge {charge_id} has not succeeded; it can't be disputed.")
            if charge["refunded"]:
                raise StripeApiError(
                    400, f"Charge {charge_id} has been refunded in full; it can't be disputed."
                )
            if any(d["charge"] == charge_id for d in self.disputes.values()):
                raise StripeApiError(400, f"Charge {charge_id} already has a dispute.")
            dispute = objects.dispute(
                dispute_id=new_id("dp_"),
                charge=charge,
                created=now(),
                reason=reason,
                inquiry=kind == "inquiry",
            )
            self.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            if kind == "chargeback":
                self._book_dispute(dispute, -dispute["amount"], category="dispute")
            self.emit("charge.dispute.created", dispute)
            if kind == "chargeback":
                self.emit("charge.dispute.funds_withdrawn", dispute)
            return copy.deepcopy(dispute)

    def _book_dispute(self, dispute: dict[str, Any], amount: int, *, category: str) -> None:
        """Withdraw (negative `amount`, with the dispute fee) or reinstate a chargeback's funds."""
        withdrawn = amount < 0
        txn = self._book(
            account=None,
            amount=amount,
            currency=dispute["currency"],
            type="adjustment",
            category=category,
            source=dispute["id"],
            fee=ledger.DISPUTE_FEE.get(dispute["currency"], ledger.DEFAULT_DISPUTE_FEE) if withdrawn else 0,
            fee_description="Dispute fee" if withdrawn else None,
            description=f"Chargeback {'withdrawal' if withdrawn else 'reversal'} for {dispute['charge']}",
        )
        dispute["balance_transactions"].append(copy.deepcopy(txn))

    def _set_dispute_status(self, dispute: dict[str, Any], status: str) -> dict[str, Any]:
        previous = {"status": dispute["status"]}
        dispute["status"] = status
        return previous

    def control_submit_dispute_evidence(self, dispute_id: str) -> dict[str, Any]:
        """The platform answers the dispute: it goes under review (`charge.dispute.updated`)."""
        with self.lock:
            dispute = self._get(self.disputes, "dispute", dispute_id)
            next_status = {"needs_response": "under_review", "warning_needs_response": "warning_under_review"}
            if dispute["status"] not in next_status:
                raise StripeApiError(
                    400, f"Dispute {dispute_id} is {dispute['status']}; it takes no evidence."
                )
            previous = self._set_dispute_status(dispute, next_status[dispute["status"]])
            dispute["evidence"]["uncategorized_text"] = "Submitted through the Stripe emulator."
            details = dispute["evidence_details"]
            details.update(has_evidence=True, submission_count=details["submission_count"] + 1)
            self.emit("charge.dispute.updated", dispute, previous_attributes=previous)
            return copy.deepcopy(dispute)

    def control_close_dispute(self, dispute_id: str, *, status: str) -> dict[str, Any]:
        """Close a chargeback as `won` (the amount comes back) or `lost`, an inquiry as `warning_closed`."""
        with self.lock:
            dispute = self._get(self.disputes, "dispute", dispute_id)
            if dispute["status"] in ("won", "lost", "warning_closed"):
                raise StripeApiError(400, f"Dispute {dispute_id} is already closed ({dispute['status']}).")
            allowed = ("warning_closed",) if self._is_inquiry(dispute) else ("won", "lost")
            if status not in allowed:
                kind = "an inquiry" if self._is_inquiry(dispute) else "a chargeback"
                raise StripeApiError(
                    400,
                    f"Dispute {dispute_id} is {kind}: close it as {' or '.join(allowed)}.",
                    param="status",
                )
            self._close_dispute(dispute, status)
            return copy.deepcopy(dispute)

    def _close_dispute(self, dispute: dict[str, Any], status: str) -> None:
        previous = self._set_dispute_status(dispute, status)
        if status == "won":
            self._book_dispute(dispute, dispute["amount"], category="dispute_reversal")
        if self._is_inquiry(dispute):
            dispute["is_charge_refundable"] = False
        self.emit("charge.dispute.updated", dispute, previous_attributes=previous)
        self.emit("charge.dispute.closed", dispute)
        if status == "won":
            self.emit("charge.dispute.funds_reinstated", dispute)

    def _close_inquiries(self, charge_id: str) -> None:
        """A charge refunded in full leaves its inquiry nothing to ask about: Stripe closes it."""
        for dispute in self.disputes.values():
            if dispute["charge"] == charge_id and dispute["status"] in (
                "warning_needs_response",
                "warning_under_review",
            ):
                self._close_dispute(dispute, "warning_closed")

    def api_dispute_retrieve(self, dispute_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._get(self.disputes, "dispute", dispute_id))

    # Transfers ------------------------------------------------------------------------------------

    def _source_charge(self, source_id: str, amount: int, currency: str) -> dict[str, Any]:
        """The charge a transfer draws on, if it may: succeeded or still processing (a bank debit), in the
        transfer's currency, with at least `amount` left (amount - refunded - already transferred)."""
        charge = self.charges.get(source_id)
        if charge is None:
            raise StripeApiError(
                400, f"No such charge: '{source_id}'", code="resource_missing", param="source_transaction"
            )
        if charge["status"] not in ("succeeded", "pending"):
            raise StripeApiError(
                400,
                f"The source transaction {source_id} has {charge['status']}: a transfer can only draw on a "
                "charge that succeeded or is still processing.",
                param="source_transaction",
            )
        if charge["currency"] != currency:
            raise StripeApiError(
                400,
                f"The currency of source_transaction's balance transaction ({charge['currency']}) "
                f"must be the same as the transfer currency ({currency})",
                param="currency",
            )
        transferred = self.transferred_from_charge.get(source_id, 0)
        left = charge["amount"] - charge["amount_refunded"] - transferred
        if amount > left:
            raise StripeApiError(
                400,
                f"Insufficient funds in source transaction {source_id}: the transfer amount ({amount}) is "
                f"more than is left of the charge ({left} = {charge['amount']} charged - "
                f"{charge['amount_refunded']} refunded - {transferred} already transferred).",
                code="balance_insufficient",
                param="amount",
            )
        return charge

    def api_transfer_create(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            amount, currency = params["amount"], params["currency"].lower()
            if amount <= 0:
                raise StripeApiError(
                    400, "Amount must be at least 1 cent.", code="amount_too_small", param="amount"
                )
            destination = self.accounts.get(params["destination"])
            if destination is None:
                raise StripeApiError(
                    400,
                    f"No such destination: '{params['destination']}'",
                    code="resource_missing",
                    param="destination",
                )
            if destination["capabilities"].get("transfers") != "active":
                raise StripeApiError(
                    400,
                    "Your destination account needs to have at least one of the following capabilities "
                    "enabled: transfers, crypto_transfers, legacy_payments",
                    code="insufficient_capabilities_for_transfer",
                    param="destination",
                )
            source_id = params.get("source_transaction")
            source_type = "card"
            available_on: int | None = None
            waits_for: str | None = None
            if source_id is not None:
                charge = self._source_charge(source_id, amount, currency)
                available_on, waits_for = self._charge_funds(charge)
                if charge["payment_method_details"]["type"] == "us_bank_account":
                    source_type = "bank_account"
            elif self._available(None, currency) < amount:
                raise StripeApiError(
                    400,
                    "You have insufficient available funds in your Stripe account. Try adding funds "
                    "directly to your available balance by creating Charges using the "
                    "4000000000000077 test card.",
                    code="balance_insufficient",
                )
            transfer_id, payment_id = new_id("tr_"), new_id("py_")
            money = {"currency": currency, "available_on": available_on, "waits_for": waits_for}
            txn = self._book(
                account=None,
                amount=-amount,
                type="transfer",
                category="transfer",
                source=transfer_id,
                **money,
            )
            self._book(
                account=destination["id"],
                amount=amount,
                type="payment",
                category="charge",
                source=payment_id,
                **money,
            )
            transfer = objects.transfer(
                transfer_id=transfer_id,
                amount=amount,
                currency=currency,
                created=now(),
                destination=destination["id"],
                destination_payment=payment_id,
                balance_transaction=txn["id"],
                source_transaction=source_id,
                source_type=source_type,
                params=params,
            )
            self.transfers[transfer_id] = transfer
            if source_id is not None:
                self.transferred_from_charge[source_id] = (
                    self.transferred_from_charge.get(source_id, 0) + amount
                )
            self.emit("transfer.created", transfer)
            return copy.deepcopy(transfer)

    def api_transfer_retrieve(self, transfer_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._get(self.transfers, "transfer", transfer_id))

    def api_transfer_list(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            matching = [
                t
                for t in self.transfers.values()
                if all(t[key] == params[key] for key in ("transfer_group", "destination") if key in params)
            ]
            return _page(matching, params, "/v1/transfers", "transfer")

    def _destination_txn(self, transfer: dict[str, Any]) -> dict[str, Any]:
        """The connected account's balance transaction for the money a transfer brought it."""
        return next(
            txn
            for txn in self.balance_transactions.values()
            if txn["source"] == transfer["destination_payment"]
        )

    def api_transfer_reversal_create(self, transfer_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            transfer = self._get(self.transfers, "transfer", transfer_id)
            remaining = transfer["amount"] - transfer["amount_reversed"]
            if remaining <= 0:
                raise StripeApiError(
                    400,
                    f"Transfer {transfer_id} has already been fully reversed.",
                    code="transfer_already_reversed",
                )
            amount = params.get("amount", remaining)
            if amount <= 0:
                raise StripeApiError(
                    400, "Amount must be positive.", code="parameter_invalid_integer", param="amount"
                )
            if amount > remaining:
                raise StripeApiError(
                    400,
                    f"Reversal amount ({amount}) is greater than the amount left on transfer {transfer_id} "
                    f"({remaining}).",
                    code="amount_too_large",
                    param="amount",
                )
            received = self._destination_txn(transfer)
            # Money still pending on the account is the transfer's own and cannot have been paid out;
            # once available it may have been, and the account's available balance must cover the reversal.
            still_pending = received["status"] == "pending"
            if not still_pending and self._available(transfer["destination"], transfer["currency"]) < amount:
                raise StripeApiError(
                    400,
                    f"The connected account {transfer['destination']} has an insufficient available balance "
                    "to reverse this transfer.",
                    code="balance_insufficient",
                    param="amount",
                )
            reversal = self._reverse(
                transfer,
                amount,
                metadata=params.get("metadata", {}),
                available_on=received["available_on"] if still_pending else None,
                waits_for=self.funds_wait_for.get(received["id"]) if still_pending else None,
            )
            return copy.deepcopy(reversal)

    def _reverse(
        self,
        transfer: dict[str, Any],
        amount: int,
        *,
        metadata: dict[str, str],
        available_on: int | None,
        waits_for: str | None,
    ) -> dict[str, Any]:
        reversal_id, payment_refund_id = new_id("trr_"), new_id("pyr_")
        money = {"currency": transfer["currency"], "available_on": available_on, "waits_for": waits_for}
        txn = self._book(
            account=None,
            amount=amount,
            type="transfer_refund",
            category="transfer_reversal",
            source=reversal_id,
            **money,
        )
        self._book(
            account=transfer["destination"],
            amount=-amount,
            type="payment_refund",
            category="refund",
            source=payment_refund_id,
            **money,
        )
        reversal = objects.transfer_reversal(
            reversal_id=reversal_id,
            transfer=transfer,
            amount=amount,
            created=now(),
            balance_transaction=txn["id"],
            destination_payment_refund=payment_refund_id,
            metadata=metadata,
        )
        self.transfer_reversals[reversal_id] = reversal
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
        transfer["reversals"]["data"].insert(0, copy.deepcopy(reversal))
        self.emit("transfer.reversed", transfer)
        return reversal

    def _take_back_transfers(self, charge: dict[str, Any]) -> None:
        """A bank debit failed: the money its transfers promised never came. The emulator reverses them in
        full and settles the transactions that waited for the charge, so both sides net to zero."""
        for transfer in self.transfers.values():
            left = transfer["amount"] - transfer["amount_reversed"]
            if transfer["source_transaction"] == charge["id"] and left > 0:
                self._reverse(transfer, left, metadata={}, available_on=None, waits_for=None)
        for txn_id, charge_id in list(self.funds_wait_for.items()):
            if charge_id == charge["id"]:
                self.balance_transactions[txn_id].update(status="available", available_on=now())
                del self.funds_wait_for[txn_id]

    # Connect accounts -----------------------------------------------------------------------------

    def _check_account_country(self, country: str, agreement: str, capabilities: dict[str, Any]) -> None:
        """Stripe's cross-border rules for a US platform (connect.py)."""
        if country != connect.PLATFORM_COUNTRY:
            if country not in connect.CROSS_BORDER_COUNTRIES:
                raise StripeApiError(
                    400,
                    f"Connected accounts in {country} cannot be created by platforms in "
                    f"{connect.PLATFORM_COUNTRY}. Cross-border payouts from a platform in the US reach the "
                    "UK, the EEA, Canada and Switzerland only.",
                    code="country_unsupported",
                    param="country",
                )
            if agreement != "recipient":
                raise StripeApiError(
                    400,
                    f"Funds can't be sent to accounts located in {country} when the account is under the "
                    "`full` service agreement. Create accounts outside the platform's country "
                    f"({connect.PLATFORM_COUNTRY}) with `tos_acceptance[service_agreement]=recipient`.",
                    param="tos_acceptance[service_agreement]",
                )
        if agreement == "recipient" and capabilities.get("card_payments", {}).get("requested"):
            raise StripeApiError(
                400,
                "Accounts under the `recipient` service agreement cannot request the `card_payments` "
                "capability: they only receive transfers. Request `transfers` alone.",
                param="capabilities[card_payments]",
            )

    def api_account_create(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            country = params.get("country", connect.PLATFORM_COUNTRY).upper()
            agreement = params.get("tos_acceptance", {}).get("service_agreement", "full")
            self._check_account_country(country, agreement, params.get("capabilities", {}))
            account = objects.account(
                account_id=new_id("acct_", 16),
                params=params,
                country=country,
                currency=connect.default_currency(country),
                created=now(),
                service_agreement=agreement,
                requirements=connect.requirements(due=connect.ONBOARDING_REQUIREMENTS),
            )
            if agreement == "recipient" and not account["capabilities"]:
                account["capabilities"] = {"transfers": "inactive"}
            self.accounts[account["id"]] = account
            return copy.deepcopy(account)

    def api_account_retrieve(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._get(self.accounts, "account", account_id, param="account"))

    def api_account_link_create(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._get(self.accounts, "account", params["account"], param="account")
            token = new_id("", 32)
            link = {
                "object": "account_link",
                "created": now(),
                "expires_at": now() + ACCOUNT_LINK_LIFETIME,
                "url": f"{self.public_url}/connect/onboarding/{token}",
            }
            self.account_links[token] = {
                **link,
                "account": params["account"],
                "type": params["type"],
                "refresh_url": params["refresh_url"],
                "return_url": params["return_url"],
                "used": False,
            }
            return copy.deepcopy(link)

    def account_link_for(self, token: str) -> dict[str, Any] | None:
        """The link behind an onboarding URL, or None when it is unknown (a used or expired link is still
        returned: Stripe then sends the user to its `refresh_url`)."""
        with self.lock:
            return copy.deepcopy(self.account_links.get(token))

    def control_finish_onboarding(self, token: str, *, action: str) -> str:
        """What a person does on the onboarding page; returns where Stripe sends the browser next.

        `complete`, `submit` (details sent, left under review) and `save` (left with details missing) end
        the flow: `return_url`. `abandon` leaves without saving anything: the link is spent, and the next
        visit goes to `refresh_url`, where the app makes a new link. A used or expired link always goes to
        `refresh_url`.
        """
        if action not in ONBOARDING_ACTIONS:
            raise StripeApiError(
                400, f"action must be one of {', '.join(ONBOARDING_ACTIONS)}", param="action"
            )
        with self.lock:
            link = self.account_links.get(token)
            if link is None:
                raise resource_missing("account link", token)
            if link["used"] or link["expires_at"] < now():
                return str(link["refresh_url"])
            link["used"] = True
            if action == "abandon":
                return str(link["refresh_url"])
            state = {"complete": "complete", "submit": "under_review", "save": "details_missing"}[action]
            self._set_onboarding(self.accounts[link["account"]], state)
            return str(link["return_url"])

    def _set_onboarding(self, account: dict[str, Any], state: str) -> dict[str, Any]:
        """Move `account` to an onboarding state (connect.py) and send `account.updated` if it changed."""
        changes = connect.onboarding_changes(account, state)
        previous = _changed(account, changes)
        account.update(copy.deepcopy(changes))
        if previous:
            self.emit("account.updated", account, account=account["id"], previous_attributes=previous)
        return copy.deepcopy(account)

    def control_complete_onboarding(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            return self._set_onboarding(self._get(self.accounts, "account", account_id), "complete")

    def control_review_account(self, account_id: str, *, outcome: str) -> dict[str, Any]:
        """Finish the review of an account left under review: `approve` (transfers active) or
        `require_more` (a document must be provided again; transfers inactive)."""
        if outcome not in ("approve", "require_more"):
            raise StripeApiError(400, "outcome must be 'approve' or 'require_more'", param="outcome")
        with self.lock:
            account = self._get(self.accounts, "account", account_id)
            if not account["requirements"]["pending_verification"]:
                raise StripeApiError(400, f"Account {account_id} has nothing under review.")
            return self._set_onboarding(account, "complete" if outcome == "approve" else "more_required")

    def control_disable_transfers(self, account_id: str) -> dict[str, Any]:
        """Make the account's transfers capability inactive (as Stripe does when requirements lapse)."""
        with self.lock:
            account = self._get(self.accounts, "account", account_id)
            previous = {
                "capabilities": dict(account["capabilities"]),
                "payouts_enabled": account["payouts_enabled"],
            }
            account["capabilities"]["transfers"] = "inactive"
            account["payouts_enabled"] = False
            account["requirements"].update(
                currently_due=["external_account"], disabled_reason="requirements.past_due"
            )
            self.emit("account.updated", account, account=account_id, previous_attributes=previous)
            return copy.deepcopy(account)

    def api_login_link_create(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            account = self._get(self.accounts, "account", account_id, param="account")
            if account["type"] != "express":
                raise StripeApiError(
                    400, "Login links can only be created for Express accounts.", param="account"
                )
            if not account["details_submitted"]:
                raise StripeApiError(
                    400,
                    "Cannot create a login link for an account that has not completed onboarding.",
                    param="account",
                )
            token = new_id("", 32)
            link = {"object": "login_link", "created": now(), "url": f"{self.public_url}/express/{token}"}
            self.login_links[token] = {**link, "account": account_id}
            return copy.deepcopy(link)

    # Reporting ------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything, as JSON-ready data (for `GET /_emulator/state` and tests). `balance` and
        `account_balances` are summed from `balance_transactions`."""
        with self.lock:
            return copy.deepcopy(
                {
                    "checkout_sessions": self.checkout_sessions,
                    "payment_intents": self.payment_intents,
                    "charges": self.charges,
                    "refunds": self.refunds,
                    "transfers": self.transfers,
                    "transfer_reversals": self.transfer_reversals,
                    "disputes": self.disputes,
                    "accounts": self.accounts,
                    "account_links": list(self.account_links.values()),
                    "login_links": list(self.login_links.values()),
                    "payouts": self.payouts,
                    "balance_transactions": self.balance_transactions,
                    "account_of": self.account_of,
                    "balance": self._balances(None),
                    "account_balances": {
                        account_id: self._balances(account_id) for account_id in self.accounts
                    },
                    "idempotency_keys": {
                        key: {"status": record["status"], "first_used_at": record["first_used_at"]}
                        for key, record in self.idempotency.items()
                    },
                    "events": self.events,
                    "requests": self.request_log,
                    "settings": {
                        "async_delay_seconds": self.async_delay_seconds,
                        "refunds_start_pending": self.refunds_start_pending,
                    },
                }
            ) | {
                "deliveries": self.webhooks.to_list(),
                "faults": self.faults.to_list(),
                "webhooks": self._webhook_settings(),
            }

    def _webhook_settings(self) -> dict[str, Any]:
        settings = vars(self.webhooks.settings).copy()
        # Secrets are development values, but there is no reason to echo them.
        settings.pop("secret", None)
        settings.pop("connect_secret", None)
        return settings
