"""axe-core finds no accessibility violations on the main pages, for a visitor, a client, a provider and
staff, at desktop and phone widths, in a real Chromium.

axe-core is shipped in the repository (tests/browser/vendor/axe-core/, MPL-2.0; its README gives the version
and where it came from) and injected into each page by Playwright: nothing is fetched from a CDN. Every rule
axe runs by default (WCAG 2.0-2.2 A and AA, and its best practices) must pass; a page's violations are
listed with the elements concerned, so a failure says what to fix. On the way, every page's title is checked
to end with the marketplace's name.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bookings.services import booking_create
from providers.models import Provider
from providers.services import time_off_create
from tests.factories import StaffFactory
from tests.fixtures.bookings import first_slot
from tests.fixtures.browser import sign_in_by_cookie
from tests.payments.payout_helpers import paid_booking

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}

pytestmark = pytest.mark.django_db(transaction=True)


def axe_violations(page) -> list[str]:
    """Run axe-core on the page as it is now; one readable line per violation and element."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    lines = []
    for violation in result["violations"]:
        for node in violation["nodes"][:5]:
            lines.append(
                f"{page.url}: {violation['id']} ({violation['impact']}): {violation['help']} -> "
                f"{' '.join(node['target'])}: {node['failureSummary'].splitlines()[-1].strip()}"
            )
    return lines


@pytest.fixture
def site(client_user, bookable_service, stripe_emulator):
    """Something on every page: a listed provider (Gabi) with a confirmed, paid booking from the client, a
    pending one, a day off and payouts set up at the emulator; staff to look at the admin."""
    provider: Provider = bookable_service.provider
    confirmed = paid_booking(client_user, bookable_service, first_slot(bookable_service), stripe_emulator)
    pending = booking_create(
        client=client_user, service=bookable_service, start_at=first_slot(bookable_service, after_days=5)
    )
    today = timezone.localdate()
    time_off_create(
        provider=provider, start_date=today + timedelta(days=20), end_date=today + timedelta(days=21)
    )
    staff = StaffFactory(email="staff@example.com", name="Sam Staff")
    open_slot = first_slot(bookable_service, after_days=7)
    return {
        "client": client_user,
        "provider": provider,
        "staff": staff,
        "confirmed": confirmed,
        "pending": pending,
        "book_url": reverse("bookings:book", args=[bookable_service.pk])
        + "?"
        + urlencode({"start": open_slot.isoformat()}),
        "service": bookable_service,
    }


def pages_for(persona: str, site: dict) -> list[str]:
    if persona == "visitor":
        return [
            reverse("home"),
            reverse("providers:search"),
            reverse("providers:search") + "?q=guitar",
            reverse("providers:profile", args=[site["provider"].slug]),
            site["book_url"],
            reverse("login"),
            reverse("signup"),
            reverse("password_reset"),
            "/no-such-page/",
        ]
    if persona == "client":
        return [
            reverse("bookings:mine"),
            reverse("bookings:detail", args=[site["confirmed"].reference]),
            reverse("bookings:detail", args=[site["pending"].reference]),
            reverse("bookings:cancel", args=[site["confirmed"].reference]),
            site["book_url"],
            reverse("profile"),
            reverse("providers:become"),
        ]
    if persona == "provider":
        return [
            reverse("providers:dashboard"),
            reverse("bookings:provider_bookings"),
            reverse("providers:edit_profile"),
            reverse("providers:services"),
            reverse("providers:service_new"),
            reverse("providers:service_edit", args=[site["service"].pk]),
            reverse("providers:availability"),
            reverse("providers:time_off"),
            reverse("payments:payouts"),
            reverse("payments:connect_setup"),
            reverse("providers:booking_settings"),
        ]
    return [
        reverse("admin:index"),
        reverse("admin:bookings_booking_changelist"),
        reverse("admin:bookings_booking_change", args=[site["confirmed"].pk]),
        reverse("admin:payments_payout_changelist"),
        reverse("admin:marketplace_user_changelist"),
    ]


def test_the_check_finds_a_violation_when_there_is_one(page):
    page.set_content('<html lang="en"><body><main><img src="data:,"><a href="/"></a></main></body></html>')

    violations = axe_violations(page)

    assert any("image-alt" in line for line in violations)
    assert any("link-name" in line for line in violations)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("persona", ["visitor", "client", "provider", "staff"])
def test_no_accessibility_violations(browser, live_server, site, persona, viewport):
    context = browser.new_context(
        base_url=live_server.url, timezone_id="America/New_York", locale="en-US", **VIEWPORTS[viewport]
    )
    context.set_default_timeout(10_000)
    if persona != "visitor":
        user = {"client": site["client"], "provider": site["provider"].user, "staff": site["staff"]}[persona]
        sign_in_by_cookie(context, user, live_server.url)
    page = context.new_page()
    violations = []
    try:
        for url in pages_for(persona, site):
            response = page.goto(url)
            assert response is not None
            assert response.status < 500, f"{url}: {response.status}"
            assert page.url.startswith(live_server.url + url.split("?")[0]), f"{url} went to {page.url}"
            # Every page is titled with the marketplace's name (item 8: never the host name).
            assert page.title().endswith(settings.SITE_NAME) or page.title().endswith(
                f"{settings.SITE_NAME} admin"
            ), f"{url}: {page.title()!r}"
            violations += axe_violations(page)
    finally:
        context.close()

    assert not violations, "\n".join(violations)
