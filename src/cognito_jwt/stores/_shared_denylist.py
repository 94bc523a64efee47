"""What the shared deny-lists (Redis, DynamoDB) have in common, free of any client library.

A shared deny-list holds the entries of :class:`~cognito_jwt.DenyList` (by ``jti``, by
``origin_jti``, by subject with a cut-off) in a service shared by a fleet. This base judges
what the service answered, keeps the optional local cache, checks what ``revoke*`` is given,
and decides what an outage means (*on_error*). A subclass supplies the plans (the service's
conversations, see :mod:`._shared`) and the drivers that run them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from .._errors import ConfigurationError, RevocationUnavailableError, bounded_repr
from .._http import drop_pool_on_restore
from .._revocation import (
    check_lifetime,
    check_time,
    check_value,
    entry_expiry,
    subject_cutoff_covers,
)
from ._document import key_digest
from ._shared import Plan, _Health, _positive

if TYPE_CHECKING:
    from .._claims import Claims

__all__ = ["KINDS", "Query", "SharedDenyList"]

T = TypeVar("T")

KINDS = ("jti", "origin", "sub")
_LOCAL_MAX = 10_000  # entries of the local cache; cleared when full (forgetting is safe)

Query = tuple[str | None, str | None, str | None]
"""A token's ``(jti, origin_jti, sub)``, each ``None`` when absent or not a string."""


def _judge(claims: Mapping[str, Any], replies: list[Any]) -> bool:
    """Whether the entries found (for jti, origin_jti, sub; ``None``: none) cover the token."""
    jti, origin, cutoff = replies
    if jti is not None or origin is not None:
        return True
    if cutoff is None:
        return False
    try:
        value = float(cutoff)
    except (TypeError, ValueError):
        return True  # an entry we cannot read covers every token of the subject (strict)
    if math.isnan(value):  # unreadable too
        return True
    return subject_cutoff_covers(claims, value)


def _query(claims: Mapping[str, Any]) -> Query:
    values = (claims.get("jti"), claims.get("origin_jti"), claims.get("sub"))
    jti, origin, sub = (v if isinstance(v, str) and v else None for v in values)
    return jti, origin, sub


class SharedDenyList:
    """The part of a fleet-wide deny-list that does not depend on the service that holds it.

    Subclasses set :attr:`_service` and :attr:`_errors` and implement :meth:`_lookup_plan`
    (its result: one reply per kind of :data:`KINDS`, ``None`` for no live entry, else the
    stored value: anything for ``jti``/``origin``, the cut-off for ``sub``),
    :meth:`_write_plan`, :meth:`_drive` and :meth:`_drive_async`.
    """

    _service: ClassVar[str]
    _errors: ClassVar[tuple[type[BaseException], ...]]

    def __init__(
        self,
        client: Any,
        name: str,
        *,
        disconnect: Callable[[Any], None],
        namespace: str,
        default_lifetime: float,
        local_ttl: float,
        on_error: Literal["closed", "open"],
        retry_interval: float,
        clock: Callable[[], float] | None,
    ) -> None:
        what = type(self).__name__
        if not isinstance(namespace, str) or not namespace:
            raise ConfigurationError(f"{what} namespace must be a non-empty string")
        if on_error not in ("closed", "open"):
            raise ConfigurationError(
                f"on_error must be 'closed' or 'open', got {bounded_repr(on_error)}"
            )
        if isinstance(local_ttl, bool) or not isinstance(local_ttl, int | float):
            raise ConfigurationError(f"{what} local_ttl must be a number of seconds")
        if local_ttl != 0:
            _positive("local_ttl", local_ttl, what)
        if clock is not None and not callable(clock):
            raise ConfigurationError("clock must be a callable returning epoch seconds")
        self.namespace = namespace
        self.on_error = on_error
        self.local_ttl = float(local_ttl)
        self._lifetime = check_lifetime(default_lifetime)
        self._clock: Callable[[], float] = clock or time.time
        self._name = name
        consequence = (
            "refusing tokens (on_error='closed')"
            if on_error == "closed"
            else "accepting tokens as not revoked (on_error='open')"
        )
        self._health = _Health(
            name,
            _positive("retry_interval", retry_interval, what),
            consequence,
            what="shared deny-list",
            service=self._service,
            clock=self._clock,
        )
        self._local: dict[Query, tuple[float, list[Any]]] = {}
        self.client = client
        drop_pool_on_restore(client, disconnect)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r}, namespace={self.namespace!r})"

    @property
    def available(self) -> bool:
        """``False`` from a failed operation on the service until one succeeds again."""
        return self._health.down_since is None

    def entry_key(self, kind: Literal["jti", "origin", "sub"], value: str) -> str:
        """The Redis key (DynamoDB: partition key) of the entry for *value*.

        *kind* is ``jti``, ``origin`` or ``sub``; the value is hashed.
        """
        return f"{self.namespace}:deny:{kind}:{key_digest(value)}"

    # What a subclass provides --------------------------------------------------------------------

    def _lookup_plan(self, query: Query) -> Plan[list[Any]]:
        raise NotImplementedError

    def _write_plan(self, name: str, value: float | None, expiry: float) -> Plan[None]:
        """Record the entry *name* (*value*: the cut-off of a subject entry, else ``None``)."""
        raise NotImplementedError

    def _drive(self, plan: Plan[T]) -> T:
        raise NotImplementedError

    async def _drive_async(self, plan: Plan[T]) -> T:
        raise NotImplementedError

    # Drivers -------------------------------------------------------------------------------------
    def _failed(self, exc: BaseException | None, *, write: bool) -> None:
        """After the service failed (or is being left alone): raise, or ``None`` (fail open)."""
        if exc is not None:
            self._health.failed(exc)
        if write or self.on_error == "closed":
            reason = f"{type(exc).__name__}" if exc is not None else "down, not retried yet"
            raise RevocationUnavailableError(
                f"shared deny-list {self._name} is unavailable ({reason})"
            ) from exc

    def _run(self, plan: Plan[T], *, write: bool = False) -> T | None:
        if not write and not self._health.usable():
            plan.close()
            self._failed(None, write=write)
            return None
        try:
            value = self._drive(plan)
        except self._errors as exc:
            self._failed(exc, write=write)
            return None
        self._health.succeeded()
        return value

    async def _run_async(self, plan: Plan[T], *, write: bool = False) -> T | None:
        if not write and not self._health.usable():
            plan.close()
            self._failed(None, write=write)
            return None
        try:
            value = await self._drive_async(plan)
        except self._errors as exc:
            self._failed(exc, write=write)
            return None
        self._health.succeeded()
        return value

    # The local cache -----------------------------------------------------------------------------
    def _cached(self, query: Query) -> list[Any] | None:
        if not self.local_ttl:
            return None
        entry = self._local.get(query)
        if entry is None:
            return None
        age = self._clock() - entry[0]
        return entry[1] if 0 <= age < self.local_ttl else None

    def _keep(self, query: Query, replies: list[Any]) -> None:
        if self.local_ttl:
            if len(self._local) >= _LOCAL_MAX:
                self._local.clear()
            self._local[query] = (self._clock(), replies)

    # RevocationCheck -----------------------------------------------------------------------------
    def is_revoked(self, claims: Claims, token: str | None = None) -> bool:
        """Whether a shared entry covers the token (one round trip, or the local cache).

        Raises:
            RevocationUnavailableError: The service is unavailable and *on_error* is
                ``"closed"``.
        """
        del token
        query = _query(claims)
        if query == (None, None, None):
            return False
        replies = self._cached(query)
        if replies is None:
            replies = self._run(self._lookup_plan(query))
            if replies is None:
                return False  # the service is unavailable, on_error="open"
            self._keep(query, replies)
        return _judge(claims, replies)

    async def is_revoked_async(self, claims: Claims, token: str | None = None) -> bool:
        """Like :meth:`is_revoked`, without blocking the event loop."""
        del token
        query = _query(claims)
        if query == (None, None, None):
            return False
        replies = self._cached(query)
        if replies is None:
            replies = await self._run_async(self._lookup_plan(query))
            if replies is None:
                return False
            self._keep(query, replies)
        return _judge(claims, replies)

    # Changes -------------------------------------------------------------------------------------
    def _entry(
        self,
        kind: Literal["jti", "origin", "sub"],
        value: object,
        before: float | None,
        expires_at: float | None,
    ) -> tuple[str, float | None, float]:
        what = {"jti": "jti", "origin": "origin_jti", "sub": "sub"}[kind]
        name = self.entry_key(kind, check_value(value, what))
        if kind != "sub":
            return name, None, entry_expiry(expires_at, self._clock(), self._lifetime)
        cutoff = self._clock() if before is None else check_time(before, "before")
        return name, cutoff, entry_expiry(expires_at, cutoff, self._lifetime)

    def revoke(self, jti: str, *, expires_at: float | None = None) -> None:
        """Refuse the token whose ``jti`` is *jti*, fleet-wide, until *expires_at*.

        Raises:
            ConfigurationError: A value is unusable.
            RevocationUnavailableError: The service did not record it.
        """
        self._write(*self._entry("jti", jti, None, expires_at))

    def revoke_origin(self, origin_jti: str, *, expires_at: float | None = None) -> None:
        """Refuse every token carrying *origin_jti*, fleet-wide (see :class:`DenyList`).

        Raises:
            ConfigurationError: A value is unusable.
            RevocationUnavailableError: The service did not record it.
        """
        self._write(*self._entry("origin", origin_jti, None, expires_at))

    def revoke_subject(
        self, sub: str, *, before: float | None = None, expires_at: float | None = None
    ) -> None:
        """Refuse every token of *sub* issued at or before *before* (default now), fleet-wide.

        The later cut-off and the longer life win when the entry exists already.

        Raises:
            ConfigurationError: A value is unusable.
            RevocationUnavailableError: The service did not record it.
        """
        self._write(*self._entry("sub", sub, before, expires_at))

    async def revoke_async(self, jti: str, *, expires_at: float | None = None) -> None:
        """Like :meth:`revoke`, without blocking the event loop."""
        await self._write_async(*self._entry("jti", jti, None, expires_at))

    async def revoke_origin_async(
        self, origin_jti: str, *, expires_at: float | None = None
    ) -> None:
        """Like :meth:`revoke_origin`, without blocking the event loop."""
        await self._write_async(*self._entry("origin", origin_jti, None, expires_at))

    async def revoke_subject_async(
        self, sub: str, *, before: float | None = None, expires_at: float | None = None
    ) -> None:
        """Like :meth:`revoke_subject`, without blocking the event loop."""
        await self._write_async(*self._entry("sub", sub, before, expires_at))

    def _write(self, name: str, value: float | None, expiry: float) -> None:
        self._local.clear()
        self._run(self._write_plan(name, value, expiry), write=True)

    async def _write_async(self, name: str, value: float | None, expiry: float) -> None:
        self._local.clear()
        await self._run_async(self._write_plan(name, value, expiry), write=True)
