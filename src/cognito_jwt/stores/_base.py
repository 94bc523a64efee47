"""The L2 store protocol: where the last good key set of each key-set URI survives restarts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["KeyStore", "MemoryStore", "StoredKeySet"]


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
