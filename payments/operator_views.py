"""The operator's dashboard: staff only, linked from the admin's index."""

from datetime import datetime, time, timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from payments.forms import OperatorPeriodForm
from payments.operator import marketplace_health

PRESETS = (("Last 7 days", 7), ("Last 4 weeks", 28), ("Last 12 weeks", 84), ("Last year", 365))


@staff_member_required
def operator_dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    default_start, default_end = OperatorPeriodForm.default_period(today)
    if "start" in request.GET or "end" in request.GET:
        form = OperatorPeriodForm(request.GET)
        valid = form.is_valid()
    else:
        form = OperatorPeriodForm(initial={"start": default_start, "end": default_end})
        valid = False
    first, last = (
        (form.cleaned_data["start"], form.cleaned_data["end"]) if valid else (default_start, default_end)
    )
    zone = timezone.get_current_timezone()
    # Whole days in the viewer's zone: from the first day's midnight to the midnight after the last day.
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    presets = [
        (label, today - timedelta(days=days - 1), today)
        for label, days in (
            ("Last 7 days", 7),
            ("Last 4 weeks", 28),
            ("Last 12 weeks", 84),
            ("Last year", 365),
        )
    ]
    return render(
        request,
        "payments/operator_dashboard.html",
        {
            "form": form,
            "health": marketplace_health(start=start, end=end),
            "first": first,
            "last": last,
            "presets": presets,
        },
    )
