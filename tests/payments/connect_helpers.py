"""Connect accounts in states today's emulator has no control for, and hand-made account.updated events.

Today's emulator (payments/emulator) can only complete onboarding (`complete_onboarding`) or make transfers
inactive (`disable_transfers`); its accounts start with every requirement past due. "Submitted, under review",
"submitted but details still missing" and "rejected" are set here by changing the in-process emulator's
account directly, under its lock, through the `stripe_emulator` handle (so nothing here imports the emulator
package, which is moving). Tests that do so say it in their docstring.
"""

import importlib
import json
from typing import Any

from django.test import Client
from django.urls import reverse

from payments.connect import connect_account_open
from providers.models import Provider
from tests.fixtures.stripe import sign_webhook

CONNECT_WEBHOOK_URL = reverse("payments:stripe_connect_webhook")


def set_account(stripe_emulator, account_id: str, **changes: Any) -> None:
    """Change an emulated account in place; `requirements` and `capabilities` are merged, the rest replaced.
    No event is sent (Stripe would send account.updated: use `post_account_updated`)."""
    state = stripe_emulator.server.state
    with state.lock:
        account = state.accounts[account_id]
        for key, value in changes.items():
            if key in ("requirements", "capabilities"):
                account[key].update(value)
            else:
                account[key] = value


def leave_under_review(stripe_emulator, account_id: str) -> None:
    """The provider submitted everything; Stripe is verifying their ID document."""
    set_account(
        stripe_emulator,
        account_id,
        details_submitted=True,
        capabilities={"transfers": "pending"},
        requirements={
            "currently_due": [],
            "eventually_due": [],
            "past_due": [],
            "pending_verification": ["individual.verification.document"],
            "disabled_reason": "requirements.pending_verification",
        },
    )


def leave_details_missing_after_submit(stripe_emulator, account_id: str) -> None:
    """The provider went through the form but left their bank account and date of birth out."""
    due = ["external_account", "individual.dob.day", "individual.dob.month", "individual.dob.year"]
    set_account(
        stripe_emulator,
        account_id,
        details_submitted=True,
        requirements={"currently_due": due, "past_due": due, "disabled_reason": "requirements.past_due"},
    )


def reject(stripe_emulator, account_id: str) -> None:
    set_account(
        stripe_emulator,
        account_id,
        details_submitted=True,
        capabilities={"transfers": "inactive"},
        requirements={"currently_due": [], "past_due": [], "disabled_reason": "rejected.fraud"},
    )


def accept_recipient_agreement(monkeypatch, stripe_emulator) -> None:
    """Let today's emulator take `tos_acceptance[service_agreement]` on account create, which Stripe declares
    (the SDK's AccountCreateParams) and cross-border accounts need; the stricter emulator being written
    accepts it itself, and then this does nothing."""
    package = type(stripe_emulator.server).__module__.rsplit(".", 1)[0]
    try:
        api = importlib.import_module(f"{package}.api")
        schema = api.ACCOUNT_CREATE
    except (ImportError, AttributeError):
        return  # laid out differently: the rewritten emulator, which knows the parameter itself
    if "tos_acceptance" in schema:
        return
    wire = importlib.import_module(f"{package}.wire")
    monkeypatch.setitem(
        schema,
        "tos_acceptance",
        wire.Obj(fields={"service_agreement": wire.Str(choices=("full", "recipient"))}),
    )


def open_account(provider: Provider, country: str = "US") -> str:
    """Give `provider` an Express account at the emulator (onboarding not done); returns its id."""
    account_id = connect_account_open(provider_id=provider.pk, country=country).stripe_account_id
    assert account_id is not None
    return account_id


def account_updated_payload(
    account_id: str, *, event_id: str = "evt_account_1", data: dict[str, Any] | None = None
) -> bytes:
    """An account.updated event as Stripe sends it to a Connect endpoint. `data` is the event's copy of the
    account, which the app must not trust."""
    obj = {"id": account_id, "object": "account", **(data or {})}
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "account.updated",
            "account": account_id,
            "created": 1_790_000_000,
            "livemode": False,
            "api_version": "2026-10-28.endive",
            "data": {"object": obj, "previous_attributes": {}},
        }
    ).encode()


def post_account_updated(client: Client, payload: bytes, secret: str):
    return client.post(
        CONNECT_WEBHOOK_URL,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_webhook(payload, secret),
    )
