"""A key store shared by a fleet of processes: Redis (or Valkey, or ElastiCache).

Install the extra: ``pip install "cognito-jwt[redis]"``. This module is imported only when
``cognito_jwt.stores.RedisStore`` is first used, so ``import cognito_jwt`` never imports
``redis``.

Every operation is written once, as a *plan* (:mod:`._shared`, whose :class:`SharedStore`
holds what RedisStore and DynamoDBStore share): a generator that yields the Redis commands it
needs and receives their replies, free of I/O. Two small drivers run plans, one with the
blocking client and one with the asyncio client, and are the only places that talk to Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from typing_extensions import Unpack

from .._errors import ConfigurationError
from ._base import KeyStore
from ._document import key_digest, parse_document
from ._shared import (
    Plan,
    SharedStore,
    SharedStoreOptions,
    _Call,
    _milliseconds,
    _positive,
    drive_plan,
    drive_plan_async,
)

try:
    import redis
    import redis.asyncio
    from redis.asyncio.retry import Retry as AsyncRetry
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'RedisStore needs the redis package: pip install "cognito-jwt[redis]"'
    ) from exc

__all__ = ["DEFAULT_TTL", "RedisStore", "RedisStoreOptions"]

logger = logging.getLogger("cognito_jwt")

DEFAULT_TTL = 7 * 24 * 3600.0
"""How long a stored key set lives in Redis: well past ``RefreshPolicy.stale_if_error``."""

# Failures of Redis itself: refused, reset, timed out, refused by ACL, ... (all degrade).
_REDIS_ERRORS: tuple[type[BaseException], ...] = (
    redis.RedisError,
    OSError,
    asyncio.TimeoutError,
)

# Deletes the refresh lock only if it still holds this process's token: a holder whose lock
# expired must not release the lock another process has taken since.
_RELEASE = """
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
end
return 0
"""

# Extends the refresh lock by ARGV[2] ms, only if it still holds this process's token: a
# holder renews its own lease, never one another process has taken since. (SET, not PEXPIRE:
# the ACL the fleet guide recommends allows GET, SET, EVAL and DEL, nothing else.)
_RENEW = """
if redis.call("GET", KEYS[1]) == ARGV[1] then
    redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
    return 1
end
return 0
"""

T = TypeVar("T")


class RedisStoreOptions(SharedStoreOptions, total=False):
    """The options of :class:`RedisStore` besides its clients (see the class)."""


def drive(client: redis.Redis, plan: Plan[T], sleep: Callable[[float], object] = time.sleep) -> T:
    """Run *plan* with the blocking *client*; Redis failures propagate (the plan is closed)."""

    def call(step: _Call) -> Any:
        return getattr(client, step.command)(*step.args, **step.kwargs)

    return drive_plan(plan, call, sleep)


async def drive_async(
    client: redis.asyncio.Redis,
    plan: Plan[T],
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """Run *plan* with the asyncio *client*; Redis failures propagate (the plan is closed)."""

    async def call(step: _Call) -> Any:
        return await getattr(client, step.command)(*step.args, **step.kwargs)

    return await drive_plan_async(plan, call, sleep)


def clients_from_url(
    url: str,
    *,
    socket_timeout: float,
    socket_connect_timeout: float,
    client_options: Mapping[str, Any] | None,
    what: str = "RedisStore",
) -> tuple[redis.Redis, Callable[[], redis.asyncio.Redis]]:
    """A blocking client for *url* and a maker of asyncio ones: short timeouts, no retries.

    Raises:
        ConfigurationError: *url* is not ``redis://``, ``rediss://`` or ``unix://``, or a
            timeout is not a positive number.
    """
    scheme = urlsplit(url).scheme if isinstance(url, str) else ""
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            f"{what} URL must start with redis://, rediss:// or unix://, got {scheme!r}"
        )
    if client_options is not None and not isinstance(client_options, Mapping):
        raise ConfigurationError(f"{what} client_options must be a mapping (a dict)")
    settings: dict[str, Any] = {
        "socket_timeout": _positive("socket_timeout", socket_timeout, what),
        "socket_connect_timeout": _positive("socket_connect_timeout", socket_connect_timeout, what),
        **(client_options or {}),
    }

    def connect_async() -> redis.asyncio.Redis:
        return redis.asyncio.Redis.from_url(url, retry=AsyncRetry(NoBackoff(), 0), **settings)

    try:
        client = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **settings)
        # redis checks the URL's options and client_options when it first connects, from
        # inside a verification: check them now (making a connection object connects not).
        for pool in (client.connection_pool, connect_async().connection_pool):
            pool.connection_class(**pool.connection_kwargs)
    except (TypeError, ValueError) as exc:
        # Not chained: redis's message never holds the password, a traceback might.
        reason = str(exc)
        password = urlsplit(url).password
        if password:
            reason = reason.replace(password, "***")
        raise ConfigurationError(
            f"{what} URL or client_options refused by redis: {reason}"
        ) from None
    return client, connect_async


def _describe(client: redis.Redis) -> str:
    """Where *client* connects, without credentials: safe for logs and ``repr``."""
    pool = client.connection_pool
    options = pool.connection_kwargs
    if "path" in options:
        return f"unix://{options['path']}"
    scheme = "rediss" if "SSL" in pool.connection_class.__name__ else "redis"
    host, port = options.get("host", "localhost"), options.get("port", 6379)
    return f"{scheme}://{host}:{port}/{options.get('db', 0)}"


def _disconnect(client: redis.Redis) -> None:
    """Close a blocking client's pooled connections (after a SnapStart restore); it reconnects."""
    client.connection_pool.disconnect()


def _check_clients(client: object, async_client: object) -> None:
    if isinstance(client, redis.asyncio.Redis):
        raise ConfigurationError(
            "RedisStore client must be a blocking redis.Redis; pass the asyncio client as "
            "async_client"
        )
    if not hasattr(client, "connection_pool") or not all(
        callable(getattr(client, command, None)) for command in ("get", "set", "eval")
    ):
        raise ConfigurationError(
            f"RedisStore client must be a redis.Redis client, got {type(client).__name__}; "
            "to connect to a URL, use RedisStore.from_url(url)"
        )
    if async_client is not None and not (
        isinstance(async_client, redis.asyncio.Redis) or callable(async_client)
    ):
        raise ConfigurationError(
            "RedisStore async_client must be a redis.asyncio.Redis, a function that makes one, "
            f"or None, got {type(async_client).__name__}"
        )


class RedisStore(SharedStore):
    """Key sets in Redis, shared by every process of a fleet, with one refresh for all.

    Implements the :class:`KeyStore` protocol (the last good key set of each key-set URI, its
    fetch time and a short history) and the optional refresh coordination: when several
    processes need the same refresh, one takes a lock and fetches, the others wait for its
    result in Redis. The lock is a lease of one fetch timeout that its holder renews while it
    fetches, so a slow fetch keeps it and a holder that dies loses it within one fetch timeout
    (see :meth:`coordinate`).

    Redis is never trusted more than the network: entries are parsed with the strict JSON
    parser, size-capped and schema-checked, and the key source validates their keys exactly
    like a fetched JWKS. An entry that fails is ignored.

    Redis that is down, slow or refusing (ACL, ...) never fails a verification: operations
    time out after the client's short socket timeouts, one warning is logged for the outage,
    the *fallback* store (reads) and direct fetches take over, and Redis is tried again every
    *retry_interval* seconds; one info line is logged when it is back. Saves are written to
    the fallback as well as to Redis, so it has the last good key set when Redis goes away.

    Build it with :meth:`from_url`, or pass your own clients.

    Args:
        client: A ``redis.Redis`` (or Valkey-compatible) client. Give it short timeouts and
            no retries: :meth:`from_url` shows how.
        async_client: For the async face: a ``redis.asyncio.Redis`` (bound to the event loop
            it is first used on), or a function that makes one per operation (closed after
            it; works from any event loop). Without it, the async methods run the sync client
            in a worker thread.
        namespace: Prefix of every Redis key: ``<namespace>:jwks:<hash of the key-set URI>``
            and ``<namespace>:refresh-lock:<hash>``.
        ttl: Seconds a stored key set lives in Redis; keep it well above
            ``RefreshPolicy.stale_if_error`` (default 7 days).
        history: How many earlier, different versions of each key set to keep.
        fallback: Where to read while Redis is unavailable (and a copy of every save):
            ``"default"`` (the default :class:`FileStore`), another store, or ``None``.
        retry_interval: Seconds between attempts to reach Redis during an outage.
        poll_interval: Seconds between looks at Redis while waiting for another process's
            refresh.

    Raises:
        ConfigurationError: A client of the wrong kind (a URL, an asyncio client where the
            blocking one goes ...) or an option out of range.
    """

    _what = "RedisStore"
    _service = "Redis"
    _entry_name = "Redis entry"
    _errors = _REDIS_ERRORS
    client: redis.Redis

    def __init__(
        self,
        client: redis.Redis,
        *,
        async_client: redis.asyncio.Redis | Callable[[], redis.asyncio.Redis] | None = None,
        namespace: str = "cognito-jwt",
        ttl: float = DEFAULT_TTL,
        history: int = 3,
        fallback: KeyStore | Literal["default"] | None = "default",
        retry_interval: float = 5.0,
        poll_interval: float = 0.05,
    ) -> None:
        _check_clients(client, async_client)
        super().__init__(
            client,
            _describe(client),
            disconnect=_disconnect,
            namespace=namespace,
            ttl=ttl,
            history=history,
            fallback=fallback,
            retry_interval=retry_interval,
            poll_interval=poll_interval,
        )
        self.async_client = async_client

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        socket_timeout: float = 0.2,
        socket_connect_timeout: float = 0.2,
        client_options: Mapping[str, Any] | None = None,
        **options: Unpack[RedisStoreOptions],
    ) -> RedisStore:
        """A store on the Redis at *url*, with short timeouts and no client-side retries.

        *url* is ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` for TLS
        (ElastiCache in-transit encryption; the server certificate is verified), or
        ``unix:///path/to/socket``. An ACL user and password may be given in the URL.
        *client_options* go to both ``redis`` clients (e.g. ``ssl_ca_certs``,
        ``client_name``); *options* (``namespace``, ``ttl``, ``history``, ``fallback``,
        ``retry_interval``, ``poll_interval``) to the store, as documented on the class.
        The async face opens a connection per operation (key set loads, saves and
        refreshes are rare), so it works from any event loop.

        Raises:
            ConfigurationError: Another URL scheme, a URL or *client_options* that redis
                refuses (checked here, not at the first connection), an option out of range.
        """
        client, async_client = clients_from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            client_options=client_options,
        )
        return cls(client, async_client=async_client, **options)

    def data_key(self, key: str) -> str:
        """The Redis key that holds the key set *key*."""
        return f"{self.namespace}:jwks:{key_digest(key)}"

    def lock_key(self, key: str) -> str:
        """The Redis key of the refresh lock of *key*."""
        return f"{self.namespace}:refresh-lock:{key_digest(key)}"

    def close(self) -> None:
        """Close the sync client's connections."""
        self.client.close()

    @staticmethod
    @contextlib.asynccontextmanager
    async def _async_client(
        source: redis.asyncio.Redis | Callable[[], redis.asyncio.Redis],
    ) -> AsyncIterator[redis.asyncio.Redis]:
        if isinstance(source, redis.asyncio.Redis):
            yield source
            return
        client = source()
        try:
            yield client
        finally:
            with contextlib.suppress(*_REDIS_ERRORS):
                await client.aclose()

    # Plans ---------------------------------------------------------------------------------------
    def _document(self, key: str, raw: object, *, quiet: bool) -> dict[str, Any] | None:
        """The stored document in a GET reply, or ``None`` (absent or unusable)."""
        if raw is None:
            return None
        try:
            if not isinstance(raw, bytes):
                raise ValueError(f"is a {type(raw).__name__}, not bytes")
            return parse_document(raw, key)
        except ValueError as exc:
            if not quiet:
                logger.warning("key store: Redis entry %s %s; ignoring it", self.data_key(key), exc)
            return None

    def _read(self, name: str) -> _Call:
        return _Call("get", (name,))

    def _write(self, name: str, payload: bytes) -> _Call:
        return _Call("set", (name, payload), {"px": _milliseconds(self.ttl)})

    def _lock_plan(self, key: str, token: str, timeout: float) -> Plan[bool]:
        lock_ms = _milliseconds(timeout)
        taken = yield _Call("set", (self.lock_key(key), token), {"nx": True, "px": lock_ms})
        return bool(taken)

    def _renew_plan(self, key: str, token: str, timeout: float) -> Plan[bool]:
        """Extend this process's lease on the refresh of *key*: ``False`` if it lost it."""
        lease_ms = _milliseconds(timeout)
        held = yield _Call("eval", (_RENEW, 1, self.lock_key(key), token, lease_ms))
        return bool(held)

    def _release_plan(self, key: str, token: str) -> Plan[None]:
        yield _Call("eval", (_RELEASE, 1, self.lock_key(key), token))

    # Drivers: the only code that talks to Redis --------------------------------------------------
    def _drive(self, plan: Plan[T]) -> T:
        return drive(self.client, plan, self._sleep)

    async def _drive_async(self, plan: Plan[T]) -> T:
        """With the asyncio client, or without one the sync client in a worker thread."""
        if self.async_client is None:
            return await asyncio.to_thread(self._drive, plan)
        async with self._async_client(self.async_client) as client:
            return await drive_async(client, plan, self._sleep_async)
