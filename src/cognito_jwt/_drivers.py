"""The key source's two drivers: each step of its plans done with the face's own I/O.

:class:`RemoteKeySource` writes its lookups and fetches once, as plans (``_keysource``); the
sync driver (:meth:`Drivers._run`) and the async one (:meth:`Drivers._run_async`) perform
each step they yield: read or write the store, coordinate with other processes, GET the key
set (discovering its URI first), wait for or join a fetch already running (single flight, one
per process for threads and one per event loop for tasks), refresh in the background. Only
the I/O differs between the faces, so the async face has no path to a blocking call. A mixin
of :class:`RemoteKeySource`: it reads the source's state, declared below.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import JwtError
from ._flight import Flights, wait_event
from ._options import FetchOptions
from ._plan import KeySourceCore, Plan, Step, run_plan, run_plan_async
from .stores._base import KeyStore

if TYPE_CHECKING:
    from ._cache import Snapshot
    from ._http import Fetched, HttpFetcher

__all__ = ["Drivers"]

T = TypeVar("T")


class Drivers(KeySourceCore):
    """The I/O half of :class:`RemoteKeySource` (a mixin): its two drivers and single flight."""

    # What the key source provides (besides KeySourceCore).
    cache_key: str
    store: KeyStore | None
    fetch_options: FetchOptions
    _jwks_uri: str | None
    _flights: Flights[Snapshot]
    _seq: itertools.count[int]
    _last_seq: int

    if TYPE_CHECKING:  # the plan and the HTTP helpers, from the key source and its mixins

        def _fetch_plan(self, seq: int, reason: str) -> Plan[Snapshot]: ...
        def _fetcher(self) -> HttpFetcher: ...
        def _issuer(self) -> str: ...
        def _jwks_uri_from(self, fetched: Fetched) -> str: ...

    # The two drivers ---------------------------------------------------------------------------
    def _run(self, plan: Plan[T]) -> T:
        with contextlib.ExitStack() as held:
            return run_plan(plan, lambda step: self._do(step, held))

    def _do(self, step: Step, held: contextlib.ExitStack) -> Any:  # noqa: PLR0911 - a dispatch
        kind, arg = step.kind, step.arg
        if kind == "get":
            return self._get()
        if kind == "refresh":
            return self._refresh(arg)
        if kind == "in_flight":
            return self._flights.flight is not None
        if kind == "join":
            return self._flights.join()
        if kind == "wait":
            return arg.wait(self._flights.wait_limit)
        if kind == "background":
            return self._refresh_in_background(*arg)
        assert self.store is not None  # noqa: S101 - the other steps need a store
        if kind == "load":
            return self.store.load(self.cache_key)
        if kind == "save":
            return self.store.save(self.cache_key, arg)
        coordinator, since = arg
        return held.enter_context(
            coordinator.coordinate(
                self.cache_key, newer_than=since, timeout=self.fetch_options.timeout
            )
        )

    async def _run_async(self, plan: Plan[T]) -> T:
        async with contextlib.AsyncExitStack() as held:
            return await run_plan_async(plan, lambda step: self._do_async(step, held))

    async def _do_async(  # noqa: PLR0911 - a dispatch
        self, step: Step, held: contextlib.AsyncExitStack
    ) -> Any:
        kind, arg = step.kind, step.arg
        if kind == "get":
            return await self._get_async()
        if kind == "refresh":
            return await self._refresh_async(arg)
        if kind == "in_flight":
            return self._flights.running_async()
        if kind == "join":
            return await self._flights.join_async()
        if kind == "wait":
            return await wait_event(arg, self._flights.wait_limit)
        if kind == "background":
            return self._refresh_in_background_async(*arg)
        assert self.store is not None  # noqa: S101 - the other steps need a store
        if kind == "load":
            return await self.store.load_async(self.cache_key)
        if kind == "save":
            return await self.store.save_async(self.cache_key, arg)
        coordinator, since = arg
        return await held.enter_async_context(
            coordinator.coordinate_async(
                self.cache_key, newer_than=since, timeout=self.fetch_options.timeout
            )
        )

    def _get(self) -> Fetched:
        """GET the key set (discovering its URI first if needed) in one HTTP session."""
        from ._http import fetch_metadata

        with self._fetcher().session() as get:
            uri = self._jwks_uri or self._jwks_uri_from(fetch_metadata(get, self._issuer()))
            return get(uri)

    async def _get_async(self) -> Fetched:
        from ._http import fetch_metadata_async

        async with self._fetcher().session_async() as get:
            uri = self._jwks_uri
            if uri is None:
                uri = self._jwks_uri_from(await fetch_metadata_async(get, self._issuer()))
            return await get(uri)

    # Single flight (threads, and the tasks of each loop) ----------------------------------------
    def _fetch_sync(self, seq: int, reason: str) -> Snapshot:
        return self._run(self._fetch_plan(seq, reason))

    def _refresh(self, reason: str) -> Snapshot:
        """Fetch now, or wait for the fetch another thread already started."""
        return self._flights.share(self._next_seq, lambda seq: self._fetch_sync(seq, reason))

    async def _refresh_async(self, reason: str) -> Snapshot:
        """Fetch now, or await the fetch another task of this event loop already started."""
        return await self._flights.share_async(
            self._next_seq, lambda seq: self._run_async(self._fetch_plan(seq, reason))
        )

    def _refresh_in_background(
        self, now: float, reason: str, done: threading.Event | None = None
    ) -> None:
        """Refresh on a daemon thread; set *done* (a pending event) when over or not started."""

        def refresh() -> None:
            try:
                with contextlib.suppress(JwtError):  # logged by _failed; the current keys serve
                    self._refresh(reason)
            finally:
                if done is not None:
                    done.set()

        started = self._flights.in_background(refresh, allowed=lambda: self._gate.may_fetch(now))
        if not started and done is not None:
            self._not_started(done)

    def _refresh_in_background_async(
        self, now: float, reason: str, done: threading.Event | None = None
    ) -> None:
        """Refresh as a task of the running loop; set *done* when over or not started."""

        async def refresh() -> Snapshot:
            try:
                return await self._refresh_async(reason)
            finally:
                if done is not None:
                    done.set()

        started = self._flights.in_background_async(
            refresh, allowed=lambda: self._gate.may_fetch(now)
        )
        if not started and done is not None:
            self._not_started(done)

    def _not_started(self, done: threading.Event) -> None:
        """A refresh charged to the cooldown won't start: give the charge back, wake its waiters.

        It won't start when a fetch already runs on this face; nothing was fetched for the
        charge, so its waiters (on the other face) may then fetch (a follow-up).
        """
        with self._lock:
            self._gate.release()
        done.set()

    def _next_seq(self) -> int:
        """Number a fetch about to start (called under the lock)."""
        self._last_seq = seq = next(self._seq)
        return seq
