"""Stripe-shaped JSON objects, built fresh: the fields Stripe's API returns, with the values a new object has.

`state.py` decides when an object exists and how it changes; these constructors only spell out its shape, so
the rules there stay readable. Field names follow Stripe's API reference for the pinned version
(`2026-10-28.endive`); fields the project never reads are left out rather than invented.
"""

from __future__ import annotations

from typing import Any


def list_object(data: list[dict[str, Any]], url: str, *, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def charge(
    *,
    charge_id: str,
    intent_id: str,
    amount: int,
    currency: str,
    created: int,
    email: str | None,
    intent_data: dict[str, Any],
    payment_method_details: dict[str, Any],
    delayed: bool,
) -> dict[str, Any]:
    """A charge; a bank debit (`delayed`) starts `pending`, with no balance transaction until it succeeds."""
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "balance_transaction": None,
        "billing_details": {"email": email, "name": None},
        "captured": True,
        "created": created,
        "currency": currency,
        "description": intent_data.get("description"),
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": dict(intent_data.get("metadata", {})),
        "paid": not delayed,
        "payment_intent": intent_id,
        "payment_method_details": payment_method_details,
        "receipt_email": email,
        "refunded": False,
        "status": "pending" if delayed else "succeeded",
        "transfer_group": intent_data.get("transfer_group"),
    }


def payment_intent(
    *,
    intent_id: str,
    charge_id: str,
    amount: int,
    currency: str,
    created: int,
    email: str | None,
    intent_data: dict[str, Any],
    method_type: str,
    delayed: bool,
) -> dict[str, Any]:
    return {
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
        "receipt_email": email,
        "status": "processing" if delayed else "succeeded",
        "transfer_group": intent_data.get("transfer_group"),
    }


def refund(
    *,
    refund_id: str,
    charge: dict[str, Any],
    amount: int,
    created: int,
    status: str,
    balance_transaction: str,
    metadata: dict[str, str],
    reason: str | None,
) -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "failure_reason": None,
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }


def dispute(
    *, dispute_id: str, charge: dict[str, Any], created: int, reason: str, inquiry: bool
) -> dict[str, Any]:
    """An inquiry (`warning_needs_response`, the charge stays refundable) or a chargeback
    (`needs_response`). `balance_transactions` holds full balance transaction objects, as Stripe's does."""
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": charge["amount"] - charge["amount_refunded"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {
            "customer_communication": None,
            "receipt": None,
            "uncategorized_text": None,
        },
        "evidence_details": {
            "due_by": created + 7 * 24 * 3600,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": inquiry,
        "livemode": False,
        "metadata": {},
        "network_reason_code": None,
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "status": "warning_needs_response" if inquiry else "needs_response",
    }


def transfer(
    *,
    transfer_id: str,
    amount: int,
    currency: str,
    created: int,
    destination: str,
    destination_payment: str,
    balance_transaction: str,
    source_transaction: str | None,
    source_type: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": transfer_id,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": balance_transaction,
        "created": created,
        "currency": currency,
        "description": params.get("description"),
        "destination": destination,
        "destination_payment": destination_payment,
        "livemode": False,
        "metadata": params.get("metadata", {}),
        "reversals": list_object([], f"/v1/transfers/{transfer_id}/reversals"),
        "reversed": False,
        "source_transaction": source_transaction,
        "source_type": source_type,
        "transfer_group": params.get("transfer_group"),
    }


def transfer_reversal(
    *,
    reversal_id: str,
    transfer: dict[str, Any],
    amount: int,
    created: int,
    balance_transaction: str,
    destination_payment_refund: str,
    metadata: dict[str, str],
) -> dict[str, Any]:
    return {
        "id": reversal_id,
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "created": created,
        "currency": transfer["currency"],
        "destination_payment_refund": destination_payment_refund,
        "metadata": metadata,
        "source_refund": None,
        "transfer": transfer["id"],
    }


def payout(
    *, payout_id: str, amount: int, currency: str, created: int, balance_transaction: str
) -> dict[str, Any]:
    """A connected account's standard payout to its bank account, paid at once."""
    return {
        "id": payout_id,
        "object": "payout",
        "amount": amount,
        "arrival_date": created,
        "automatic": False,
        "balance_transaction": balance_transaction,
        "created": created,
        "currency": currency,
        "description": None,
        "destination": "ba_emulator",
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "source_type": "card",
        "statement_descriptor": None,
        "status": "paid",
        "type": "bank_account",
    }


def account(
    *,
    account_id: str,
    params: dict[str, Any],
    country: str,
    currency: str,
    created: int,
    service_agreement: str,
    requirements: dict[str, Any],
) -> dict[str, Any]:
    """A new Express account: nothing submitted, every requested capability `inactive`."""
    capabilities = {
        name: "inactive" for name, spec in params.get("capabilities", {}).items() if spec.get("requested")
    }
    return {
        "id": account_id,
        "object": "account",
        "business_type": params.get("business_type"),
        "capabilities": capabilities,
        "charges_enabled": False,
        "controller": {"type": "application", "is_controller": True},
        "country": country,
        "created": created,
        "default_currency": currency,
        "details_submitted": False,
        "email": params.get("email"),
        "metadata": params.get("metadata", {}),
        "payouts_enabled": False,
        "requirements": requirements,
        "tos_acceptance": {
            "date": None,
            "ip": None,
            "service_agreement": service_agreement,
            "user_agent": None,
        },
        "type": params["type"],
    }
