"""The key source's plans: steps written once, as generators, run by a sync and an async driver.

Like ``stores/_redis.py``: a plan yields the I/O it needs (a :class:`Step`), is sent each
result (or has each failure thrown in), and returns its value; the drivers
(``RemoteKeySource._run`` and ``_run_async``) perform each step with their face's own I/O.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Generic, TypeAlias, TypeVar

__all__ = ["IN_FLIGHT", "LOAD", "Done", "Plan", "Step", "advance"]

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
