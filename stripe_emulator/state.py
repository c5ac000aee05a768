"""The emulator's in-memory Stripe account: objects, money rules and the events they raise.

Everything here runs under one re-entrant lock: the HTTP server is threaded, the webhook worker and the
expiry clock are threads too, and money rules (a refund must not exceed what is left) are check-then-act.
Objects are kept as plain dicts already shaped like Stripe's JSON; helpers hand out deep copies so a caller
can never mutate state behind the lock. With a state file (`--state-file`), leaving the outermost
`with self.lock:` saves the persisted fields when they changed (persistence.py), so every change made
under the lock reaches the file before the answer goes out.

Nothing here knows about Django or HTTP. The API layer (`api.py`) validates parameters and calls the
`api_*` methods; the pages and control endpoints call the `control_*` methods.

Money model (what the rules check):
- A paid charge credits the platform's *pending* balance; only `control_set_balance` sets the *available*
  balance, so a transfer without `source_transaction` fails with `balance_insufficient` until a test or a
  human funds the platform.
- A transfer with `source_transaction` draws on that charge instead; the sum of transfers from one charge
  never exceeds the charge amount. A transfer credits the connected account's available balance; a
  reversal needs that balance to cover it and moves the money back to the platform's available balance.
- A refund never exceeds the charge's unrefunded amount and is refused while the charge carries a dispute
  that is not won (`charge_disputed`).
"""

from __future__ import annotations

import copy
import json
import secrets
import string
import threading
import time
from pathlib import Path
from typing import Any

from stripe_emulator.faults import FaultPlan
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
PAYMENT_METHODS = ("card", "declined_card", "delayed_success", "delayed_failure")
# Stripe's test card numbers, so a human can type the usual ones on the hosted page.
DECLINED_TEST_CARDS = {"4000000000000002", "4000000000009995", "4000000000000069"}
# Stripe's minimum charge per currency, in minor units (the common ones; others only need to be positive).
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50}
# The request log is for tests and debugging; cap it so a long development session does not grow forever.
REQUEST_LOG_LIMIT = 10_000
ONBOARDING_REQUIREMENTS = [
    "business_profile.url",
    "external_account",
    "individual.dob.day",
    "individual.first_name",
    "individual.last_name",
    "tos_acceptance.date",
]

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    return int(time.time())


def list_object(data: list[dict[str, Any]], url: str, *, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


class EmulatorState:
    """One emulated Stripe platform account and its connected accounts."""

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
        self.transfer_reversals: dict[str, dict[str, Any]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.account_links: dict[str, dict[str, Any]] = {}  # keyed by the token in the link's URL
        self.login_links: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.balance: dict[str, dict[str, int]] = {"available": {}, "pending": {}}
        self.account_balances: dict[str, dict[str, int]] = {}
        self.idempotency: dict[str, dict[str, Any]] = {}
        self.in_flight_keys: set[str] = set()
        self.request_log: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self.lock:
            self._reset_objects()
            self._saved_text = None  # write the empty account even if nothing seemed to change
            self.faults.clear()
            self.async_delay_seconds = None
            self.refunds_start_pending = False
        self.webhooks.reset()

    # Persistence ----------------------------------------------------------------------------------

    def _load(self) -> None:
        """Take over the account stored in the state file (raises `StateFileError` naming the file)."""
        assert self.state_file is not None
        fields = load_state_file(self.state_file)
        try:
            with self.lock:
                if fields is not None:
                    for name, value in fields.items():
                        setattr(self, name, value)
                    self._saved_text = dump_state(self._persisted_fields())
                # Leaving the lock writes the file when it did not exist, so an unwritable path fails now.
        except OSError as exc:
            raise StateFileError(f"Cannot write Stripe emulator state file {self.state_file}: {exc}") from exc

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
        """Expire open sessions past their `expires_at` (called by the clock thread and on reads)."""
        with self.lock:
            current = now()
            for session in self.checkout_sessions.values():
                if session["status"] == "open" and session["expires_at"] <= current:
                    self._expire_session(session)

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
            intent, _charge = self._create_payment(session, private, delayed=is_delayed, card_digits=digits)
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
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        intent_data = private["payment_intent_data"]
        created = now()
        intent_id = new_id("pi_")
        charge_id = new_id("ch_")
        amount = session["amount_total"]
        currency = session["currency"]
        method_type = "us_bank_account" if delayed else "card"
        details: dict[str, Any] = {"type": method_type}
        if delayed:
            details["us_bank_account"] = {"bank_name": "STRIPE TEST BANK", "last4": "6789"}
        else:
            details["card"] = {"brand": "visa", "last4": (card_digits or "4242424242424242")[-4:]}
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "balance_transaction": new_id("txn_"),
            "billing_details": {"email": session["customer_email"], "name": None},
            "captured": True,
            "created": created,
            "currency": currency,
            "description": intent_data.get("description"),
            "disputed": False,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": dict(intent_data.get("metadata", {})),
            "paid": not delayed,
            "payment_intent": intent_id,
            "payment_method_details": details,
            "receipt_email": session["customer_email"],
            "refunded": False,
            "status": "pending" if delayed else "succeeded",
            "transfer_group": intent_data.get("transfer_group"),
        }
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0 if delayed else amount,
            "capture_method": "automatic_async",
            "created": created,
            "currency": currency,
            "customer": None,
            "description": intent_data.get("description"),
            "last_payment_error": None,
            "latest_charge": charge_id,
            "livemode": False,
            "metadata": dict(intent_data.get("metadata", {})),
            "payment_method_types": [method_type],
            "receipt_email": session["customer_email"],
            "status": "processing" if delayed else "succeeded",
            "transfer_group": intent_data.get("transfer_group"),
        }
        self.charges[charge_id] = charge
        self.payment_intents[intent_id] = intent
        if not delayed:
            self._credit_pending(currency, amount)
        return intent, charge

    def _credit_pending(self, currency: str, amount: int) -> None:
        pending = self.balance["pending"]
        pending[currency] = pending.get(currency, 0) + amount

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
                self._credit_pending(charge["currency"], charge["amount"])
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
                self.emit("checkout.session.async_payment_failed", session)
            return copy.deepcopy(session)

    # Payment intents ------------------------------------------------------------------------------

    def api_payment_intent_retrieve(self, intent_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._get(self.payment_intents, "payment_intent", intent_id))

    # Refunds --------------------------------------------------------------------------------------

    def api_refund_create(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
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
            else:
                charge = self._get(self.charges, "charge", params["charge"], param="charge")
                if charge["status"] != "succeeded":
                    raise StripeApiError(
                        400, f"Charge {charge['id']} has not succeeded.", code="charge_not_refundable"
                    )
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
            refund = {
                "id": new_id("re_"),
                "object": "refund",
                "amount": amount,
                "balance_transaction": new_id("txn_"),
                "charge": charge["id"],
                "created": now(),
                "currency": charge["currency"],
                "failure_reason": None,
                "metadata": params.get("metadata", {}),
                "payment_intent": charge["payment_intent"],
                "reason": params.get("reason"),
                "source_transfer_reversal": None,
                "status": "pending" if self.refunds_start_pending else "succeeded",
                "transfer_reversal": None,
            }
            self.refunds[refund["id"]] = refund
            # The refunded amount is reserved at once, so two refunds cannot both take the last dollars.
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            self.emit("refund.created", refund)
            self.emit("charge.refunded", charge)
            return copy.deepcopy(refund)

    def api_refund_retrieve(self, refund_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._get(self.refunds, "refund", refund_id))

    def control_settle_refund(self, refund_id: str, *, status: str) -> dict[str, Any]:
        """Move a refund to `succeeded` or `failed` (a failed refund gives the amount back to the charge)."""
        if status not in ("succeeded", "failed"):
            raise StripeApiError(400, "status must be 'succeeded' or 'failed'", param="status")
        with self.lock:
            refund = self._get(self.refunds, "refund", refund_id)
            if refund["status"] not in ("pending", "succeeded"):
                raise StripeApiError(400, f"Refund {refund_id} is {refund['status']}; it can't change now.")
            previous = refund["status"]
            if previous == status:
                return copy.deepcopy(refund)
            refund["status"] = status
            if status == "failed":
                refund["failure_reason"] = "expired_or_canceled_card"
                refund["failure_balance_transaction"] = new_id("txn_")
                charge = self.charges[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
                self.emit("refund.failed", refund)
            self.emit("refund.updated", refund, previous_attributes={"status": previous})
            return copy.deepcopy(refund)

    # Disputes -------------------------------------------------------------------------------------

    def _has_blocking_dispute(self, charge_id: str) -> bool:
        return any(
            dispute["charge"] == charge_id and dispute["status"] != "won"
            for dispute in self.disputes.values()
        )

    def control_open_dispute(self, charge_id: str, *, reason: str = "fraudulent") -> dict[str, Any]:
        with self.lock:
            charge = self._get(self.charges, "charge", charge_id)
            if charge["status"] != "succeeded":
                raise StripeApiError(400, f"Charge {charge_id} has not succeeded; it can't be disputed.")
            if any(d["charge"] == charge_id for d in self.disputes.values()):
                raise StripeApiError(400, f"Charge {charge_id} already has a dispute.")
            dispute = {
                "id": new_id("dp_"),
                "object": "dispute",
                "amount": charge["amount"] - charge["amount_refunded"],
                "balance_transactions": [],
                "charge": charge_id,
                "created": now(),
                "currency": charge["currency"],
                "evidence_details": {
                    "due_by": now() + 7 * 24 * 3600,
                    "has_evidence": False,
                    "submission_count": 0,
                },
                "is_charge_refundable": False,
                "livemode": False,
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "reason": reason,
                "status": "needs_response",
            }
            self.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            self.emit("charge.dispute.created", dispute)
            return copy.deepcopy(dispute)

    def control_close_dispute(self, dispute_id: str, *, status: str) -> dict[str, Any]:
        if status not in ("won", "lost", "warning_closed"):
            raise StripeApiError(400, "status must be 'won', 'lost' or 'warning_closed'", param="status")
        with self.lock:
            dispute = self._get(self.disputes, "dispute", dispute_id)
            if dispute["status"] in ("won", "lost", "warning_closed"):
                raise StripeApiError(400, f"Dispute {dispute_id} is already closed ({dispute['status']}).")
            dispute["status"] = status
            self.emit("charge.dispute.closed", dispute)
            return copy.deepcopy(dispute)

    # Balance --------------------------------------------------------------------------------------

    def control_set_balance(self, *, available: int, currency: str = "usd") -> dict[str, Any]:
        with self.lock:
            self.balance["available"][currency.lower()] = available
            return copy.deepcopy(self.balance)

    def control_set_account_balance(self, account_id: str, *, available: int, currency: str = "usd") -> dict:
        with self.lock:
            self._get(self.accounts, "account", account_id)
            self.account_balances.setdefault(account_id, {})[currency.lower()] = available
            return copy.deepcopy(self.account_balances[account_id])

    # Transfers ------------------------------------------------------------------------------------

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
            if source_id is not None:
                charge = self.charges.get(source_id)
                if charge is None:
                    raise StripeApiError(
                        400,
                        f"No such charge: '{source_id}'",
                        code="resource_missing",
                        param="source_transaction",
                    )
                if charge["status"] != "succeeded":
                    raise StripeApiError(
                        400,
                        f"The source transaction {source_id} has not succeeded.",
                        param="source_transaction",
                    )
                if charge["currency"] != currency:
                    raise StripeApiError(
                        400,
                        f"The currency of source_transaction's balance transaction ({charge['currency']}) "
                        f"must be the same as the transfer currency ({currency})",
                        param="currency",
                    )
                already = sum(
                    t["amount"] for t in self.transfers.values() if t["source_transaction"] == source_id
                )
                if already + amount > charge["amount"]:
                    raise StripeApiError(
                        400,
                        f"Transfers from {source_id} would total {already + amount}, more than the charge's "
                        f"{charge['amount']}.",
                        code="balance_insufficient",
                        param="amount",
                    )
            else:
                available = self.balance["available"].get(currency, 0)
                if available < amount:
                    raise StripeApiError(
                        400,
                        "You have insufficient available funds in your Stripe account. Try adding funds "
                        "directly to your available balance by creating Charges using the "
                        "4000000000000077 test card.",
                        code="balance_insufficient",
                    )
                self.balance["available"][currency] = available - amount
            transfer_id = new_id("tr_")
            transfer = {
                "id": transfer_id,
                "object": "transfer",
                "amount": amount,
                "amount_reversed": 0,
                "balance_transaction": new_id("txn_"),
                "created": now(),
                "currency": currency,
                "description": params.get("description"),
                "destination": destination["id"],
                "destination_payment": new_id("py_"),
                "livemode": False,
                "metadata": params.get("metadata", {}),
                "reversals": list_object([], f"/v1/transfers/{transfer_id}/reversals"),
                "reversed": False,
                "source_transaction": source_id,
                "source_type": "card",
                "transfer_group": params.get("transfer_group"),
            }
            self.transfers[transfer_id] = transfer
            balances = self.account_balances.setdefault(destination["id"], {})
            balances[currency] = balances.get(currency, 0) + amount
            self.emit("transfer.created", transfer)
            return copy.deepcopy(transfer)

    def api_transfer_list(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            matching = [
                t
                for t in self.transfers.values()
                if all(t[key] == params[key] for key in ("transfer_group", "destination") if key in params)
            ]
            # Newest first, like Stripe; ties keep creation order reversed.
            matching = list(reversed(matching))
            matching.sort(key=lambda t: t["created"], reverse=True)
            if "starting_after" in params:
                ids = [t["id"] for t in matching]
                if params["starting_after"] not in ids:
                    raise resource_missing("transfer", params["starting_after"], param="starting_after")
                matching = matching[ids.index(params["starting_after"]) + 1 :]
            limit = params.get("limit", 10)
            if not 1 <= limit <= 100:
                raise StripeApiError(400, "limit must be between 1 and 100", param="limit")
            page = matching[:limit]
            return list_object(copy.deepcopy(page), "/v1/transfers", has_more=len(matching) > limit)

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
            currency = transfer["currency"]
            account_balance = self.account_balances.setdefault(transfer["destination"], {})
            if account_balance.get(currency, 0) < amount:
                raise StripeApiError(
                    400,
                    f"The connected account {transfer['destination']} has an insufficient available balance "
                    "to reverse this transfer.",
                    code="balance_insufficient",
                    param="amount",
                )
            account_balance[currency] -= amount
            available = self.balance["available"]
            available[currency] = available.get(currency, 0) + amount
            reversal = {
                "id": new_id("trr_"),
                "object": "transfer_reversal",
                "amount": amount,
                "balance_transaction": new_id("txn_"),
                "created": now(),
                "currency": currency,
                "destination_payment_refund": new_id("pyr_"),
                "metadata": params.get("metadata", {}),
                "source_refund": None,
                "transfer": transfer_id,
            }
            self.transfer_reversals[reversal["id"]] = reversal
            transfer["amount_reversed"] += amount
            transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
            transfer["reversals"]["data"].insert(0, copy.deepcopy(reversal))
            self.emit("transfer.reversed", transfer)
            return copy.deepcopy(reversal)

    # Connect accounts -----------------------------------------------------------------------------

    def api_account_create(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            account_type = params["type"]
            requested = {
                name: "inactive"
                for name, spec in params.get("capabilities", {}).items()
                if spec.get("requested")
            }
            country = params.get("country", "US")
            account = {
                "id": new_id("acct_", 16),
                "object": "account",
                "business_type": params.get("business_type"),
                "capabilities": requested,
                "charges_enabled": False,
                "controller": {"type": "application", "is_controller": True},
                "country": country,
                "created": now(),
                "default_currency": "usd" if country == "US" else None,
                "details_submitted": False,
                "email": params.get("email"),
                "metadata": params.get("metadata", {}),
                "payouts_enabled": False,
                "requirements": {
                    "currently_due": list(ONBOARDING_REQUIREMENTS),
                    "eventually_due": list(ONBOARDING_REQUIREMENTS),
                    "past_due": list(ONBOARDING_REQUIREMENTS),
                    "pending_verification": [],
                    "disabled_reason": "requirements.past_due",
                    "current_deadline": None,
                    "errors": [],
                },
                "type": account_type,
            }
            self.accounts[account["id"]] = account
            self.account_balances[account["id"]] = {}
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
        """The link behind an onboarding URL, or None when it is unknown, used or expired (Stripe then
        sends the user to `refresh_url`, so callers need the record even when it is not usable)."""
        with self.lock:
            return copy.deepcopy(self.account_links.get(token))

    def control_finish_onboarding(self, token: str, *, complete: bool) -> str:
        """Complete or abandon onboarding through an account link; returns where to send the browser."""
        with self.lock:
            link = self.account_links.get(token)
            if link is None:
                raise resource_missing("account link", token)
            if link["used"] or link["expires_at"] < now():
                return link["refresh_url"]
            link["used"] = True
            if not complete:
                return link["refresh_url"]
            self.control_complete_onboarding(link["account"])
            return link["return_url"]

    def control_complete_onboarding(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            account = self._get(self.accounts, "account", account_id)
            previous = {
                "capabilities": dict(account["capabilities"]),
                "charges_enabled": account["charges_enabled"],
                "payouts_enabled": account["payouts_enabled"],
                "details_submitted": account["details_submitted"],
                "requirements": copy.deepcopy(account["requirements"]),
            }
            account["capabilities"] = dict.fromkeys(account["capabilities"], "active") or {
                "transfers": "active"
            }
            account["charges_enabled"] = True
            account["payouts_enabled"] = True
            account["details_submitted"] = True
            account["requirements"].update(
                currently_due=[], eventually_due=[], past_due=[], disabled_reason=None
            )
            self.emit("account.updated", account, account=account_id, previous_attributes=previous)
            return copy.deepcopy(account)

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
        """Everything, as JSON-ready data (for `GET /_emulator/state` and tests)."""
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
                    "balance": self.balance,
                    "account_balances": self.account_balances,
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
