"""One key source per accepted issuer, each built on first use.

A Cognito user pool may be reached under several issuers: its original and its updated issuer
format, and the original issuer of each replica Region. Each publishes keys at its own URL, and
a pool answers 404 (or 403) at the URL of a format it does not use. So the keys of an issuer
are fetched only once a token names that issuer, after the issuer matched the allowed set
exactly; a format the pool does not use never costs a request unless a token names it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TypeGuard

from ._errors import JwtError, KeySetUnavailableError
from ._keysource import KeySetStats, KeySource

__all__ = ["IssuerKeySources", "is_unused_issuer"]

# What a key-set URL answers for an issuer format the pool does not use.
_NOT_THERE = frozenset({403, 404})


def is_unused_issuer(exc: JwtError) -> TypeGuard[KeySetUnavailableError]:
    """Whether *exc* says the key-set URL does not exist (403/404): an issuer not in use."""
    return isinstance(exc, KeySetUnavailableError) and exc.status_code in _NOT_THERE


class IssuerKeySources:
    """Key sources by issuer, each made by *build* from the issuer's key-set URL on first use.

    Thread-safe: concurrent first tokens of one issuer build one source (building does no I/O,
    so the lock is held only for a constructor call; asyncio callers may take it too).
    """

    __slots__ = ("_build", "_lock", "_sources", "uris")

    def __init__(self, uris: Mapping[str, str], build: Callable[[str], KeySource]) -> None:
        self.uris = dict(uris)
        self._build = build
        self._sources: dict[str, KeySource] = {}
        self._lock = threading.Lock()

    def source(self, issuer: str) -> KeySource:
        """The key source of *issuer* (one of :attr:`uris`), built now if it is the first use."""
        source = self._sources.get(issuer)
        if source is None:
            with self._lock:
                source = self._sources.get(issuer)
                if source is None:
                    source = self._sources[issuer] = self._build(self.uris[issuer])
        return source

    def built(self) -> dict[str, KeySource]:
        """The sources built so far, by issuer."""
        return dict(self._sources)

    def stats(self) -> KeySetStats:
        """The counters of every source built so far, added up."""
        total = KeySetStats()
        for source in self.built().values():
            stats = source.stats
            total.fetches += stats.fetches
            total.fetch_failures += stats.fetch_failures
            total.l1_hits += stats.l1_hits
            total.l2_loads += stats.l2_loads
            total.unknown_kid_rejections += stats.unknown_kid_rejections
            total.stale_served += stats.stale_served
            for reason, count in stats.refreshes.items():
                total.refreshes[reason] = total.refreshes.get(reason, 0) + count
        return total
