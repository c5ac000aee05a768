"""The dispute desk's admin screens: "Flag dispute" (an action on bookings and payouts, asking for a reason)
and resolving a dispute with the amounts shown before confirming."""

from collections.abc import Iterable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from bookings.models import Booking
from marketplace.models import User
from payments.disputes import DisputeError, dispute_open, dispute_resolution_preview, dispute_resolve
from payments.forms import FlagDisputeForm, ResolveDisputeForm
from payments.models import Dispute


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # admin pages are only served to signed-in staff
    return request.user


def flag_disputes(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    bookings: Iterable[Booking],
    action: str,
    selected: list,
) -> HttpResponse | None:
    """The "Flag dispute" action: ask for a reason (an intermediate page), then open a dispute on each
    booking, which holds its payout at once. Returns the page to show, or None to go back to the list."""
    form = FlagDisputeForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        for booking in bookings:
            try:
                dispute = dispute_open(
                    booking_id=booking.pk,
                    opened_by=Dispute.OpenedBy.ADMIN,
                    actor=_staff(request),
                    reason=form.cleaned_data["reason"],
                    description=form.cleaned_data["description"],
                )
            except DisputeError as error:
                model_admin.message_user(request, f"{booking.reference}: {error}", messages.WARNING)
            else:
                model_admin.message_user(
                    request, f"{booking.reference}: dispute {dispute.pk} opened; its payout is held."
                )
        return None
    return TemplateResponse(
        request,
        "admin/payments/flag_dispute.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": "Flag a dispute",
            "form": form,
            "bookings": list(bookings),
            "action": action,
            "selected": selected,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": model_admin.model._meta,
        },
    )


def resolve_view(model_admin: admin.ModelAdmin, request: HttpRequest, dispute_id: int) -> HttpResponse:
    """Resolve one dispute: choose the outcome, see what each party gets, then confirm."""
    dispute = get_object_or_404(Dispute.objects.select_related("booking", "payment"), pk=dispute_id)
    change_url = reverse("admin:payments_dispute_change", args=[dispute.pk])
    form = ResolveDisputeForm(request.POST or None, currency=dispute.currency)
    preview = None
    if request.method == "POST" and form.is_valid():
        outcome = form.cleaned_data["outcome"]
        amount = form.cleaned_data.get("refund_amount")
        try:
            preview = dispute_resolution_preview(dispute=dispute, outcome=outcome, refund_amount=amount)
            if form.cleaned_data["confirmed"]:
                dispute_resolve(
                    dispute_id=dispute.pk,
                    outcome=outcome,
                    actor=_staff(request),
                    refund_amount=amount,
                    note=form.cleaned_data["note"],
                )
                model_admin.message_user(
                    request, f"Dispute {dispute.pk} resolved; both parties are being told."
                )
                return redirect(change_url)
        except DisputeError as error:
            form.add_error(None, str(error))
            preview = None
    return TemplateResponse(
        request,
        "admin/payments/resolve_dispute.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": f"Resolve dispute {dispute.pk}",
            "dispute": dispute,
            "form": form,
            "preview": preview,
            "change_url": change_url,
            "opts": model_admin.model._meta,
        },
    )
