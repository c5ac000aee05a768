"""Webhook delivery: sign events the way Stripe does and POST them to the app in a background thread.

- Signature: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`, re-signed on every
  attempt (as Stripe does, so a retry days later still passes the 300-second tolerance).
- Platform events go to `url` signed with `secret`; Connect events (those with `account` set) go to
  `connect_url` signed with `connect_secret`. An endpoint without a URL records nothing to deliver.
- A non-2xx answer or a connection error is retried with exponential backoff
  (`backoff_seconds * 2 ** (attempt - 1)`, capped at `max_backoff_seconds`) up to `max_attempts`; then the
  delivery is marked `failed`. Failed attempts log at DEBUG and giving up logs one INFO line, because in
  development the app's webhook views may not exist yet and every delivery would fail.
- `duplicates=True` delivers every event twice; `out_of_order=True` holds new deliveries for
  `reorder_window_seconds` and then sends the newest first, so events raised together (e.g.
  `refund.created` and `charge.refunded`) arrive reversed. Stripe guarantees neither uniqueness nor order.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

logger = logging.getLogger("stripe_emulator.webhooks")


def sign_payload(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header value for `payload` signed with `secret`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class WebhookSettings:
    url: str | None = None
    connect_url: str | None = None
    secret: str = "whsec_dev_platform"  # noqa: S105 - a development default, not a credential
    connect_secret: str = "whsec_dev_connect"  # noqa: S105
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    request_timeout_seconds: float = 10.0
    duplicates: bool = False
    out_of_order: bool = False
    reorder_window_seconds: float = 0.2
    enabled: bool = True


@dataclass
class Attempt:
    at: float
    status: int | None
    error: str | None


@dataclass
class Delivery:
    id: int
    event_id: str
    event_type: str
    endpoint: str  # "platform" or "connect"
    url: str
    status: str = "pending"  # pending / delivered / failed
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: float = 0.0


class WebhookDispatcher:
    def __init__(self, settings: WebhookSettings | None = None) -> None:
        self.settings = settings or WebhookSettings()
        self._lock = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._bodies: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._generation = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="stripe-emulator-webhooks", daemon=True)
        self._thread.start()

    # Producer side ------------------------------------------------------------------------------

    def enqueue(self, event_id: str, event_type: str, body: bytes, *, connect: bool) -> None:
        with self._lock:
            settings = self.settings
            url = settings.connect_url if connect else settings.url
            if not settings.enabled or not url:
                return
            self._bodies[event_id] = body
            due_at = time.time()
            if settings.out_of_order:
                # Join the batch being held, if any, so every event in it becomes due at the same moment
                # and the worker can send them newest first.
                held = [
                    d.next_attempt_at for d in self._deliveries if d.status == "pending" and not d.attempts
                ]
                due_at = (
                    max(held) if held and max(held) > due_at else due_at + settings.reorder_window_seconds
                )
            copies = 2 if settings.duplicates else 1
            for _ in range(copies):
                self._deliveries.append(
                    Delivery(
                        id=next(self._ids),
                        event_id=event_id,
                        event_type=event_type,
                        endpoint="connect" if connect else "platform",
                        url=url,
                        next_attempt_at=due_at,
                    )
                )
            self._lock.notify_all()

    def configure(self, **changes: Any) -> WebhookSettings:
        with self._lock:
            for name, value in changes.items():
                if not hasattr(self.settings, name):
                    raise ValueError(f"Unknown webhook setting {name!r}")
                setattr(self.settings, name, value)
            self._lock.notify_all()
            return self.settings

    def reset(self) -> None:
        """Forget all deliveries (settings are kept); an attempt in flight is not recorded."""
        with self._lock:
            self._deliveries.clear()
            self._bodies.clear()
            self._generation += 1
            self._lock.notify_all()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        self._thread.join(timeout=5)

    def to_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(delivery) for delivery in self._deliveries]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until no delivery is pending (all delivered or failed); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(delivery.status == "pending" for delivery in self._deliveries):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(min(remaining, 0.05))
            return True

    # Worker side --------------------------------------------------------------------------------

    def _next_due(self) -> tuple[Delivery | None, float]:
        now = time.time()
        pending = [delivery for delivery in self._deliveries if delivery.status == "pending"]
        due = [delivery for delivery in pending if delivery.next_attempt_at <= now]
        if due:
            if self.settings.out_of_order:
                # Newest first: a later event overtakes the earlier ones still waiting.
                return max(due, key=lambda delivery: delivery.id), 0.0
            return min(due, key=lambda delivery: delivery.id), 0.0
        if pending:
            return None, min(delivery.next_attempt_at for delivery in pending) - now
        return None, 1.0

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopped:
                    return
                delivery, wait = self._next_due()
                if delivery is None:
                    self._lock.wait(max(wait, 0.001))
                    continue
                generation = self._generation
                body = self._bodies[delivery.event_id]
                secret = (
                    self.settings.connect_secret if delivery.endpoint == "connect" else self.settings.secret
                )
                timeout = self.settings.request_timeout_seconds
            status, error = self._post(delivery.url, body, secret, timeout)
            with self._lock:
                if generation != self._generation:
                    continue  # reset while we were sending: this delivery no longer exists
                self._record(delivery, status, error)
                self._lock.notify_all()

    def _post(self, url: str, body: bytes, secret: str, timeout: float) -> tuple[int | None, str | None]:
        request = urllib.request.Request(  # noqa: S310 - URL comes from our own configuration
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sign_payload(body, secret),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, None
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except (OSError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def _record(self, delivery: Delivery, status: int | None, error: str | None) -> None:
        delivery.attempts.append(Attempt(at=time.time(), status=status, error=error))
        if status is not None and 200 <= status < 300:
            delivery.status = "delivered"
            return
        attempt_count = len(delivery.attempts)
        outcome = f"HTTP {status}" if status is not None else error
        if attempt_count >= self.settings.max_attempts:
            delivery.status = "failed"
            logger.info(
                "Gave up delivering %s (%s) to %s after %d attempts; last: %s",
                delivery.event_id,
                delivery.event_type,
                delivery.url,
                attempt_count,
                outcome,
            )
            return
        backoff = min(
            self.settings.backoff_seconds * 2 ** (attempt_count - 1), self.settings.max_backoff_seconds
        )
        delivery.next_attempt_at = time.time() + backoff
        logger.debug(
            "Delivery of %s to %s failed (%s); retry in %.2fs",
            delivery.event_id,
            delivery.url,
            outcome,
            backoff,
        )
