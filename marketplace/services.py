"""Writes about accounts: what happens when a password is wrong or forgotten."""

import logging

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from marketplace.models import User, UserManager
from marketplace.ratelimit import rate_limit_first_passed, rate_limit_hit
from notifications.services import notification_queue

logger = logging.getLogger(__name__)


def login_failure_record(*, email: str, client_ip: str) -> None:
    """Count a wrong password for ``email``'s account, from any address. The attempt that first takes the
    account over ``login_account_alert`` in a window queues an email to the owner: once per window (the
    notification's key carries the window), and only for an account that exists and is active. Nobody is
    refused here; refusing is per account and address (the login view)."""
    scope = "login_account_alert"
    result = rate_limit_hit(scope=scope, key=UserManager.normalize_email(email))
    if not rate_limit_first_passed(scope=scope, result=result):
        return
    user = User.objects.filter(email=UserManager.normalize_email(email), is_active=True).first()
    if user is None:
        return
    logger.warning("login: account %s is being guessed at (latest from %s)", user.pk, client_ip)
    with transaction.atomic():
        notification_queue(
            key=f"login-attack-{user.pk}-{result.window_start}",
            recipient=user,
            template="notifications/login_attack.txt",
            context={"failures": result.count, "client_ip": client_ip},
        )


def password_reset_send(*, email: str, request_id: str) -> int:
    """Queue a password-reset email to every active account at ``email`` that has a password (Django's own
    rule); nothing for an address with no account. Runs in a task, so the page that asked answers in the same
    time either way. Idempotent per ``request_id`` (one per form submission): a redelivered task queues
    nothing twice. Links point at ``SITE_URL``, never at the Host header the request came with. Returns how
    many messages were queued."""
    queued = 0
    for user in PasswordResetForm().get_users(email):
        path = reverse(
            "password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
        with transaction.atomic():
            notification_queue(
                key=f"password-reset-{request_id}-{user.pk}",
                recipient=user,
                template="notifications/password_reset.txt",
                context={"reset_url": settings.SITE_URL + path, "site_name": settings.SITE_NAME},
            )
        queued += 1
    return queued
