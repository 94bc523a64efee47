"""The L2 store protocol: where the last good key set of each key-set URI survives restarts."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from .._record import dataclass

__all__ = [
    "MAX_WAIT_TIMEOUTS",
    "KeyStore",
    "MemoryStore",
    "RefreshCoordinator",
    "StoredKeySet",
    "coordinator_of",
]

MAX_WAIT_TIMEOUTS = 5
"""How many fetch timeouts a process waits, at most, for another process's refresh.

The cap on :meth:`RefreshCoordinator.coordinate`'s wait while the holder is alive: enough for
a slow fetch (discovery and JWKS on a busy machine), short of forever if the holder hangs.
The key source allows for it in how long its callers wait for a fetch.
"""


@dataclass(frozen=True, slots=True)
class StoredKeySet:
    """A key set document as it was fetched, with what is needed to judge its age.

    Attributes:
        jwks: The JWKS document (a JSON object). It is validated again when loaded: a store
            is never trusted more than the network.
        fetched_at: When it was fetched from the issuer (epoch seconds).
        max_age: Its freshness lifetime in seconds at the time.
        jwks_uri: Where it was fetched from (after discovery, if any).
    """

    jwks: Mapping[str, Any]
    fetched_at: float
    max_age: float
    jwks_uri: str


@runtime_checkable
class KeyStore(Protocol):
    """A persistent (L2) store of key sets, keyed by a key-set identifier.

    Implementations must never raise for an unreadable or corrupt entry: they return ``None``
    (and may log). Writes are best effort; a failed write must not fail a verification.
    """

    def load(self, key: str) -> StoredKeySet | None:
        """Return the stored key set for *key*, or ``None``."""
        ...

    def save(self, key: str, record: StoredKeySet) -> None:
        """Store *record* as the current key set for *key*."""
        ...

    async def load_async(self, key: str) -> StoredKeySet | None:
        """Like :meth:`load`, without blocking the event loop."""
        ...

    async def save_async(self, key: str, record: StoredKeySet) -> None:
        """Like :meth:`save`, without blocking the event loop."""
        ...


@runtime_checkable
class RefreshCoordinator(Protocol):
    """An optional extension of a :class:`KeyStore` shared by many processes: one refresh.

    A key source whose store has these methods enters :meth:`coordinate` around each fetch.
    What the block receives says what to do:

    * ``None``: fetch (and save) as usual. Either this process now holds the refresh (others
      wait for it until the block is left), or coordination is unavailable or the wait ran
      out.
    * a :class:`StoredKeySet`: another process stored a key set fetched after *newer_than*
      while this one waited; use it instead of fetching (after validating it like any stored
      key set, and fetching after all if it is unusable).

    The contract, which makes one fetch per fleet hold on a slow machine:

    * The holder's claim is a lease of at least *timeout* seconds (the fetch timeout),
      renewed while the block runs, and released when it is left. Only the holder renews or
      releases it (a claim that expired and was taken by another process is left alone).
    * A waiter waits as long as a live holder keeps its lease, never fetching merely because
      one fetch timeout has passed, and at most :data:`MAX_WAIT_TIMEOUTS` x *timeout*; then
      it fetches on its own.
    * A holder that dies (its lease is no longer renewed) is taken over by a waiter once its
      lease runs out: within one lease, about *timeout*.

    Neither method may raise for a failure of the store itself: they degrade to ``None``.
    """

    def coordinate(
        self, key: str, *, newer_than: float | None, timeout: float
    ) -> AbstractContextManager[StoredKeySet | None]:
        """Take the refresh of *key*, or wait for another process's result.

        *newer_than* is the fetch time (epoch seconds) a shared key set must exceed to stand
        in for this fetch (``None``: any). *timeout* is the fetch timeout: the holder's lease
        lasts at least that long and is renewed while the block runs; a waiter waits at most
        :data:`MAX_WAIT_TIMEOUTS` x *timeout*.
        """
        ...

    def coordinate_async(
        self, key: str, *, newer_than: float | None, timeout: float
    ) -> AbstractAsyncContextManager[StoredKeySet | None]:
        """Like :meth:`coordinate`, without blocking the event loop."""
        ...


def coordinator_of(store: object) -> RefreshCoordinator | None:
    """*store* if it coordinates refreshes between processes, else ``None``."""
    return store if isinstance(store, RefreshCoordinator) else None


class MemoryStore:
    """A process-local store: shares key sets between verifiers of one process; for tests."""

    def __init__(self) -> None:
        self._records: dict[str, StoredKeySet] = {}

    def load(self, key: str) -> StoredKeySet | None:
        """Return the record for *key*, if any."""
        return self._records.get(key)

    def save(self, key: str, record: StoredKeySet) -> None:
        """Keep *record* for *key*."""
        self._records[key] = record

    async def load_async(self, key: str) -> StoredKeySet | None:
        """Return the record for *key*, if any."""
        return self._records.get(key)

    async def save_async(self, key: str, record: StoredKeySet) -> None:
        """Keep *record* for *key*."""
        self._records[key] = record
