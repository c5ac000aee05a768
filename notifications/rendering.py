"""The one place a message is rendered: subject, plain text, HTML and attachments from a template and its
context, in the recipient's time zone. Queuing (``services.notification_queue``) stores what this returns,
and the staff outbox page shows those stored parts, so what staff see is what the recipient got.

A message is one template, ``notifications/<name>.txt``: the first line is the subject, the rest the plain
text. The HTML part is the same words in the marketplace's layout (``notifications/email.html``), with the
main link as a button, so the two parts can never say different things.
"""

import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone

from marketplace.models import User


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    attachments: list[dict[str, str]] = field(default_factory=list)


def _recipient_zone(recipient: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(recipient.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def message_render(
    *,
    template: str,
    recipient: User,
    context: dict[str, Any],
    attachments: list[dict[str, str]] | None = None,
) -> RenderedMessage:
    """Render ``template`` for ``recipient``. Context keys the layout understands: ``action_url`` and
    ``action_label`` (the button; defaults to ``booking_url`` and "View your booking") and
    ``unsubscribe_url`` (shown in the footer of messages that can be turned off)."""
    zone = _recipient_zone(recipient)
    full_context = {
        **context,
        "recipient": recipient,
        "recipient_timezone": recipient.timezone or "UTC",
        "site_name": settings.SITE_NAME,
    }
    with timezone.override(zone):
        # Plain text is not HTML: render it without escaping, or "O'Brien" arrives as "O&#x27;Brien".
        text_template = get_template(template).template  # type: ignore[attr-defined]
        rendered = text_template.render(Context(full_context, autoescape=False))
        subject, _, body = rendered.strip().partition("\n")
        subject = " ".join(subject.split())
        # The signature names the marketplace, as the HTML layout's header does.
        text = f"{body.strip()}\n\n-- \n{settings.SITE_NAME} · {settings.SITE_URL}\n"
        if context.get("unsubscribe_url"):
            text += f"Don't want these? Turn them off: {context['unsubscribe_url']}\n"
        action_url = context.get("action_url") or context.get("booking_url") or ""
        html = render_to_string(
            "notifications/email.html",
            {
                **full_context,
                "subject": subject,
                "body_text": body.strip(),
                "action_url": action_url,
                "action_label": context.get("action_label") or ("View your booking" if action_url else ""),
            },
        )
    return RenderedMessage(subject=subject, text=text, html=html, attachments=list(attachments or []))
