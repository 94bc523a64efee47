"""Where a verifier gets its keys: the one seam between the pure pipeline and the world.

A verifier asks its key source for the key that fits a token's ``kid`` and ``alg``; it never
knows whether the keys were given in memory, read from a store or fetched. ``verify`` and
``verify_async`` differ only in which of the two ``find`` methods they call.

:class:`RemoteKeySource` keeps one key set (one JWKS URI) in two levels:

* L1, a :class:`Snapshot` in memory, replaced whole (atomically) and never by an older fetch;
* L2, an optional :class:`KeyStore` (a file by default) holding the last good document, which
  serves a cold start without network and is the fallback when the issuer is down.

and refreshes it on four triggers: age (in the background, blocking only past ``max_stale``),
an unknown ``kid`` (at most once per cooldown, with a negative cache), a high rate of signature
failures, and :meth:`RemoteKeySource.refresh`. Concurrent callers that need the same fetch
share it: one per process for threads, one per event loop for tasks.

The house of the key source: this module (the policy: the lookups and the fetch, as plans,
and the decisions they act on); ``_drivers`` (the two drivers that do each step, sync and
async, and single flight around a fetch); ``_plan`` (the plan steps); ``_cache`` (the
snapshot, the pure "refresh now?" decision, the one gate with the penalty box);
``_unknown_kids`` (what an unknown kid may do); ``_install`` (what lands in memory);
``_flight`` (single flight for threads and tasks).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

from ._cache import (
    FailureWindow,
    FetchGate,
    Freshness,
    Snapshot,
    freshness,
    lookup_step,
)
from ._drivers import Drivers
from ._errors import (
    InvalidJwksError,
    JwtError,
    KeyAlgorithmMismatchError,
    KeyNotFoundError,
    KeySetUnavailableError,
)
from ._flight import Flights, clone_error
from ._install import Installs
from ._json import loads_object
from ._log import logger
from ._options import DEFAULT_MAX_KEYS, FetchOptions, RefreshPolicy
from ._plan import LOAD, Plan, Step
from ._record import dataclass, field
from ._unknown_kids import UnknownKids
from .stores._base import KeyStore, coordinator_of

if TYPE_CHECKING:
    from ._http import HttpFetcher
    from ._jwk import KeySet, PreparedKey


__all__ = [
    "EventHook",
    "JwksInput",
    "KeySetState",
    "KeySetStats",
    "KeySource",
    "ParseBody",
    "RemoteKeySource",
    "StaticKeySource",
    "backoff_error",
    "emit",
    "json_document",
    "static_key_source",
]


JwksInput: TypeAlias = "Mapping[str, Any] | str | bytes | KeySet"
"""A key set given in memory: a JWKS mapping, its JSON text, or a parsed :class:`KeySet`."""


T = TypeVar("T")

EventHook = Callable[[str, Mapping[str, Any]], None]
"""``on_event(name, details)``: told about fetches, failures, refreshes and rejections."""

ParseBody = Callable[[bytes, str], Mapping[str, Any]]
"""``parse_body(body, url)``: a fetched response body → the JWKS document it stands for.

Raises :class:`InvalidJwksError` for a body it can't use. The document is what L2 stores and
what :func:`parse_jwks` validates, on fetch and again on every load from the store.
"""


def json_document(body: bytes, url: str) -> Mapping[str, Any]:
    """The default :data:`ParseBody`: the body is the JWKS document itself, as JSON.

    Raises:
        InvalidJwksError: Not a strict JSON object.
    """
    try:
        return loads_object(body)
    except ValueError as exc:
        raise InvalidJwksError(f"JWKS at {url} is not a JSON object: {exc}") from None


@dataclass(slots=True)
class KeySetStats:
    """Counters of one key source, for metrics and tests. Read them; don't write them.

    Attributes:
        fetches: Fetch attempts (discovery + JWKS count as one).
        fetch_failures: Fetch attempts that failed.
        refreshes: Fetch attempts by reason: ``initial``, ``scheduled``, ``expired``,
            ``unknown_kid``, ``failure_rate``, ``manual``.
        l1_hits: Lookups served from the key set in memory.
        l2_loads: Key sets taken from the persistent store.
        unknown_kid_rejections: Tokens refused because their ``kid`` stayed unknown.
        stale_served: Lookups served by keys past their freshness (stale-while-revalidate or
            stale-if-error).
    """

    fetches: int = 0
    fetch_failures: int = 0
    refreshes: dict[str, int] = field(default_factory=dict)
    l1_hits: int = 0
    l2_loads: int = 0
    unknown_kid_rejections: int = 0
    stale_served: int = 0


@dataclass(frozen=True, slots=True)
class KeySetState:
    """What a verifier holds of one key set now: a read-only view for health checks.

    Attributes:
        url: Where the keys are fetched from, once known (``None`` for keys given in memory,
            and for a discovered URL before the first fetch).
        kids: The key ids in memory (empty before the first load).
        fetched_at: When the keys in memory were fetched from the issuer (epoch seconds, the
            verifier's clock), or ``None`` (none yet, or keys given in memory).
        source: Where the keys in memory came from: ``"memory"`` (given to the verifier),
            ``"store"`` (the persistent store), ``"network"`` (fetched), or ``None``.
        next_refresh: When the keys are next refreshed in the normal course (their max age
            ended, not before a backoff ends), or ``None`` (never, or on first use).
        last_error: The error of the last fetch while fetches are failing, else ``None``.
        consecutive_failures: How many fetches failed in a row (0 once one succeeds).
    """

    url: str | None
    kids: frozenset[str]
    fetched_at: float | None = None
    source: str | None = None
    next_refresh: float | None = None
    last_error: JwtError | None = None
    consecutive_failures: int = 0


class KeySource(Protocol):
    """Supplies prepared keys to a verifier."""

    stats: KeySetStats

    def find(self, kid: str | None, alg: str) -> PreparedKey:
        """Return the key for *kid* and *alg*, or raise a :class:`KeyNotFoundError`."""
        ...

    async def find_async(self, kid: str | None, alg: str) -> PreparedKey:
        """Like :meth:`find`, without blocking the event loop on I/O."""
        ...

    def record_signature(self, ok: bool) -> None:  # noqa: FBT001 - hot path
        """Tell the source whether a signature made with one of its keys verified."""
        ...

    def state(self) -> KeySetState:
        """What the source holds now (no I/O)."""
        ...

    def hydrate(self) -> None:
        """Load the keys ahead of the first verification."""
        ...

    async def hydrate_async(self) -> None:
        """Like :meth:`hydrate`, without blocking the event loop."""
        ...

    def refresh(self) -> None:
        """Fetch the key set now."""
        ...

    async def refresh_async(self) -> None:
        """Like :meth:`refresh`, without blocking the event loop."""
        ...


class StaticKeySource:
    """A fixed key set held in memory; lookups never do I/O."""

    __slots__ = ("keyset", "stats")

    def __init__(self, keyset: KeySet) -> None:
        self.keyset = keyset
        self.stats = KeySetStats()

    def find(self, kid: str | None, alg: str) -> PreparedKey:
        """Select from the fixed key set."""
        return self.keyset.find(kid, alg)

    async def find_async(self, kid: str | None, alg: str) -> PreparedKey:
        """Select from the fixed key set."""
        return self.keyset.find(kid, alg)

    def record_signature(self, ok: bool) -> None:  # noqa: FBT001
        """Nothing to refresh."""

    def state(self) -> KeySetState:
        """The fixed keys, given in memory."""
        return KeySetState(None, self.keyset.kids, source="memory")

    def hydrate(self) -> None:
        """Nothing to load: the keys are in memory."""

    async def hydrate_async(self) -> None:
        """Nothing to load: the keys are in memory."""

    def refresh(self) -> None:
        """Nothing to fetch: the keys are fixed."""

    async def refresh_async(self) -> None:
        """Nothing to fetch: the keys are fixed."""


def static_key_source(jwks: JwksInput) -> StaticKeySource:
    """Build a :class:`StaticKeySource` from a JWKS mapping, JSON text or :class:`KeySet`.

    Raises:
        InvalidJwksError: The document has no usable key.
    """
    from ._jwk import KeySet, parse_jwks  # key processing needs cryptography: imported on use

    return StaticKeySource(jwks if isinstance(jwks, KeySet) else parse_jwks(jwks))


def backoff_error(last: JwtError | None, note: str) -> JwtError:
    """The error for a call refused while fetches back off: the last failure, with *note*.

    Same class and reason as the failure being backed off, so a caller (and an HTTP adapter)
    reads it exactly as it read that failure.
    """
    if last is None:  # pragma: no cover - a failure always records its error
        return KeySetUnavailableError("keys are unavailable" + note)
    error = clone_error(last)
    error.message += note
    error.args = (error.message,)
    return error


def emit(hook: EventHook | None, key_set: str, name: str, details: Mapping[str, Any]) -> None:
    """Call an ``on_event`` hook with ``key_set`` added; a hook that raises is only logged."""
    if hook is None:
        return
    try:
        hook(name, {"key_set": key_set, **details})
    except Exception:  # noqa: BLE001 - a broken hook must never break verification (logged, not raised)
        logger.exception("cognito_jwt on_event hook raised for %s", name)


class RemoteKeySource(Installs, UnknownKids, Drivers):
    """A key set fetched from the network, cached in memory (L1) and in a store (L2).

    Lookups and fetches are written once, as plans (``_find_plan``, ``_ensure_plan``,
    ``_unknown_plan``, ``_fetch_plan``); the sync and the async face differ only in their
    drivers (``_run``, ``_run_async``), which perform each step with their own I/O, so the
    async face has no path to a blocking call.

    Args:
        cache_key: Identifies the key set in the store: the JWKS URI, or
            ``discovery:<issuer>`` when the URI comes from discovery.
        jwks_uri: Where the keys are, if known; else discovered from *issuer*.
        issuer: The issuer whose metadata names ``jwks_uri`` (when *jwks_uri* is ``None``).
        fetch: HTTP settings.
        policy: Refresh settings.
        store: The L2 store, or ``None`` for memory only.
        clock: Epoch seconds; the same clock as the verifier's claim checks.
        on_event: Optional hook called with ``(name, details)`` for observability.
        max_keys: Cap on the number of keys in a fetched document.
        parse_body: Turns a fetched body into a JWKS document; default :func:`json_document`
            (another format, e.g. one PEM key per URL, plugs in here).
        stats: Counters to update, shared with other sources; default a new
            :class:`KeySetStats`.
    """

    def __init__(
        self,
        *,
        cache_key: str,
        jwks_uri: str | None,
        issuer: str | None,
        fetch: FetchOptions,
        policy: RefreshPolicy,
        store: KeyStore | None,
        clock: Callable[[], float],
        on_event: EventHook | None = None,
        max_keys: int = DEFAULT_MAX_KEYS,
        parse_body: ParseBody = json_document,
        stats: KeySetStats | None = None,
    ) -> None:
        if jwks_uri is None and issuer is None:
            raise ValueError("RemoteKeySource needs a jwks_uri or an issuer to discover it from")
        self.cache_key = cache_key
        self.issuer = issuer
        self.fetch_options = fetch
        self.policy = policy
        self.store = store
        self.stats = KeySetStats() if stats is None else stats
        self._parse_body = parse_body
        self._configured_uri = jwks_uri
        self._jwks_uri = jwks_uri
        self._clock = clock
        self._on_event = on_event
        self._max_keys = max_keys
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._gate = FetchGate.for_policy(policy, clock)  # backoff and the penalty box
        self._seq = itertools.count(1)
        self._last_seq = 0  # the number of the latest fetch started (either face)
        self._followed_up_at = -math.inf  # see _may_follow_up
        # Set while an unknown-kid refresh runs (either face): callers the cooldown turns away
        # wait for it instead of failing.
        self._kid_pending: threading.Event | None = None
        self._l2_tried = False
        self._store_seen: float | None = None  # newest fetch time seen in the store (clamped)
        self._window = FailureWindow(policy.failure_window)
        self._window_lock = threading.Lock()
        self._last_error: JwtError | None = None
        self._http: HttpFetcher | None = None
        # How long a caller waits for another's fetch: discovery (2 URLs) + JWKS, each with
        # its retries, plus a margin; plus waiting for another process's fetch.
        wait_limit = 3 * fetch.timeout * (fetch.retries + 1) + 5
        if coordinator_of(store) is not None:
            wait_limit += 5 * fetch.timeout  # stores._base.MAX_WAIT_TIMEOUTS
        self._flights: Flights[Snapshot] = Flights(self._lock, wait_limit)

    def __repr__(self) -> str:
        return f"RemoteKeySource({self.cache_key!r})"

    @property
    def snapshot(self) -> Snapshot | None:
        """The key set in memory, if any."""
        return self._snapshot

    @property
    def jwks_uri(self) -> str | None:
        """The JWKS URI, once known (configured, discovered or read from the store)."""
        return self._jwks_uri

    def _emit(self, name: str, **details: Any) -> None:
        emit(self._on_event, self.cache_key, name, details)

    # The two faces ------------------------------------------------------------------------------
    def find(self, kid: str | None, alg: str) -> PreparedKey:
        """Return the key for *kid*/*alg*, fetching or refreshing as the policy says.

        Raises:
            KeyNotFoundError: No such key, even after the refresh the policy allows.
            KeySetUnavailableError: No usable key set could be had.
        """
        key = self._hit(kid, alg)
        return key if key is not None else self._run(self._find_plan(kid, alg))

    async def find_async(self, kid: str | None, alg: str) -> PreparedKey:
        """Like :meth:`find`, without blocking the event loop."""
        key = self._hit(kid, alg)
        return key if key is not None else await self._run_async(self._find_plan(kid, alg))

    def hydrate(self) -> None:
        """Have usable keys in memory now: from L1, else L2, else a fetch.

        Raises:
            KeySetUnavailableError: No usable key set could be had.
        """
        self._run(self._ensure_plan(self._clock()))

    async def hydrate_async(self) -> None:
        """Like :meth:`hydrate`, without blocking the event loop."""
        await self._run_async(self._ensure_plan(self._clock()))

    def refresh(self) -> None:
        """Fetch the key set now, whatever its age (backoff and cooldown don't apply).

        Raises:
            KeySetUnavailableError: The fetch failed (the current keys stay in use).
        """
        self._refresh("manual")

    async def refresh_async(self) -> None:
        """Like :meth:`refresh`, without blocking the event loop."""
        await self._refresh_async("manual")

    def join_background(self, timeout: float | None = None) -> None:
        """Wait for a background refresh thread, if one runs (for tests and shutdown)."""
        self._flights.join_background(timeout)

    def state(self) -> KeySetState:
        """What the source holds now (no I/O)."""
        snapshot = self._snapshot
        with self._lock:
            failures, retry_at = self._gate.failures, self._gate.retry_at
        due = retry_at if failures else None  # a backoff delays the next fetch
        if snapshot is not None:
            due = max(snapshot.fetched_at + snapshot.max_age, due or -math.inf)
        return KeySetState(
            self._jwks_uri,
            snapshot.keyset.kids if snapshot is not None else frozenset(),
            snapshot.fetched_at if snapshot is not None else None,
            None if snapshot is None else "store" if snapshot.source == "store" else "network",
            due,
            self._last_error if failures else None,
            failures,
        )

    # The plans: every step written once ---------------------------------------------------------
    def _hit(self, kid: str | None, alg: str) -> PreparedKey | None:
        """The hot path: the key from fresh keys in memory, or ``None`` (then run a plan)."""
        snapshot = self._snapshot
        if snapshot is None or self._clock() - snapshot.fetched_at >= snapshot.max_age:
            return None
        self.stats.l1_hits += 1
        try:  # one lookup, nothing allocated
            return snapshot.keyset.find(kid, alg)
        except KeyAlgorithmMismatchError:
            raise
        except KeyNotFoundError:
            return None

    def _find_plan(self, kid: str | None, alg: str) -> Plan[PreparedKey]:
        now = self._clock()
        snapshot = self._snapshot
        if snapshot is None or now - snapshot.fetched_at >= snapshot.max_age:
            snapshot = yield from self._ensure_plan(now)
        try:
            return snapshot.keyset.find(kid, alg)
        except KeyAlgorithmMismatchError:
            raise
        except KeyNotFoundError as exc:
            miss = exc
        return (yield from self._unknown_plan(miss, snapshot, kid, alg, now))

    def _ensure_plan(self, now: float) -> Plan[Snapshot]:
        """A snapshot to use now: from L1, else L2, fetching first if the policy requires it."""
        snapshot = self._snapshot
        if snapshot is None and not self._l2_tried:
            self._l2_tried = True
            if self.store is not None:
                snapshot = self._from_record((yield LOAD))
            # Another caller may install keys while this one reads the store: look again.
            snapshot = snapshot or self._snapshot
        step = self._step(snapshot, now)
        if step in ("serve", "revalidate"):
            assert snapshot is not None  # noqa: S101 - both need a snapshot
            if step == "revalidate":
                yield Step("background", (now, "scheduled"))
            return snapshot
        if step == "fallback":
            return self._fallback(snapshot, now, None)
        try:
            return (yield Step("refresh", step))  # type: ignore[no-any-return]
        except KeySetUnavailableError as exc:
            return self._fallback(snapshot, now, exc)

    def _fetch_plan(self, seq: int, reason: str) -> Plan[Snapshot]:
        """Fetch *seq*: with a coordinating store, only if no other process is fetching it."""
        coordinator = coordinator_of(self.store)
        if coordinator is not None:
            shared = yield Step("coordinate", (coordinator, self._shared_since(reason)))
            adopted = self._from_record(shared, seq)
            if adopted is not None:
                return adopted
        self.stats.fetches += 1
        self.stats.refreshes[reason] = self.stats.refreshes.get(reason, 0) + 1
        self._emit("fetch_start", reason=reason)  # then "fetch" or "fetch_failed", same thread
        try:
            snapshot = self._install(seq, (yield Step("get")), reason)
        except JwtError as exc:
            self._failed(exc, reason)
            raise
        except Exception as exc:  # a bug or an odd client: still a typed, counted failure
            error = KeySetUnavailableError(f"fetching keys failed ({type(exc).__name__})")
            self._failed(error, reason)
            raise error from exc
        if self.store is not None and snapshot.seq == seq:
            yield Step("save", self._record(snapshot))
        return snapshot

    # Decisions (no I/O) -------------------------------------------------------------------------
    def _step(self, snapshot: Snapshot | None, now: float) -> str:
        """:func:`lookup_step`, counted; with no keys and backoff, the last failure is raised."""
        with self._lock:
            step = lookup_step(snapshot, now, self.policy, self._gate)
        if step == "backoff":
            note = f" (no key set yet; next attempt in {self._gate.retry_at - now:.0f} s)"
            raise backoff_error(self._last_error, note)
        if step == "revalidate":
            self.stats.stale_served += 1
        return step

    def _fallback(self, snapshot: Snapshot | None, now: float, error: JwtError | None) -> Snapshot:
        """After a failed (or backed-off) fetch: the key set in memory now, if still usable.

        Another thread or task may have installed keys meanwhile; else keys past their
        freshness keep serving until ``stale_if_error`` (stale-if-error).

        Raises:
            JwtError: *error* (or, without one, :class:`KeySetUnavailableError`) when no
                usable key set is left.
        """
        current = self._snapshot or snapshot
        state = None if current is None else freshness(current, now, self.policy)
        if current is None or state is Freshness.UNUSABLE:
            raise error or KeySetUnavailableError(
                "the cached key set is older than stale_if_error and the issuer is unreachable"
            )
        if state is not Freshness.FRESH:
            self.stats.stale_served += 1
        return current

    # Failure-rate trigger ------------------------------------------------------------------------
    def record_signature(self, ok: bool) -> None:  # noqa: FBT001 - hot path, positional
        """Count a signature check; refresh when too many checks with known keys fail."""
        now = self._clock()
        window = self._window
        if ok and window.count_success(int(now // window.width)):
            return  # the common case: no lock, no allocation
        with self._window_lock:
            window.record(ok, now)
            if ok or not window.exceeded(
                now, self.policy.failure_rate, self.policy.failure_min_samples
            ):
                return
            window.reset()
        done = self._charge(now)  # publishes the refresh's pending event (see _charged)
        if done is None:
            return
        self._emit("failure_rate")
        try:
            import asyncio

            asyncio.get_running_loop()
        except RuntimeError:
            self._refresh_in_background(now, "failure_rate", done)
        else:
            self._refresh_in_background_async(now, "failure_rate", done)
