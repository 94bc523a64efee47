"""Plans: steps written once, run by a sync and an async driver; and the key source's core.

Like ``stores/_redis.py``: a plan yields the I/O it needs (a step), is sent each result (or
has each failure thrown in), and returns its value; a driver performs each step with its
face's own I/O. The key source has drivers of its own (``RemoteKeySource._run`` and
``_run_async``); every other sync/async pair runs its plan with :func:`run_plan` and
:func:`run_plan_async`, given what one step means for that face.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, cast

if TYPE_CHECKING:
    from ._cache import FetchGate, Snapshot
    from ._keysource import KeySetStats
    from ._options import RefreshPolicy

__all__ = [
    "IN_FLIGHT",
    "JOIN",
    "LOAD",
    "Done",
    "KeySourceCore",
    "Plan",
    "Step",
    "advance",
    "run_plan",
    "run_plan_async",
]

T = TypeVar("T")
S = TypeVar("S")


class Step:
    """One step a plan asks its driver for (a plain ``str`` step is a GET of that URL)."""

    __slots__ = ("arg", "kind")

    def __init__(self, kind: str, arg: Any = None) -> None:
        self.kind = kind
        self.arg = arg


LOAD, IN_FLIGHT, JOIN = Step("load"), Step("in_flight"), Step("join")

Plan: TypeAlias = "Generator[Step, Any, T]"
"""The steps of a lookup or a fetch, written once: a generator that yields the I/O it needs
(:class:`Step`), is sent the results (or has the failures thrown in), and returns its value.
:meth:`RemoteKeySource._run` and :meth:`RemoteKeySource._run_async` are its two drivers."""


class Done(Generic[T]):
    """A plan's result."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


def advance(plan: Generator[S, Any, T], reply: Any, *, throw: bool = False) -> S | Done[T]:
    """Send *reply* into *plan* (or throw it in, an exception): its next step, or its result."""
    try:
        return plan.throw(reply) if throw else plan.send(reply)
    except StopIteration as stop:
        return Done(stop.value)


def run_plan(plan: Generator[S, Any, T], do: Callable[[S], Any]) -> T:
    """The sync driver: do each step of *plan* with *do*; its result (or error) goes back in.

    Whatever *do* raises is thrown into the plan, which handles it or lets it propagate.
    """
    send, throw = plan.send, plan.throw
    try:
        step = send(None)
        while True:
            try:
                reply = do(step)
            except BaseException as exc:  # noqa: BLE001, PERF203 - thrown into the plan
                step = throw(exc)
            else:
                step = send(reply)
    except StopIteration as stop:  # the plan returned (a StopIteration *do* raises can't
        return cast("T", stop.value)  # get here: the plan turns it into a RuntimeError)


async def run_plan_async(plan: Generator[S, Any, T], do: Callable[[S], Awaitable[Any]]) -> T:
    """The async driver: like :func:`run_plan`, awaiting each step."""
    send, throw = plan.send, plan.throw
    try:
        step = send(None)
        while True:
            try:
                reply = await do(step)
            except BaseException as exc:  # noqa: BLE001, PERF203 - thrown into the plan
                step = throw(exc)
            else:
                step = send(reply)
    except StopIteration as stop:
        return cast("T", stop.value)


class KeySourceCore:
    """The state every part of :class:`RemoteKeySource` reads, declared once for its mixins."""

    policy: RefreshPolicy
    stats: KeySetStats
    _snapshot: Snapshot | None  # the key set in memory (L1), replaced whole under _lock
    _lock: threading.Lock
    _gate: FetchGate  # backoff and the penalty box
    _clock: Callable[[], float]

    def _emit(self, name: str, **details: Any) -> None:
        raise NotImplementedError  # pragma: no cover - the key source's
