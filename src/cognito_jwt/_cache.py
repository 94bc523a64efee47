"""The L1 snapshot of a key set and the refresh decisions, as pure functions of timestamps.

Nothing here reads a clock or does I/O: the key source passes ``now`` in, which is what lets
the tests drive every transition with an injected clock.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._jwk import KeySet
from ._options import RefreshPolicy

__all__ = ["FailureWindow", "FetchGate", "Freshness", "Snapshot", "freshness"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One key set as installed in L1; replaced whole, never mutated.

    Attributes:
        keyset: The prepared keys.
        document: The JWKS document they came from (what L2 stores).
        fetched_at: When it was fetched from the issuer (epoch seconds, verifier's clock).
        max_age: Its freshness lifetime in seconds.
        seq: The fetch sequence number that produced it; a lower one never replaces it.
        source: ``"fetch"`` or ``"store"`` (loaded from L2).
    """

    keyset: KeySet
    document: Mapping[str, Any]
    fetched_at: float
    max_age: float
    seq: int
    source: str


class Freshness(enum.Enum):
    """What a key source should do with a snapshot of a given age."""

    FRESH = "fresh"  # serve
    STALE = "stale"  # serve, refresh in the background
    EXPIRED = "expired"  # refresh first; serve the old keys if that fails
    UNUSABLE = "unusable"  # refresh first; fail if that fails


def freshness(snapshot: Snapshot, now: float, policy: RefreshPolicy) -> Freshness:
    """Classify *snapshot* at time *now*. A fetch time in the future counts as age 0."""
    age = max(0.0, now - snapshot.fetched_at)
    if age < snapshot.max_age:
        return Freshness.FRESH
    if age < policy.max_stale:
        return Freshness.STALE
    if age < policy.stale_if_error:
        return Freshness.EXPIRED
    return Freshness.UNUSABLE


@dataclass(slots=True)
class FetchGate:
    """Backoff after failed fetches and the cooldown of event-triggered refreshes.

    Mutable; the key source guards it with its lock.
    """

    failures: int = 0
    retry_at: float = -math.inf
    triggered_at: float = -math.inf

    def may_fetch(self, now: float) -> bool:
        """Whether backoff allows a fetch now."""
        return now >= self.retry_at

    def may_trigger(self, now: float, cooldown: float) -> bool:
        """Whether an unknown kid or a failure burst may cause a fetch now (penalty box)."""
        return self.may_fetch(now) and now - self.triggered_at >= cooldown

    def record_success(self) -> None:
        """A fetch succeeded: no more backoff."""
        self.failures = 0
        self.retry_at = -math.inf

    def record_failure(self, now: float, policy: RefreshPolicy) -> None:
        """A fetch failed: back off exponentially."""
        self.failures += 1
        self.retry_at = now + policy.backoff(self.failures)


class FailureWindow:
    """Share of failed signature checks over a sliding window, in O(1) per record.

    The window is cut into 10 buckets; a record lands in the bucket of its time, and buckets
    older than the window are dropped as time moves on.
    """

    __slots__ = ("_bucket_width", "_buckets", "_failed", "_total")

    _BUCKETS = 10

    def __init__(self, window: float) -> None:
        self._bucket_width = window / self._BUCKETS
        self._buckets: list[tuple[int, int, int]] = []  # (bucket index, total, failed)
        self._total = 0
        self._failed = 0

    def record(self, ok: bool, now: float) -> None:  # noqa: FBT001 - hot path, positional
        """Count one signature check at time *now*."""
        index = int(now // self._bucket_width)
        buckets = self._buckets
        if buckets and buckets[-1][0] == index:
            _, total, failed = buckets[-1]
            buckets[-1] = (index, total + 1, failed + (not ok))
        else:
            buckets.append((index, 1, int(not ok)))
        self._total += 1
        self._failed += not ok
        self._expire(index)

    def _expire(self, index: int) -> None:
        oldest = index - self._BUCKETS + 1
        while self._buckets and self._buckets[0][0] < oldest:
            _, total, failed = self._buckets.pop(0)
            self._total -= total
            self._failed -= failed

    def exceeded(self, now: float, rate: float, min_samples: int) -> bool:
        """Whether at least *min_samples* checks were made and the failed share >= *rate*."""
        self._expire(int(now // self._bucket_width))
        return self._total >= min_samples and self._failed >= rate * self._total

    def reset(self) -> None:
        """Forget everything (after a refresh)."""
        self._buckets.clear()
        self._total = 0
        self._failed = 0
