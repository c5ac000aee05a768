"""Stripe webhook endpoints: verify, store in the inbox, answer at once. Processing happens in a task."""

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments import gateway
from payments.models import WebhookEvent
from payments.services import webhook_event_record

logger = logging.getLogger(__name__)


def _receive(request: HttpRequest, *, endpoint: str) -> HttpResponse:
    try:
        # The raw body, byte for byte: the signature covers exactly what Stripe sent.
        event = gateway.webhook_event_verify(
            payload=request.body,
            signature_header=request.headers.get("Stripe-Signature"),
            connect=endpoint == WebhookEvent.Endpoint.CONNECT,
        )
    except gateway.WebhookSignatureError as error:
        logger.warning("rejected %s webhook: %s", endpoint, error)
        return HttpResponse("invalid signature or payload", status=400, content_type="text/plain")
    webhook_event_record(event=event, endpoint=endpoint)
    return HttpResponse("ok", content_type="text/plain")


# Signed by Stripe instead of carrying a CSRF token: the signature is the protection.
@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    return _receive(request, endpoint=WebhookEvent.Endpoint.PLATFORM)


@csrf_exempt
@require_POST
def stripe_connect_webhook(request: HttpRequest) -> HttpResponse:
    return _receive(request, endpoint=WebhookEvent.Endpoint.CONNECT)
