"""What the shared stores (Redis, DynamoDB) have in common, free of any client library.

A *plan* is a store conversation without I/O: a generator that yields the calls it needs
(:class:`_Call`), is sent their replies, and returns a result. :func:`drive_plan` and
:func:`drive_plan_async` run plans, given how to perform one call; :class:`_Health` tracks
outages (one warning each) and :class:`_Lease` renews a refresh lease from a thread.
:class:`SharedStore` is the key store and refresh coordinator written once on top of them: a
backend (Redis, DynamoDB) supplies its commands and its drivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any, ClassVar, Literal, TypedDict, TypeVar

from .._errors import ConfigurationError
from .._http import drop_pool_on_restore
from .._plan import run_plan, run_plan_async
from .._record import dataclass, field
from ._base import MAX_WAIT_TIMEOUTS, KeyStore, StoredKeySet
from ._document import build_document, current_of, history_of

__all__ = [
    "RENEWALS_PER_LEASE",
    "Plan",
    "SharedStore",
    "SharedStoreOptions",
    "_Call",
    "_Health",
    "_Lease",
    "_milliseconds",
    "_positive",
    "drive_plan",
    "drive_plan_async",
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


Plan = Generator[_Call, Any, T]
"""A generator that yields the calls it needs, is sent their replies, and returns a result."""


def drive_plan(
    plan: Plan[T], call: Callable[[_Call], Any], sleep: Callable[[float], object] = time.sleep
) -> T:
    """Run *plan* (:func:`~cognito_jwt._plan.run_plan`), each call with *call*.

    A failure is thrown into the plan, which lets it propagate (and is done).
    """

    def do(step: _Call) -> Any:
        if step.command == "sleep":
            sleep(step.args[0])
            return None
        return call(step)

    return run_plan(plan, do)


async def drive_plan_async(
    plan: Plan[T],
    call: Callable[[_Call], Awaitable[Any]],
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """Like :func:`drive_plan`, awaiting each call and each sleep."""

    async def do(step: _Call) -> Any:
        if step.command == "sleep":
            await sleep(step.args[0])
            return None
        return await call(step)

    return await run_plan_async(plan, do)


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


class SharedStoreOptions(TypedDict, total=False):
    """The options every shared key store has (see :class:`SharedStore`'s subclasses)."""

    namespace: str
    ttl: float
    history: int
    fallback: KeyStore | Literal["default"] | None
    retry_interval: float
    poll_interval: float


class SharedStore:
    """The part of a fleet-wide key store that does not depend on the service that holds it.

    Implements :class:`KeyStore` and :class:`RefreshCoordinator` once: loads and saves (with
    the fallback store), the history, the coordinated refresh with its renewed lease, the
    outage handling. Subclasses set :attr:`_what` (the class name in messages),
    :attr:`_service`, :attr:`_entry_name` (what a stored key set is called in log lines) and
    :attr:`_errors` (the service's failures, all of which degrade), and implement
    :meth:`data_key`, :meth:`lock_key`, the calls and plans :meth:`_read`, :meth:`_document`,
    :meth:`_write`, :meth:`_lock_plan`, :meth:`_renew_plan`, :meth:`_release_plan`, and the
    drivers :meth:`_drive` and :meth:`_drive_async`.
    """

    _what: ClassVar[str]
    _service: ClassVar[str]
    _entry_name: ClassVar[str]
    _errors: ClassVar[tuple[type[BaseException], ...]]

    def __init__(
        self,
        client: Any,
        name: str,
        *,
        disconnect: Callable[[Any], None],
        namespace: str,
        ttl: float,
        history: int,
        fallback: KeyStore | Literal["default"] | None,
        retry_interval: float,
        poll_interval: float,
    ) -> None:
        what = self._what
        if not isinstance(namespace, str) or not namespace:
            raise ConfigurationError(f"{what} namespace must be a non-empty string")
        if isinstance(history, bool) or not isinstance(history, int) or history < 0:
            raise ConfigurationError(f"{what} history must be a non-negative int")
        self.client = client
        drop_pool_on_restore(client, disconnect)
        self.namespace = namespace
        self.ttl = _positive("ttl", ttl, what)
        self.history_size = history
        self.retry_interval = _positive("retry_interval", retry_interval, what)
        self.poll_interval = _positive("poll_interval", poll_interval, what)
        self.fallback = self._fallback_of(fallback)
        self._name = name
        local = repr(self.fallback) if self.fallback is not None else "no local store"
        self._health = _Health(
            name,
            self.retry_interval,
            f"using {local} and direct fetches",
            service=self._service,
        )
        # Time, replaced by tests: the wait for another's refresh and the lease renewals.
        self._monotonic: Callable[[], float] = time.monotonic
        self._sleep: Callable[[float], object] = time.sleep
        self._sleep_async: Callable[[float], Awaitable[object]] = asyncio.sleep
        self._lease_wait: Callable[[threading.Event, float], bool] = threading.Event.wait

    def _fallback_of(self, fallback: KeyStore | Literal["default"] | None) -> KeyStore | None:
        if fallback is None:
            return None
        if fallback == "default":
            from ._file import FileStore

            return FileStore()
        if not isinstance(fallback, KeyStore):
            raise ConfigurationError(f"{self._what} fallback must be a KeyStore, 'default' or None")
        return fallback

    def __repr__(self) -> str:
        return f"{self._what}({self._name!r}, namespace={self.namespace!r})"

    @property
    def available(self) -> bool:
        """``False`` from a failed request to the service until one succeeds again."""
        return self._health.down_since is None

    # What a subclass provides --------------------------------------------------------------------
    def data_key(self, key: str) -> str:
        """The service's key of the entry that holds the key set *key*."""
        raise NotImplementedError

    def lock_key(self, key: str) -> str:
        """The service's key of the refresh lock (lease) of *key*."""
        raise NotImplementedError

    def _read(self, name: str) -> _Call:
        """The call that reads the entry *name*."""
        raise NotImplementedError

    def _document(self, key: str, reply: object, *, quiet: bool) -> dict[str, Any] | None:
        """The stored document in the reply to :meth:`_read`, or ``None`` (absent, unusable)."""
        raise NotImplementedError

    def _payload(self, key: str, record: StoredKeySet, previous: dict[str, Any] | None) -> bytes:
        """The document to write (raises ``ValueError``/``TypeError`` if it cannot be)."""
        return build_document(key, record, previous, self.history_size)

    def _write(self, name: str, payload: bytes) -> _Call:
        """The call that writes *payload* as the entry *name*, for :attr:`ttl` seconds."""
        raise NotImplementedError

    def _lock_plan(self, key: str, token: str, timeout: float) -> Plan[bool]:
        """Take the refresh lock of *key* for *timeout* if no one holds it: whether it did."""
        raise NotImplementedError

    def _renew_plan(self, key: str, token: str, timeout: float) -> Plan[bool]:
        """Extend this process's lease on the refresh of *key*: ``False`` if it lost it."""
        raise NotImplementedError

    def _release_plan(self, key: str, token: str) -> Plan[None]:
        """Release the refresh lock of *key* if it still holds *token*."""
        raise NotImplementedError

    def _drive(self, plan: Plan[T]) -> T:
        """Run *plan* with the service; its failures propagate."""
        raise NotImplementedError

    async def _drive_async(self, plan: Plan[T]) -> T:
        """Like :meth:`_drive`, without blocking the event loop."""
        raise NotImplementedError

    # Plans ---------------------------------------------------------------------------------------
    def _load_plan(self, key: str) -> Plan[StoredKeySet | None]:
        name = self.data_key(key)
        document = self._document(key, (yield self._read(name)), quiet=False)
        record = current_of(document)
        if document is not None and record is None:
            logger.warning(
                "key store: %s %s has no valid current entry; ignoring it", self._entry_name, name
            )
        return record

    def _history_plan(self, key: str) -> Plan[list[StoredKeySet]]:
        reply = yield self._read(self.data_key(key))
        return history_of(self._document(key, reply, quiet=True))

    def _save_plan(self, key: str, record: StoredKeySet) -> Plan[None]:
        # Read, merge the history, write: no transaction. Saves follow a coordinated fetch, so
        # two at once are rare; then the last writer's document stands (a history entry may
        # be lost, never the current key set).
        name = self.data_key(key)
        previous = self._document(key, (yield self._read(name)), quiet=True)
        try:
            payload = self._payload(key, record, previous)
        except (TypeError, ValueError) as exc:
            logger.warning("key store: cannot write %s %s (%s)", self._entry_name, name, exc)
            return
        yield self._write(name, payload)

    def _coordinate_plan(
        self, key: str, token: str, newer_than: float | None, timeout: float
    ) -> Plan[tuple[bool, StoredKeySet | None]]:
        """Lead the refresh of *key* (``(True, None)``), or wait for another's result.

        Each round tries to take the lock (a lease of *timeout*), then looks for a key set
        fetched after *newer_than*; the lock is taken before looking, so a holder that saved
        and released between the two looks is never missed. While a live holder renews its
        lease, this waits; when the lease runs out (the holder died) the next round takes it
        over. After :data:`MAX_WAIT_TIMEOUTS` x *timeout* of waiting it gives up
        (``(False, None)``: fetch on your own).
        """
        name = self.data_key(key)
        wait = MAX_WAIT_TIMEOUTS * timeout
        deadline = self._monotonic() + wait
        while True:
            led = yield from self._lock_plan(key, token, timeout)
            shared = current_of(self._document(key, (yield self._read(name)), quiet=True))
            if shared is not None and (newer_than is None or shared.fetched_at > newer_than):
                if led:
                    yield from self._release_plan(key, token)
                return False, shared
            if led:
                return True, None
            if self._monotonic() >= deadline:
                logger.warning(
                    "key store: waited %g s for another process's refresh of %s, which "
                    "still holds it; fetching here too",
                    wait,
                    name,
                )
                return False, None
            yield _Call("sleep", (self.poll_interval,))

    # Drivers: the only code that talks to the service --------------------------------------------
    def _run(self, plan: Plan[T], default: T) -> T:
        """Run *plan*; *default* if the service is unavailable or fails."""
        if not self._health.usable():
            plan.close()
            return default
        try:
            value = self._drive(plan)
        except self._errors as exc:
            return self._failed(plan, exc, default)
        self._health.succeeded()
        return value

    async def _run_async(self, plan: Plan[T], default: T) -> T:
        """Like :meth:`_run`, without blocking the event loop."""
        if not self._health.usable():
            plan.close()
            return default
        try:
            value = await self._drive_async(plan)
        except self._errors as exc:
            return self._failed(plan, exc, default)
        self._health.succeeded()
        return value

    def _failed(self, plan: Plan[T], exc: BaseException, default: T) -> T:
        plan.close()
        self._health.failed(exc)
        return default

    # KeyStore ------------------------------------------------------------------------------------
    def load(self, key: str) -> StoredKeySet | None:
        """The key set *key* from the shared store; else (absent, unusable, down) the fallback's."""
        record = self._run(self._load_plan(key), None)
        if record is None and self.fallback is not None:
            return self.fallback.load(key)
        return record

    def save(self, key: str, record: StoredKeySet) -> None:
        """Write *record* to the shared store (the previous version joins the history) and fallback.

        Best effort: failures are logged, never raised.
        """
        if self.fallback is not None:
            self.fallback.save(key, record)
        self._run(self._save_plan(key, record), None)

    async def load_async(self, key: str) -> StoredKeySet | None:
        """Like :meth:`load`, without blocking the event loop."""
        record = await self._run_async(self._load_plan(key), None)
        if record is None and self.fallback is not None:
            return await self.fallback.load_async(key)
        return record

    async def save_async(self, key: str, record: StoredKeySet) -> None:
        """Like :meth:`save`, without blocking the event loop."""
        if self.fallback is not None:
            await self.fallback.save_async(key, record)
        await self._run_async(self._save_plan(key, record), None)

    def history(self, key: str) -> list[StoredKeySet]:
        """Earlier versions of the key set *key* in the shared store, newest first."""
        return self._run(self._history_plan(key), [])

    def _lease(self, key: str, token: str, timeout: float) -> _Lease:
        """Start renewing this process's lease on the refresh of *key* (every third of it)."""

        def renew() -> bool:
            return self._run(self._renew_plan(key, token, timeout), default=True)

        every = timeout / RENEWALS_PER_LEASE
        return _Lease(renew, every, self._lease_wait, self.lock_key(key))

    # RefreshCoordinator --------------------------------------------------------------------------
    @contextlib.contextmanager
    def coordinate(
        self, key: str, *, newer_than: float | None, timeout: float
    ) -> Iterator[StoredKeySet | None]:
        """Take the refresh of *key* for this process, or wait for another process's result.

        Yields ``None`` when this process should fetch: it holds the refresh lock until the
        block is left (or the shared store is unavailable, or the wait ran out). The lock is
        a lease of *timeout* seconds (the fetch timeout) that a thread renews every third of
        it while the block runs, only while it still holds this process's token; it is
        released when the block is left. Yields a key set another process stored, fetched
        after *newer_than*, when one arrives while waiting: a waiter waits as long as the
        holder keeps renewing its lease, at most :data:`MAX_WAIT_TIMEOUTS` x *timeout*, and
        takes the lock over when the lease runs out (the holder died). See
        :class:`RefreshCoordinator`.
        """
        token = secrets.token_hex(16)
        plan = self._coordinate_plan(key, token, newer_than, timeout)
        led, shared = self._run(plan, (False, None))
        if not led:
            yield shared
            return
        lease = self._lease(key, token, timeout)
        try:
            yield None
        finally:
            lease.stop()
            lease.join()
            self._run(self._release_plan(key, token), None)

    @contextlib.asynccontextmanager
    async def coordinate_async(
        self, key: str, *, newer_than: float | None, timeout: float
    ) -> AsyncIterator[StoredKeySet | None]:
        """Like :meth:`coordinate`, without blocking the event loop.

        The lease is renewed by a thread here too: renewals must go on while the event loop
        is busy (a fetch that parses keys, a saturated loop).
        """
        token = secrets.token_hex(16)
        plan = self._coordinate_plan(key, token, newer_than, timeout)
        led, shared = await self._run_async(plan, (False, None))
        if not led:
            yield shared
            return
        lease = self._lease(key, token, timeout)
        try:
            yield None
        finally:
            lease.stop()
            await asyncio.to_thread(lease.join)
            await self._run_async(self._release_plan(key, token), None)
