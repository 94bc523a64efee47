"""Single flight: callers that need the same fetch share it.

The threads of a process share one :class:`Flight` per key source; the tasks of an event loop
share one task per loop (an asyncio task belongs to its loop). A fetch stuck past the wait
limit never holds the next one: its waiters give up, and the next caller starts a new fetch.
Background refreshes run on a daemon thread, or as a task of the running loop.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._errors import JwtError, KeySetUnavailableError

if TYPE_CHECKING:
    import asyncio

__all__ = ["Flight", "Flights", "clone_error", "wait_event"]

T = TypeVar("T")

# Real time, for the age of fetches in flight (a module attribute so tests can move it).
_monotonic = time.monotonic


def clone_error(exc: JwtError) -> JwtError:
    """A copy of *exc* for another waiter, so tracebacks of different callers don't mix."""
    copy = exc.__class__.__new__(exc.__class__)
    copy.__dict__.update(exc.__dict__)
    copy.args = exc.args
    return copy


class Flight(Generic[T]):
    """One fetch that several threads wait for."""

    __slots__ = ("done", "error", "started", "value")

    def __init__(self) -> None:
        self.started = _monotonic()
        self.done = threading.Event()
        self.value: T | None = None
        self.error: JwtError | None = None

    def wait(self, timeout: float) -> T:
        """The fetch's result, or a copy of its error.

        Raises:
            KeySetUnavailableError: Not done within *timeout*, or its leader was interrupted.
        """
        if not self.done.wait(timeout):
            raise KeySetUnavailableError(f"timed out after {timeout:g} s waiting for a key fetch")
        if self.error is not None:
            raise clone_error(self.error)
        if self.value is None:  # the leader was interrupted (KeyboardInterrupt, ...)
            raise KeySetUnavailableError("the key fetch this call waited for was interrupted")
        return self.value


class Flights(Generic[T]):
    """The fetches in flight of one key source: one for its threads, one per event loop.

    Args:
        lock: The key source's lock (fetch numbers are drawn under it).
        wait_limit: How long a caller waits for another's fetch, in seconds.
    """

    def __init__(self, lock: threading.Lock, wait_limit: float) -> None:
        self._lock = lock
        self.wait_limit = wait_limit
        self.flight: Flight[T] | None = None
        self.by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[T]] = (
            weakref.WeakKeyDictionary()
        )
        self._started: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, float] = (
            weakref.WeakKeyDictionary()
        )
        self.background: threading.Thread | None = None
        self.tasks: set[asyncio.Task[Any]] = set()

    # Threads ------------------------------------------------------------------------------------
    def share(self, number: Callable[[], int], fetch: Callable[[int], T]) -> T:
        """Run ``fetch(number())``, or wait for the fetch another thread already runs."""
        with self._lock:
            flight = self.flight
            if flight is not None and _monotonic() - flight.started > self.wait_limit:
                flight = None  # its leader is stuck (its waiters gave up): never wait on it
            leader = flight is None
            if flight is None:
                flight = self.flight = Flight()
                seq = number()
        if not leader:
            return flight.wait(self.wait_limit)
        try:
            value = fetch(seq)
        except JwtError as exc:
            flight.error = exc
            raise
        else:
            flight.value = value
            return value
        finally:
            with self._lock:
                if self.flight is flight:  # a stuck leader may have been replaced
                    self.flight = None
            flight.done.set()

    def join(self) -> T | None:
        """Wait for the fetch another thread runs: its result, or ``None`` when none runs.

        Never starts a fetch: a caller that decided to join one which has ended since looks at
        the key set it installed instead.
        """
        with self._lock:
            flight = self.flight
            if flight is not None and _monotonic() - flight.started > self.wait_limit:
                flight = None  # stuck: never wait on it
        return None if flight is None else flight.wait(self.wait_limit)

    def in_background(self, run: Callable[[], None], *, allowed: Callable[[], bool]) -> bool:
        """Start *run* on a daemon thread unless a fetch runs or ``allowed()`` says no.

        Returns whether it started.
        """
        with self._lock:
            if (
                self.flight is not None
                or (self.background is not None and self.background.is_alive())
                or not allowed()
            ):
                return False
            thread = threading.Thread(target=run, name="cognito-jwt-refresh", daemon=True)
            self.background = thread
        thread.start()
        return True

    def join_background(self, timeout: float | None = None) -> None:
        """Wait for the background thread, if one runs."""
        thread = self.background
        if thread is not None:
            thread.join(timeout)

    # Tasks --------------------------------------------------------------------------------------
    def running_async(self) -> bool:
        """Whether a fetch runs on the current event loop."""
        import asyncio

        task = self.by_loop.get(asyncio.get_running_loop())
        return task is not None and not task.done()

    async def share_async(
        self, number: Callable[[], int], fetch: Callable[[int], Coroutine[Any, Any, T]]
    ) -> T:
        """Await the fetch this event loop runs, starting ``fetch(number())`` if none runs."""
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            task = self.by_loop.get(loop)
            stuck = _monotonic() - self._started.get(loop, 0.0) > self.wait_limit
            if task is None or task.done() or stuck:  # a stuck fetch never holds the next one
                task = loop.create_task(fetch(number()))
                task.add_done_callback(_retrieve)
                self.by_loop[loop] = task
                self._started[loop] = _monotonic()
        return await self._await(task)

    async def join_async(self) -> T | None:
        """Await the fetch this event loop runs: its result, or ``None`` when none runs.

        Never starts a fetch (see :meth:`join`).
        """
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            task = self.by_loop.get(loop)
            stuck = _monotonic() - self._started.get(loop, 0.0) > self.wait_limit
        if task is None or task.done() or stuck:
            return None
        return await self._await(task)

    async def _await(self, task: asyncio.Task[T]) -> T:
        import asyncio

        # shield: a caller that gives up (cancelled) must not cancel the fetch others await;
        # bounded like a thread waiting on a flight, so a stuck fetch never holds callers.
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.wait_limit)
        except asyncio.TimeoutError:
            raise KeySetUnavailableError(
                f"timed out after {self.wait_limit:g} s waiting for a key fetch"
            ) from None

    def in_background_async(
        self, run: Callable[[], Coroutine[Any, Any, Any]], *, allowed: Callable[[], bool]
    ) -> bool:
        """Start *run* as a task of the running loop unless a fetch runs there or not allowed.

        Returns whether it started.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            running = self.by_loop.get(loop)
            if (running is not None and not running.done()) or not allowed():
                return False
        task = loop.create_task(run())
        task.add_done_callback(_retrieve)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True


async def wait_event(event: threading.Event, timeout: float) -> bool:
    """Wait for a threading *event* without blocking the event loop (short polls).

    Returns whether it was set (``False``: *timeout* passed first), like
    :meth:`threading.Event.wait`.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not event.is_set() and loop.time() < deadline:
        await asyncio.sleep(0.005)
    return event.is_set()


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a background task's exception as seen (it was logged when it happened)."""
    if not task.cancelled():
        task.exception()
