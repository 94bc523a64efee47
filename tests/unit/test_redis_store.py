"""``RedisStore`` against an in-memory fake of the few commands it uses.

The real server is in tests/integration/test_redis_store.py; here every branch is driven fast:
the document format, untrusted entries, the outage state machine and its logs, the refresh
lock, and the async drivers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis

from cognito_jwt import ConfigurationError, FileStore, KeyStore, MemoryStore, StoredKeySet
from cognito_jwt.stores import RedisStore, RefreshCoordinator
from cognito_jwt.stores._base import MAX_WAIT_TIMEOUTS
from cognito_jwt.stores._redis import DEFAULT_TTL
from tests.helpers import all_keys, jwks_of

KEY = "https://login.example.com/jwks"
URI = KEY
WAIT = 10.0  # bound on waits for a thread: never reached when all is well


def _record(alg: str = "RS256", fetched_at: float = 1_800_000_000.0) -> StoredKeySet:
    return StoredKeySet(jwks_of(all_keys()[alg]), fetched_at, 3600.0, URI)


class Clock:
    """Monotonic time that passes only when a test (or a fake sleep) advances it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeRedis:
    """GET, SET (NX, PX) and the lock scripts, in memory; ``down`` makes them raise.

    Keys set with PX expire on :attr:`clock`. ``renewals`` counts the lease renewal script
    (thread-safe: the lease is renewed from a thread).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.data: dict[str, bytes] = {}
        self.px: dict[str, int] = {}
        self.expires: dict[str, float] = {}
        self.calls: list[str] = []
        self.down: Exception | None = None
        self.renewals = 0
        self.renewed = threading.Condition()
        self.connection_pool = SimpleNamespace(
            connection_kwargs={"host": "cache.internal", "port": 6380, "db": 2},
            connection_class=redis.Connection,
        )

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.down is not None:
            raise self.down
        for key, at in list(self.expires.items()):
            if self.clock() >= at:
                self.data.pop(key, None)
                del self.expires[key]

    def get(self, name: str) -> Any:
        self._call("get")
        return self.data.get(name)

    def set(self, name: str, value: Any, *, px: int, nx: bool = False) -> bool | None:
        self._call("set")
        if nx and name in self.data:
            return None
        self.data[name] = value if isinstance(value, bytes) else str(value).encode()
        self.px[name] = px
        self.expires[name] = self.clock() + px / 1000
        return True

    def eval(self, script: str, numkeys: int, lock: str, token: str, *args: Any) -> int:
        assert numkeys == 1
        assert 'redis.call("GET", KEYS[1]) == ARGV[1]' in script
        renew = '"PX", ARGV[2]' in script
        try:
            self._call("renew" if renew else "eval")
            if self.data.get(lock) != token.encode():
                return 0
            if renew:
                self.px[lock] = int(args[0])
                self.expires[lock] = self.clock() + int(args[0]) / 1000
            else:
                del self.data[lock]
                self.expires.pop(lock, None)
            return 1
        finally:
            if renew:
                with self.renewed:
                    self.renewals += 1
                    self.renewed.notify_all()

    def wait_for_renewals(self, count: int) -> None:
        with self.renewed:
            assert self.renewed.wait_for(lambda: self.renewals >= count, timeout=WAIT)

    def close(self) -> None:
        self.calls.append("close")


class FakeAsyncRedis:
    """The asyncio face of a :class:`FakeRedis` (same data)."""

    def __init__(self, sync: FakeRedis) -> None:
        self.sync = sync
        self.closed = 0

    async def get(self, name: str) -> Any:
        return self.sync.get(name)

    async def set(self, name: str, value: Any, **kwargs: Any) -> bool | None:
        return self.sync.set(name, value, **kwargs)

    async def eval(self, *args: Any) -> int:
        return self.sync.eval(*args)

    async def aclose(self) -> None:
        self.closed += 1


class Ticker:
    """Stands in for the lease thread's timer: it renews when the test says, not as time passes."""

    def __init__(self, fake: FakeRedis) -> None:
        self.fake = fake
        self.periods: list[float] = []
        self._ticks = threading.Semaphore(0)

    def wait(self, stopped: threading.Event, seconds: float) -> bool:
        """The lease thread's wait: ``True`` (stop) once stopped, ``False`` (renew) on a tick."""
        self.periods.append(seconds)
        while not stopped.is_set():
            if self._ticks.acquire(timeout=0.005):
                return False
        return True

    def tick(self) -> None:
        """One renewal period passes: wait until the lease thread has renewed."""
        done = self.fake.renewals + 1
        self._ticks.release()
        self.fake.wait_for_renewals(done)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeRedis:
    return FakeRedis(clock)


@pytest.fixture
def ticker(fake: FakeRedis) -> Ticker:
    return Ticker(fake)


@pytest.fixture
def local(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "fallback")


@pytest.fixture
def make(
    fake: FakeRedis, local: FileStore, clock: Clock, ticker: Ticker
) -> Callable[..., RedisStore]:
    """A store on the fake; its waits pass on :func:`clock`, its lease renews on the ticker."""

    def build(**options: Any) -> RedisStore:
        options.setdefault("fallback", local)
        store = RedisStore(fake, **options)  # type: ignore[arg-type]
        store._monotonic = clock
        store._sleep = clock.advance
        store._sleep_async = _advance_async(clock)
        store._lease_wait = ticker.wait
        return store

    return build


def _advance_async(clock: Clock) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    return sleep


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def _plant(fake: FakeRedis, store: RedisStore, value: Any) -> None:
    fake.data[store.data_key(KEY)] = value


def _document(**changes: Any) -> bytes:
    current = {"jwks": jwks_of(all_keys()["RS256"]), "fetched_at": 1.0, "max_age": 2.0}
    current["jwks_uri"] = URI
    document: dict[str, Any] = {"schema": 1, "key": KEY, "current": current, "history": []}
    document.update(changes)
    return json.dumps(document).encode()


# === The store protocol ===========================================================================
def test_is_a_key_store_and_a_refresh_coordinator(make: Callable[..., RedisStore]) -> None:
    store = make()
    assert isinstance(store, KeyStore)
    assert isinstance(store, RefreshCoordinator)
    assert not isinstance(MemoryStore(), RefreshCoordinator)
    assert not isinstance(FileStore(), RefreshCoordinator)


def test_round_trip_with_namespace_ttl_and_schema(
    make: Callable[..., RedisStore], fake: FakeRedis
) -> None:
    store = make(namespace="orders-api", ttl=86_400 * 3)
    assert store.load(KEY) is None
    store.save(KEY, _record())
    assert store.load(KEY) == _record()
    name = store.data_key(KEY)
    assert name.startswith("orders-api:jwks:")
    assert store.lock_key(KEY).startswith("orders-api:refresh-lock:")
    assert KEY not in name  # hashed: any URI makes a well-formed key
    assert fake.px[name] == 86_400 * 3 * 1000
    document = json.loads(fake.data[name])
    assert document["schema"] == 1
    assert document["key"] == KEY
    assert document["current"]["jwks_uri"] == URI


def test_defaults(make: Callable[..., RedisStore]) -> None:
    store = make(fallback="default")
    assert store.ttl == DEFAULT_TTL == 7 * 24 * 3600
    assert store.ttl > 24 * 3600  # well beyond the default stale_if_error
    assert store.namespace == "cognito-jwt"
    assert store.history_size == 3
    assert isinstance(store.fallback, FileStore)


def test_history_newest_first_capped(make: Callable[..., RedisStore]) -> None:
    store = make(history=2)
    for n, alg in enumerate(("RS256", "ES256", "ES384", "ES512")):
        store.save(KEY, _record(alg, fetched_at=1000.0 + n))
    assert store.load(KEY) == _record("ES512", fetched_at=1003.0)
    assert store.history(KEY) == [
        _record("ES384", fetched_at=1002.0),
        _record("ES256", fetched_at=1001.0),
    ]


def test_saves_are_copied_to_the_fallback(
    make: Callable[..., RedisStore], local: FileStore
) -> None:
    store = make()
    store.save(KEY, _record())
    assert local.load(KEY) == _record()


def test_a_miss_in_redis_reads_the_fallback(
    make: Callable[..., RedisStore], local: FileStore
) -> None:
    local.save(KEY, _record("ES256"))
    assert make().load(KEY) == _record("ES256")
    assert make(fallback=None).load(KEY) is None


def test_async_round_trip_through_a_client_factory(
    make: Callable[..., RedisStore], fake: FakeRedis
) -> None:
    clients: list[FakeAsyncRedis] = []

    def connect() -> FakeAsyncRedis:
        clients.append(FakeAsyncRedis(fake))
        return clients[-1]

    store = make(async_client=connect)

    async def scenario() -> StoredKeySet | None:
        await store.save_async(KEY, _record("ES384"))
        return await store.load_async(KEY)

    assert asyncio.run(scenario()) == _record("ES384")
    assert len(clients) == 2
    assert all(client.closed == 1 for client in clients)  # one connection per operation
    assert store.load(KEY) == _record("ES384")


def test_async_without_an_async_client_runs_the_sync_one(
    make: Callable[..., RedisStore], local: FileStore
) -> None:
    store = make()
    asyncio.run(store.save_async(KEY, _record("ES256")))
    assert asyncio.run(store.load_async(KEY)) == _record("ES256")
    assert local.load(KEY) == _record("ES256")


def test_close_closes_the_sync_client(make: Callable[..., RedisStore], fake: FakeRedis) -> None:
    make().close()
    assert fake.calls[-1] == "close"


# === Configuration ================================================================================
@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"namespace": ""}, "namespace"),
        ({"history": -1}, "history"),
        ({"history": True}, "history"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": float("inf")}, "ttl"),
        ({"retry_interval": -1}, "retry_interval"),
        ({"poll_interval": "fast"}, "poll_interval"),
        ({"fallback": "files"}, "fallback"),
    ],
)
def test_bad_options_are_configuration_errors(
    make: Callable[..., RedisStore], options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        make(**options)


@pytest.mark.parametrize(
    ("client", "match"),
    [
        ("redis://cache:6379", "from_url"),  # a URL where the client goes
        (None, "NoneType"),
        (redis.asyncio.Redis(), "async_client"),  # the asyncio client where the blocking one goes
    ],
    ids=["url", "none", "asyncio-client"],
)
def test_the_client_must_be_a_blocking_redis_client(client: object, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        RedisStore(client, fallback=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("async_client", ["redis://cache", 42, redis.Redis()])
def test_the_async_client_must_be_an_asyncio_client_or_a_factory(
    fake: FakeRedis, async_client: object
) -> None:
    with pytest.raises(ConfigurationError, match="async_client"):
        RedisStore(fake, async_client=async_client, fallback=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["http://cache:6379", "cache:6379", "", "valkey://cache"])
def test_from_url_needs_a_redis_url(url: str) -> None:
    with pytest.raises(ConfigurationError, match="redis://"):
        RedisStore.from_url(url)


@pytest.mark.parametrize(
    ("url", "options", "match"),
    [
        ("redis://app:s3cr3t@cache:notaport/0", {}, "Port could not be cast"),
        ("redis://app:s3cr3t@cache/0?socket_timeout=soon", {}, "socket_timeout"),
        ("redis://app:s3cr3t@cache/0", {"client_options": ["ssl"]}, "client_options"),
        ("redis://app:s3cr3t@cache/0", {"client_options": {"bogus": 1}}, "bogus"),
        # TLS options on a plain redis:// URL: refused now, not at the first verification
        ("redis://app:s3cr3t@cache/0", {"client_options": {"ssl_ca_certs": "ca.pem"}}, "ssl"),
    ],
)
def test_from_url_refuses_what_redis_would_refuse_later(
    url: str, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match) as caught:
        RedisStore.from_url(url, fallback=None, **options)
    assert "s3cr3t" not in str(caught.value)
    assert caught.value.__cause__ is None  # no chained exception carrying the URL either


def test_from_url_needs_positive_timeouts() -> None:
    with pytest.raises(ConfigurationError, match="socket_timeout"):
        RedisStore.from_url("redis://cache", socket_timeout=0)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://app:s3cr3t@cache.internal:6380/2", "redis://cache.internal:6380/2"),
        ("rediss://:s3cr3t@cache.internal", "rediss://cache.internal:6379/0"),
        ("unix:///run/redis.sock?password=s3cr3t", "unix:///run/redis.sock"),
    ],
)
def test_from_url_repr_and_logs_never_show_the_password(url: str, shown: str) -> None:
    store = RedisStore.from_url(url, fallback=None)
    assert repr(store) == f"RedisStore({shown!r}, namespace='cognito-jwt')"
    assert "s3cr3t" not in repr(store)
    options = store.client.connection_pool.connection_kwargs
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.2
    store.close()


def test_from_url_credentials_and_tls() -> None:
    store = RedisStore.from_url("rediss://app:s3cr3t@cache.internal:6380/2", fallback=None)
    pool = store.client.connection_pool
    assert pool.connection_class is redis.SSLConnection  # rediss://: TLS, certificate checked
    assert (pool.connection_kwargs["username"], pool.connection_kwargs["password"]) == (
        "app",
        "s3cr3t",
    )
    assert pool.connection_kwargs["retry"]._retries == 0  # no retries: fail fast, then degrade
    store.close()


def test_from_url_passes_client_options() -> None:
    store = RedisStore.from_url(
        "redis://cache", client_options={"client_name": "orders-api"}, fallback=None
    )
    assert store.client.connection_pool.connection_kwargs["client_name"] == "orders-api"


def test_import_is_lazy() -> None:
    code = (
        "import sys, cognito_jwt, cognito_jwt.stores; assert 'redis' not in sys.modules; "
        "from cognito_jwt.stores import RedisStore; assert 'redis' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(AttributeError, match="NoSuchStore"):
        _ = __import__("cognito_jwt.stores").stores.NoSuchStore


# === Entries it must not trust ====================================================================
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\x00\xffgarbage", "is corrupt"),
        (b"{not json", "is corrupt"),
        (b"[1, 2]", "is corrupt"),
        (b'{"schema": 1, "schema": 1}', "is corrupt"),
        (_document(schema=2), "another schema or key"),
        (_document(key="https://evil.example.com/jwks"), "another schema or key"),
        (_document(current={"jwks": [], "fetched_at": 1, "max_age": 2}), "no valid current"),
        (
            _document(current={"jwks": {}, "fetched_at": "1", "max_age": 2, "jwks_uri": URI}),
            "no valid current",
        ),
        (b" " * (4 * 1024 * 1024 + 1), "larger than"),
    ],
)
def test_bad_entries_are_ignored_with_a_warning(
    make: Callable[..., RedisStore],
    fake: FakeRedis,
    local: FileStore,
    caplog: pytest.LogCaptureFixture,
    value: bytes,
    reason: str,
) -> None:
    store = make()
    _plant(fake, store, value)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert store.load(KEY) is None
        local.save(KEY, _record("ES256"))
        assert store.load(KEY) == _record("ES256")  # the fallback's, not Redis's
    assert any(reason in m and store.data_key(KEY) in m for m in _warnings(caplog))
    assert store.available  # a bad entry is not an outage


def test_a_reply_that_is_not_bytes_is_ignored(
    make: Callable[..., RedisStore], fake: FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    store = make(fallback=None)
    fake.data[store.data_key(KEY)] = _document().decode()  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert store.load(KEY) is None
    assert any("not bytes" in m for m in _warnings(caplog))


def test_save_over_a_corrupt_entry_replaces_it(
    make: Callable[..., RedisStore], fake: FakeRedis
) -> None:
    store = make()
    _plant(fake, store, b"{corrupt")
    store.save(KEY, _record())
    assert store.load(KEY) == _record()
    assert store.history(KEY) == []


def test_unserialisable_record_is_logged_not_raised(
    make: Callable[..., RedisStore], fake: FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    store = make(fallback=None)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        store.save(KEY, StoredKeySet({"keys": [float("nan")]}, 1.0, 2.0, URI))
    assert any("cannot write Redis entry" in m for m in _warnings(caplog))
    assert store.data_key(KEY) not in fake.data


# === Outages ======================================================================================
def test_outage_falls_back_logs_once_and_recovers(
    make: Callable[..., RedisStore],
    fake: FakeRedis,
    local: FileStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = make(retry_interval=1e-9)  # try Redis again on every operation
    store.save(KEY, _record("RS256"))
    fake.down = redis.ConnectionError("Error 111 connecting to cache.internal:6380.")
    with caplog.at_level(logging.INFO, logger="cognito_jwt"):
        assert store.load(KEY) == _record("RS256")  # the fallback's copy
        for _ in range(5):
            store.save(KEY, _record("ES256"))
            assert store.load(KEY) == _record("ES256")
            with store.coordinate(KEY, newer_than=None, timeout=1.0) as shared:
                assert shared is None  # fetch yourself
        assert asyncio.run(store.load_async(KEY)) == _record("ES256")
        assert not store.available
        warnings = _warnings(caplog)
        assert len(warnings) == 1, warnings
        assert "shared key store redis://cache.internal:6380/2 is unavailable" in warnings[0]
        assert "ConnectionError" in warnings[0]
        assert "FileStore" in warnings[0]
        assert local.load(KEY) == _record("ES256")  # saves kept going to the fallback
        fake.down = None
        store.save(KEY, _record("ES384"))
        assert store.available
        assert store.load(KEY) == _record("ES384")
        fake.down = redis.TimeoutError("Timeout reading from socket")
        assert store.load(KEY) == _record("ES384")
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 1
    assert "is available again" in infos[0]
    assert len(_warnings(caplog)) == 2  # a second outage is a second warning
    assert "TimeoutError" in _warnings(caplog)[1]


def test_during_an_outage_redis_is_left_alone_until_the_retry_interval(
    make: Callable[..., RedisStore], fake: FakeRedis
) -> None:
    store = make(retry_interval=3600)
    fake.down = redis.ConnectionError("refused")
    assert store.load(KEY) is None
    calls = len(fake.calls)
    for _ in range(10):
        store.load(KEY)
        store.save(KEY, _record())
        with store.coordinate(KEY, newer_than=None, timeout=1.0) as shared:
            assert shared is None
    assert len(fake.calls) == calls  # no timeout paid on any of them


@pytest.mark.parametrize(
    "error",
    [redis.AuthenticationError("invalid password"), redis.ResponseError("NOPERM"), OSError()],
)
def test_any_redis_failure_degrades(
    make: Callable[..., RedisStore], fake: FakeRedis, error: Exception
) -> None:
    store = make(fallback=None)
    fake.down = error
    assert store.load(KEY) is None
    store.save(KEY, _record())
    assert asyncio.run(store.load_async(KEY)) is None
    assert not store.available


# === Refresh coordination =========================================================================
def _lease_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cognito-jwt-lease"]


def test_the_first_caller_leads_and_releases_its_lock(
    make: Callable[..., RedisStore], fake: FakeRedis
) -> None:
    store = make()
    lock = store.lock_key(KEY)
    with store.coordinate(KEY, newer_than=None, timeout=2.5) as shared:
        assert shared is None
        assert lock in fake.data
        assert fake.px[lock] == 2500  # a lease of one fetch timeout
        store.save(KEY, _record())
    assert lock not in fake.data
    assert _lease_threads() == []


def test_the_lock_is_released_when_the_fetch_fails(
    make: Callable[..., RedisStore], fake: FakeRedis
) -> None:
    store = make()
    with pytest.raises(RuntimeError), store.coordinate(KEY, newer_than=None, timeout=1.0):
        raise RuntimeError("fetch failed")
    assert store.lock_key(KEY) not in fake.data
    assert _lease_threads() == []


def test_a_lock_taken_over_by_another_process_is_not_released(
    make: Callable[..., RedisStore], fake: FakeRedis
) -> None:
    store = make()
    lock = store.lock_key(KEY)
    with store.coordinate(KEY, newer_than=None, timeout=1.0):
        fake.data[lock] = b"another-process-token"  # ours expired; another took it
    assert fake.data[lock] == b"another-process-token"


def test_the_lease_is_renewed_while_the_holder_fetches(
    make: Callable[..., RedisStore], fake: FakeRedis, clock: Clock, ticker: Ticker
) -> None:
    store = make()
    lock = store.lock_key(KEY)
    with store.coordinate(KEY, newer_than=None, timeout=1.0):
        for _ in range(10):  # a fetch ten times slower than the fetch timeout
            clock.advance(1.0 / 3)
            ticker.tick()
            assert lock in fake.data  # renewed before it ran out
            assert fake.expires[lock] == pytest.approx(clock() + 1.0)
        token = fake.data[lock]
    assert ticker.periods[0] == pytest.approx(1.0 / 3)  # three renewals per lease
    assert fake.renewals == 10
    assert token != b""
    assert lock not in fake.data  # released on exit
    assert _lease_threads() == []


def test_the_lease_thread_renews_on_its_own_clock(make: Callable[..., RedisStore]) -> None:
    fake = FakeRedis()  # whose keys never expire: only the real thread's renewals count
    store = make()
    store.client = fake  # type: ignore[assignment]
    store._lease_wait = threading.Event.wait  # the real timer
    with store.coordinate(KEY, newer_than=None, timeout=0.03):
        fake.wait_for_renewals(3)
        assert fake.px[store.lock_key(KEY)] == 30
        assert len(_lease_threads()) == 1
    assert store.lock_key(KEY) not in fake.data
    assert _lease_threads() == []


def test_only_the_holder_renews_its_lease(
    make: Callable[..., RedisStore],
    fake: FakeRedis,
    ticker: Ticker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = make()
    lock = store.lock_key(KEY)
    with caplog.at_level(logging.INFO, logger="cognito_jwt"):
        with store.coordinate(KEY, newer_than=None, timeout=1.0):
            fake.set(lock, b"another-process-token", px=1000)  # ours ran out; another took it
            ticker.tick()  # the renewal finds another's token: it changes nothing ...
            assert fake.data[lock] == b"another-process-token"
            assert fake.px[lock] == 1000
            for _ in range(100):  # ... and the thread stops renewing
                if not _lease_threads():
                    break
                threading.Event().wait(0.01)
            assert _lease_threads() == []
        assert fake.data[lock] == b"another-process-token"  # not released either
    assert fake.renewals == 1
    assert any("ran out before it was renewed" in r.getMessage() for r in caplog.records)


def test_a_slow_leader_keeps_the_refresh_and_a_waiter_takes_its_result(
    make: Callable[..., RedisStore], fake: FakeRedis, clock: Clock, ticker: Ticker
) -> None:
    """The fleet's bug: the lock ran out under a slow fetch and a waiter fetched too."""
    leader, waiter = make(), make(poll_interval=0.05)  # two processes, one Redis
    leading, fetched = threading.Event(), threading.Event()

    def lead() -> None:
        with leader.coordinate(KEY, newer_than=None, timeout=1.0) as shared:
            assert shared is None
            leading.set()
            assert fetched.wait(WAIT)  # a fetch five times the fetch timeout
            leader.save(KEY, _record(fetched_at=2000.0))

    thread = threading.Thread(target=lead)
    thread.start()
    assert leading.wait(WAIT)
    renew_at = 1.0 / 3

    def sleep(seconds: float) -> None:  # the waiter polls; the leader renews on schedule
        nonlocal renew_at
        clock.advance(seconds)
        if clock() >= renew_at:
            ticker.tick()
            renew_at += 1.0 / 3
        if clock() >= 5.0 and not fetched.is_set():
            fetched.set()
            thread.join(WAIT)

    waiter._sleep = sleep
    with waiter.coordinate(KEY, newer_than=1000.0, timeout=1.0) as shared:
        assert shared == _record(fetched_at=2000.0)
    assert 5.0 <= clock() < 5.1
    assert fake.renewals >= 14
    assert store_locks(fake) == []


def store_locks(fake: FakeRedis) -> list[str]:
    return [name for name in fake.data if ":refresh-lock:" in name]


def test_a_waiter_takes_over_the_lease_of_a_holder_that_died(
    make: Callable[..., RedisStore], fake: FakeRedis, clock: Clock
) -> None:
    store = make(poll_interval=0.05)
    lock = store.lock_key(KEY)
    fake.set(lock, b"dead-holder", px=1000)  # a holder that died mid-fetch: never renewed
    with store.coordinate(KEY, newer_than=None, timeout=1.0) as shared:
        assert shared is None
        assert fake.data[lock] not in (b"dead-holder", None)  # ours now
        assert 1.0 <= clock() < 1.1  # taken over once the lease ran out, not before
    assert lock not in fake.data


def test_a_waiter_waits_for_a_live_holder_at_most_the_cap(
    make: Callable[..., RedisStore],
    fake: FakeRedis,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = make(poll_interval=0.05)
    lock = store.lock_key(KEY)
    store.save(KEY, _record(fetched_at=1000.0))  # too old to stand in for this fetch

    def sleep(seconds: float) -> None:  # a live holder in another process, stuck, renewing
        clock.advance(seconds)
        fake.set(lock, b"live-holder", px=1000)

    store._sleep = sleep
    fake.set(lock, b"live-holder", px=1000)
    with (
        caplog.at_level(logging.WARNING, logger="cognito_jwt"),
        store.coordinate(KEY, newer_than=1000.0, timeout=1.0) as shared,
    ):
        assert shared is None  # fetch on your own
    assert MAX_WAIT_TIMEOUTS == 5
    assert 5.0 <= clock() < 5.1
    assert fake.data[lock] == b"live-holder"  # never ours
    assert any("waited 5 s for another process's refresh" in m for m in _warnings(caplog))


def test_a_waiter_takes_a_newer_key_set_stored_meanwhile(
    make: Callable[..., RedisStore], fake: FakeRedis
) -> None:
    store = make(poll_interval=0.001)
    fake.data[store.lock_key(KEY)] = b"holder"
    original_get = fake.get
    polls = []

    def get(name: str) -> Any:  # the holder saves after the waiter's third look
        polls.append(name)
        if len(polls) == 3:
            store.save(KEY, _record("ES256", fetched_at=2000.0))
        return original_get(name)

    fake.get = get  # type: ignore[method-assign]
    with store.coordinate(KEY, newer_than=1000.0, timeout=5.0) as shared:
        assert shared == _record("ES256", fetched_at=2000.0)
    assert fake.data[store.lock_key(KEY)] == b"holder"  # never ours


def test_a_leader_that_finds_a_fresh_key_set_hands_back_the_lock(
    make: Callable[..., RedisStore], fake: FakeRedis
) -> None:
    store = make()
    store.save(KEY, _record(fetched_at=2000.0))  # saved by a holder that just released
    with store.coordinate(KEY, newer_than=1000.0, timeout=1.0) as shared:
        assert shared == _record(fetched_at=2000.0)
    assert store.lock_key(KEY) not in fake.data
    assert fake.calls.count("eval") == 1
    assert _lease_threads() == []  # no lease to keep


def test_poisoned_entries_are_ignored_quietly_while_waiting(
    make: Callable[..., RedisStore], fake: FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    store = make(poll_interval=0.001)
    _plant(fake, store, b"{garbage")
    with (
        caplog.at_level(logging.WARNING, logger="cognito_jwt"),
        store.coordinate(KEY, newer_than=None, timeout=1.0) as shared,
    ):
        assert shared is None  # led: nothing usable stored
    assert _warnings(caplog) == []


def test_a_renewal_during_an_outage_is_harmless(
    make: Callable[..., RedisStore], fake: FakeRedis, ticker: Ticker
) -> None:
    store = make(retry_interval=3600)
    with store.coordinate(KEY, newer_than=None, timeout=1.0):
        fake.down = redis.TimeoutError("Timeout reading from socket")
        ticker.tick()  # fails: an outage, logged once, not an exception in the thread
        assert not store.available
        assert len(_lease_threads()) == 1  # still renewing once Redis answers again
    assert _lease_threads() == []


def test_async_coordination(make: Callable[..., RedisStore], fake: FakeRedis) -> None:
    store = make(async_client=lambda: FakeAsyncRedis(fake), poll_interval=0.001)

    async def scenario() -> None:
        async with store.coordinate_async(KEY, newer_than=None, timeout=1.0) as shared:
            assert shared is None
            assert store.lock_key(KEY) in fake.data
            await store.save_async(KEY, _record(fetched_at=5.0))
        assert store.lock_key(KEY) not in fake.data
        assert _lease_threads() == []
        async with store.coordinate_async(KEY, newer_than=4.0, timeout=1.0) as shared:
            assert shared == _record(fetched_at=5.0)
        fake.down = redis.ConnectionError("refused")
        async with store.coordinate_async(KEY, newer_than=None, timeout=1.0) as shared:
            assert shared is None

    asyncio.run(scenario())
    assert not store.available


@pytest.mark.parametrize("async_client", [True, False], ids=["async-client", "sync-in-thread"])
def test_async_a_slow_leader_keeps_the_refresh_and_a_waiter_takes_its_result(
    make: Callable[..., RedisStore],
    fake: FakeRedis,
    clock: Clock,
    ticker: Ticker,
    async_client: bool,
) -> None:
    options: dict[str, Any] = {"poll_interval": 0.05}
    if async_client:
        options["async_client"] = lambda: FakeAsyncRedis(fake)
    leader, waiter = make(**options), make(**options)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        leading, fetched = asyncio.Event(), asyncio.Event()

        async def lead() -> None:
            async with leader.coordinate_async(KEY, newer_than=None, timeout=1.0) as shared:
                assert shared is None
                leading.set()
                await fetched.wait()  # a fetch five times the fetch timeout
                await leader.save_async(KEY, _record(fetched_at=2000.0))

        task = asyncio.create_task(lead())
        await leading.wait()
        renew_at = 1.0 / 3

        async def finish() -> None:
            fetched.set()
            await task

        def poll(seconds: float) -> bool:  # the waiter polls; the leader renews on schedule
            nonlocal renew_at
            clock.advance(seconds)
            if clock() >= renew_at:
                ticker.tick()
                renew_at += 1.0 / 3
            return clock() >= 5.0 and not fetched.is_set()

        async def sleep_async(seconds: float) -> None:
            if poll(seconds):
                await finish()

        def sleep(seconds: float) -> None:  # the sync driver, in a worker thread
            if poll(seconds):
                asyncio.run_coroutine_threadsafe(finish(), loop).result(WAIT)

        waiter._sleep, waiter._sleep_async = sleep, sleep_async
        async with waiter.coordinate_async(KEY, newer_than=1000.0, timeout=1.0) as shared:
            assert shared == _record(fetched_at=2000.0)
        assert task.done()

    asyncio.run(scenario())
    assert 5.0 <= clock() < 5.1
    assert fake.renewals >= 14
    assert store_locks(fake) == []
    assert _lease_threads() == []
