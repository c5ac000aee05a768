"""Fault injection: make chosen API calls answer 5xx, 429, 400, time out, or crash after doing their work.

A fault is written as one string, on the command line (`--fault SPEC`, repeatable) or in JSON to
`POST /_emulator/faults`:

    METHOD PATH=KIND            every matching call
    METHOD PATH=KIND:RATE       a share of matching calls, RATE in (0, 1]; seeded, so runs repeat
    METHOD PATH=KINDxCOUNT      the next COUNT matching calls, then the fault is spent

METHOD is GET, POST or `*`. PATH is matched with shell wildcards (`/v1/transfers/*/reversals`, `/v1/*`).
KIND is an HTTP status (500, 502, 503, 429, 409, 400), `timeout` or `crash`.

Examples: `POST /v1/transfers=500:0.5`, `POST /v1/refunds=429x2`, `* /v1/*=timeout:0.1`,
`POST /v1/refunds=crashx1`, `POST /v1/transfers=400x1`.

What each kind does, and why:
- 5xx: answered before the request is executed and NOT stored for its idempotency key, like an error in
  front of Stripe's API; the SDK (with `max_network_retries`) retries 5xx with the same key.
- 409: `idempotency_key_in_use`, what Stripe answers while a request with the same key is in flight; the
  SDK retries it.
- 429: `rate_limit`; the SDK does not retry it, the caller must back off. Never stored for the key.
- 400: `invalid_request_error`, Stripe refusing the request (as it refuses, say, a transfer it cannot make):
  answered before any work, not stored for the key, not retried by the SDK. Retrying the same request
  will not help, unlike every kind above; how the caller handles a refusal is what it tests.
- timeout: the request IS executed (and its result stored for its key), then the answer is held back for
  the fault's `delay` seconds, longer than the client's timeout. This is the case idempotency keys exist for:
  Stripe did the work, the client never heard, the retry with the same key gets the stored answer.
- crash: the request IS executed (money moves), then answered 500 `api_error` with
  `Stripe-Should-Retry: false`, and that 500 is what Stripe stores for the key: every retry with the same
  key gets the same 500 back (`Idempotent-Replayed: true`) until the key expires after 24 hours. This is
  Stripe's "the endpoint failed after it started work" case: the caller cannot tell from the answer whether
  the money moved, and retrying with the key will not tell it either; it has to look (e.g. list the
  refunds of the payment). The SDK honours `Stripe-Should-Retry: false` and does not retry. A crash on a
  request whose key already holds an answer has nothing to crash: the stored answer is replayed.
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

_SPEC = re.compile(
    r"^\s*(?P<method>[A-Za-z*]+)\s+(?P<path>\S+)\s*=\s*(?P<kind>\d{3}|timeout|crash)"
    r"(?::(?P<rate>[0-9.]+)|x(?P<count>\d+))?\s*$"
)
DEFAULT_TIMEOUT_DELAY = 30.0


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    method: str
    path: str
    kind: str  # "500", "429", ..., "timeout" or "crash"
    rate: float = 1.0
    remaining: int | None = None  # "next N calls" mode; None = unlimited
    delay: float = DEFAULT_TIMEOUT_DELAY  # seconds a timeout holds the answer back
    hits: int = 0
    _random: random.Random = field(default_factory=lambda: random.Random(0), repr=False)  # noqa: S311

    @property
    def status(self) -> int | None:
        """The status answered before any work (5xx, 409, 429, 400); None for kinds that let the work
        happen."""
        return int(self.kind) if self.kind.isdigit() else None

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.path)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_random")
        return data


def parse_fault(spec: str, *, delay: float = DEFAULT_TIMEOUT_DELAY, seed: int = 0) -> Fault:
    match = _SPEC.match(spec)
    if not match:
        raise FaultSpecError(f"Bad fault spec {spec!r}: expected 'METHOD PATH=KIND[:RATE|xCOUNT]'")
    kind = match["kind"]
    if kind not in ("timeout", "crash") and not (kind in ("400", "409", "429") or kind.startswith("5")):
        raise FaultSpecError(f"Bad fault kind {kind!r}: use 5xx, 409, 429, 400, timeout or crash")
    rate = float(match["rate"]) if match["rate"] else 1.0
    if not 0 < rate <= 1:
        raise FaultSpecError(f"Bad fault rate {rate}: must be in (0, 1]")
    return Fault(
        method=match["method"].upper(),
        path=match["path"],
        kind=kind,
        rate=rate,
        remaining=int(match["count"]) if match["count"] else None,
        delay=delay,
        _random=random.Random(seed),  # noqa: S311 - test determinism, not security
    )


def fault_from_json(data: dict[str, Any] | str) -> Fault:
    """A fault from JSON: either a spec string or `{"spec": ..., "delay": ..., "seed": ...}`, or
    the spelled-out form `{"method", "path", "kind", "rate"?, "count"?, "delay"?}`."""
    if isinstance(data, str):
        return parse_fault(data)
    delay = float(data.get("delay", DEFAULT_TIMEOUT_DELAY))
    seed = int(data.get("seed", 0))
    if "spec" in data:
        return parse_fault(data["spec"], delay=delay, seed=seed)
    spec = f"{data.get('method', '*')} {data['path']}={data['kind']}"
    if data.get("count") is not None:
        spec += f"x{int(data['count'])}"
    elif data.get("rate") is not None:
        spec += f":{float(data['rate'])}"
    return parse_fault(spec, delay=delay, seed=seed)


class FaultPlan:
    """The active faults; `pick` decides, per call, which (if any) fires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def replace(self, faults: list[Fault]) -> None:
        with self._lock:
            self._faults = list(faults)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        self.replace([])

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No fault fires inside the block; afterwards the same faults (counts and hits as they were) are
        back. For a test's own look at the state between injected failures."""
        with self._lock:
            saved, self._faults = self._faults, []
        try:
            yield
        finally:
            with self._lock:
                self._faults = saved + self._faults

    def pick(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                if fault.remaining is not None:
                    if fault.remaining <= 0:
                        continue
                    fault.remaining -= 1
                elif fault.rate < 1 and fault._random.random() >= fault.rate:
                    continue
                fault.hits += 1
                return fault
        return None

    def to_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_dict() for fault in self._faults]
