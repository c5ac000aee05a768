"""Client and provider pages about bookings. Pages that move money call payments' services."""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bookings.forms import BookingForm, CancelForm, ReplyForm, ReviewForm
from bookings.models import Booking, Review
from bookings.policy import cancellation_terms
from bookings.reviews import ReviewError, review_create, review_refusal, review_reply
from bookings.selectors import is_slot_bookable
from bookings.services import BookingError, booking_create
from marketplace.forms import signup_form_for
from marketplace.money import format_money
from marketplace.ratelimit import client_ip, rate_limit_hit, rate_limit_message
from payments import gateway
from payments.disputes import DisputeError, client_report_refusal, dispute_open, report_window_end
from payments.forms import ProblemReportForm
from payments.models import Dispute, Payment, Payout, Refund
from payments.payouts import session_complete
from payments.selectors import provider_money
from payments.services import (
    CancellationTermsChanged,
    CheckoutAlreadyPaid,
    CheckoutError,
    booking_cancel_with_refund,
    checkout_start,
    payment_sync_from_session,
)
from providers.models import Service

logger = logging.getLogger(__name__)


def _parse_start(value: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat((value or "").replace(" ", "+"))
    except ValueError:
        return None
    # A start without an offset would be a guess about the zone: refuse it rather than book the wrong hour.
    return parsed if parsed.tzinfo is not None else None


def _booking_for(request: HttpRequest, reference: str, *, client_only: bool = False) -> Booking:
    """The booking if the signed-in user is its client (or, unless ``client_only``, its provider); 404
    otherwise, so nobody can even learn that someone else's reference exists."""
    booking = get_object_or_404(
        Booking.objects.select_related("provider", "provider__user", "service", "client"), reference=reference
    )
    is_client = booking.client_id == request.user.pk
    is_provider = booking.provider.user_id == request.user.pk
    if not (is_client or (is_provider and not client_only)):
        raise Http404
    return booking


def _checkout_rate_limit_message(request: HttpRequest) -> str:
    """Count a checkout attempt per address and per account; a message when either is over its limit.
    Every checkout holds a slot and opens a Stripe session, so they are budgeted like logins."""
    results = [rate_limit_hit(scope="checkout_ip", key=client_ip(request))]
    if request.user.is_authenticated:
        results.append(rate_limit_hit(scope="checkout_user", key=str(request.user.pk)))
    limited = [result for result in results if result.is_limited]
    return rate_limit_message(limited[0]) if limited else ""


def book(request: HttpRequest, service_id: int) -> HttpResponse:
    """The booking form for one slot: notes, address when needed, and sign-up for visitors, then checkout."""
    service = get_object_or_404(
        Service.objects.select_related("provider"), pk=service_id, is_active=True, provider__is_active=True
    )
    profile_url = reverse("providers:profile", args=[service.provider.slug]) + f"?service={service.pk}#times"
    start_at = _parse_start(request.GET.get("start"))
    if start_at is None:
        messages.error(request, "Please pick a time first.")
        return redirect(profile_url)
    if not is_slot_bookable(service=service, start_at=start_at):
        messages.error(request, "Sorry, that time is no longer available. Please pick another.")
        return redirect(profile_url)
    # A real slot, so it converts: the database and every page below get the instant in UTC, whatever offset
    # (up to ±23:59, beyond what PostgreSQL accepts) the link carried.
    start_at = start_at.astimezone(UTC)

    limit_message = _checkout_rate_limit_message(request) if request.method == "POST" else ""
    form = BookingForm(
        request.POST if request.method == "POST" else None, service=service, rate_limit_message=limit_message
    )
    # A visitor signs up on this page: the same form, and the same sign-up limit, as the sign-up page.
    signup_form, signup_status = (
        (None, 200) if request.user.is_authenticated else signup_form_for(request, prefix="signup")
    )
    if request.method == "POST":
        if limit_message:
            form.is_valid()  # shows the refusal as the form's error
            return _render_book(request, service, start_at, form, signup_form, status=429)
        if signup_form is not None and signup_status != 200:
            signup_form.is_valid()  # shows the refusal in the sign-up part of the form
            return _render_book(request, service, start_at, form, signup_form, status=signup_status)
        if form.is_valid() and (signup_form is None or signup_form.is_valid()):
            if signup_form is not None:
                user = signup_form.save()
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            try:
                booking = booking_create(
                    client=request.user,
                    service=service,
                    start_at=start_at,
                    client_notes=form.cleaned_data["client_notes"],
                    address=form.cleaned_data.get("address", ""),
                )
            except BookingError as error:
                messages.error(request, str(error))
                return redirect(profile_url)
            try:
                payment = checkout_start(booking_id=booking.pk)
            except CheckoutError as error:
                messages.error(request, str(error))
                return redirect("bookings:detail", booking.reference)
            return redirect(payment.checkout_url)
    return _render_book(request, service, start_at, form, signup_form)


def _render_book(request, service, start_at, form, signup_form, status: int = 200) -> HttpResponse:
    login_url = reverse("login") + "?next=" + request.get_full_path()
    context = {
        "service": service,
        "provider": service.provider,
        "start_at": start_at,
        "end_at": start_at + timedelta(minutes=service.duration_minutes),
        "form": form,
        "signup_form": signup_form,
        "login_url": login_url,
        "hold_minutes": settings.BOOKING_HOLD_MINUTES,
        "late_refund_percent": settings.LATE_CANCELLATION_REFUND_PERCENT,
        "terms": cancellation_terms(
            price_amount=service.price_amount, start_at=start_at, by_client=True, now=timezone.now()
        ),
    }
    return render(request, "bookings/book.html", context, status=status)


@login_required
def my_bookings(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    bookings = (
        Booking.objects.filter(client=request.user)
        .select_related("provider", "review")
        .prefetch_related(
            Prefetch("refunds", queryset=Refund.objects.order_by("created_at")),
            Prefetch(
                "payments",
                queryset=Payment.objects.filter(status__in=Payment.PAID_STATUSES).order_by("paid_at", "pk"),
                to_attr="paid_payments",
            ),
        )
    )
    upcoming = bookings.filter(
        end_at__gte=now, status__in=[Booking.Status.CONFIRMED, Booking.Status.PENDING_PAYMENT]
    ).order_by("start_at")
    past = list(bookings.exclude(pk__in=upcoming.values("pk")).order_by("-start_at")[:100])
    for booking in past:
        # From what is already loaded (no query per row); the review page itself re-checks everything.
        payment = booking.paid_payments[0] if booking.paid_payments else None
        refunded = sum(
            r.amount
            for r in booking.refunds.all()
            if payment and r.payment_id == payment.pk and r.status in Refund.COMMITTED_STATUSES
        )
        booking.can_review = (
            booking.status == Booking.Status.COMPLETED
            and not hasattr(booking, "review")
            and not (payment and refunded >= payment.amount)
        )
    return render(request, "bookings/my_bookings.html", {"upcoming": upcoming, "past": past})


@login_required
def provider_bookings(request: HttpRequest) -> HttpResponse:
    provider = getattr(request.user, "provider", None)
    if provider is None:
        raise Http404
    now = timezone.now()
    bookings = (
        Booking.objects.filter(provider=provider)
        .select_related("client", "review")
        .prefetch_related(
            Prefetch("payouts", queryset=Payout.objects.order_by("-sequence"), to_attr="latest_payouts"),
            "refunds",
        )
    )
    upcoming = bookings.filter(end_at__gte=now, status=Booking.Status.CONFIRMED).order_by("start_at")
    past = (
        bookings.filter(Q(end_at__lt=now) | ~Q(status=Booking.Status.CONFIRMED))
        .exclude(status__in=[Booking.Status.PENDING_PAYMENT, Booking.Status.EXPIRED])
        .order_by("-start_at")[:100]
    )
    upcoming, past = list(upcoming), list(past)
    for booking in [*upcoming, *past]:
        # What the provider really gets, from the share the payouts use (not the price's split).
        booking.provider_money = provider_money(
            booking, payout=booking.latest_payouts[0] if booking.latest_payouts else None
        )
    return render(
        request,
        "bookings/provider_bookings.html",
        {"provider": provider, "upcoming": upcoming, "past": past, "now": now},
    )


@login_required
@require_POST
def complete(request: HttpRequest, reference: str) -> HttpResponse:
    """The provider marks their session complete: its payout is scheduled after the hold."""
    booking = _booking_for(request, reference)
    if booking.provider.user_id != request.user.pk:
        raise Http404  # only the session's own provider; staff complete from admin
    try:
        booking, payout = session_complete(booking_id=booking.pk, actor=request.user)
    except BookingError as error:
        messages.error(request, str(error))
    else:
        if payout is not None:
            amount = format_money(payout.amount, payout.currency)
            messages.success(
                request,
                f"Marked complete. Your {amount} is held until the client's time to report a problem has "
                "passed, then sent to your Stripe account.",
            )
        else:
            messages.success(request, "Marked complete.")
    if request.POST.get("back_to") == "detail":
        return redirect("bookings:detail", booking.reference)
    return redirect("bookings:provider_bookings")


@login_required
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _booking_for(request, reference)
    now = timezone.now()
    payments = list(
        booking.payments.filter(
            status__in=[Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.REFUNDED]
        )
    )
    refunds = list(booking.refunds.order_by("created_at"))
    is_client = booking.client_id == request.user.pk
    payout = Payout.objects.filter(booking=booking).order_by("-sequence").first()
    review = Review.objects.filter(booking=booking).first()
    context = {
        "booking": booking,
        "is_client": is_client,
        "timeline": booking.status_changes.select_related("actor"),
        "payments": payments,
        "refunds": refunds,
        "amount_paid": sum(p.amount for p in payments),
        "amount_refunded": sum(r.amount for r in refunds if r.status == Refund.Status.SUCCEEDED),
        "can_pay": is_client
        and booking.status == Booking.Status.PENDING_PAYMENT
        and booking.hold_expires_at
        and booking.hold_expires_at > now,
        "can_cancel": booking.status == Booking.Status.CONFIRMED and booking.start_at > now,
        "can_complete": not is_client
        and booking.status == Booking.Status.CONFIRMED
        and booking.start_at <= now,
        "payout": payout,
        "provider_money": None if is_client else provider_money(booking, payout=payout),
        "now": now,
        "open_dispute": booking.disputes.filter(status=Dispute.Status.OPEN).first(),
        "report_refusal": client_report_refusal(booking, now=now) if is_client else "",
        "report_until": report_window_end(booking),
        "review": review,
        "can_review": is_client and review is None and not review_refusal(booking, user=request.user),
        "reply_form": ReplyForm() if review and not is_client and not review.reply else None,
    }
    return render(request, "bookings/detail.html", context)


@login_required
@require_POST
def checkout(request: HttpRequest, reference: str) -> HttpResponse:
    """Pay (again) for a pending booking: the client backed out of Stripe's page, or it failed to open."""
    booking = _booking_for(request, reference, client_only=True)
    limit_message = _checkout_rate_limit_message(request)
    if limit_message:
        messages.error(request, limit_message)
        return redirect("bookings:detail", booking.reference)
    try:
        payment = checkout_start(booking_id=booking.pk, restart=True)
    except CheckoutAlreadyPaid:
        # The client paid in another tab (or just now, before its webhook): show the booking, never a
        # second payment page.
        messages.success(request, "This booking is already paid: it is confirmed. Nothing more to pay.")
        return redirect("bookings:detail", booking.reference)
    except CheckoutError as error:
        messages.error(request, str(error))
        return redirect("bookings:detail", booking.reference)
    return redirect(payment.checkout_url)


@login_required
def checkout_success(request: HttpRequest, reference: str) -> HttpResponse:
    """Where Stripe sends the client after paying. If the webhook has not landed yet, run the same
    idempotent fulfilment from the session now, so the client sees the truth immediately."""
    booking = _booking_for(request, reference, client_only=True)
    session_id = request.GET.get("session_id", "")
    # Only something shaped like a session id is looked up: a NUL byte or a mile-long value would make
    # PostgreSQL refuse the query, and Stripe's ids are short and printable.
    if len(session_id) > 255 or not session_id.isprintable():
        session_id = ""
    payment = booking.payments.filter(checkout_session_id=session_id).first() if session_id else None
    if payment is not None and payment.status == Payment.Status.PENDING:
        try:
            with gateway.interactive():  # the client is waiting: a slow Stripe must not hold the page
                payment = payment_sync_from_session(session_id=session_id) or payment
        except gateway.GatewayError as error:
            # Stripe unreachable right now: the webhook will finish the job; the page says "processing".
            logger.warning("success page could not sync session %s: %s", session_id, error)
    booking.refresh_from_db()
    slot_refund = (
        booking.refunds.filter(
            payment=payment, reason__in=[Refund.Reason.SLOT_UNAVAILABLE, Refund.Reason.DUPLICATE_PAYMENT]
        ).first()
        if payment
        else None
    )
    return render(
        request,
        "bookings/checkout_success.html",
        {"booking": booking, "payment": payment, "slot_refund": slot_refund},
    )


@login_required
def checkout_cancelled(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _booking_for(request, reference, client_only=True)
    now = timezone.now()
    can_retry = (
        booking.status == Booking.Status.PENDING_PAYMENT
        and booking.hold_expires_at
        and booking.hold_expires_at > now
    )
    return render(request, "bookings/checkout_cancelled.html", {"booking": booking, "can_retry": can_retry})


@login_required
def cancel(request: HttpRequest, reference: str) -> HttpResponse:
    """Confirm, then cancel. The refund the policy gives is shown before anything happens."""
    booking = _booking_for(request, reference)
    by_client = booking.client_id == request.user.pk
    now = timezone.now()
    if booking.status != Booking.Status.CONFIRMED or booking.start_at <= now:
        messages.error(request, "This booking can no longer be cancelled.")
        return redirect("bookings:detail", booking.reference)
    terms = cancellation_terms(
        price_amount=booking.price_amount, start_at=booking.start_at, by_client=by_client, now=now
    )
    form = CancelForm(
        request.POST if request.method == "POST" else None, initial={"expected_refund": terms.refund_amount}
    )
    if request.method == "POST" and form.is_valid():
        shown = form.cleaned_data["expected_refund"]
        try:
            booking, refund = booking_cancel_with_refund(
                booking_id=booking.pk,
                actor=request.user,
                by_client=by_client,
                reason=form.cleaned_data["reason"],
                # The refund this person was shown: if the terms changed since, ask again.
                # (a form without it, from an old page, is always asked again).
                expected_refund_amount=shown if shown is not None else -1,
            )
        except CancellationTermsChanged as changed:
            terms = changed.terms
            amount = format_money(terms.refund_amount, booking.currency)
            messages.warning(
                request,
                (
                    f"The refund has changed since you opened this page: {amount} now. "
                    if shown is not None
                    else f"Cancelling now refunds {amount}. "
                )
                + "Nothing was cancelled yet; please confirm again if you still want to cancel.",
            )
            form = CancelForm(
                initial={"reason": form.cleaned_data["reason"], "expected_refund": terms.refund_amount}
            )
        except BookingError as error:
            messages.error(request, str(error))
            return redirect("bookings:detail", booking.reference)
        else:
            # Said to whoever cancelled: the client hears about their card, the provider about their client.
            amount = format_money(refund.amount, refund.currency) if refund else ""
            if by_client:
                messages.success(
                    request,
                    f"Booking cancelled. A refund of {amount} is on its way to your card."
                    if refund
                    else "Booking cancelled. Under the cancellation policy no refund is due.",
                )
            else:
                messages.success(
                    request,
                    f"Session cancelled. {booking.client.display_name} gets a full refund of {amount}; "
                    "we have told them."
                    if refund
                    else f"Session cancelled. We have told {booking.client.display_name}.",
                )
            return redirect("bookings:detail", booking.reference)
    return render(
        request,
        "bookings/cancel.html",
        {"booking": booking, "terms": terms, "form": form, "by_client": by_client},
    )


@login_required
def report_problem(request: HttpRequest, reference: str) -> HttpResponse:
    """The client reports a problem with a completed session, until its payout is due: the payout is held
    and our team looks into it."""
    booking = _booking_for(request, reference, client_only=True)
    refusal = client_report_refusal(booking)
    if refusal:
        messages.info(request, refusal)
        return redirect("bookings:detail", booking.reference)
    form = ProblemReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            dispute_open(
                booking_id=booking.pk,
                opened_by=Dispute.OpenedBy.CLIENT,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                description=form.cleaned_data["description"],
            )
        except DisputeError as error:
            messages.error(request, str(error))
            return redirect("bookings:detail", booking.reference)
        messages.success(
            request,
            "Thank you: we have your report. The payment stays with us while our team looks into it; we "
            "usually reply within two working days, by email.",
        )
        return redirect("bookings:detail", booking.reference)
    return render(
        request,
        "bookings/report_problem.html",
        {"booking": booking, "form": form, "report_until": report_window_end(booking)},
    )


@login_required
def review(request: HttpRequest, reference: str) -> HttpResponse:
    """The client rates a completed session and writes a review, once."""
    booking = _booking_for(request, reference, client_only=True)
    refusal = review_refusal(booking, user=request.user)
    if refusal:
        messages.info(request, refusal)
        return redirect("bookings:detail", booking.reference)
    form = ReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            review_create(
                booking_id=booking.pk,
                user=request.user,
                rating=form.cleaned_data["rating"],
                body=form.cleaned_data["body"],
            )
        except ReviewError as error:
            messages.error(request, str(error))
            return redirect("bookings:detail", booking.reference)
        messages.success(request, f"Thank you: your review is on {booking.provider.display_name}'s profile.")
        return redirect("bookings:detail", booking.reference)
    return render(request, "bookings/review.html", {"booking": booking, "form": form})


@login_required
def review_reply_view(request: HttpRequest, reference: str) -> HttpResponse:
    """The provider answers the review of their session, once (the form is on the booking's page)."""
    booking = _booking_for(request, reference)
    review = Review.objects.filter(booking=booking).first()
    if booking.provider.user_id != request.user.pk or review is None:
        raise Http404
    if request.method != "POST":
        return redirect("bookings:detail", booking.reference)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            review_reply(review_id=review.pk, user=request.user, reply=form.cleaned_data["reply"])
        except ReviewError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Your reply is on your profile, under the review.")
        return redirect("bookings:detail", booking.reference)
    messages.error(request, " ".join(form.errors.get("reply", ["Please write your reply."])))
    return redirect("bookings:detail", booking.reference)


@login_required
def receipt(request: HttpRequest, reference: str) -> HttpResponse:
    """A printable receipt for the client: what was charged and refunded, when (in their zone), and the
    booking's reference. Nothing of Stripe's (ids) is shown. The client's own; 404 for anyone else."""
    booking = _booking_for(request, reference, client_only=True)
    payments = list(booking.payments.filter(status__in=Payment.PAID_STATUSES).order_by("paid_at", "pk"))
    if not payments:
        raise Http404  # nothing was charged: there is nothing to give a receipt for
    refunds = list(
        booking.refunds.filter(status=Refund.Status.SUCCEEDED).order_by("succeeded_at", "created_at", "pk")
    )
    pending_refunds = list(
        booking.refunds.filter(status__in=Refund.COMMITTED_STATUSES)
        .exclude(status=Refund.Status.SUCCEEDED)
        .order_by("created_at", "pk")
    )
    charged = sum(payment.amount for payment in payments)
    refunded = sum(refund.amount for refund in refunds)
    return render(
        request,
        "bookings/receipt.html",
        {
            "booking": booking,
            "payments": payments,
            "refunds": refunds,
            "pending_refunds": pending_refunds,
            "charged": charged,
            "refunded": refunded,
            "net": charged - refunded,
            "issued_at": timezone.now(),
        },
    )
