"""The provider's payout setup pages (Stripe Connect Express onboarding), under the provider dashboard.

Every page works on the signed-in user's own provider row, never on an id from the URL, so anyone else gets a
404. What they show is read from Stripe through ``payments.connect``, never from the URL Stripe sends the
provider back to. Stripe is called with the web budget (``gateway.interactive``): the provider is waiting.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from payments import gateway
from payments.connect import (
    ConnectError,
    connect_dashboard_link,
    connect_onboarding_link,
    connect_onboarding_start,
    connect_provider_sync,
    missing_details,
    payout_countries,
    payout_country_terms,
    requirement_labels,
)
from payments.forms import PayoutCountryForm
from providers.models import Provider


def _own_provider(request: HttpRequest) -> Provider:
    return get_object_or_404(Provider.objects.select_related("user"), user=request.user)


def _render(
    request: HttpRequest, provider: Provider, *, form: PayoutCountryForm | None = None
) -> HttpResponse:
    return render(
        request,
        "payments/connect_setup.html",
        {
            "provider": provider,
            "setup": provider.payout_setup,
            # A country chosen before Stripe failed to answer stays chosen.
            "form": form or PayoutCountryForm(initial={"country": provider.payout_country}),
            "missing": missing_details(provider),
            "pending": requirement_labels(provider.stripe_requirements_pending),
            "country": payout_country_terms(provider.payout_country) if provider.payout_country else None,
            "countries": payout_countries(),
            "hold_hours": settings.PAYOUT_HOLD_HOURS,
        },
    )


@login_required
def connect_setup(request: HttpRequest) -> HttpResponse:
    """Where payouts stand. POST: "Set up payouts" (with the country, before the account exists) or
    "Continue setup": off to a fresh Stripe onboarding link."""
    provider = _own_provider(request)
    if request.method != "POST":
        return _render(request, provider)
    form = PayoutCountryForm(request.POST)
    if not provider.stripe_account_id and not form.is_valid():
        return _render(request, provider, form=form)
    try:
        with gateway.interactive():
            url = connect_onboarding_start(
                provider_id=provider.pk,
                country=form.cleaned_data["country"] if not provider.stripe_account_id else None,
                actor=provider.user,
            )
    except ConnectError as error:
        messages.error(request, str(error))
        return redirect("payments:connect_setup")
    return redirect(url)


@login_required
def connect_refresh(request: HttpRequest) -> HttpResponse:
    """Stripe's ``refresh_url``: the onboarding link was used or has expired, so make a new one and go."""
    provider = _own_provider(request)
    if not provider.stripe_account_id:
        return redirect("payments:connect_setup")
    try:
        with gateway.interactive():
            url = connect_onboarding_link(provider_id=provider.pk, actor=provider.user)
    except ConnectError as error:
        messages.error(request, str(error))
        return redirect("payments:connect_setup")
    return redirect(url)


@login_required
def connect_return(request: HttpRequest) -> HttpResponse:
    """Stripe's ``return_url``. Coming back says nothing about how far the provider got: ask Stripe."""
    provider = _own_provider(request)
    try:
        with gateway.interactive():
            provider = connect_provider_sync(provider_id=provider.pk)
    except gateway.GatewayError:
        messages.warning(
            request, "We could not check with Stripe just now. This is what we knew last; try again shortly."
        )
    return _render(request, provider)


@login_required
@require_POST
def connect_express(request: HttpRequest) -> HttpResponse:
    """The "Open Stripe Express dashboard" button: a fresh single-use login link, once payouts are ready."""
    provider = _own_provider(request)
    try:
        with gateway.interactive():
            url = connect_dashboard_link(provider_id=provider.pk, actor=provider.user)
    except ConnectError as error:
        messages.error(request, str(error))
        return redirect("payments:connect_setup")
    return redirect(url)
