"""The provider's earnings page and its CSV: the signed-in provider's own sessions only."""

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from marketplace.money import format_major_units
from payments.earnings import CHART_UNITS, PERIODS, EarningsRow, provider_earnings
from payments.forms import EarningsFilterForm
from providers.models import Provider

CSV_HEADER = [
    "session_start",
    "time_zone",
    "reference",
    "service",
    "client",
    "booking_status",
    "currency",
    "price",
    "refunded",
    "platform_fee",
    "taken_back",
    "net",
    "payout_state",
]
# A cell a spreadsheet would run as a formula (CSV injection): names are typed by clients and providers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@login_required
def earnings(request: HttpRequest) -> HttpResponse:
    # Always the signed-in provider's own: there is no id in the URL to try someone else's.
    provider = get_object_or_404(Provider, user=request.user)
    form = EarningsFilterForm(request.GET)
    period, chart_unit = form.choices()
    # Months are the provider's (their business zone); times on the page are shown in the viewer's zone,
    # as everywhere else, with the zone named.
    summary = provider_earnings(provider=provider, chart_unit=chart_unit)
    page = Paginator(summary.rows_in(period), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/earnings.html",
        {
            "provider": provider,
            "form": form,
            "summary": summary,
            "period": period,
            "period_label": PERIODS[period],
            "chart_unit": chart_unit,
            "periods": PERIODS,
            "chart_units": CHART_UNITS,
            "page": page,
        },
    )


@login_required
def earnings_csv(request: HttpRequest) -> HttpResponse:
    """The rows the page lists for the same period, every page of them, one line per session."""
    provider = get_object_or_404(Provider, user=request.user)
    period, _ = EarningsFilterForm(request.GET).choices()
    summary = provider_earnings(provider=provider)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="earnings-{period.replace("_", "-")}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for row in summary.rows_in(period):
        writer.writerow(_csv_line(row, provider.timezone))
    return response


def _csv_line(row: EarningsRow, zone: str) -> list[str]:
    booking, money, currency = row.booking, row.money, row.currency
    return [
        row.local_start.isoformat(timespec="minutes"),
        zone,
        booking.reference,
        _cell(booking.service_title),
        _cell(booking.client.display_name),
        booking.status,
        currency.upper(),
        format_major_units(row.price, currency),
        format_major_units(money.refunded, currency),
        format_major_units(money.platform_fee, currency),
        format_major_units(row.taken_back, currency),
        format_major_units(row.net, currency),
        money.state,
    ]


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
