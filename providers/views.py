from datetime import date, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from marketplace.models import User
from marketplace.money import format_money
from marketplace.templatetags.local_time import local_datetime
from marketplace.timezones import TIMEZONE_COOKIE
from providers.forms import (
    AvailabilityFormSet,
    BookingSettingsForm,
    ProviderProfileForm,
    SearchForm,
    ServiceForm,
    TimeOffForm,
    TimezoneForm,
)
from providers.html import week_grid_html
from providers.models import Provider, Service, TimeOff
from providers.selectors import (
    favourite_providers,
    is_favourite,
    profile_week,
    provider_cards,
    provider_checklist,
    provider_is_listed,
    provider_reviews,
    provider_search,
    public_provider,
    search_form_lists,
)
from providers.services import (
    availability_rules_set,
    favourite_add,
    favourite_remove,
    provider_create,
    provider_update_booking_settings,
    provider_update_profile,
    service_create,
    service_update,
    time_off_create,
    time_off_delete,
)
from providers.time_off import (
    CancelOutcome,
    CoveredSession,
    provider_today,
    time_off_cancel_sessions,
    time_off_covered_sessions,
)

RESULTS_PER_PAGE = 20
# Search counts and pages through at most this many matches. Counting every match is a scan that grows with
# the number of providers (5 ms at 10,000, 13-27 ms at 100,000), and even a count stopped at 1,001 probes
# ~1,400 providers' services for a category with a price range (9-18 ms); stopped at 201 it is ~1 ms. Ten
# pages is more than anyone reads, and "200+" is as true and as useful as the exact figure.
SEARCH_RESULTS_CAP = 200


class CappedPaginator(Paginator):
    """A Paginator over the first ``cap`` objects only, which knows whether there are more.

    The count reads at most ``cap + 1`` primary keys (``SELECT count(*) FROM (SELECT id ... LIMIT cap + 1)``),
    so its cost is bounded whatever the table holds."""

    def __init__(self, queryset: QuerySet, per_page: int, *, cap: int) -> None:
        super().__init__(queryset, per_page)
        self.queryset = queryset
        self.cap = cap

    @cached_property
    def found(self) -> int:
        return self.queryset.order_by().values("pk")[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self.found, self.cap)

    @property
    def has_more_than_cap(self) -> bool:
        return self.found > self.cap


def _parse_or_none(parse, text: str | None):
    # Django's parsers return None for a wrong shape but raise for an impossible date ("2026-02-30").
    try:
        return parse(text) if text else None
    except ValueError:
        return None


def _own_provider(request: HttpRequest) -> Provider:
    # Every dashboard page works on the signed-in user's own provider row, never on an id from the URL.
    return get_object_or_404(Provider.objects.select_related("category"), user=request.user)


# --- Dashboard -----------------------------------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    checklist = provider_checklist(provider=provider)
    return render(
        request,
        "providers/dashboard.html",
        {
            "provider": provider,
            "checklist": checklist,
            "is_listed": provider_is_listed(provider=provider),
            "services": provider.services.all(),
            "rules": provider.availability_rules.all(),
        },
    )


@login_required
def become_provider(request: HttpRequest) -> HttpResponse:
    if request.user.is_provider:
        return redirect("providers:dashboard")
    if request.method == "POST":
        provider_create(user=request.user, display_name=request.user.display_name)
        messages.success(request, "You are now a provider. Start with your profile.")
        return redirect("providers:edit_profile")
    return render(request, "providers/become.html")


@login_required
def edit_profile(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    form = ProviderProfileForm(request.POST or None, request.FILES or None, instance=provider)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        provider_update_profile(
            provider=provider,
            display_name=data["display_name"],
            headline=data["headline"],
            bio=data["bio"],
            category=data["category"],
            city=data["city"],
            timezone=data["timezone"],
            photo=data["photo"] or None,
            remove_photo=data["photo"] is False,
        )
        messages.success(request, "Your profile has been saved.")
        return redirect("providers:dashboard")
    return render(request, "providers/edit_profile.html", {"form": form, "provider": provider})


@login_required
def services(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    return render(
        request, "providers/services.html", {"provider": provider, "services": provider.services.all()}
    )


@login_required
def service_new(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    form = ServiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        service = service_create(provider=provider, **form.service_data())
        messages.success(request, f"“{service.title}” has been added.")
        return redirect("providers:services")
    return render(
        request, "providers/service_form.html", {"form": form, "provider": provider, "service": None}
    )


@login_required
def service_edit(request: HttpRequest, service_id: int) -> HttpResponse:
    provider = _own_provider(request)
    # Filtering by owner makes someone else's service id a 404, indistinguishable from a missing one.
    service = get_object_or_404(Service, pk=service_id, provider=provider)
    form = ServiceForm(request.POST or None, initial=ServiceForm.initial_for(service))
    if request.method == "POST" and form.is_valid():
        service_update(service=service, **form.service_data())
        messages.success(request, f"“{service.title}” has been saved.")
        return redirect("providers:services")
    return render(
        request, "providers/service_form.html", {"form": form, "provider": provider, "service": service}
    )


@login_required
def availability(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    initial = [
        {"weekday": rule.weekday, "start_time": rule.start_time, "end_time": rule.end_time}
        for rule in provider.availability_rules.all()
    ]
    formset = AvailabilityFormSet(request.POST or None, initial=initial, prefix="rules")
    if request.method == "POST" and formset.is_valid():
        availability_rules_set(provider=provider, rules=formset.rules())
        messages.success(request, "Your weekly hours have been saved.")
        return redirect("providers:availability")
    return render(request, "providers/availability.html", {"formset": formset, "provider": provider})


@login_required
def time_off(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    today = provider_today(provider)
    form = TimeOffForm(request.POST or None, today=today)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        covered = time_off_covered_sessions(
            provider=provider, start_date=data["start_date"], end_date=data["end_date"]
        )
        decision = request.POST.get("booked_sessions")
        shown = sorted(request.POST.getlist("covered"))
        if covered and (decision not in {"keep", "cancel"} or shown != sorted(s.reference for s in covered)):
            # Booked sessions in those days: the provider chooses before anything is saved. Asked again when
            # the sessions changed since the question was shown, so nobody is cancelled unseen.
            if decision:
                messages.warning(
                    request, "The booked sessions in those days have changed. Please choose again."
                )
            return _render_time_off(request, provider, form, today=today, covered=covered)
        time_off_create(provider=provider, **data)
        if covered and decision == "cancel":
            # After the time off exists, so no new booking lands in those days while these are cancelled.
            outcomes = time_off_cancel_sessions(
                provider=provider,
                actor=cast(User, request.user),  # signed in: login_required
                references=[session.reference for session in covered],
                reason="cancelled by the provider: time off",
            )
            _tell_cancel_outcomes(request, provider, outcomes)
        elif covered:
            messages.success(
                request,
                f"Your time off has been added. The {len(covered)} booked "
                f"session{pluralize(len(covered))} in it stay booked: you will still give them.",
            )
        else:
            messages.success(request, "Your time off has been added.")
        return redirect("providers:time_off")
    return _render_time_off(request, provider, form, today=today, covered=[])


def _render_time_off(
    request: HttpRequest, provider: Provider, form: TimeOffForm, *, today: date, covered: list[CoveredSession]
) -> HttpResponse:
    return render(
        request,
        "providers/time_off.html",
        {
            "form": form,
            "provider": provider,
            "time_off_list": provider.time_off.filter(end_date__gte=today),
            "covered": covered,
        },
    )


def _tell_cancel_outcomes(request: HttpRequest, provider: Provider, outcomes: list[CancelOutcome]) -> None:
    cancelled = [outcome for outcome in outcomes if outcome.is_cancelled]
    if cancelled:
        names = ", ".join(
            f"{o.session.client_name} ({format_money(o.refund_amount, o.session.currency)})"
            for o in cancelled
        )
        messages.success(
            request,
            f"Your time off has been added and {len(cancelled)} "
            f"session{pluralize(len(cancelled))} cancelled. "
            f"Each client gets a full refund and an email: {names}.",
        )
    else:
        messages.success(request, "Your time off has been added.")
    for outcome in outcomes:
        if not outcome.is_cancelled:
            with timezone.override(ZoneInfo(provider.timezone)):
                when = local_datetime(outcome.session.start_at)
            messages.error(
                request,
                f"The session with {outcome.session.client_name} on {when} was not cancelled by you: "
                f"{outcome.problem}",
            )


@login_required
@require_POST
def time_off_remove(request: HttpRequest, time_off_id: int) -> HttpResponse:
    provider = _own_provider(request)
    time_off_delete(time_off=get_object_or_404(TimeOff, pk=time_off_id, provider=provider))
    messages.success(request, "The time off has been removed.")
    return redirect("providers:time_off")


@login_required
def booking_settings(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    form = BookingSettingsForm(request.POST or None, provider=provider)
    if request.method == "POST" and form.is_valid():
        provider_update_booking_settings(provider=provider, **form.cleaned_data)
        messages.success(request, "Your booking settings have been saved.")
        return redirect("providers:dashboard")
    return render(request, "providers/booking_settings.html", {"form": form, "provider": provider})


# --- Public pages --------------------------------------------------------------------------------------


def search(request: HttpRequest) -> HttpResponse:
    categories, cities = search_form_lists()
    form = SearchForm(request.GET or None, categories=categories)
    filters = form.search_kwargs() if form.is_bound else {}
    results = provider_search(**filters)
    paginator = CappedPaginator(results, RESULTS_PER_PAGE, cap=SEARCH_RESULTS_CAP)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "providers/search.html",
        {
            "form": form,
            "page": page,
            "cards": provider_cards(providers=page.object_list, currency=settings.PLATFORM_CURRENCY),
            "query": query.urlencode(),
            "cities": cities,
            "platform_currency": settings.PLATFORM_CURRENCY,
            # With a price range the card's price is the lowest one inside it (see provider_search): say so.
            "price_filtered": filters.get("price_min") is not None or filters.get("price_max") is not None,
        },
    )


def profile(request: HttpRequest, slug: str) -> HttpResponse:
    provider = public_provider(slug=slug)
    if provider is None:
        raise Http404("No such provider.")
    offered: list[Service] = provider.public_services  # type: ignore[attr-defined]
    selected = next(
        (s for s in offered if str(s.pk) == request.GET.get("service")), offered[0] if offered else None
    )
    today = timezone.localdate()
    requested = _parse_or_none(parse_date, request.GET.get("week"))
    last_day = today + timedelta(days=provider.booking_horizon_days)
    first_day: date = min(max(requested or today, today), last_day)
    # What every slot link of the week shares; each slot adds its own time (SlotChoice.query).
    slot_link_start = f"service={selected.pk}&week={first_day:%Y-%m-%d}&slot=" if selected else ""
    shown = (
        profile_week(
            service=selected,
            first_day=first_day,
            viewer_zone=timezone.get_current_timezone(),
            today=today,
            rules=provider.schedule_rules,  # type: ignore[attr-defined]
            time_off=provider.schedule_time_off,  # type: ignore[attr-defined]
            slot_link_start=slot_link_start,
        )
        if selected
        else None
    )
    week = shown.week if shown else None
    picked = _parse_or_none(parse_datetime, request.GET.get("slot")) if selected else None
    if picked is not None and (
        timezone.is_naive(picked) or not week or not any(picked in day.slots for day in week.days)
    ):
        picked = None
    week_grid = ""
    if shown is not None:
        week_grid = week_grid_html(shown.week, slot_link_start, picked) if picked else shown.grid_html
    return render(
        request,
        "providers/profile.html",
        {
            "provider": provider,
            "services": offered,
            "selected": selected,
            "week": week,
            "picked": picked,
            "next_week_open": week is not None and week.next_start <= last_day,
            "reviews": provider_reviews(provider=provider, page_number=request.GET.get("reviews")),
            "is_favourite": is_favourite(user=request.user, provider=provider),  # type: ignore[arg-type]
            "week_grid": week_grid,
        },
    )


@login_required
@require_POST
def favourite(request: HttpRequest, slug: str) -> HttpResponse:
    """Save a provider to (``action=add``) or take them off (``action=remove``) the user's favourites, from
    the profile. Both are idempotent: a second click leaves the same single row, or none."""
    provider = get_object_or_404(Provider, slug=slug, is_active=True)
    action = request.POST.get("action")
    if action == "remove":
        favourite_remove(user=request.user, provider=provider)  # type: ignore[arg-type]
        messages.success(request, f"{provider.display_name} is no longer in your favourites.")
    elif action == "add":
        favourite_add(user=request.user, provider=provider)  # type: ignore[arg-type]
        messages.success(request, f"{provider.display_name} is in your favourites.")
    else:
        messages.error(request, "Choose whether to save or remove this provider; nothing was changed.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("providers:profile", args=[provider.slug])
    # A URL, never a view name (redirect() would try to reverse one).
    return HttpResponseRedirect(target)


@login_required
def favourites(request: HttpRequest) -> HttpResponse:
    """The providers the signed-in user saved, newest first."""
    saved = favourite_providers(user=request.user)  # type: ignore[arg-type]
    return render(request, "providers/favourites.html", {"favourites": saved})


@require_POST
def set_timezone(request: HttpRequest) -> HttpResponse:
    """Visitors choose the zone times are shown in; signed-in users keep theirs on their profile."""
    form = TimezoneForm(request.POST)
    target = request.POST.get("next") or reverse("home")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = reverse("home")
    # A URL, never a view name: redirect() would try to reverse "next" and fail on anything else.
    response = HttpResponseRedirect(target)
    if form.is_valid():
        response.set_cookie(
            TIMEZONE_COOKIE, form.cleaned_data["tz"], max_age=365 * 24 * 3600, samesite="Lax", path="/"
        )
        if request.user.is_authenticated:
            messages.info(request, "Your account's zone wins over this choice; change it on your profile.")
    return response
