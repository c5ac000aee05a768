"""A Django email backend that sends through Resend's HTTP API.

Everything in the project sends mail through Django's email API (``send_mail``, ``EmailMessage``), so the
transport is a setting: the console in development, ``locmem`` in tests, and this backend in production.
"""

import base64
import logging
import smtplib
from collections.abc import Sequence
from email.utils import formataddr, parseaddr

import resend
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


class EmailRejected(Exception):
    """The mail service refused this message for good (a bad address, a blocked recipient): sending it
    again cannot help, so the outbox stops retrying and shows it in the admin."""


def _is_permanent(error: Exception) -> bool:
    """Resend answers 4xx for a message it will never accept; 429 (rate limit) and 409 (the same
    idempotency key still in flight) pass, and so do 5xx and network errors."""
    if isinstance(error, resend.exceptions.ResendError):
        try:
            status = int(error.code)
        except (TypeError, ValueError):
            return False
        return 400 <= status < 500 and status not in (409, 429)
    return isinstance(error, smtplib.SMTPRecipientsRefused)


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
            key = getattr(message, "idempotency_key", None)
            try:
                resend.Emails.send(
                    self._params(message),  # type: ignore[arg-type]  # a plain dict of SendParams' keys
                    {"idempotency_key": key} if key else None,
                )
            except Exception as error:
                logger.exception("Resend refused a message to %s", message.to)
                if self.fail_silently:
                    continue
                if _is_permanent(error):
                    raise EmailRejected(str(error)) from error
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
        if message.attachments:
            params["attachments"] = [self._attachment(a) for a in message.attachments]
        if message.extra_headers:
            params["headers"] = {str(k): str(v) for k, v in message.extra_headers.items()}
        return params

    @staticmethod
    def _attachment(attachment) -> dict:
        """Resend takes each file as base64 ``content`` with its name and type."""
        if isinstance(attachment, tuple):  # (filename, content, mimetype), what EmailMessage.attach stores
            filename, content, mimetype = attachment
        else:  # a MIMEBase part
            filename = attachment.get_filename() or "attachment"
            content = attachment.get_payload(decode=True)
            mimetype = attachment.get_content_type()
            if attachment.get_param("method"):  # a calendar invite: clients need its method
                mimetype += f"; method={attachment.get_param('method')}"
        raw = content.encode() if isinstance(content, str) else content
        return {
            "filename": filename,
            "content": base64.b64encode(raw).decode(),
            "content_type": mimetype or "application/octet-stream",
        }
