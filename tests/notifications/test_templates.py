"""Every message template renders for its reader: a subject, the same words as text and as HTML in the
marketplace's layout, times in the reader's zone with the zone named, and no gap where a value should be."""

import zoneinfo
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.template.defaultfilters import urlize

from marketplace.templatetags.site import linkify
from notifications.calendar import CANCEL, booking_ics_attachment
from notifications.rendering import message_render
from tests.payments.payout_helpers import paid_booking

pytestmark = pytest.mark.django_db

TEMPLATES = sorted(
    path.name for path in (Path(settings.BASE_DIR) / "templates" / "notifications").glob("*.txt")
)


@pytest.fixture
def booking(client_user, bookable_service, slot, stripe_emulator):
    return paid_booking(client_user, bookable_service, slot, stripe_emulator)


def _context(booking) -> dict:
    money = {"amount": 4500, "currency": "usd"}
    return {
        "booking": booking,
        "payment": SimpleNamespace(**money),
        "refund": SimpleNamespace(**money),
        "payout": SimpleNamespace(amount=4050, currency="usd", transfer_id="tr_123"),
        "dispute": SimpleNamespace(
            opened_by="client",
            reason_label="The provider did not show up",
            status="resolved_refund",
            resolution_note="",
        ),
        "provider_gets": 4050,
        "cancelled_by": "client",
        "party": "client",
        "report_until": booking.start_at + timedelta(days=4),
        "reason": "Waiting for you to finish payout setup.",
        "failures": 21,
        "client_ip": "203.0.113.9",
        "reset_url": "http://localhost:8000/reset/x/",
        "booking_url": f"http://localhost:8000/bookings/{booking.reference}/",
        "book_again_url": "http://localhost:8000/p/gabi-guitar/",
        "action_url": "http://localhost:8000/p/gabi-guitar/",
    }


def test_every_template_is_covered_here():
    assert len(TEMPLATES) >= 20  # a moved folder must not make this file test nothing


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_message_renders_whole_in_the_readers_zone(name, booking, client_user):
    message = message_render(
        template=f"notifications/{name}", recipient=client_user, context=_context(booking)
    )

    assert message.subject
    assert "\n" not in message.subject
    assert "None" not in message.subject + message.text
    assert "{{" not in message.text
    assert "{%" not in message.text
    assert "&#x27;" not in message.text
    assert "&amp;" not in message.text
    assert "Sessions Marketplace" in message.html
    assert message.subject.replace("'", "&#x27;") in message.html
    assert "America/New_York" in message.html
    local = booking.start_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    if "start_at" in (Path(settings.BASE_DIR) / "templates" / "notifications" / name).read_text():
        assert f"{local:%H:%M} {local.tzname()}" in message.text


def test_a_name_with_an_apostrophe_reads_right_in_text_and_is_escaped_in_html(booking, client_user):
    client_user.name = "Chris O'Brien <b>"
    message = message_render(
        template="notifications/booking_confirmed_client.txt",
        recipient=client_user,
        context=_context(booking),
    )

    assert "Hello Chris O'Brien <b>," in message.text
    assert "Chris O&#x27;Brien &lt;b&gt;" in message.html
    assert "<b>," not in message.html


def test_the_cancel_invite_folds_long_lines_and_escapes_text(booking):
    booking.service_title = "Guitar, theory; and \\ more " + "x" * 80
    attachment = booking_ics_attachment(
        booking=booking, method=CANCEL, attendee_email="a@example.com", booking_url="http://x/"
    )

    lines = attachment["content"].split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert "SUMMARY:Guitar\\, theory\\; and \\\\ more" in attachment["content"]
    assert attachment["filename"] == "cancel.ics"


def test_the_text_part_is_signed_with_the_marketplaces_name(booking, client_user):
    message = message_render(
        template="notifications/refund_succeeded.txt", recipient=client_user, context=_context(booking)
    )

    assert message.text.endswith(f"\n-- \nSessions Marketplace · {settings.SITE_URL}\n")


@pytest.mark.parametrize("name", TEMPLATES)
def test_links_in_every_message_are_what_urlize_made(name, booking, client_user):
    """``linkify`` replaced Django's ``urlize`` in the HTML part for speed; for every message we send, the
    body's HTML is the same as ``urlize`` made of it, except that an email address (the reader's own, in
    two messages) stays text instead of becoming a ``mailto:`` link. (``urlize`` also drops the full stop
    after "(someone@example.com).", so those are compared without the address.)"""
    message = message_render(
        template=f"notifications/{name}", recipient=client_user, context=_context(booking)
    )
    body = message.text.split("\n-- \n")[0]

    if client_user.email in body:
        assert f"({client_user.email})" in str(linkify(body))
        body = body.replace(client_user.email, "your address")
    assert str(linkify(body)) == urlize(body, autoescape=True)
    if settings.SITE_URL in body:
        assert f'<a href="{settings.SITE_URL}' in str(linkify(body))


@pytest.mark.parametrize(
    "text",
    [
        "See https://x.test/a/b?c=1&d=<2>. Then",
        "O'Brien <b> (https://x.test/p) and http:// alone",
        'a"https://q.test/"b <script>alert(1)</script>',
        "two: http://a.test/1, http://b.test/2; done!",
        "nothing to link here & < > \" '",
    ],
)
def test_linkify_escapes_all_text_and_links_like_urlize(text):
    assert str(linkify(text)) == urlize(text, autoescape=True)
    assert "<script>" not in str(linkify(text))
