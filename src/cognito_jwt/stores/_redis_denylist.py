"""A deny-list shared by a fleet of processes: Redis (or Valkey, or ElastiCache).

Install the extra: ``pip install "cognito-jwt[redis]"``. Imported only when
``cognito_jwt.stores.RedisDenyList`` is first used. It runs its Redis conversations as plans
with the drivers, health tracking and URL handling of :mod:`._redis` (one of each).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar

from typing_extensions import Unpack

from .._errors import ConfigurationError, RevocationUnavailableError, bounded_repr
from .._revocation import (
    DEFAULT_LIFETIME,
    check_lifetime,
    check_time,
    check_value,
    entry_expiry,
    subject_cutoff_covers,
)
from ._document import key_digest
from ._redis import (
    _REDIS_ERRORS,
    Plan,
    _Call,
    _describe,
    _Health,
    _positive,
    clients_from_url,
    drive,
    drive_async,
)

try:
    import redis
    import redis.asyncio
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'RedisDenyList needs the redis package: pip install "cognito-jwt[redis]"'
    ) from exc

if TYPE_CHECKING:
    from .._claims import Claims

__all__ = ["RedisDenyList", "RedisDenyListOptions"]

T = TypeVar("T")

# Keeps the later cut-off and the longer life of an entry that is written twice (two
# sign-outs of one user from two processes): a revocation is never shortened.
_KEEP_MAX = """
local value, ttl = ARGV[1], tonumber(ARGV[2])
local current = redis.call("GET", KEYS[1])
if current then
    if tonumber(current) and tonumber(current) > tonumber(value) then value = current end
    local left = redis.call("PTTL", KEYS[1])
    if left > ttl then ttl = left end
end
redis.call("SET", KEYS[1], value, "PX", ttl)
return 1
"""

_KINDS = ("jti", "origin", "sub")
_LOCAL_MAX = 10_000  # entries of the local cache; cleared when full (forgetting is safe)

Query = tuple[str | None, str | None, str | None]
"""A token's ``(jti, origin_jti, sub)``, each ``None`` when absent or not a string."""


class RedisDenyListOptions(TypedDict, total=False):
    """The options of :class:`RedisDenyList` besides its clients (see the class)."""

    namespace: str
    default_lifetime: float
    local_ttl: float
    on_error: Literal["closed", "open"]
    retry_interval: float
    clock: Callable[[], float]


def _judge(claims: Mapping[str, Any], replies: list[Any]) -> bool:
    """Whether the MGET replies (jti, origin_jti, sub entries) cover the token."""
    jti, origin, cutoff = replies
    if jti is not None or origin is not None:
        return True
    if cutoff is None:
        return False
    try:
        value = float(cutoff)
    except (TypeError, ValueError):
        return True  # an entry we cannot read covers every token of the subject (strict)
    return subject_cutoff_covers(claims, value)


def _query(claims: Mapping[str, Any]) -> Query:
    values = (claims.get("jti"), claims.get("origin_jti"), claims.get("sub"))
    jti, origin, sub = (v if isinstance(v, str) and v else None for v in values)
    return jti, origin, sub


class RedisDenyList:
    """Revoked tokens in Redis, shared by every process of a fleet.

    The same entries as :class:`DenyList` (by ``jti``, by Cognito's ``origin_jti``, by
    subject with a cut-off time), as Redis keys that expire with the tokens they cover:
    ``<namespace>:deny:<jti|origin|sub>:<hash of the value>``, holding ``0`` (or, for a
    subject, the cut-off in epoch seconds), with a TTL of the covered tokens' remaining life
    (plus 5 minutes' margin). Memory is Redis's: set ``maxmemory-policy`` to
    ``noeviction`` or a ``volatile-*`` policy you can afford, since an evicted entry re-admits
    a revoked token. A check is one ``MGET`` round trip.

    When Redis cannot be reached (a refused connection, the short socket timeout of
    :meth:`from_url`), *on_error* decides, and one warning is logged per outage (Redis is then
    left alone for *retry_interval* seconds: no timeout paid per request):

    * ``"closed"`` (the default): :class:`RevocationUnavailableError`, the token is refused
      (an HTTP adapter answers 503). An explicit security feature fails safe.
    * ``"open"``: the token is treated as not revoked. Name it only where availability
      beats revocation.

    A revocation that Redis did not record raises :class:`RevocationUnavailableError`
    whatever *on_error* says.

    Args:
        client: A ``redis.Redis`` client with short timeouts and no retries (see
            :meth:`from_url`).
        async_client: For :meth:`is_revoked_async`: a ``redis.asyncio.Redis``, or a function
            that makes one (called once per event loop; the client is kept for that loop).
            Without it, the async methods run the sync client in a worker thread.
        namespace: Prefix of every Redis key.
        default_lifetime: Seconds the covered tokens live when ``expires_at`` is not given
            (default a day, Cognito's longest access/ID token lifetime).
        local_ttl: Seconds an answer read from Redis may be reused by this process (default
            0: every check asks Redis). A token revoked elsewhere may then be accepted here
            for up to *local_ttl* seconds: that is the staleness bound. Revocations made
            through this object clear the local cache at once.
        on_error: ``"closed"`` or ``"open"``, see above.
        retry_interval: Seconds between attempts to reach Redis during an outage.
        clock: Returns the current time in epoch seconds (default ``time.time``); entry
            lifetimes, the local cache and the retry interval are measured with it.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        async_client: redis.asyncio.Redis | Callable[[], redis.asyncio.Redis] | None = None,
        namespace: str = "cognito-jwt",
        default_lifetime: float = DEFAULT_LIFETIME,
        local_ttl: float = 0.0,
        on_error: Literal["closed", "open"] = "closed",
        retry_interval: float = 5.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ConfigurationError("RedisDenyList namespace must be a non-empty string")
        if on_error not in ("closed", "open"):
            raise ConfigurationError(
                f"on_error must be 'closed' or 'open', got {bounded_repr(on_error)}"
            )
        if isinstance(local_ttl, bool) or not isinstance(local_ttl, int | float):
            raise ConfigurationError("RedisDenyList local_ttl must be a number of seconds")
        if local_ttl != 0:
            _positive("local_ttl", local_ttl, "RedisDenyList")
        if clock is not None and not callable(clock):
            raise ConfigurationError("clock must be a callable returning epoch seconds")
        self.client = client
        self.async_client = async_client
        self.namespace = namespace
        self.on_error = on_error
        self.local_ttl = float(local_ttl)
        self._lifetime = check_lifetime(default_lifetime)
        self._clock: Callable[[], float] = clock or time.time
        self._name = _describe(client)
        consequence = (
            "refusing tokens (on_error='closed')"
            if on_error == "closed"
            else "accepting tokens as not revoked (on_error='open')"
        )
        self._health = _Health(
            self._name,
            _positive("retry_interval", retry_interval, "RedisDenyList"),
            consequence,
            what="shared deny-list",
            clock=self._clock,
        )
        self._local: dict[Query, tuple[float, list[Any]]] = {}
        self._loop_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, redis.asyncio.Redis
        ] = weakref.WeakKeyDictionary()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        socket_timeout: float = 0.2,
        socket_connect_timeout: float = 0.2,
        client_options: Mapping[str, Any] | None = None,
        **options: Unpack[RedisDenyListOptions],
    ) -> RedisDenyList:
        """A deny-list on the Redis at *url*, with short timeouts and no client-side retries.

        The URL forms and *client_options* are those of :meth:`RedisStore.from_url`;
        *options* go to the class. The async face keeps one connection pool per event loop.
        """
        client, make_async = clients_from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            client_options=client_options,
            what="RedisDenyList",
        )
        return cls(client, async_client=make_async, **options)

    def __repr__(self) -> str:
        return f"RedisDenyList({self._name!r}, namespace={self.namespace!r})"

    @property
    def available(self) -> bool:
        """``False`` from a failed Redis operation until one succeeds again."""
        return self._health.down_since is None

    def entry_key(self, kind: Literal["jti", "origin", "sub"], value: str) -> str:
        """The Redis key of the entry for *value* (``kind``: ``jti``, ``origin`` or ``sub``)."""
        return f"{self.namespace}:deny:{kind}:{key_digest(value)}"

    def close(self) -> None:
        """Close the sync client's connections."""
        self.client.close()

    async def aclose(self) -> None:
        """Close the async client of the running event loop (if this object made one)."""
        client = self._loop_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            with contextlib.suppress(*_REDIS_ERRORS):
                await client.aclose()

    # Plans ---------------------------------------------------------------------------------------
    def _lookup_plan(self, query: Query) -> Plan[list[Any]]:
        names = [
            self.entry_key(kind, value)  # type: ignore[arg-type]
            for kind, value in zip(_KINDS, query, strict=True)
            if value is not None
        ]
        found = iter((yield _Call("mget", (names,))))
        return [None if value is None else next(found) for value in query]

    def _write_plan(self, name: str, value: str, expiry: float) -> Plan[None]:
        ttl_ms = round((expiry - self._clock()) * 1000)
        if ttl_ms > 0:  # else the covered tokens have expired: nothing to remember
            yield _Call("eval", (_KEEP_MAX, 1, name, value, ttl_ms))

    # Drivers -------------------------------------------------------------------------------------
    def _failed(self, exc: BaseException | None, *, write: bool) -> None:
        """After Redis failed (or is being left alone): raise, or ``None`` (fail open)."""
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
            value = drive(self.client, plan)
        except _REDIS_ERRORS as exc:
            self._failed(exc, write=write)
            return None
        self._health.succeeded()
        return value

    async def _run_async(self, plan: Plan[T], *, write: bool = False) -> T | None:
        source = self.async_client
        if source is None:
            return await asyncio.to_thread(self._run, plan, write=write)
        if not write and not self._health.usable():
            plan.close()
            self._failed(None, write=write)
            return None
        try:
            value = await drive_async(self._client_for_loop(source), plan)
        except _REDIS_ERRORS as exc:
            self._failed(exc, write=write)
            return None
        self._health.succeeded()
        return value

    def _client_for_loop(
        self, source: redis.asyncio.Redis | Callable[[], redis.asyncio.Redis]
    ) -> redis.asyncio.Redis:
        if isinstance(source, redis.asyncio.Redis):
            return source
        loop = asyncio.get_running_loop()
        client = self._loop_clients.get(loop)
        if client is None:
            client = self._loop_clients[loop] = source()
        return client

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
        """Whether an entry in Redis covers the token (one ``MGET``, or the local cache).

        Raises:
            RevocationUnavailableError: Redis is unavailable and *on_error* is ``"closed"``.
        """
        del token
        query = _query(claims)
        if query == (None, None, None):
            return False
        replies = self._cached(query)
        if replies is None:
            replies = self._run(self._lookup_plan(query))
            if replies is None:
                return False  # Redis unavailable, on_error="open"
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
    ) -> tuple[str, str, float]:
        what = {"jti": "jti", "origin": "origin_jti", "sub": "sub"}[kind]
        name = self.entry_key(kind, check_value(value, what))
        if kind != "sub":
            return name, "0", entry_expiry(expires_at, self._clock(), self._lifetime)
        cutoff = self._clock() if before is None else check_time(before, "before")
        return name, repr(cutoff), entry_expiry(expires_at, cutoff, self._lifetime)

    def revoke(self, jti: str, *, expires_at: float | None = None) -> None:
        """Refuse the token whose ``jti`` is *jti*, fleet-wide, until *expires_at*.

        Raises:
            ConfigurationError: A value is unusable.
            RevocationUnavailableError: Redis did not record it.
        """
        self._write(*self._entry("jti", jti, None, expires_at))

    def revoke_origin(self, origin_jti: str, *, expires_at: float | None = None) -> None:
        """Refuse every token carrying *origin_jti*, fleet-wide (see :class:`DenyList`).

        Raises:
            ConfigurationError: A value is unusable.
            RevocationUnavailableError: Redis did not record it.
        """
        self._write(*self._entry("origin", origin_jti, None, expires_at))

    def revoke_subject(
        self, sub: str, *, before: float | None = None, expires_at: float | None = None
    ) -> None:
        """Refuse every token of *sub* issued at or before *before* (default now), fleet-wide.

        The later cut-off and the longer life win when the entry exists already.

        Raises:
            ConfigurationError: A value is unusable.
            RevocationUnavailableError: Redis did not record it.
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

    def _write(self, name: str, value: str, expiry: float) -> None:
        self._local.clear()
        self._run(self._write_plan(name, value, expiry), write=True)

    async def _write_async(self, name: str, value: str, expiry: float) -> None:
        self._local.clear()
        await self._run_async(self._write_plan(name, value, expiry), write=True)
