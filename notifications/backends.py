"""A Django email backend that sends through Resend's HTTP API.

Everything in the project sends mail through Django's email API (``send_mail``, ``EmailMessage``), so the
transport is a setting: the console in development, ``locmem`` in tests, and this backend in production.
"""

import logging
from collections.abc import Sequence
from email.utils import formataddr, parseaddr

import resend
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address)) if name else address


class ResendEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.api_key = settings.RESEND_API_KEY
        self.api_url = getattr(settings, "RESEND_API_URL", "https://api.resend.com")

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not self.api_key:
            if self.fail_silently:
                return 0
            raise ValueError("RESEND_API_KEY is not set: cannot send email through Resend.")
        # The resend SDK keeps its configuration in module globals.
        resend.api_key = self.api_key
        resend.api_url = self.api_url
        sent = 0
        for message in email_messages:
            try:
                resend.Emails.send(self._params(message))
            except Exception:
                logger.exception("Resend refused a message to %s", message.to)
                if not self.fail_silently:
                    raise
            else:
                sent += 1
        return sent

    def _params(self, message: EmailMessage) -> dict:
        params: dict = {
            "from": _address(message.from_email or settings.DEFAULT_FROM_EMAIL),
            "to": [_address(a) for a in message.to],
            "subject": message.subject,
            "text": message.body,
        }
        if message.cc:
            params["cc"] = [_address(a) for a in message.cc]
        if message.bcc:
            params["bcc"] = [_address(a) for a in message.bcc]
        if message.reply_to:
            params["reply_to"] = [_address(a) for a in message.reply_to]
        if isinstance(message, EmailMultiAlternatives):
            for content, mimetype in message.alternatives:
                if mimetype == "text/html":
                    params["html"] = content
        if message.extra_headers:
            params["headers"] = {str(k): str(v) for k, v in message.extra_headers.items()}
        return params
