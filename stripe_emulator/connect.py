"""Connect rules for Express accounts of a US platform, and the onboarding states a person can reach.

Where an account may be (Stripe's cross-border rules, as they apply to a platform in the US):
- In the US it is created as usual (the `full` service agreement).
- In another country it must be created with `tos_acceptance[service_agreement]=recipient`: it then only
  receives transfers (the `transfers` capability; `card_payments` is refused) and cannot take payments.
- Self-serve cross-border payouts reach only the UK, the EEA, Canada and Switzerland; an account anywhere
  else is refused, naming the country.

Onboarding states (each one a set of field values applied by `state.py`, which sends `account.updated` with
the `previous_attributes`):
- `complete`: everything submitted and verified; requested capabilities `active`.
- `under_review`: details submitted, some still being verified (`requirements.pending_verification`);
  capabilities `pending`. A review later approves (-> `complete`) or asks for more (-> `more_required`).
- `details_missing`: the person saved and left with requirements still `currently_due`.
- `more_required`: the review failed; a document must be provided again (`requirements.errors`).
"""

from __future__ import annotations

from typing import Any

PLATFORM_COUNTRY = "US"
# The EEA (EU members plus Iceland, Liechtenstein and Norway).
EEA_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IS", "IE",
        "IT", "LV", "LI", "LT", "LU", "MT", "NL", "NO", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip
CROSS_BORDER_COUNTRIES = EEA_COUNTRIES | {"GB", "CA", "CH"}
# Default settlement currency by country; the rest of the EEA uses the euro.
CURRENCY_BY_COUNTRY = {
    "US": "usd",
    "GB": "gbp",
    "CA": "cad",
    "CH": "chf",
    "LI": "chf",
    "DK": "dkk",
    "SE": "sek",
    "NO": "nok",
    "IS": "isk",
    "PL": "pln",
    "CZ": "czk",
    "HU": "huf",
    "RO": "ron",
    "BG": "bgn",
}
SERVICE_AGREEMENTS = ("full", "recipient")

ONBOARDING_REQUIREMENTS = [
    "business_profile.url",
    "external_account",
    "individual.dob.day",
    "individual.first_name",
    "individual.last_name",
    "tos_acceptance.date",
]
LEFT_MISSING = ["external_account", "individual.dob.day"]
UNDER_VERIFICATION = ["individual.id_number", "individual.verification.document"]
DOCUMENT = "individual.verification.document"

ONBOARDING_STATES = ("complete", "under_review", "details_missing", "more_required")


def default_currency(country: str) -> str:
    return CURRENCY_BY_COUNTRY.get(country, "eur" if country in EEA_COUNTRIES else "usd")


def requirements(
    *,
    due: list[str],
    pending_verification: list[str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """An account's `requirements` hash: `due` fields are currently, eventually and past due (Express
    onboarding has no deadline before the account is first used)."""
    pending = list(pending_verification or [])
    if due:
        disabled_reason: str | None = "requirements.past_due"
    elif pending:
        disabled_reason = "requirements.pending_verification"
    else:
        disabled_reason = None
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": disabled_reason,
        "errors": list(errors or []),
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": pending,
    }


def onboarding_changes(account: dict[str, Any], state: str) -> dict[str, Any]:
    """The field values `account` takes in onboarding `state` (one of `ONBOARDING_STATES`)."""
    capabilities = account["capabilities"] or {"transfers": "inactive"}
    if state == "complete":
        active = dict.fromkeys(capabilities, "active")
        return {
            "capabilities": active,
            "charges_enabled": active.get("card_payments") == "active",
            "details_submitted": True,
            "payouts_enabled": True,
            "requirements": requirements(due=[]),
        }
    if state == "under_review":
        return {
            "capabilities": dict.fromkeys(capabilities, "pending"),
            "charges_enabled": False,
            "details_submitted": True,
            "payouts_enabled": False,
            "requirements": requirements(due=[], pending_verification=UNDER_VERIFICATION),
        }
    if state == "details_missing":
        return {
            "capabilities": dict.fromkeys(capabilities, "inactive"),
            "charges_enabled": False,
            "details_submitted": False,
            "payouts_enabled": False,
            "requirements": requirements(due=LEFT_MISSING),
        }
    if state == "more_required":
        error = {
            "code": "verification_document_failed_other",
            "reason": "The identity document could not be verified. Upload another one.",
            "requirement": DOCUMENT,
        }
        return {
            "capabilities": dict.fromkeys(capabilities, "inactive"),
            "charges_enabled": False,
            "details_submitted": True,
            "payouts_enabled": False,
            "requirements": requirements(due=[DOCUMENT], errors=[error]),
        }
    raise ValueError(f"unknown onboarding state {state!r}")
