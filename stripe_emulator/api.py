"""The `/v1/...` endpoints: authentication, routing, parameter schemas, faults and idempotency.

Order of checks for one request, as Stripe does it:
1. API key: `Authorization: Bearer sk_test_...` (or HTTP Basic with the key as user name), else 401.
2. Route: an unknown path answers 404 `Unrecognized request URL`. A `Stripe-Account: acct_...` header
   (acting on a connected account) must name a known account (else 403 `account_invalid`) and is taken only
   by the endpoints that implement it (`GET /v1/balance`, `GET /v1/balance_transactions/{id}`); elsewhere
   it is refused rather than silently applied to the platform.
3. Fault injection (see `faults.py`): 5xx / 409 / 429 are answered here, before any work and without
   storing anything under the idempotency key.
4. Idempotency (POST only): a key seen before with the same method, path and parameters replays the stored
   answer with `Idempotent-Replayed: true`; with different ones it is a 400 `idempotency_error`; a key whose
   first request is still running gets 409 `idempotency_key_in_use`. Keys are kept 24 hours from their
   first use, as Stripe keeps them: an older key is forgotten and its request executes anew
   (`POST /_emulator/idempotency/age` moves every key's first use back, for tests).
5. Parameters are validated against the endpoint's schema. Like Stripe, a request that fails validation is
   not stored under its key (it never started executing); any answer after that, success, a business
   error such as `balance_insufficient`, or a 500 from a `crash` fault (the work was done, then the
   endpoint failed), is stored and replayed.

The emulator accepts only the parameters it implements: anything else is `parameter_unknown`, so a new
parameter in the gateway cannot be silently ignored here. `tests/payments/test_gateway_params.py` checks
that every accepted parameter is one Stripe's SDK declares.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stripe_emulator.state import API_VERSION, REQUEST_LOG_LIMIT, EmulatorState, new_id
from stripe_emulator.wire import (
    Bool,
    Int,
    ListOf,
    Metadata,
    Obj,
    Param,
    Str,
    StripeApiError,
    decode_form,
    expand_paths,
    validate_fields,
)

EXPAND = ListOf(item=Str())

CHECKOUT_SESSION_CREATE: dict[str, Param] = {
    "mode": Str(required=True, choices=("payment",)),
    "line_items": ListOf(
        required=True,
        item=Obj(
            fields={
                "quantity": Int(required=True, minimum=1),
                "price_data": Obj(
                    required=True,
                    fields={
                        "currency": Str(required=True),
                        "unit_amount": Int(required=True, minimum=0),
                        "product_data": Obj(
                            required=True,
                            fields={"name": Str(required=True), "description": Str(), "metadata": Metadata()},
                        ),
                    },
                ),
            }
        ),
    ),
    "success_url": Str(required=True),
    "cancel_url": Str(),
    "client_reference_id": Str(max_length=200),
    "customer_email": Str(),
    "metadata": Metadata(),
    "payment_intent_data": Obj(
        fields={
            "metadata": Metadata(),
            "transfer_group": Str(),
            "description": Str(),
            "receipt_email": Str(),
        }
    ),
    "expires_at": Int(),
    "allowed_payment_method_types": ListOf(item=Str()),
    "locale": Str(),
    "expand": EXPAND,
}
EXPAND_ONLY: dict[str, Param] = {"expand": EXPAND}
REFUND_CREATE: dict[str, Param] = {
    "payment_intent": Str(),
    "charge": Str(),
    "amount": Int(),
    "reason": Str(choices=("duplicate", "fraudulent", "requested_by_customer")),
    "metadata": Metadata(),
    "expand": EXPAND,
}
TRANSFER_CREATE: dict[str, Param] = {
    "amount": Int(required=True),
    "currency": Str(required=True),
    "destination": Str(required=True),
    "transfer_group": Str(),
    "source_transaction": Str(),
    "description": Str(),
    "metadata": Metadata(),
    "expand": EXPAND,
}
PAGING: dict[str, Param] = {"limit": Int(), "starting_after": Str(), "ending_before": Str(), "expand": EXPAND}
TRANSFER_LIST: dict[str, Param] = {"transfer_group": Str(), "destination": Str(), **PAGING}
REFUND_LIST: dict[str, Param] = {"charge": Str(), "payment_intent": Str(), **PAGING}
TRANSFER_REVERSAL_CREATE: dict[str, Param] = {
    "amount": Int(),
    "description": Str(),
    "metadata": Metadata(),
    "expand": EXPAND,
}
_CAPABILITY = Obj(fields={"requested": Bool()})
ACCOUNT_CREATE: dict[str, Param] = {
    "type": Str(required=True, choices=("express",)),
    "country": Str(),
    "email": Str(),
    "business_type": Str(choices=("individual", "company", "non_profit", "government_entity")),
    "capabilities": Obj(fields={"transfers": _CAPABILITY, "card_payments": _CAPABILITY}),
    "tos_acceptance": Obj(fields={"service_agreement": Str(choices=("full", "recipient"))}),
    "metadata": Metadata(),
    "expand": EXPAND,
}
ACCOUNT_LINK_CREATE: dict[str, Param] = {
    "account": Str(required=True),
    "type": Str(required=True, choices=("account_onboarding", "account_update")),
    "refresh_url": Str(required=True),
    "return_url": Str(required=True),
    "collect": Str(choices=("currently_due", "eventually_due")),
    "expand": EXPAND,
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    pattern: re.Pattern[str]
    schema: dict[str, Param]
    # Called with the state, the validated parameters and the path's captured ids (and, for endpoints
    # that act on a connected account through the `Stripe-Account` header, `account=`).
    run: Callable[..., dict[str, Any]]
    connect: bool = False


def _route(
    method: str,
    path: str,
    schema: dict[str, Param],
    run: Callable[..., dict[str, Any]],
    *,
    connect: bool = False,
) -> Endpoint:
    regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"
    return Endpoint(method, re.compile(regex), schema, run, connect)


ENDPOINTS: list[Endpoint] = [
    _route(
        "POST",
        "/v1/checkout/sessions",
        CHECKOUT_SESSION_CREATE,
        lambda s, p: s.api_checkout_session_create(p),
    ),
    _route(
        "GET", "/v1/checkout/sessions/{id}", EXPAND_ONLY, lambda s, p, id: s.api_checkout_session_retrieve(id)
    ),
    _route(
        "POST",
        "/v1/checkout/sessions/{id}/expire",
        EXPAND_ONLY,
        lambda s, p, id: s.api_checkout_session_expire(id),
    ),
    _route(
        "GET", "/v1/payment_intents/{id}", EXPAND_ONLY, lambda s, p, id: s.api_payment_intent_retrieve(id)
    ),
    _route("GET", "/v1/charges/{id}", EXPAND_ONLY, lambda s, p, id: s.api_charge_retrieve(id)),
    _route("GET", "/v1/disputes/{id}", EXPAND_ONLY, lambda s, p, id: s.api_dispute_retrieve(id)),
    _route("POST", "/v1/refunds", REFUND_CREATE, lambda s, p: s.api_refund_create(p)),
    _route("GET", "/v1/refunds", REFUND_LIST, lambda s, p: s.api_refund_list(p)),
    _route("GET", "/v1/refunds/{id}", EXPAND_ONLY, lambda s, p, id: s.api_refund_retrieve(id)),
    _route("POST", "/v1/transfers", TRANSFER_CREATE, lambda s, p: s.api_transfer_create(p)),
    _route("GET", "/v1/transfers", TRANSFER_LIST, lambda s, p: s.api_transfer_list(p)),
    _route("GET", "/v1/transfers/{id}", EXPAND_ONLY, lambda s, p, id: s.api_transfer_retrieve(id)),
    _route(
        "POST",
        "/v1/transfers/{id}/reversals",
        TRANSFER_REVERSAL_CREATE,
        lambda s, p, id: s.api_transfer_reversal_create(id, p),
    ),
    _route("POST", "/v1/accounts", ACCOUNT_CREATE, lambda s, p: s.api_account_create(p)),
    _route("GET", "/v1/accounts/{id}", EXPAND_ONLY, lambda s, p, id: s.api_account_retrieve(id)),
    _route("POST", "/v1/account_links", ACCOUNT_LINK_CREATE, lambda s, p: s.api_account_link_create(p)),
    _route(
        "POST", "/v1/accounts/{id}/login_links", EXPAND_ONLY, lambda s, p, id: s.api_login_link_create(id)
    ),
    _route(
        "GET", "/v1/balance", EXPAND_ONLY, lambda s, p, account: s.api_balance_retrieve(account), connect=True
    ),
    _route(
        "GET",
        "/v1/balance_transactions/{id}",
        EXPAND_ONLY,
        lambda s, p, id, account: s.api_balance_transaction_retrieve(id, account),
        connect=True,
    ),
]


@dataclass
class ApiResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to hold the answer back (a `timeout` fault); the server waits on `interrupt` meanwhile.
    hold_seconds: float = 0.0


def _api_key(headers: dict[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization.startswith("Bearer "):
        return authorization[len("Bearer ") :].strip()
    if authorization.startswith("Basic "):
        try:
            decoded = base64.b64decode(authorization[len("Basic ") :]).decode()
        except ValueError:
            return None
        return decoded.split(":", 1)[0]
    return None


def _error(exc: StripeApiError) -> ApiResponse:
    return ApiResponse(exc.status, exc.body(), dict(exc.headers))


def handle_api(
    state: EmulatorState, *, method: str, path: str, query: str, body: str, headers: dict[str, str]
) -> ApiResponse:
    """Answer one `/v1/...` request. `headers` must have lower-case names."""
    request_id = new_id("req_", 14)
    idempotency_key = headers.get("idempotency-key") if method == "POST" else None
    raw_params = decode_form(body if method == "POST" else query)
    log_entry: dict[str, Any] = {
        "at": time.time(),
        "id": request_id,
        "method": method,
        "path": path,
        "params": raw_params,
        "idempotency_key": idempotency_key,
        "status": None,
        "replayed": False,
        "fault": None,
    }
    with state.lock:
        state.request_log.append(log_entry)
        del state.request_log[:-REQUEST_LOG_LIMIT]
    response = _answer(state, method, path, raw_params, headers, idempotency_key, request_id, log_entry)
    response.headers.update(
        {"Request-Id": request_id, "Stripe-Version": headers.get("stripe-version") or API_VERSION}
    )
    if idempotency_key:
        response.headers["Idempotency-Key"] = idempotency_key
    log_entry["status"] = response.status
    return response


def _answer(
    state: EmulatorState,
    method: str,
    path: str,
    raw_params: dict[str, Any],
    headers: dict[str, str],
    idempotency_key: str | None,
    request_id: str,
    log_entry: dict[str, Any],
) -> ApiResponse:
    key = _api_key(headers)
    if not key:
        return _error(
            StripeApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization "
                "header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        )
    if not key.startswith("sk_test_"):
        masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:]
        return _error(StripeApiError(401, f"Invalid API Key provided: {masked}"))

    endpoint, ids = _match(method, path)
    if endpoint is None:
        return _error(
            StripeApiError(
                404,
                f"Unrecognized request URL ({method}: {path}). The Stripe emulator implements only the "
                "endpoints this project uses; see docs/stripe.md.",
            )
        )

    account = headers.get("stripe-account") or None
    if account is not None:
        refusal = _connected_account_refusal(state, endpoint, account, key, method, path)
        if refusal is not None:
            return _error(refusal)

    fault = state.faults.pick(method, path)
    if fault is not None:
        log_entry["fault"] = fault.kind
        if fault.status is not None:
            return _fault_response(fault.status)
    crash = fault is not None and fault.kind == "crash"

    if idempotency_key is None:
        response = _execute(state, endpoint, ids, account, raw_params, request_id, None, None, crash=crash)
    else:
        # A key is scoped to the account it acted on (the platform's fingerprint keeps version 1's shape).
        scope = [method, path] if account is None else [method, path, account]
        fingerprint = json.dumps([*scope, raw_params], sort_keys=True)
        with state.lock:
            stored = state.idempotency_record(idempotency_key)
            in_flight = idempotency_key in state.in_flight_keys
            if stored is None and not in_flight:
                state.in_flight_keys.add(idempotency_key)
        if stored is not None:
            if stored["fingerprint"] != fingerprint:
                return _error(
                    StripeApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        f"first used with. Try using a key other than '{idempotency_key}' if you meant to "
                        "execute a "
                        "different request.",
                        type="idempotency_error",
                    )
                )
            log_entry["replayed"] = True
            response = ApiResponse(stored["status"], json.loads(stored["body"]), dict(stored["headers"]))
            response.headers["Idempotent-Replayed"] = "true"
            response.headers["Original-Request"] = stored["request_id"]
        elif in_flight:
            return _error(
                StripeApiError(
                    409,
                    "There is currently another in-progress request using this Idempotent Key (that probably "
                    "means you submitted twice, and the other request is still going through): "
                    f"{idempotency_key}. Please try again later.",
                    type="idempotency_error",
                    code="idempotency_key_in_use",
                )
            )
        else:
            try:
                response = _execute(
                    state,
                    endpoint,
                    ids,
                    account,
                    raw_params,
                    request_id,
                    idempotency_key,
                    fingerprint,
                    crash=crash,
                )
            finally:
                with state.lock:
                    state.in_flight_keys.discard(idempotency_key)

    if fault is not None and fault.kind == "timeout":
        response.hold_seconds = fault.delay
    return response


def _connected_account_refusal(
    state: EmulatorState, endpoint: Endpoint, account: str, key: str, method: str, path: str
) -> StripeApiError | None:
    with state.lock:
        known = account in state.accounts
    if not known:
        masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:]
        return StripeApiError(
            403,
            f"The provided key '{masked}' does not have access to account '{account}' (or that account does "
            "not exist). Application access may have been revoked.",
            code="account_invalid",
        )
    if not endpoint.connect:
        return StripeApiError(
            400,
            f"The Stripe emulator does not implement the `Stripe-Account` header for {method} {path}; "
            "see docs/stripe.md.",
        )
    return None


def _match(method: str, path: str) -> tuple[Endpoint | None, dict[str, str]]:
    for endpoint in ENDPOINTS:
        if endpoint.method == method:
            match = endpoint.pattern.match(path)
            if match:
                return endpoint, match.groupdict()
    return None, {}


def _fault_response(status: int) -> ApiResponse:
    if status == 400:
        return _error(
            StripeApiError(
                400, "Stripe refused this request. (injected by the Stripe emulator's `400` fault)"
            )
        )
    if status == 429:
        return _error(
            StripeApiError(
                429,
                "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."
                " (injected by the Stripe emulator)",
                code="rate_limit",
            )
        )
    if status == 409:
        return _error(
            StripeApiError(
                409,
                "There is currently another in-progress request using this Idempotent Key. (injected by the "
                "Stripe emulator)",
                type="idempotency_error",
                code="idempotency_key_in_use",
            )
        )
    return _error(
        StripeApiError(
            status,
            "An unknown error occurred while processing your request. (injected by the Stripe emulator)",
            type="api_error",
        )
    )


def _crash_response() -> ApiResponse:
    # Stripe asks clients not to retry a 500 it has stored for the key: the retry would only replay it.
    response = _error(
        StripeApiError(
            500,
            "An unknown error occurred while processing your request. (the Stripe emulator's `crash` fault: "
            "the request was carried out, then failed)",
            type="api_error",
        )
    )
    response.headers["Stripe-Should-Retry"] = "false"
    return response


def _execute(
    state: EmulatorState,
    endpoint: Endpoint,
    ids: dict[str, str],
    account: str | None,
    raw_params: dict[str, Any],
    request_id: str,
    idempotency_key: str | None,
    fingerprint: str | None,
    *,
    crash: bool = False,
) -> ApiResponse:
    """Validate, run and (with a key) store the answer. `crash`: answer (and store) a 500 after the work."""
    try:
        params = validate_fields(endpoint.schema, raw_params)
    except StripeApiError as exc:
        return _error(exc)  # never stored: the request did not start executing
    state.current_request.info = {"id": request_id, "idempotency_key": idempotency_key}
    try:
        with state.lock:
            try:
                extra = {"account": account} if endpoint.connect else {}
                result = endpoint.run(state, params, **ids, **extra)
                response = ApiResponse(200, state.expand(result, expand_paths(params)))
            except StripeApiError as exc:
                response = _error(exc)
            if crash:
                response = _crash_response()
            if idempotency_key is not None:
                state.store_idempotency_record(
                    idempotency_key,
                    {
                        "fingerprint": fingerprint,
                        "status": response.status,
                        "body": json.dumps(response.body),
                        "headers": dict(response.headers),
                        "request_id": request_id,
                        "first_used_at": time.time(),
                    },
                )
    finally:
        state.current_request.info = None
    return response
