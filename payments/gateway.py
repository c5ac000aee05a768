"""The Stripe gateway: the only module in the project that imports `stripe`.

Everything the app asks of Stripe goes through the functions below. They take keyword-only, typed
arguments, call Stripe through one `StripeClient` built from Django settings, and return small frozen
dataclasses of our own (not Stripe objects): the rest of the app never touches the SDK's object model,
and tests can build these values directly. Each dataclass keeps the full Stripe JSON in `raw` (excluded
from comparison and repr) for storing snapshots.

Settings:
- `STRIPE_SECRET_KEY`: the secret API key (`sk_test_...` / `sk_live_...`).
- `STRIPE_API_BASE`: when set (the local emulator, e.g. `http://127.0.0.1:12111`), every SDK base address
  (api, connect, files) points at that origin; empty means real Stripe.
- `STRIPE_WEBHOOK_SECRET` / `STRIPE_CONNECT_WEBHOOK_SECRET`: signing secrets of the two webhook endpoints.
- `STRIPE_HTTP_TIMEOUT_SECONDS` (default 20) and `STRIPE_MAX_NETWORK_RETRIES` (default 2), optional.

The client is rebuilt whenever one of these settings changes (tests override them per test); otherwise one
client, and so one pool of connections per thread, is reused.

Idempotency: every POST takes a required keyword-only `idempotency_key`. Derive it from the database row the
call is for (`payout-<id>`, `refund-<id>`, `checkout-<booking>-<attempt>`), never from a random value: the SDK
retries (`max_network_retries`) with the key it was given, and a task retry after a crash must reuse it too.

Errors: Stripe's exceptions never leave this module. They become
- `GatewayTemporaryError` (`retryable=True`): connection failures and timeouts, 5xx, 429 rate limits and 409
  "idempotency key in use". Retry later with the SAME idempotency key.
- `GatewayRejectedError` (`retryable=False`): invalid requests (with Stripe's `code`, e.g.
  `balance_insufficient`, `charge_already_refunded`, `charge_disputed`), card errors, idempotency key reused
  with other parameters, authentication and permission errors. Retrying the same call will not help.
  `GatewayNotFoundError` is the `resource_missing` case.
- `WebhookSignatureError` for a webhook whose signature (or body) does not verify.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings

DEFAULT_TIMEOUT_SECONDS = 20
DEFAULT_MAX_NETWORK_RETRIES = 2


# Errors -------------------------------------------------------------------------------------------


class GatewayError(Exception):
    """A Stripe call failed. `retryable` says whether trying again (same idempotency key) can help."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        param: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.param = param
        self.request_id = request_id

    def __str__(self) -> str:
        details = ", ".join(
            f"{name}={value}"
            for name, value in (("code", self.code), ("status", self.http_status), ("param", self.param))
            if value is not None
        )
        return f"{self.message} ({details})" if details else self.message


class GatewayTemporaryError(GatewayError):
    """Stripe could not be reached or asked us to come back later; retry with the same key."""

    retryable = True


class GatewayRejectedError(GatewayError):
    """Stripe refused the request; the same request will be refused again."""

    retryable = False


class GatewayNotFoundError(GatewayRejectedError):
    """The object does not exist (Stripe's `resource_missing`)."""


class WebhookSignatureError(Exception):
    """The webhook payload is not signed with our secret, the signature is stale, or the body is not JSON."""


def _translate(exc: stripe.StripeError) -> GatewayError:
    body: dict[str, Any] = exc.json_body if isinstance(exc.json_body, dict) else {}
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
    details: dict[str, Any] = {
        "code": exc.code
        or error.get("code")
        or (error.get("type") if isinstance(exc, stripe.IdempotencyError) else None),
        "http_status": exc.http_status,
        "param": getattr(exc, "param", None) or error.get("param"),
        "request_id": exc.request_id,
    }
    message = error.get("message") or exc.user_message or str(exc) or type(exc).__name__
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return GatewayTemporaryError(message, **details)
    if isinstance(exc, stripe.IdempotencyError) and exc.http_status == 409:
        return GatewayTemporaryError(message, **details)
    if isinstance(exc, stripe.APIError):  # 5xx and 409 (a request with this key is still in flight)
        return GatewayTemporaryError(message, **details)
    if isinstance(exc, stripe.InvalidRequestError) and (
        exc.http_status == 404 or details["code"] == "resource_missing"
    ):
        return GatewayNotFoundError(message, **details)
    if exc.http_status is not None and (exc.http_status >= 500 or exc.http_status in (409, 429)):
        return GatewayTemporaryError(message, **details)
    return GatewayRejectedError(message, **details)


# The client ---------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _client_for(api_key: str, api_base: str, timeout: float, max_network_retries: int) -> stripe.StripeClient:
    base_addresses: dict[str, str] = {}
    if api_base:
        origin = api_base.rstrip("/")
        base_addresses = {"api": origin, "connect": origin, "files": origin}
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses or None,  # type: ignore[arg-type]
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


# Set while a person waits on the answer (a web request): the short budget instead of the background one.
_interactive: ContextVar[bool] = ContextVar("stripe_interactive", default=False)


@contextmanager
def interactive() -> Iterator[None]:
    """Calls made inside get the web budget (``STRIPE_WEB_TIMEOUT_SECONDS`` per try,
    ``STRIPE_WEB_MAX_NETWORK_RETRIES`` retries): a hanging Stripe must answer a person with "try again"
    well before the web server's worker timeout, instead of tying up every worker. Tasks keep the long
    budget, since nobody waits on them and a retry there costs nothing."""
    token = _interactive.set(True)
    try:
        yield
    finally:
        _interactive.reset(token)


def stripe_client() -> stripe.StripeClient:
    """The client for the current settings (cached per distinct settings, so overrides take effect)."""
    if _interactive.get():
        timeout = float(getattr(settings, "STRIPE_WEB_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
        retries = int(getattr(settings, "STRIPE_WEB_MAX_NETWORK_RETRIES", DEFAULT_MAX_NETWORK_RETRIES))
    else:
        timeout = float(getattr(settings, "STRIPE_HTTP_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
        retries = int(getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", DEFAULT_MAX_NETWORK_RETRIES))
    return _client_for(
        settings.STRIPE_SECRET_KEY, getattr(settings, "STRIPE_API_BASE", "") or "", timeout, retries
    )


def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return method(*args, **kwargs)
    except stripe.StripeError as exc:
        raise _translate(exc) from exc


def _options(idempotency_key: str) -> dict[str, str]:
    if not idempotency_key:
        raise ValueError("idempotency_key must be a non-empty string derived from the row the call is for")
    return {"idempotency_key": idempotency_key}


# Values -------------------------------------------------------------------------------------------


def _timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value is not None else None


def _as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _id_of(value: Any) -> str | None:
    """An expandable field's id whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return value["id"]


@dataclass(frozen=True)
class Charge:
    id: str
    amount: int
    amount_refunded: int
    currency: str
    status: str  # succeeded / pending / failed
    paid: bool
    refunded: bool
    disputed: bool
    payment_intent_id: str | None
    transfer_group: str | None
    balance_transaction_id: str | None = None  # null until a delayed payment succeeds
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Charge:
        return cls(
            id=data["id"],
            amount=data["amount"],
            amount_refunded=data["amount_refunded"],
            currency=data["currency"],
            status=data["status"],
            paid=data["paid"],
            refunded=data["refunded"],
            disputed=data["disputed"],
            payment_intent_id=_id_of(data.get("payment_intent")),
            transfer_group=data.get("transfer_group"),
            balance_transaction_id=_id_of(data.get("balance_transaction")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class BalanceTransaction:
    """One movement of the platform's balance: `fee` is what Stripe kept of it."""

    id: str
    amount: int
    fee: int
    net: int
    currency: str
    type: str
    status: str  # pending / available

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> BalanceTransaction:
        return cls(
            id=data["id"],
            amount=data["amount"],
            fee=data["fee"],
            net=data["net"],
            currency=data["currency"],
            type=data["type"],
            status=data["status"],
        )


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str  # succeeded / processing / requires_payment_method / canceled ...
    amount: int
    amount_received: int
    currency: str
    metadata: dict[str, str]
    transfer_group: str | None
    latest_charge_id: str | None
    latest_charge: Charge | None  # set when retrieved with the charge expanded
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> PaymentIntent:
        charge = data.get("latest_charge")
        return cls(
            id=data["id"],
            status=data["status"],
            amount=data["amount"],
            amount_received=data.get("amount_received", 0),
            currency=data["currency"],
            metadata=dict(data.get("metadata") or {}),
            transfer_group=data.get("transfer_group"),
            latest_charge_id=_id_of(charge),
            latest_charge=Charge.from_stripe(charge) if isinstance(charge, Mapping) else None,
            raw=dict(data),
        )


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None  # where to send the client; only while the session is open
    status: str  # open / complete / expired
    payment_status: str  # paid / unpaid / no_payment_required: the field that says we were paid
    amount_total: int
    currency: str
    client_reference_id: str | None
    metadata: dict[str, str]
    expires_at: datetime
    payment_intent_id: str | None  # null until the customer confirms
    payment_intent: PaymentIntent | None  # set when retrieved with the payment expanded
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_paid(self) -> bool:
        return self.payment_status == "paid"

    @property
    def charge_id(self) -> str | None:
        return self.payment_intent.latest_charge_id if self.payment_intent else None

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> CheckoutSession:
        intent = data.get("payment_intent")
        expires_at = _timestamp(data["expires_at"])
        assert expires_at is not None  # Stripe always sets it
        return cls(
            id=data["id"],
            url=data.get("url"),
            status=data["status"],
            payment_status=data["payment_status"],
            amount_total=data["amount_total"],
            currency=data["currency"],
            client_reference_id=data.get("client_reference_id"),
            metadata=dict(data.get("metadata") or {}),
            expires_at=expires_at,
            payment_intent_id=_id_of(intent),
            payment_intent=PaymentIntent.from_stripe(intent) if isinstance(intent, Mapping) else None,
            raw=dict(data),
        )


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    currency: str
    status: str  # pending / requires_action / succeeded / failed / canceled
    charge_id: str | None
    payment_intent_id: str | None
    failure_reason: str | None
    metadata: dict[str, str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Refund:
        return cls(
            id=data["id"],
            amount=data["amount"],
            currency=data["currency"],
            status=data["status"],
            charge_id=_id_of(data.get("charge")),
            payment_intent_id=_id_of(data.get("payment_intent")),
            failure_reason=data.get("failure_reason"),
            metadata=dict(data.get("metadata") or {}),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Dispute:
    """A dispute opened by the client's bank: an inquiry (`warning_*` statuses, no money moved yet, still
    refundable) or a chargeback (money withdrawn at once, with a fee)."""

    id: str
    charge_id: str
    payment_intent_id: str | None
    amount: int
    currency: str
    status: str  # warning_needs_response / warning_under_review / warning_closed / needs_response / ...
    reason: str
    is_charge_refundable: bool
    funds_withdrawn: int  # minor units taken from the platform by this dispute's balance transactions
    funds_reinstated: int  # minor units given back (a won chargeback)
    fee: int  # Stripe's dispute fees, minor units
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_inquiry(self) -> bool:
        return self.status.startswith("warning_")

    @property
    def is_closed(self) -> bool:
        return self.status in ("won", "lost", "warning_closed")

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Dispute:
        transactions = [t for t in data.get("balance_transactions") or [] if isinstance(t, Mapping)]
        charge_id = _id_of(data["charge"])
        assert charge_id is not None
        return cls(
            id=data["id"],
            charge_id=charge_id,
            payment_intent_id=_id_of(data.get("payment_intent")),
            amount=data["amount"],
            currency=data["currency"],
            status=data["status"],
            reason=data.get("reason") or "",
            is_charge_refundable=bool(data.get("is_charge_refundable")),
            funds_withdrawn=-sum(t["amount"] for t in transactions if t["amount"] < 0),
            funds_reinstated=sum(t["amount"] for t in transactions if t["amount"] > 0),
            fee=sum(t.get("fee", 0) for t in transactions),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Transfer:
    id: str
    amount: int
    amount_reversed: int
    currency: str
    destination: str
    source_transaction: str | None
    transfer_group: str | None
    reversed: bool
    metadata: dict[str, str]
    created: datetime
    # The reversals Stripe lists with the transfer (the first page, up to ten; retrieve says all of ours).
    reversals: tuple[TransferReversal, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Transfer:
        created = _timestamp(data["created"])
        assert created is not None
        destination = _id_of(data["destination"])
        assert destination is not None
        return cls(
            id=data["id"],
            amount=data["amount"],
            amount_reversed=data["amount_reversed"],
            currency=data["currency"],
            destination=destination,
            source_transaction=_id_of(data.get("source_transaction")),
            transfer_group=data.get("transfer_group"),
            reversed=data["reversed"],
            metadata=dict(data.get("metadata") or {}),
            created=created,
            reversals=tuple(
                TransferReversal.from_stripe(item) for item in (data.get("reversals") or {}).get("data", [])
            ),
            raw=dict(data),
        )


@dataclass(frozen=True)
class TransferReversal:
    id: str
    amount: int
    currency: str
    transfer_id: str
    metadata: dict[str, str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> TransferReversal:
        transfer_id = _id_of(data["transfer"])
        assert transfer_id is not None
        return cls(
            id=data["id"],
            amount=data["amount"],
            currency=data["currency"],
            transfer_id=transfer_id,
            metadata=dict(data.get("metadata") or {}),
            raw=dict(data),
        )


@dataclass(frozen=True)
class ConnectAccount:
    id: str
    email: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    transfers_capability: str | None  # active / inactive / pending, None when not requested
    requirements_due: tuple[str, ...]
    disabled_reason: str | None
    metadata: dict[str, str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def can_receive_transfers(self) -> bool:
        return self.transfers_capability == "active"

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> ConnectAccount:
        capabilities = data.get("capabilities") or {}
        requirements = data.get("requirements") or {}
        return cls(
            id=data["id"],
            email=data.get("email"),
            charges_enabled=bool(data.get("charges_enabled")),
            payouts_enabled=bool(data.get("payouts_enabled")),
            details_submitted=bool(data.get("details_submitted")),
            transfers_capability=capabilities.get("transfers"),
            requirements_due=tuple(requirements.get("currently_due") or ()),
            disabled_reason=requirements.get("disabled_reason"),
            metadata=dict(data.get("metadata") or {}),
            raw=dict(data),
        )


@dataclass(frozen=True)
class AccountLink:
    url: str  # single use; send the provider there at once
    expires_at: datetime


@dataclass(frozen=True)
class LoginLink:
    url: str


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created: datetime
    livemode: bool
    account: str | None  # the connected account, for Connect events
    api_version: str | None
    data_object: dict[str, Any]
    previous_attributes: dict[str, Any] | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


# Checkout -----------------------------------------------------------------------------------------

CHECKOUT_EXPAND = ["payment_intent.latest_charge"]
# Cards (wallets such as Apple Pay and Google Pay are cards too) settle while the client waits. Bank debits
# settle days later, long after a slot hold must be given back, so Checkout does not offer them.
PAYMENT_METHOD_TYPES = ("card",)


def checkout_session_create(
    *,
    booking_ref: str,
    amount: int,
    currency: str,
    product_name: str,
    customer_email: str | None,
    success_url: str,
    cancel_url: str,
    expires_at: datetime,
    transfer_group: str,
    metadata: Mapping[str, str],
    idempotency_key: str,
) -> CheckoutSession:
    """Create a one-off Checkout Session for `amount` minor units.

    `booking_ref` becomes `client_reference_id`; `metadata` goes on the session and on its PaymentIntent
    (so the charge carries it too), with `transfer_group` tying the later transfer to this payment.
    `success_url` must contain the literal `{CHECKOUT_SESSION_ID}`; `expires_at` must lie 30 minutes to 24
    hours ahead. Separate charges and transfers: no `transfer_data`, no `application_fee_amount`; and no
    `payment_method_types` (gone in API version endive). `allowed_payment_method_types` filters Stripe's
    dynamic choice down to `PAYMENT_METHOD_TYPES`: methods that settle at once, so a booking is confirmed
    or released while its hold lasts (docs/decisions.md, "Only payments that settle at once").
    """
    if amount <= 0:
        raise ValueError("amount must be positive (minor units)")
    if "{CHECKOUT_SESSION_ID}" not in success_url:
        raise ValueError("success_url must contain the literal {CHECKOUT_SESSION_ID}")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": product_name},
                },
            }
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": booking_ref,
        "metadata": dict(metadata),
        "payment_intent_data": {"metadata": dict(metadata), "transfer_group": transfer_group},
        "expires_at": int(expires_at.timestamp()),
        "allowed_payment_method_types": list(PAYMENT_METHOD_TYPES),
    }
    if customer_email:
        params["customer_email"] = customer_email
    session = _call(stripe_client().v1.checkout.sessions.create, params, _options(idempotency_key))
    return CheckoutSession.from_stripe(_as_dict(session))


def checkout_session_retrieve(*, session_id: str) -> CheckoutSession:
    """The session with its PaymentIntent and that intent's latest charge expanded (what fulfilment needs)."""
    session = _call(stripe_client().v1.checkout.sessions.retrieve, session_id, {"expand": CHECKOUT_EXPAND})
    return CheckoutSession.from_stripe(_as_dict(session))


def checkout_session_expire(*, session_id: str, idempotency_key: str) -> CheckoutSession:
    """Expire an open session so it can no longer be paid. Stripe refuses (rejected, not retryable) when the
    session is no longer open: re-retrieve it then, it may have been paid meanwhile."""
    session = _call(stripe_client().v1.checkout.sessions.expire, session_id, None, _options(idempotency_key))
    return CheckoutSession.from_stripe(_as_dict(session))


# Payments and refunds -----------------------------------------------------------------------------


def payment_intent_retrieve(*, payment_intent_id: str) -> PaymentIntent:
    """The PaymentIntent with its latest charge expanded."""
    intent = _call(
        stripe_client().v1.payment_intents.retrieve, payment_intent_id, {"expand": ["latest_charge"]}
    )
    return PaymentIntent.from_stripe(_as_dict(intent))


def refund_create(
    *,
    payment_intent_id: str,
    amount: int | None,
    metadata: Mapping[str, str],
    idempotency_key: str,
    reason: str = "requested_by_customer",
) -> Refund:
    """Refund `amount` minor units of the payment (None = everything not yet refunded).

    Rejected with code `charge_already_refunded`, `amount_too_large` or `charge_disputed` when Stripe's
    money rules forbid it. Refunds do not touch transfers: reverse the provider's transfer separately.
    """
    params: dict[str, Any] = {
        "payment_intent": payment_intent_id,
        "reason": reason,
        "metadata": dict(metadata),
    }
    if amount is not None:
        if amount <= 0:
            raise ValueError("amount must be positive (minor units)")
        params["amount"] = amount
    refund = _call(stripe_client().v1.refunds.create, params, _options(idempotency_key))
    return Refund.from_stripe(_as_dict(refund))


def refund_retrieve(*, refund_id: str) -> Refund:
    refund = _call(stripe_client().v1.refunds.retrieve, refund_id)
    return Refund.from_stripe(_as_dict(refund))


def refund_list(*, payment_intent_id: str | None = None, charge_id: str | None = None) -> list[Refund]:
    """Every refund of one PaymentIntent (or charge), newest first, all pages: how a resend past Stripe's
    24-hour idempotency window finds the refund its first attempt made, and how refunds made in the
    Stripe dashboard are found."""
    if (payment_intent_id is None) == (charge_id is None):
        raise ValueError("give exactly one of payment_intent_id and charge_id")
    params: stripe.params.RefundListParams = (
        {"payment_intent": payment_intent_id, "limit": 100}
        if payment_intent_id is not None
        else {"charge": charge_id or "", "limit": 100}
    )

    def pages() -> Iterator[Any]:
        yield from stripe_client().v1.refunds.list(params).auto_paging_iter()

    return [Refund.from_stripe(_as_dict(item)) for item in _call(lambda: list(pages()))]


def charge_retrieve(*, charge_id: str) -> Charge:
    charge = _call(stripe_client().v1.charges.retrieve, charge_id)
    return Charge.from_stripe(_as_dict(charge))


def balance_transaction_retrieve(*, balance_transaction_id: str) -> BalanceTransaction:
    """A balance transaction (a charge's processing fee, for the platform's net per booking)."""
    found = _call(stripe_client().v1.balance_transactions.retrieve, balance_transaction_id)
    return BalanceTransaction.from_stripe(_as_dict(found))


def dispute_retrieve(*, dispute_id: str) -> Dispute:
    dispute = _call(stripe_client().v1.disputes.retrieve, dispute_id)
    return Dispute.from_stripe(_as_dict(dispute))


# Transfers ----------------------------------------------------------------------------------------


def transfer_create(
    *,
    amount: int,
    currency: str,
    destination: str,
    source_transaction: str | None,
    transfer_group: str,
    metadata: Mapping[str, str],
    idempotency_key: str,
) -> Transfer:
    """Send `amount` minor units to a connected account, funded by the charge `source_transaction` (a `ch_`
    id, never a PaymentIntent id) so it does not depend on the platform's available balance; with None, from
    the platform's available balance (a second payout of a charge whose first transfer was reversed).

    Rejected when the destination's `transfers` capability is not active, or (`balance_insufficient`) when
    the charge's transfers would exceed it or, without a source, the available balance does not cover it.
    """
    if amount <= 0:
        raise ValueError("amount must be positive (minor units)")
    if source_transaction is not None and not source_transaction.startswith(("ch_", "py_")):
        raise ValueError("source_transaction takes the charge id (ch_...), not a PaymentIntent id")
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "destination": destination,
        "transfer_group": transfer_group,
        "metadata": dict(metadata),
    }
    if source_transaction is not None:
        params["source_transaction"] = source_transaction
    transfer = _call(stripe_client().v1.transfers.create, params, _options(idempotency_key))
    return Transfer.from_stripe(_as_dict(transfer))


def transfer_reversal_create(
    *, transfer_id: str, amount: int | None, metadata: Mapping[str, str], idempotency_key: str
) -> TransferReversal:
    """Claw back `amount` (None = all that is left) of a transfer from the connected account."""
    params: dict[str, Any] = {"metadata": dict(metadata)}
    if amount is not None:
        if amount <= 0:
            raise ValueError("amount must be positive (minor units)")
        params["amount"] = amount
    reversal = _call(
        stripe_client().v1.transfers.reversals.create, transfer_id, params, _options(idempotency_key)
    )
    return TransferReversal.from_stripe(_as_dict(reversal))


def transfer_retrieve(*, transfer_id: str) -> Transfer:
    """The transfer with its reversals (what a reversal resent past the key window looks for)."""
    transfer = _call(stripe_client().v1.transfers.retrieve, transfer_id)
    return Transfer.from_stripe(_as_dict(transfer))


def transfer_list_by_group(*, transfer_group: str) -> list[Transfer]:
    """All transfers in a transfer group, newest first (every page): how a payout retry after the 24-hour
    idempotency window finds out whether its transfer already exists."""

    def pages() -> Iterator[Any]:
        listing = stripe_client().v1.transfers.list({"transfer_group": transfer_group, "limit": 100})
        yield from listing.auto_paging_iter()

    return [Transfer.from_stripe(_as_dict(item)) for item in _call(lambda: list(pages()))]


# Connect ------------------------------------------------------------------------------------------


SERVICE_AGREEMENTS = ("full", "recipient")


def connect_account_create(
    *,
    email: str,
    country: str,
    metadata: Mapping[str, str],
    idempotency_key: str,
    service_agreement: str = "full",
) -> ConnectAccount:
    """An Express account that can receive transfers (the `transfers` capability becomes active once the
    provider finishes onboarding).

    `service_agreement`: `full` (Stripe's default, sent as nothing) for an account in the platform's own
    country; `recipient` (sent as `tos_acceptance[service_agreement]`) for a cross-border account, which
    Stripe requires: such an account receives transfers only and cannot take payments itself.
    """
    if service_agreement not in SERVICE_AGREEMENTS:
        raise ValueError(f"service_agreement must be one of {SERVICE_AGREEMENTS}")
    params: dict[str, Any] = {
        "type": "express",
        "country": country,
        "email": email,
        "capabilities": {"transfers": {"requested": True}},
        "metadata": dict(metadata),
    }
    if service_agreement != "full":
        params["tos_acceptance"] = {"service_agreement": service_agreement}
    account = _call(stripe_client().v1.accounts.create, params, _options(idempotency_key))
    return ConnectAccount.from_stripe(_as_dict(account))


def connect_account_retrieve(*, account_id: str) -> ConnectAccount:
    account = _call(stripe_client().v1.accounts.retrieve, account_id)
    return ConnectAccount.from_stripe(_as_dict(account))


def connect_account_link_create(
    *, account_id: str, refresh_url: str, return_url: str, idempotency_key: str
) -> AccountLink:
    """A single-use onboarding link. `refresh_url` must make a new link (the old one is used or expired);
    reaching `return_url` does not mean onboarding is finished: re-fetch the account."""
    params = {
        "account": account_id,
        "type": "account_onboarding",
        "refresh_url": refresh_url,
        "return_url": return_url,
    }
    link = _call(stripe_client().v1.account_links.create, params, _options(idempotency_key))
    expires_at = _timestamp(link["expires_at"])
    assert expires_at is not None
    return AccountLink(url=link["url"], expires_at=expires_at)


def connect_login_link_create(*, account_id: str, idempotency_key: str) -> LoginLink:
    """A link into the provider's Express dashboard (only after onboarding)."""
    link = _call(stripe_client().v1.accounts.login_links.create, account_id, None, _options(idempotency_key))
    return LoginLink(url=link["url"])


# Webhooks -----------------------------------------------------------------------------------------


# Longest id, type and account the inbox stores (WebhookEvent's columns); Stripe's are far shorter.
_EVENT_FIELD_LIMITS = {"id": 255, "type": 100}


def _webhook_event_problem(data: Any) -> str:
    """What makes a signed body unusable as an event, or "" when it is one. Anything refused here is answered
    400 and stored nowhere, so a malformed event can neither crash the endpoint nor sit in the inbox."""
    if not isinstance(data, dict) or data.get("object") != "event":
        return 'not an object with "object": "event"'
    for name, limit in _EVENT_FIELD_LIMITS.items():
        value = data.get(name)
        if not isinstance(value, str) or not 0 < len(value) <= limit:
            return f"{name!r} must be a string of 1 to {limit} characters"
    account = data.get("account")
    if account is not None and (not isinstance(account, str) or len(account) > 255):
        return "'account' must be a string of up to 255 characters"
    created = data.get("created")
    # bool is an int in Python; and a timestamp past year 9999 cannot become a datetime.
    if isinstance(created, bool) or not isinstance(created, int) or not 0 <= created < 253_402_300_800:
        return "'created' must be a Unix timestamp"
    body = data.get("data")
    if not isinstance(body, dict) or not isinstance(body.get("object"), dict):
        return "'data.object' must be an object"
    # Every object the handlers act on has an id; Stripe's Balance (`balance.available`, which Stripe sends
    # and we acknowledge and ignore) has none.
    object_id = body["object"].get("id")
    has_no_id = body["object"].get("object") == "balance" and "id" not in body["object"]
    if not has_no_id and (not isinstance(object_id, str) or not 0 < len(object_id) <= 255):
        return "'data.object.id' must be a string of 1 to 255 characters"
    previous = body.get("previous_attributes")
    if previous is not None and not isinstance(previous, dict):
        return "'data.previous_attributes' must be an object"
    return ""


def webhook_event_verify(
    *, payload: bytes, signature_header: str | None, connect: bool = False
) -> WebhookEvent:
    """Check a webhook's `Stripe-Signature` against the platform secret (or the Connect endpoint's secret
    when `connect`) and parse it. Verify the raw request body, never re-serialised JSON."""
    secret = settings.STRIPE_CONNECT_WEBHOOK_SECRET if connect else settings.STRIPE_WEBHOOK_SECRET
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature_header, secret, stripe.Webhook.DEFAULT_TOLERANCE
        )
        data = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise WebhookSignatureError(str(exc)) from exc
    problem = _webhook_event_problem(data)
    if problem:
        raise WebhookSignatureError(f"The payload is not a Stripe event: {problem}")
    created = _timestamp(data["created"])
    assert created is not None
    return WebhookEvent(
        id=data["id"],
        type=data["type"],
        created=created,
        livemode=bool(data.get("livemode")),
        account=data.get("account"),
        api_version=data.get("api_version"),
        data_object=data["data"]["object"],
        previous_attributes=data["data"].get("previous_attributes"),
        raw=data,
    )
