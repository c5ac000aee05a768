"""The provider's payouts page: where each session's money is, and the totals."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from payments.selectors import provider_payout_totals, provider_payouts
from providers.models import Provider


@login_required
def payouts(request: HttpRequest) -> HttpResponse:
    # Always the signed-in provider's own payouts: there is no id in the URL to try someone else's.
    provider = get_object_or_404(Provider, user=request.user)
    page = Paginator(provider_payouts(provider=provider), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/payouts.html",
        {
            "provider": provider,
            "page": page,
            "totals": provider_payout_totals(provider=provider),
            "currency": settings.PLATFORM_CURRENCY,
            "hold_hours": settings.PAYOUT_HOLD_HOURS,
        },
    )
