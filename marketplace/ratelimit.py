"""Rate limits counted in the shared cache (Redis), so every web process enforces the same budget.

A fixed window per (scope, key): simple, cheap (one INCR), and good enough against password guessing and
sign-up floods. Limits are configured in ``settings.RATE_LIMITS`` as ``scope: (attempts, window seconds)``.
"""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class RateLimitResult:
    is_limited: bool
    retry_after_seconds: int


def client_ip(request: HttpRequest) -> str:
    """The caller's address, trusting X-Forwarded-For only as far as the configured proxies append to it."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "unknown")


def rate_limit_hit(*, scope: str, key: str) -> RateLimitResult:
    """Count one attempt for ``key`` in ``scope`` and say whether it is over the scope's limit."""
    limit, window = settings.RATE_LIMITS[scope]
    now = int(time.time())
    window_start = now - now % window
    # Hash the key: it may be an email address, which has no business sitting in Redis in clear text.
    digest = hashlib.sha256(key.lower().encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{window_start}:{digest}"
    # add() only creates the counter; incr() is atomic in Redis, so concurrent requests count exactly.
    cache.add(cache_key, 0, timeout=window + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: this attempt opens a new window
        cache.set(cache_key, 1, timeout=window + 5)
        count = 1
    return RateLimitResult(is_limited=count > limit, retry_after_seconds=window_start + window - now)


def rate_limit_message(result: RateLimitResult) -> str:
    minutes = max(1, -(-result.retry_after_seconds // 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many attempts. Please wait {minutes} {unit} and try again."
