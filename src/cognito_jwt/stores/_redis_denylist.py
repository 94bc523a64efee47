"""A deny-list shared by a fleet of processes: Redis (or Valkey, or ElastiCache).

Install the extra: ``pip install "cognito-jwt[redis]"``. Imported only when
``cognito_jwt.stores.RedisDenyList`` is first used. It runs its Redis conversations as plans
with the drivers, health tracking and URL handling of :mod:`._redis` (one of each).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypedDict, TypeVar

from typing_extensions import Unpack

from .._revocation import DEFAULT_LIFETIME
from ._redis import _REDIS_ERRORS, _describe, _disconnect, clients_from_url, drive, drive_async
from ._shared import Plan, _Call
from ._shared_denylist import KINDS, Query, SharedDenyList

try:
    import redis
    import redis.asyncio
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'RedisDenyList needs the redis package: pip install "cognito-jwt[redis]"'
    ) from exc

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


class RedisDenyListOptions(TypedDict, total=False):
    """The options of :class:`RedisDenyList` besides its clients (see the class)."""

    namespace: str
    default_lifetime: float
    local_ttl: float
    on_error: Literal["closed", "open"]
    retry_interval: float
    clock: Callable[[], float]


class RedisDenyList(SharedDenyList):
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

    _service: ClassVar[str] = "Redis"
    _errors: ClassVar[tuple[type[BaseException], ...]] = _REDIS_ERRORS
    client: redis.Redis

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
        super().__init__(
            client,
            _describe(client),
            disconnect=_disconnect,
            namespace=namespace,
            default_lifetime=default_lifetime,
            local_ttl=local_ttl,
            on_error=on_error,
            retry_interval=retry_interval,
            clock=clock,
        )
        self.async_client = async_client
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
            for kind, value in zip(KINDS, query, strict=True)
            if value is not None
        ]
        found = iter((yield _Call("mget", (names,))))
        return [None if value is None else next(found) for value in query]

    def _write_plan(self, name: str, value: float | None, expiry: float) -> Plan[None]:
        ttl_ms = round((expiry - self._clock()) * 1000)
        if ttl_ms > 0:  # else the covered tokens have expired: nothing to remember
            stored = "0" if value is None else repr(value)
            yield _Call("eval", (_KEEP_MAX, 1, name, stored, ttl_ms))

    # Drivers -------------------------------------------------------------------------------------
    def _drive(self, plan: Plan[T]) -> T:
        return drive(self.client, plan)

    async def _drive_async(self, plan: Plan[T]) -> T:
        source = self.async_client
        if source is None:
            return await asyncio.to_thread(drive, self.client, plan)
        return await drive_async(self._client_for_loop(source), plan)

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
