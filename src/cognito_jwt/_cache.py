"""The L1 snapshot of a key set and the refresh decisions, as pure functions of timestamps.

Nothing here reads a clock or does I/O: the key source passes ``now`` in, which is what lets
the tests drive every transition with an injected clock.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from ._options import RefreshPolicy
from ._record import dataclass, field

if TYPE_CHECKING:
    from ._jwk import KeySet


__all__ = [
    "Admission",
    "FailureWindow",
    "FetchGate",
    "Freshness",
    "Snapshot",
    "freshness",
    "lookup_step",
]


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


class Admission(enum.Enum):
    """What the penalty box says about a fetch for a ``kid`` the keys in memory lack."""

    UNKNOWN = "unknown"  # negatively cached: a recent fetch answered without it
    BACKOFF = "backoff"  # fetches back off after a failure
    LEAD = "lead"  # fetch now: the cooldown is charged to this caller
    COOLDOWN = "cooldown"  # another unknown kid caused a fetch less than a cooldown ago


def lookup_step(
    snapshot: Snapshot | None, now: float, policy: RefreshPolicy, gate: FetchGate
) -> str:
    """What a lookup does with *snapshot* at *now*: the one "refresh now?" decision.

    Returns:
        ``"serve"``; ``"revalidate"`` (serve it, refresh in the background); ``"initial"`` or
        ``"expired"`` (fetch now; after a failure, fall back to what is in memory);
        ``"fallback"`` (backoff forbids a fetch: fall back at once); ``"backoff"`` (no keys
        at all, and backoff forbids a fetch: fail).
    """
    if snapshot is None:
        return "initial" if gate.may_fetch(now) else "backoff"
    state = freshness(snapshot, now, policy)
    if state is Freshness.FRESH:
        return "serve"
    if state is Freshness.STALE:
        return "revalidate"
    return "expired" if gate.may_fetch(now) else "fallback"


class _NegativeCache(MutableMapping[str, bool]):
    """A ``cachetools.TTLCache`` (size-bounded, aging on *timer*), built on the first write.

    Only a ``kid`` a fetch answered without is ever written: a cold start whose key set holds
    the token's ``kid`` never imports ``cachetools`` (nor ``random`` and ``heapq`` with it).
    """

    __slots__ = ("_cache", "_maxsize", "_timer", "_ttl")

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float]) -> None:
        self._cache: MutableMapping[str, bool] | None = None
        self._maxsize = maxsize
        self._ttl = ttl
        self._timer = timer

    def __contains__(self, kid: object) -> bool:
        cache = self._cache
        return cache is not None and kid in cache

    def __getitem__(self, kid: str) -> bool:
        if self._cache is None:
            raise KeyError(kid)
        return self._cache[kid]

    def __setitem__(self, kid: str, value: bool) -> None:
        cache = self._cache
        if cache is None:
            from cachetools import TTLCache

            cache = self._cache = TTLCache(maxsize=self._maxsize, ttl=self._ttl, timer=self._timer)
        cache[kid] = value

    def __delitem__(self, kid: str) -> None:
        if self._cache is None:
            raise KeyError(kid)
        del self._cache[kid]

    def __iter__(self) -> Iterator[str]:
        return iter(()) if self._cache is None else iter(self._cache)

    def __len__(self) -> int:
        return 0 if self._cache is None else len(self._cache)


@dataclass(slots=True)
class FetchGate:
    """The one gate of a key source: backoff after failed fetches, and the penalty box.

    The penalty box rations fetches caused by a ``kid`` the keys in memory lack: at most one
    per cooldown window (:meth:`admit`), and none for a kid a recent fetch answered without
    (the negative cache, :meth:`forget_kid`). :class:`RemoteKeySource` and
    :class:`AlbKeySource` both keep one. Mutable; its owner guards it with its lock.

    Attributes:
        failures: Consecutive failed fetches.
        retry_at: When backoff allows the next fetch.
        triggered_at: When an event (unknown kid, failure burst) last caused a fetch.
        unknown: The negative cache, kid → ``True``; :meth:`for_policy` bounds it.
    """

    failures: int = 0
    retry_at: float = -math.inf
    triggered_at: float = -math.inf
    unknown: MutableMapping[str, bool] = field(default_factory=dict)

    @classmethod
    def for_policy(cls, policy: RefreshPolicy, clock: Callable[[], float]) -> FetchGate:
        """A gate whose negative cache is bounded by *policy* and ages on *clock*."""
        return cls(unknown=_NegativeCache(policy.negative_kid_max, policy.negative_kid_ttl, clock))

    def may_fetch(self, now: float) -> bool:
        """Whether backoff allows a fetch now."""
        return now >= self.retry_at

    def may_trigger(self, now: float, cooldown: float) -> bool:
        """Whether an unknown kid or a failure burst may cause a fetch now (penalty box)."""
        return self.may_fetch(now) and now - self.triggered_at >= cooldown

    def trigger(self, now: float, cooldown: float) -> bool:
        """Charge the cooldown if :meth:`may_trigger`; return whether it was charged."""
        if not self.may_trigger(now, cooldown):
            return False
        self.triggered_at = now
        return True

    def release(self) -> None:
        """Uncharge the cooldown (the fetch it paid for found a real key, or failed)."""
        self.triggered_at = -math.inf

    def admit(self, kid: str, now: float, cooldown: float) -> Admission:
        """Decide about a fetch for *kid*, charging the cooldown when it says ``LEAD``."""
        if kid in self.unknown:
            return Admission.UNKNOWN
        if not self.may_fetch(now):
            return Admission.BACKOFF
        return Admission.LEAD if self.trigger(now, cooldown) else Admission.COOLDOWN

    def forget_kid(self, kid: str) -> None:
        """A fetch that started after *kid* was seen answered without it: cache the miss."""
        self.unknown[kid] = True

    def record_success(self) -> None:
        """A fetch succeeded: no more backoff."""
        self.failures = 0
        self.retry_at = -math.inf

    def record_failure(self, now: float, policy: RefreshPolicy) -> None:
        """A fetch failed: back off exponentially."""
        self.failures += 1
        self.retry_at = now + policy.backoff(self.failures)


class FailureWindow:
    """Share of failed signature checks over a sliding window.

    The window is cut into 10 buckets. Records land in the current bucket; when time moves to
    another bucket the current one joins the past, and past buckets older than the window are
    dropped. :meth:`count_success` is the hot path: while the current bucket holds, it is one
    comparison and one increment, cheap enough to run on every verification (callers may run
    it without a lock; a lost increment under a race only blurs a heuristic).
    """

    __slots__ = ("_bad", "_index", "_ok", "_past", "_past_bad", "_past_ok", "width")

    _BUCKETS = 10

    def __init__(self, window: float) -> None:
        self.width = window / self._BUCKETS
        self._index = -1  # no current bucket yet
        self._ok = 0
        self._bad = 0
        self._past: list[tuple[int, int, int]] = []  # (bucket index, ok, bad), oldest first
        self._past_ok = 0
        self._past_bad = 0

    def count_success(self, index: int) -> bool:
        """Count a success in bucket *index* if it is the current one; else return ``False``."""
        if index != self._index:
            return False
        self._ok += 1
        return True

    def _move_to(self, index: int) -> None:
        if index == self._index:
            return
        if self._index >= 0 and (self._ok or self._bad):
            self._past.append((self._index, self._ok, self._bad))
            self._past_ok += self._ok
            self._past_bad += self._bad
        self._index, self._ok, self._bad = index, 0, 0
        oldest = index - self._BUCKETS + 1
        while self._past and self._past[0][0] < oldest:
            _, ok, bad = self._past.pop(0)
            self._past_ok -= ok
            self._past_bad -= bad

    def record(self, ok: bool, now: float) -> None:  # noqa: FBT001 - positional on purpose
        """Count one signature check at time *now*."""
        self._move_to(int(now // self.width))
        if ok:
            self._ok += 1
        else:
            self._bad += 1

    def exceeded(self, now: float, rate: float, min_samples: int) -> bool:
        """Whether at least *min_samples* checks were made and the failed share >= *rate*."""
        self._move_to(int(now // self.width))
        total = self._past_ok + self._past_bad + self._ok + self._bad
        return total >= min_samples and self._past_bad + self._bad >= rate * total

    def reset(self) -> None:
        """Forget everything (after a refresh)."""
        self._past.clear()
        self._past_ok = self._past_bad = self._ok = self._bad = 0
