"""Every parameter the gateway sends, and every parameter the emulator accepts, is one Stripe's API declares.

The SDK ships a TypedDict per request (`stripe.params...`), generated from Stripe's OpenAPI spec for the
pinned API version. The gateway is run against the emulator, each request's decoded parameters are read back
from the emulator's request log and checked key by key, recursively, against those TypedDicts. Every
endpoint the emulator implements is mapped to its TypedDict, and its schema checked against it; the ones the
gateway does not call (yet) are exercised with the raw SDK instead.
"""

import re
import sys
from datetime import UTC, datetime, timedelta

import pytest
import stripe.params
import stripe.params.checkout
import typing_extensions
from stripe._request_options import RequestOptions

from payments import gateway
from stripe_emulator import api as emulator_api
from stripe_emulator.wire import ListOf, Obj, Param
from tests.payments.gateway_calls import transfer

# (method, path pattern) -> the SDK's parameter TypedDict for that request
PARAMS_BY_ROUTE: dict[tuple[str, str], type] = {
    ("POST", r"/v1/checkout/sessions"): stripe.params.checkout.SessionCreateParams,
    ("GET", r"/v1/checkout/sessions/[^/]+"): stripe.params.checkout.SessionRetrieveParams,
    ("POST", r"/v1/checkout/sessions/[^/]+/expire"): stripe.params.checkout.SessionExpireParams,
    ("GET", r"/v1/payment_intents/[^/]+"): stripe.params.PaymentIntentRetrieveParams,
    ("POST", r"/v1/refunds"): stripe.params.RefundCreateParams,
    ("GET", r"/v1/refunds/[^/]+"): stripe.params.RefundRetrieveParams,
    ("POST", r"/v1/transfers"): stripe.params.TransferCreateParams,
    ("GET", r"/v1/transfers"): stripe.params.TransferListParams,
    ("POST", r"/v1/transfers/[^/]+/reversals"): stripe.params.TransferReversalCreateParams,
    ("POST", r"/v1/accounts"): stripe.params.AccountCreateParams,
    ("GET", r"/v1/accounts/[^/]+"): stripe.params.AccountRetrieveParams,
    ("POST", r"/v1/account_links"): stripe.params.AccountLinkCreateParams,
    ("POST", r"/v1/accounts/[^/]+/login_links"): stripe.params.AccountLoginLinkCreateParams,
    ("GET", r"/v1/charges/[^/]+"): stripe.params.ChargeRetrieveParams,
    ("GET", r"/v1/disputes/[^/]+"): stripe.params.DisputeRetrieveParams,
    ("GET", r"/v1/refunds"): stripe.params.RefundListParams,
    ("GET", r"/v1/transfers/[^/]+"): stripe.params.TransferRetrieveParams,
    ("GET", r"/v1/balance"): stripe.params.BalanceRetrieveParams,
    ("GET", r"/v1/balance_transactions/[^/]+"): stripe.params.BalanceTransactionRetrieveParams,
}
# Emulated for the app's coming needs, not called by the gateway yet: `_call_every_sdk_read` covers them.
NOT_CALLED_BY_THE_GATEWAY = {
    ("GET", r"/v1/charges/[^/]+"),
    ("GET", r"/v1/disputes/[^/]+"),
    ("GET", r"/v1/refunds"),
    ("GET", r"/v1/transfers/[^/]+"),
    ("GET", r"/v1/balance"),
    ("GET", r"/v1/balance_transactions/[^/]+"),
}
# Request options (idempotency_key, stripe_account...) travel as headers, never as parameters.
REQUEST_OPTION_KEYS = set(RequestOptions.__annotations__)


def _declared(typed_dict: type) -> dict[str, object]:
    fields: dict[str, object] = {}
    for klass in reversed(typed_dict.__mro__):
        fields.update(getattr(klass, "__annotations__", {}))
    return {name: annotation for name, annotation in fields.items() if name not in REQUEST_OPTION_KEYS}


def _nested_typed_dict(annotation: object, owner: type) -> type | None:
    """The TypedDict an annotation refers to (directly or as list items), found by name in its module."""
    module = sys.modules[owner.__module__]
    for name in re.findall(r"[A-Za-z_]\w*", repr(annotation)):
        candidate = getattr(module, name, None)
        if (
            isinstance(candidate, type)
            and typing_extensions.is_typeddict(candidate)
            and candidate is not owner
        ):
            return candidate
    return None


def _is_free_form_map(annotation: object) -> bool:
    return "Dict[str" in repr(annotation)


def undeclared_keys(params: dict, typed_dict: type, prefix: str = "") -> list[str]:
    declared = _declared(typed_dict)
    problems: list[str] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if key not in declared:
            problems.append(name)
            continue
        if not isinstance(value, dict) or _is_free_form_map(declared[key]):
            continue
        nested = _nested_typed_dict(declared[key], typed_dict)
        is_list = "List[" in repr(declared[key])
        if is_list and all(index.isdigit() for index in value):
            for index, item in value.items():
                if isinstance(item, dict):
                    problems += undeclared_keys(item, nested, f"{name}[{index}]") if nested else [name]
        elif nested is not None:
            problems += undeclared_keys(value, nested, name)
        else:
            problems.append(name)  # a nested object where Stripe expects a scalar
    return problems


def _params_class(method: str, path: str) -> type:
    for (route_method, pattern), params_class in PARAMS_BY_ROUTE.items():
        if route_method == method and re.fullmatch(pattern, path):
            return params_class
    raise AssertionError(f"no SDK params class mapped for {method} {path}")


def _call_every_gateway_function(stripe_emulator) -> None:
    session = gateway.checkout_session_create(
        booking_ref="42",
        amount=5000,
        currency="usd",
        product_name="Lesson",
        customer_email="client@example.com",
        success_url="http://testserver/s/{CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/c",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        transfer_group="booking-42",
        metadata={"booking_id": "42"},
        idempotency_key="checkout-42-1",
    )
    other = gateway.checkout_session_create(
        booking_ref="43",
        amount=5000,
        currency="usd",
        product_name="Lesson",
        customer_email=None,
        success_url="http://testserver/s/{CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/c",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        transfer_group="booking-43",
        metadata={"booking_id": "43"},
        idempotency_key="checkout-43-1",
    )
    gateway.checkout_session_expire(session_id=other.id, idempotency_key="expire-43")
    stripe_emulator.pay(session.id)
    paid = gateway.checkout_session_retrieve(session_id=session.id)
    gateway.payment_intent_retrieve(payment_intent_id=paid.payment_intent_id)
    refund = gateway.refund_create(
        payment_intent_id=paid.payment_intent_id,
        amount=100,
        metadata={"refund_id": "1"},
        idempotency_key="refund-1",
    )
    gateway.refund_retrieve(refund_id=refund.id)
    account = gateway.connect_account_create(
        email="p@example.com", country="US", metadata={"provider_id": "7"}, idempotency_key="account-7"
    )
    gateway.connect_account_link_create(
        account_id=account.id, refresh_url="http://t/r", return_url="http://t/ret", idempotency_key="link-1"
    )
    stripe_emulator.complete_onboarding(account.id)
    gateway.connect_account_retrieve(account_id=account.id)
    gateway.connect_login_link_create(account_id=account.id, idempotency_key="login-1")
    created = transfer(paid.charge_id, account.id)
    gateway.transfer_reversal_create(
        transfer_id=created.id, amount=100, metadata={}, idempotency_key="reversal-1"
    )
    gateway.transfer_reversal_create(
        transfer_id=created.id, amount=None, metadata={}, idempotency_key="reversal-2"
    )
    gateway.transfer_list_by_group(transfer_group="booking-42")


def test_every_parameter_the_gateway_sends_is_declared_by_the_sdk(stripe_emulator):
    _call_every_gateway_function(stripe_emulator)

    requests = stripe_emulator.requests()
    problems = {
        f"{r['method']} {r['path']}": undeclared_keys(r["params"], _params_class(r["method"], r["path"]))
        for r in requests
    }

    assert all(r["status"] == 200 for r in requests), [(r["path"], r["status"]) for r in requests]
    assert {key: keys for key, keys in problems.items() if keys} == {}


def _routes_used(stripe_emulator) -> set[tuple[str, str]]:
    return {
        (r["method"], pattern)
        for r in stripe_emulator.requests()
        for (m, pattern) in PARAMS_BY_ROUTE
        if m == r["method"] and re.fullmatch(pattern, r["path"])
    }


def _call_every_sdk_read(stripe_emulator, stripe_sdk) -> None:
    """The read endpoints the gateway does not call yet, through the real SDK with the parameters the app
    will send: refunds of a payment (paged), a charge, a dispute, a transfer, balances, transactions."""
    _call_every_gateway_function(stripe_emulator)
    refund = stripe_emulator.state()["refunds"]
    charge_id, intent_id = next((r["charge"], r["payment_intent"]) for r in refund.values())
    transfer_id, account_id = next(
        (t["id"], t["destination"]) for t in stripe_emulator.state()["transfers"].values()
    )
    list(stripe_sdk.v1.refunds.list({"payment_intent": intent_id, "limit": 1}).auto_paging_iter())
    stripe_sdk.v1.refunds.list({"charge": charge_id, "expand": ["data.charge"]})
    charge = stripe_sdk.v1.charges.retrieve(charge_id, {"expand": ["balance_transaction"]})
    stripe_sdk.v1.balance_transactions.retrieve(charge.balance_transaction.id)
    dispute = stripe_emulator.open_dispute(charge_id, kind="inquiry")
    stripe_sdk.v1.disputes.retrieve(dispute["id"])
    stripe_sdk.v1.transfers.retrieve(transfer_id)
    stripe_sdk.v1.balance.retrieve()
    stripe_sdk.v1.balance.retrieve(options={"stripe_account": account_id})


def test_the_gateway_exercises_every_emulated_endpoint(stripe_emulator):
    _call_every_gateway_function(stripe_emulator)

    assert set(PARAMS_BY_ROUTE) - NOT_CALLED_BY_THE_GATEWAY <= _routes_used(stripe_emulator)
    assert len(emulator_api.ENDPOINTS) == len(PARAMS_BY_ROUTE)


def test_the_sdk_reads_exercise_the_endpoints_the_gateway_does_not_call(stripe_emulator, stripe_sdk):
    _call_every_sdk_read(stripe_emulator, stripe_sdk)

    assert _routes_used(stripe_emulator) >= NOT_CALLED_BY_THE_GATEWAY


def test_every_parameter_the_sdk_sends_for_those_reads_is_declared(stripe_emulator, stripe_sdk):
    _call_every_sdk_read(stripe_emulator, stripe_sdk)

    requests = [r for r in stripe_emulator.requests() if r["method"] == "GET"]
    problems = {
        f"{r['method']} {r['path']}": undeclared_keys(r["params"], _params_class(r["method"], r["path"]))
        for r in requests
    }

    assert all(r["status"] == 200 for r in requests), [(r["path"], r["status"]) for r in requests]
    assert {key: keys for key, keys in problems.items() if keys} == {}


def test_checker_notices_an_undeclared_nested_key():
    params = {
        "line_items": {"0": {"price_data": {"currency": "usd", "colour": "red"}}},
        "payment_method_types": {"0": "card"},
    }

    problems = undeclared_keys(params, stripe.params.checkout.SessionCreateParams)

    assert problems == ["line_items[0][price_data][colour]", "payment_method_types"]


def test_checkout_create_leaves_out_what_endive_and_separate_transfers_forbid(stripe_emulator):
    _call_every_gateway_function(stripe_emulator)

    (create, *_) = stripe_emulator.requests(method="POST", path="/v1/checkout/sessions")
    params = create["params"]

    assert "payment_method_types" not in params
    assert "transfer_data" not in params["payment_intent_data"]
    assert "application_fee_amount" not in params["payment_intent_data"]
    assert params["mode"] == "payment"
    assert "{CHECKOUT_SESSION_ID}" in params["success_url"]
    assert params["payment_intent_data"] == {"metadata": {"booking_id": "42"}, "transfer_group": "booking-42"}
    assert params["line_items"]["0"]["price_data"]["unit_amount"] == "5000"


def _schema_problems(fields: dict[str, Param], typed_dict: type, prefix: str = "") -> list[str]:
    declared = _declared(typed_dict)
    problems: list[str] = []
    for key, spec in fields.items():
        name = f"{prefix}[{key}]" if prefix else key
        if key not in declared:
            problems.append(name)
            continue
        item = spec.item if isinstance(spec, ListOf) else spec
        if isinstance(item, Obj):
            nested = _nested_typed_dict(declared[key], typed_dict)
            problems += _schema_problems(item.fields, nested, name) if nested else [name]
    return problems


@pytest.mark.parametrize("endpoint", emulator_api.ENDPOINTS, ids=lambda e: f"{e.method} {e.pattern.pattern}")
def test_every_parameter_the_emulator_accepts_is_declared_by_the_sdk(endpoint):
    sample_path = re.sub(r"\(\?P<\w+>\[\^/\]\+\)", "x_1", endpoint.pattern.pattern.strip("^$"))

    assert _schema_problems(endpoint.schema, _params_class(endpoint.method, sample_path)) == []
