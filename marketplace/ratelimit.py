"""Rate limits counted in the shared cache (Redis), so every web process enforces the same budget.

A fixed window per (scope, key): simple, cheap (one INCR), and good enough against password guessing and
sign-up floods. Limits are configured in ``settings.RATE_LIMITS`` as ``scope: (attempts, window seconds)``.

When Redis cannot be reached a limit cannot count. Each scope then either fails open (the request goes on,
uncounted) or closed (it is refused with "try again in a minute"); ``FAILS_CLOSED`` lists the latter, and
docs/decisions.md says why each scope is where it is. Never an error page either way.
"""

import hashlib
import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

# Limits whose purpose is protecting someone else (an inbox, the user table) from floods: without a count,
# refuse. Every other scope fails open: it guards a person's own use of the site, and refusing real people for
# the length of an outage would do more harm than an uncounted minute.
FAILS_CLOSED = frozenset({"signup_ip", "password_reset_ip", "password_reset_email"})
# How long a refusal for lack of a counter asks people to wait.
UNAVAILABLE_RETRY_SECONDS = 60


@dataclass(frozen=True)
class RateLimitResult:
    is_limited: bool
    retry_after_seconds: int
    # The window this count belongs to (epoch seconds), for keys that must act once per window.
    window_start: int = 0
    # Attempts counted in the window so far, this one included (0 when nothing could be counted). Exactly one
    # request sees ``limit + 1``: the place to act once when a limit is first passed.
    count: int = 0
    # Redis could not be reached: nothing was counted (and, for a closed scope, the request is refused).
    is_unavailable: bool = False


def client_ip(request: HttpRequest) -> str:
    """The caller's address, trusting X-Forwarded-For only as far as the configured proxies append to it."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "unknown")


def _cache_key(scope: str, key: str, window_start: int) -> str:
    # Hash the key: it may be an email address, which has no business sitting in Redis in clear text.
    digest = hashlib.sha256(key.lower().encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{window_start}:{digest}"


def _window(scope: str) -> tuple[int, int, int]:
    limit, window = settings.RATE_LIMITS[scope]
    now = int(time.time())
    return limit, window, now - now % window


def rate_limit_hit(*, scope: str, key: str) -> RateLimitResult:
    """Count one attempt for ``key`` in ``scope`` and say whether it is over the scope's limit."""
    limit, window, window_start = _window(scope)
    retry_after = window_start + window - int(time.time())
    cache_key = _cache_key(scope, key, window_start)
    try:
        # add() only creates the counter; incr() is atomic in Redis, so concurrent requests count exactly.
        cache.add(cache_key, 0, timeout=window + 5)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr: this attempt opens a new window
            cache.set(cache_key, 1, timeout=window + 5)
            count = 1
    except redis.RedisError as error:
        closed = scope in FAILS_CLOSED
        logger.warning(
            "rate limit %s cannot count (%s): failing %s", scope, error, "closed" if closed else "open"
        )
        return RateLimitResult(
            is_limited=closed,
            retry_after_seconds=UNAVAILABLE_RETRY_SECONDS if closed else 0,
            window_start=window_start,
            is_unavailable=True,
        )
    return RateLimitResult(
        is_limited=count > limit, retry_after_seconds=retry_after, window_start=window_start, count=count
    )


def rate_limit_first_passed(*, scope: str, result: RateLimitResult) -> bool:
    """Whether ``result`` is the one attempt that took ``scope`` over its limit in this window."""
    return result.count == settings.RATE_LIMITS[scope][0] + 1


def rate_limit_reset(*, scope: str, key: str) -> None:
    """Forget ``key``'s count in the current window of ``scope`` (a success that ends a run of failures)."""
    _, _, window_start = _window(scope)
    try:
        cache.delete(_cache_key(scope, key, window_start))
    except redis.RedisError as error:
        logger.warning("rate limit %s cannot reset (%s)", scope, error)


def rate_limit_message(result: RateLimitResult) -> str:
    if result.is_unavailable:
        return "We cannot take this request right now. Please try again in a minute."
    minutes = max(1, -(-result.retry_after_seconds // 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many attempts. Please wait {minutes} {unit} and try again."
