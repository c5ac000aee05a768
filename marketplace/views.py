import logging

import redis
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from marketplace.forms import (
    EmailAuthenticationForm,
    PasswordResetRequestForm,
    ProfileForm,
    signup_form_for,
)
from marketplace.models import UserManager
from marketplace.ratelimit import client_ip, rate_limit_hit, rate_limit_message, rate_limit_reset
from marketplace.services import login_failure_record
from marketplace.tasks import HEARTBEAT_CACHE_KEY
from providers.services import provider_create

logger = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and bookmark tools ask for /favicon.ico whatever the page links: send them to the SVG. Not a
    permanent redirect: in production the SVG's address carries a hash that changes with the file."""
    return redirect(static("favicon.svg"))


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and humans: can this process render a page and reach PostgreSQL and Redis
    right now?"""
    checks: dict[str, str] = {}
    try:
        # A real page through the base template: static file names (the production manifest), URLs, context
        # processors. A process that answers every page with a 500 is not healthy, whatever the stores say.
        render_to_string("404.html", request=request)
        checks["pages"] = "ok"
    except Exception as error:
        logger.error("healthz: rendering a page failed: %s", error)
        checks["pages"] = "error"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # any failure means "down"; the reason goes to the log, not the world
        logger.warning("healthz: database check failed: %s", error)
        checks["database"] = "error"
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
        checks["redis"] = "ok"
    except redis.RedisError as error:
        logger.warning("healthz: redis check failed: %s", error)
        checks["redis"] = "error"
    healthy = all(value == "ok" for value in checks.values())
    body: dict[str, object] = {"status": "ok" if healthy else "error", **checks}
    # Informational only: a stale heartbeat means beat or the workers are down, which the web tier survives.
    if checks["redis"] == "ok":
        last = cache.get(HEARTBEAT_CACHE_KEY)
        last_at = parse_datetime(last) if last else None
        body["celery_heartbeat_age_seconds"] = (
            int((timezone.now() - last_at).total_seconds()) if last_at else None
        )
    return JsonResponse(body, status=200 if healthy else 503)


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form, status = signup_form_for(request, initial={"wants_to_provide": request.GET.get("provider") == "1"})
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        if form.cleaned_data["wants_to_provide"]:
            provider_create(user=user, display_name=user.name)
            messages.success(request, "Welcome! Let's set up your provider profile.")
            return redirect("providers:dashboard")
        messages.success(request, f"Welcome, {user.display_name}! Your account is ready.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form}, status=status)


class LoginView(auth_views.LoginView):
    """Django's login, with attempts counted before any password check: per address over every account, and
    failures per account *and* address. An address that keeps failing at an account is refused for it (even
    with the right password); the owner, from an address that has not been failing, still gets in. Failures
    from everywhere together only alert the owner (marketplace.services.login_failure_record)."""

    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    rate_limit_message = ""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.client_ip = client_ip(request)
        self.email = UserManager.normalize_email(request.POST.get("username", ""))
        results = [rate_limit_hit(scope="login_ip", key=self.client_ip)]
        if self.email:
            # Counted before the check, so a burst of parallel guesses cannot all slip in under the limit; a
            # success forgets the count (form_valid), so in effect only failures add up.
            results.append(rate_limit_hit(scope="login_account_ip", key=self._account_and_address))
        limited = [result for result in results if result.is_limited]
        if limited:
            self.rate_limit_message = rate_limit_message(max(limited, key=lambda r: r.retry_after_seconds))
        return super().post(request, *args, **kwargs)

    @property
    def _account_and_address(self) -> str:
        return f"{self.email} {self.client_ip}"

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "rate_limit_message": self.rate_limit_message}

    def get_context_data(self, **kwargs) -> dict:
        # Django's login view sets ``site_name`` to the request's host name ("Log in · localhost"), over the
        # context processor's: put the marketplace's name back.
        return {**super().get_context_data(**kwargs), "site_name": settings.SITE_NAME}

    def form_valid(self, form: EmailAuthenticationForm) -> HttpResponse:
        rate_limit_reset(scope="login_account_ip", key=self._account_and_address)
        return super().form_valid(form)

    def form_invalid(self, form: EmailAuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if self.rate_limit_message:
            response.status_code = 429
        elif form.has_error(NON_FIELD_ERRORS, "invalid_login"):  # a password was checked, and was wrong
            login_failure_record(email=self.email, client_ip=self.client_ip)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request page, limited per address and per target email (counted before anything else,
    for existing and unknown addresses alike, so the limit tells nothing about who has an account). The email
    itself goes out from a task (PasswordResetRequestForm.save)."""

    form_class = PasswordResetRequestForm

    rate_limit_message = ""
    rate_limit_status = 429

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        results = [rate_limit_hit(scope="password_reset_ip", key=client_ip(request))]
        email = UserManager.normalize_email(request.POST.get("email", ""))
        if email:
            results.append(rate_limit_hit(scope="password_reset_email", key=email))
        limited = [result for result in results if result.is_limited]
        if limited:
            worst = max(limited, key=lambda r: r.retry_after_seconds)
            self.rate_limit_message = rate_limit_message(worst)
            self.rate_limit_status = 503 if worst.is_unavailable else 429
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "rate_limit_message": self.rate_limit_message}

    def form_invalid(self, form: PasswordResetRequestForm) -> HttpResponse:
        response = super().form_invalid(form)
        if self.rate_limit_message:
            response.status_code = self.rate_limit_status
        return response


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile has been saved.")
        return redirect("profile")
    return render(request, "profile.html", {"form": form, "now": timezone.now()})
