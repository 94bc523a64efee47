"""What the shared stores (Redis, DynamoDB) have in common, free of any client library.

A *plan* is a store conversation without I/O: a generator that yields the calls it needs
(:class:`_Call`), is sent their replies, and returns a result. Each store has a sync and an
async driver that run plans with its client; :class:`_Health` tracks outages (one warning
each) and :class:`_Lease` renews a refresh lease from a thread.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, TypeVar

from .._errors import ConfigurationError
from .._record import dataclass, field

__all__ = [
    "RENEWALS_PER_LEASE",
    "Plan",
    "_Call",
    "_Done",
    "_Health",
    "_Lease",
    "_advance",
    "_milliseconds",
    "_positive",
]

logger = logging.getLogger("cognito_jwt")

T = TypeVar("T")

# The refresh lock is renewed this many times per lease: a renewal may come as late as two
# thirds of a lease (a starved thread, a slow store) before the lease runs out.
RENEWALS_PER_LEASE = 3


@dataclass(frozen=True, slots=True)
class _Call:
    """One step of a plan: a client method and its arguments, or ``"sleep"``."""

    command: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Done(Generic[T]):
    value: T


Plan = Generator[_Call, Any, T]
"""A generator that yields the calls it needs, is sent their replies, and returns a result."""


def _advance(plan: Plan[T], reply: object) -> _Call | _Done[T]:
    """Send *reply* into *plan*: its next call, or its result."""
    try:
        return plan.send(reply)
    except StopIteration as stop:
        return _Done(stop.value)


class _Health:
    """Whether a shared service is usable: one warning per outage, one info line when it is back.

    After a failure, the service is left alone for *retry_interval* seconds (operations go
    straight to the fallback, paying no timeout); then the next operation tries it again.
    *what* names its user, *service* the service (``"Redis"``, ``"DynamoDB"``) and *fallback*
    says what happens meanwhile, in the log lines.
    """

    def __init__(
        self,
        name: str,
        retry_interval: float,
        fallback: str,
        *,
        what: str = "shared key store",
        service: str = "Redis",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = name
        self._what = what
        self._service = service
        self._fallback = fallback
        self._retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self._retry_at = -math.inf

    def usable(self) -> bool:
        return self.down_since is None or self._clock() >= self._retry_at

    def failed(self, exc: BaseException) -> None:
        now = self._clock()
        with self._lock:
            first = self.down_since is None
            if first:
                self.down_since = now
            self._retry_at = now + self._retry_interval
        if first:
            logger.warning(
                "%s %s is unavailable (%s: %s); %s, trying %s again every %g s",
                self._what,
                self._name,
                type(exc).__name__,
                exc,
                self._fallback,
                self._service,
                self._retry_interval,
            )

    def succeeded(self) -> None:
        if self.down_since is None:  # the common case: no lock
            return
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is not None:
            logger.info(
                "%s %s is available again (after %.1f s)",
                self._what,
                self._name,
                self._clock() - since,
            )


def _positive(name: str, value: object, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(f"{what} {name} must be a positive number, got {value!r}")
    return float(value)


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class _Lease:
    """Keeps this process's refresh lease alive while it fetches: a thread renews it.

    The thread calls *renew* every *every* seconds (waiting with *wait*, the store's timer)
    until :meth:`stop`, or until a renewal finds the lock taken by another token (it ran out
    meanwhile: then another process may fetch too, which is harmless). A renewal that fails
    because the store does is an outage like any other (*renew* returns ``True``); the next ones
    go on.
    """

    def __init__(
        self,
        renew: Callable[[], bool],
        every: float,
        wait: Callable[[threading.Event, float], bool],
        name: str,
    ) -> None:
        self._renew, self._every, self._wait, self._name = renew, every, wait, name
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cognito-jwt-lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._wait(self._stopped, self._every):
            if not self._renew():
                logger.info(
                    "key store: the refresh lease on %s ran out before it was renewed; "
                    "another process may fetch too",
                    self._name,
                )
                return

    def stop(self) -> None:
        """Stop renewing (the thread ends after at most one more store request)."""
        self._stopped.set()

    def join(self) -> None:
        """Wait for the thread to end."""
        self._thread.join()
