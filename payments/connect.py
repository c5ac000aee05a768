"""Stripe Connect Express onboarding: a provider's payout account, from "Set up payouts" to ready.

The provider row (``providers.Provider``) holds the account id, the country it was opened for and the state
Stripe last reported; this module is the only code that writes those fields. Readiness for payouts is read
from the row: ``Provider.can_receive_payouts`` (or ``Provider.objects.can_receive_payouts()``), and
``Provider.payouts_blocked_reason`` says why not, in words fit to show the provider.

Lock: the provider row, alone; no money row is touched here. As in ``payments/services.py``, Stripe is never
called while the lock is held: a step writes the provider row and commits, calls Stripe with an idempotency
key derived from the row, and stores the answer in a second transaction. Every change of the row writes an
audit entry in the transaction that makes it.

Stripe's answer is the truth, never a URL or an event's copy: the return page and ``account.updated`` both
re-read the account (``connect_account_sync``). A read stores the time it was asked (``stripe_synced_at``),
and an answer older than the one already stored is dropped, so two reads racing each other never move the row
back to an earlier state.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from marketplace.audit import audit_record
from marketplace.models import User
from payments import gateway
from payments.models import WebhookEvent
from payments.namespace import is_ours, our_metadata, stripe_key
from providers.models import Provider

logger = logging.getLogger(__name__)

# --- Where the platform can pay out ----------------------------------------------------------------------

# Stripe's self-serve cross-border payouts work among these (the US, the UK, the EEA, Canada and
# Switzerland), in both directions: a platform in one of them can open recipient accounts in any other.
CROSS_BORDER_COUNTRIES: dict[str, str] = {
    "AT": "Austria",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "CA": "Canada",
    "CH": "Switzerland",
    "CY": "Cyprus",
    "CZ": "Czech Republic",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "GR": "Greece",
    "HR": "Croatia",
    "HU": "Hungary",
    "IE": "Ireland",
    "IS": "Iceland",
    "IT": "Italy",
    "LI": "Liechtenstein",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MT": "Malta",
    "NL": "Netherlands",
    "NO": "Norway",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SE": "Sweden",
    "SI": "Slovenia",
    "SK": "Slovakia",
    "US": "United States",
}


@dataclass(frozen=True)
class PayoutCountry:
    code: str  # ISO 3166-1 alpha-2, upper case
    name: str
    service_agreement: str  # "full" (the platform's own country) or "recipient" (cross-border)

    @property
    def is_cross_border(self) -> bool:
        return self.service_agreement == "recipient"


def payout_country_terms(country: str) -> PayoutCountry | None:
    """How the platform can pay a provider based in ``country``, or None when it cannot (yet).

    The platform's own country (``PLATFORM_COUNTRY``) gets a full account; another country gets a
    cross-border account under the recipient service agreement, which Stripe allows only when platform and
    provider are both in the US / UK / EEA / Canada / Switzerland region."""
    code = country.strip().upper()
    platform = settings.PLATFORM_COUNTRY
    if code == platform:
        return PayoutCountry(code, CROSS_BORDER_COUNTRIES.get(code, code), "full")
    if platform in CROSS_BORDER_COUNTRIES and code in CROSS_BORDER_COUNTRIES:
        return PayoutCountry(code, CROSS_BORDER_COUNTRIES[code], "recipient")
    return None


def payout_countries() -> list[PayoutCountry]:
    """Every country the platform can pay out to: its own first, then the rest by name."""
    platform = payout_country_terms(settings.PLATFORM_COUNTRY)
    assert platform is not None  # the platform's own country always qualifies
    others = [
        terms
        for code in CROSS_BORDER_COUNTRIES
        if code != platform.code and (terms := payout_country_terms(code)) is not None
    ]
    return [platform, *sorted(others, key=lambda terms: terms.name)]


# --- Stripe's requirements in words a person understands -------------------------------------------------

REQUIREMENT_LABELS: dict[str, str] = {
    "external_account": "your bank account for payouts",
    "business_type": "whether you work as an individual or a company",
    "business_profile.url": "your website or a short description of your services",
    "business_profile.product_description": "a short description of your services",
    "business_profile.mcc": "the kind of work you do",
    "individual.first_name": "your legal name",
    "individual.last_name": "your legal name",
    "individual.email": "your email address",
    "individual.phone": "your phone number",
    "individual.id_number": "your national ID number",
    "individual.ssn_last_4": "the last four digits of your Social Security number",
    "individual.verification.document": "a photo of your ID document",
    "individual.verification.additional_document": "a document that proves your address",
    "tos_acceptance.date": "accepting the Stripe services agreement",
    "tos_acceptance.ip": "accepting the Stripe services agreement",
}
# Checked in order when a name has no label of its own; the first matching prefix wins.
REQUIREMENT_PREFIX_LABELS: tuple[tuple[str, str], ...] = (
    ("individual.dob.", "your date of birth"),
    ("individual.address.", "your home address"),
    ("individual.verification.", "a photo of your ID document"),
    ("individual.", "more personal details"),
    ("company.address.", "your company's address"),
    ("company.", "your company's details"),
    ("representative.", "details of the person who runs your business"),
    ("owners.", "details of your business's owners"),
    ("directors.", "details of your business's directors"),
    ("executives.", "details of your business's executives"),
    ("person_", "details of the people who own or run your business"),
    ("business_profile.", "details about your business"),
    ("tos_acceptance.", "accepting the Stripe services agreement"),
    ("external_account", "your bank account for payouts"),
)
REQUIREMENT_FALLBACK_LABEL = "other details Stripe asks for"


def requirement_label(name: str) -> str:
    """Words for one of Stripe's requirement names (``individual.dob.day`` → "your date of birth")."""
    if name in REQUIREMENT_LABELS:
        return REQUIREMENT_LABELS[name]
    for prefix, label in REQUIREMENT_PREFIX_LABELS:
        if name.startswith(prefix):
            return label
    return REQUIREMENT_FALLBACK_LABEL


def requirement_labels(names: list[str]) -> list[str]:
    """Words for Stripe's requirement names, each said once, in Stripe's order, the fallback last."""
    labels = list(dict.fromkeys(requirement_label(name) for name in names))
    if REQUIREMENT_FALLBACK_LABEL in labels:
        labels.remove(REQUIREMENT_FALLBACK_LABEL)
        labels.append(REQUIREMENT_FALLBACK_LABEL)
    return labels


def missing_details(provider: Provider) -> list[str]:
    """What the provider still has to give Stripe, in words (pending verification excluded)."""
    pending = set(provider.stripe_requirements_pending)
    return requirement_labels([name for name in provider.stripe_requirements_due if name not in pending])


REASON_MAX_LENGTH = Provider._meta.get_field("payouts_blocked_reason").max_length or 255


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def payouts_blocked_reason(provider: Provider) -> str:
    """Why money cannot be sent to the provider now, for them to read; empty when it can."""
    setup = provider.payout_setup
    if setup == Provider.PayoutSetup.READY:
        return ""
    if setup == Provider.PayoutSetup.NOT_STARTED:
        return "Payouts are not set up yet."
    if setup == Provider.PayoutSetup.REJECTED:
        return "Stripe has turned down this payout account. Please contact us."
    if setup == Provider.PayoutSetup.UNDER_REVIEW:
        return "Stripe is reviewing your details."
    missing = missing_details(provider)
    if not missing:
        return "Payout setup is not finished."
    reason = f"Payout setup is not finished: Stripe still needs {_words(missing)}."
    while len(reason) > REASON_MAX_LENGTH and len(missing) > 1:
        # The stored column is short; the setup page lists everything.
        missing = missing[:-1]
        reason = f"Payout setup is not finished: Stripe still needs {', '.join(missing)} and more."
    return reason[:REASON_MAX_LENGTH]


# --- Services --------------------------------------------------------------------------------------------


class ConnectError(Exception):
    """Onboarding cannot go on; the message is fit to show the provider."""


def _site_url(name: str) -> str:
    return settings.SITE_URL + reverse(name)


def connect_account_open(*, provider_id: int, country: str | None, actor: User | None = None) -> Provider:
    """Make sure the provider has a Stripe Express account, opening one for ``country`` if they have none.

    ``country`` (ISO-2) is needed until the account exists and must be one ``payout_country_terms``
    accepts (cross-border countries get the recipient service agreement); once the account exists it is
    ignored, since an account's country never changes. Raises ``ConnectError`` with a message for the
    provider. Idempotent: the key ``connect-account-<provider>-<country>`` makes a repeated or retried call
    (a crash between Stripe's answer and our commit, a double click) get the same account back.
    """
    with transaction.atomic():
        provider = Provider.objects.select_for_update().select_related("user").get(pk=provider_id)
        if provider.stripe_account_id:
            return provider
        chosen = country or provider.payout_country
        terms = payout_country_terms(chosen) if chosen else None
        if terms is None:
            raise ConnectError(
                "Choose the country where you live and bank first."
                if not chosen
                else "We can't pay out to that country yet, so payouts can't be set up there."
            )
        if provider.payout_country != terms.code:
            previous = provider.payout_country
            provider.payout_country = terms.code
            provider.save(update_fields=["payout_country", "updated_at"])
            audit_record(
                subject=provider,
                action="provider.payout_country",
                actor=actor,
                reason=f"payout country {previous or '(none)'} → {terms.code}",
                data={"from": previous, "to": terms.code, "service_agreement": terms.service_agreement},
            )

    asked_at = timezone.now()
    try:
        account = gateway.connect_account_create(
            email=provider.user.email,
            country=terms.code,
            # The installation in the metadata: every Connect endpoint on a shared Stripe account hears about
            # every account, and each installation must adopt (see _adopt) only its own.
            metadata=our_metadata(provider_id=str(provider.pk)),
            service_agreement=terms.service_agreement,
            idempotency_key=stripe_key(f"connect-account-{provider.pk}-{terms.code}"),
        )
    except gateway.GatewayTemporaryError as error:
        logger.warning("opening a Stripe account for provider %s failed, retryable: %s", provider.pk, error)
        raise ConnectError("We could not reach Stripe. Please try again in a moment.") from error
    except gateway.GatewayRejectedError as error:
        logger.error("Stripe refused an account for provider %s (%s): %s", provider.pk, terms.code, error)
        raise ConnectError("Stripe refused to open a payout account for you. Please contact us.") from error

    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider_id)
        if provider.stripe_account_id is None:
            provider.stripe_account_id = account.id
            provider.save(update_fields=["stripe_account_id", "updated_at"])
            audit_record(
                subject=provider,
                action="provider.stripe_account",
                actor=actor,
                reason=f"Stripe Express account {account.id} opened in {terms.code}",
                data={
                    "account": account.id,
                    "country": terms.code,
                    "service_agreement": terms.service_agreement,
                },
            )
            _store_account(provider, account, fetched_at=asked_at, actor=actor)
        elif provider.stripe_account_id != account.id:
            # Only possible if the account was replaced by hand meanwhile: keep what is stored.
            logger.error(
                "provider %s has account %s; Stripe answered %s",
                provider.pk,
                provider.stripe_account_id,
                account.id,
            )
    return provider


def connect_onboarding_link(*, provider_id: int, actor: User | None = None) -> str:
    """A fresh, single-use Stripe onboarding link for the provider's existing account (what "Continue
    setup" and the ``refresh_url`` of an expired or used link need). Each link is numbered on the provider
    row first (``stripe_links_created``), so its key ``connect-link-<provider>-<n>`` is new: replaying an
    old key would hand back a link that was already used."""
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider_id)
        if not provider.stripe_account_id:
            raise ConnectError("Choose your country and set up payouts first.")
        if provider.payout_setup == Provider.PayoutSetup.REJECTED:
            raise ConnectError("Stripe has turned down this payout account. Please contact us.")
        number = _count_link(provider, kind="onboarding", actor=actor)
    assert provider.stripe_account_id is not None
    try:
        link = gateway.connect_account_link_create(
            account_id=provider.stripe_account_id,
            refresh_url=_site_url("payments:connect_refresh"),
            return_url=_site_url("payments:connect_return"),
            idempotency_key=stripe_key(f"connect-link-{provider.pk}-{number}"),
        )
    except gateway.GatewayTemporaryError as error:
        logger.warning("onboarding link for provider %s failed, retryable: %s", provider.pk, error)
        raise ConnectError("We could not reach Stripe. Please try again in a moment.") from error
    except gateway.GatewayRejectedError as error:
        logger.error("Stripe refused an onboarding link for provider %s: %s", provider.pk, error)
        raise ConnectError("Stripe refused to continue your payout setup. Please contact us.") from error
    return link.url


def connect_onboarding_start(
    *, provider_id: int, country: str | None = None, actor: User | None = None
) -> str:
    """What "Set up payouts" and "Continue setup" do: open the account if needed (``connect_account_open``)
    and return the URL of a fresh onboarding link to send the provider to."""
    connect_account_open(provider_id=provider_id, country=country, actor=actor)
    return connect_onboarding_link(provider_id=provider_id, actor=actor)


def connect_dashboard_link(*, provider_id: int, actor: User | None = None) -> str:
    """A single-use link into the provider's Stripe Express dashboard. Only for a ready account (Stripe
    refuses before onboarding); raises ``ConnectError`` otherwise. Keyed like onboarding links."""
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider_id)
        if not provider.can_receive_payouts:
            raise ConnectError("Your Stripe Express dashboard opens once your payouts are set up.")
        number = _count_link(provider, kind="dashboard", actor=actor)
    assert provider.stripe_account_id is not None
    try:
        link = gateway.connect_login_link_create(
            account_id=provider.stripe_account_id,
            idempotency_key=stripe_key(f"connect-login-{provider.pk}-{number}"),
        )
    except gateway.GatewayError as error:
        logger.warning("Express dashboard link for provider %s failed: %s", provider.pk, error)
        raise ConnectError(
            "We could not open your Stripe dashboard. Please try again in a moment."
        ) from error
    return link.url


def _count_link(provider: Provider, *, kind: str, actor: User | None) -> int:
    provider.stripe_links_created += 1
    provider.save(update_fields=["stripe_links_created", "updated_at"])
    audit_record(
        subject=provider,
        action=f"provider.stripe_{kind}_link",
        actor=actor,
        reason=f"{kind} link {provider.stripe_links_created} for {provider.stripe_account_id}",
    )
    return provider.stripe_links_created


def connect_account_sync(*, account_id: str) -> Provider | None:
    """Re-read a connected account from Stripe and store its state on its provider (the return page,
    ``account.updated``). Returns None for an account that is no provider's. Idempotent and order-independent:
    the state stored is Stripe's at the time of the read, and an older read never overwrites a newer one.

    An account whose id we never stored (Stripe answered the create call, then we crashed) is adopted by the
    provider its metadata names, if that provider has no account yet."""
    fetched_at = timezone.now()
    account = gateway.connect_account_retrieve(account_id=account_id)
    with transaction.atomic():
        provider = Provider.objects.select_for_update().filter(stripe_account_id=account.id).first()
        if provider is None:
            provider = _adopt(account)
            if provider is None:
                logger.info("Stripe account %s belongs to no provider of ours", account.id)
                return None
        _store_account(provider, account, fetched_at=fetched_at)
    return provider


def connect_provider_sync(*, provider_id: int) -> Provider:
    """The provider with their account's state re-read from Stripe (a provider without an account as is).
    Raises ``gateway.GatewayError`` when Stripe cannot be asked."""
    account_id = Provider.objects.values_list("stripe_account_id", flat=True).get(pk=provider_id)
    if account_id:
        connect_account_sync(account_id=account_id)
    return Provider.objects.get(pk=provider_id)


def _adopt(account: gateway.ConnectAccount) -> Provider | None:
    """The locked provider an account we never stored was opened for, if it is really theirs: made by this
    installation, for a provider without an account, in the country they chose."""
    provider_id = account.metadata.get("provider_id", "")
    if not provider_id.isdigit() or not is_ours(account.metadata):
        return None
    provider = Provider.objects.select_for_update().filter(pk=int(provider_id)).first()
    country = str(account.raw.get("country") or "").upper()
    if (
        provider is None
        or provider.stripe_account_id is not None
        or provider.payout_country not in ("", country)
        or payout_country_terms(country) is None
    ):
        if provider is not None:
            logger.warning(
                "Stripe account %s (%s) names provider %s (account %s, country %s): left alone",
                account.id,
                country,
                provider.pk,
                provider.stripe_account_id,
                provider.payout_country,
            )
        return None
    provider.stripe_account_id = account.id
    provider.payout_country = country
    provider.save(update_fields=["stripe_account_id", "payout_country", "updated_at"])
    audit_record(
        subject=provider,
        action="provider.stripe_account",
        reason=f"Stripe Express account {account.id} adopted from its metadata",
        data={"account": account.id, "country": provider.payout_country, "adopted": True},
    )
    return provider


ACCOUNT_FIELDS = [
    "stripe_transfers_capability",
    "stripe_details_submitted",
    "stripe_payouts_enabled",
    "stripe_requirements_due",
    "stripe_requirements_pending",
    "stripe_disabled_reason",
    "payouts_blocked_reason",
]


def _store_account(
    provider: Provider, account: gateway.ConnectAccount, *, fetched_at: datetime, actor: User | None = None
) -> None:
    """Copy Stripe's view of the account onto the locked provider row, unless a newer read is stored."""
    if provider.stripe_synced_at is not None and provider.stripe_synced_at > fetched_at:
        return  # a read made after this one has already been stored
    before = {name: getattr(provider, name) for name in ACCOUNT_FIELDS}
    from_setup = provider.payout_setup
    requirements: dict[str, Any] = account.raw.get("requirements") or {}
    provider.stripe_transfers_capability = account.transfers_capability or ""
    provider.stripe_details_submitted = account.details_submitted
    provider.stripe_payouts_enabled = account.payouts_enabled
    provider.stripe_requirements_due = list(account.requirements_due)
    provider.stripe_requirements_pending = list(requirements.get("pending_verification") or [])
    provider.stripe_disabled_reason = account.disabled_reason or ""
    provider.payouts_blocked_reason = payouts_blocked_reason(provider)
    provider.stripe_synced_at = fetched_at
    provider.save(update_fields=[*ACCOUNT_FIELDS, "stripe_synced_at", "updated_at"])
    after = {name: getattr(provider, name) for name in ACCOUNT_FIELDS}
    if after != before:
        audit_record(
            subject=provider,
            action="provider.payout_setup",
            actor=actor,
            from_status=from_setup,
            to_status=provider.payout_setup,
            reason=provider.payouts_blocked_reason or "can receive payouts",
            data={
                "account": account.id,
                "transfers": provider.stripe_transfers_capability,
                "details_submitted": provider.stripe_details_submitted,
                "payouts_enabled": provider.stripe_payouts_enabled,
                "currently_due": provider.stripe_requirements_due,
                "pending_verification": provider.stripe_requirements_pending,
                "disabled_reason": provider.stripe_disabled_reason,
            },
        )


# --- Webhooks --------------------------------------------------------------------------------------------


def connect_on_account_updated(obj: dict[str, Any], event: WebhookEvent) -> None:
    """``account.updated`` from the Connect endpoint: a trigger only. The account is re-read from Stripe, so
    duplicates, stale copies and any order of events end in Stripe's current state."""
    account_id = event.account or obj["id"]
    try:
        connect_account_sync(account_id=account_id)
    except gateway.GatewayNotFoundError:
        # Deleted, or not on our platform: nothing will ever make this event succeed.
        logger.warning("account.updated for %s, which Stripe does not know", account_id)
