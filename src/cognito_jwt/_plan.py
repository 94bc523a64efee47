"""The key source's plans (steps written once, run by a sync and an async driver) and its core.

Like ``stores/_redis.py``: a plan yields the I/O it needs (a :class:`Step`), is sent each
result (or has each failure thrown in), and returns its value; the drivers
(``RemoteKeySource._run`` and ``_run_async``) perform each step with their face's own I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

if TYPE_CHECKING:
    from ._cache import FetchGate, Snapshot
    from ._keysource import KeySetStats
    from ._options import RefreshPolicy

__all__ = ["IN_FLIGHT", "LOAD", "Done", "KeySourceCore", "Plan", "Step", "advance"]

T = TypeVar("T")


class Step:
    """One step a plan asks its driver for (a plain ``str`` step is a GET of that URL)."""

    __slots__ = ("arg", "kind")

    def __init__(self, kind: str, arg: Any = None) -> None:
        self.kind = kind
        self.arg = arg


LOAD, IN_FLIGHT = Step("load"), Step("in_flight")

Plan: TypeAlias = "Generator[Step, Any, T]"
"""The steps of a lookup or a fetch, written once: a generator that yields the I/O it needs
(:class:`Step`), is sent the results (or has the failures thrown in), and returns its value.
:meth:`RemoteKeySource._run` and :meth:`RemoteKeySource._run_async` are its two drivers."""


class Done(Generic[T]):
    """A plan's result."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


def advance(plan: Plan[T], reply: Any, *, throw: bool = False) -> Step | Done[T]:
    """Send *reply* into *plan* (or throw it in, an exception): its next step, or its result."""
    try:
        return plan.throw(reply) if throw else plan.send(reply)
    except StopIteration as stop:
        return Done(stop.value)


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
