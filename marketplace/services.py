"""Writes about accounts: what happens when a password is wrong."""

import logging

from django.db import transaction

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
