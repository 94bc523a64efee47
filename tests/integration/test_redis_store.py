"""``RedisStore`` against a real redis-server on 127.0.0.1, with fleets of real processes.

Each fleet member is a Python process (tests/integration/redis_worker.py) with its own empty
fallback file store; a :class:`LocalIssuer` counts the requests the whole fleet makes. Processes
start behind a barrier (each prints ``ready`` and waits for a line on stdin), so their refreshes
really race. Nothing sleeps to let time pass: waits poll real processes, within bounds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from cognito_jwt import (
    AlgorithmNotAllowedError,
    FetchOptions,
    FileStore,
    JwtVerifier,
    KeyNotFoundError,
    StoredKeySet,
)
from cognito_jwt._jwk import jwk_from_public_key
from cognito_jwt.stores import RedisStore
from cognito_jwt.testing import LocalIssuer
from tests.helpers import key_state
from tests.integration.redis_worker import Worker
from tests.integration.shared_store import (
    FETCH_TIMEOUT,
    JWKS,
    SLOW_JWKS,
    TAMPERED,
    GatedIssuer,
    _attacker_rsa,
    _cache_key,
    _cold_fleet,
    _document,
    _tampered,
    _token,
    _wait_for,
)
from tests.servers.redis_server import RedisServer

# The commands the fleet guide's ACL example grants (docs/guides/fleet.md, "Security").
ACL_COMMANDS = ["+get", "+set", "+eval", "+del"]


# === Helpers ======================================================================================
@pytest.fixture
def issuer() -> Iterator[GatedIssuer]:
    with GatedIssuer() as local:
        yield local


@pytest.fixture
def fleet(
    redis_server: RedisServer, redis_namespace: str, tmp_path: Path
) -> Iterator[Callable[..., Worker]]:
    """Start fleet members: each with its own empty fallback directory; all killed after."""
    workers: list[Worker] = []

    def start(issuer: LocalIssuer, **spec: Any) -> Worker:
        cache_dir = tmp_path / f"worker-{len(workers)}"
        defaults = {
            "redis_url": redis_server.url,
            "namespace": redis_namespace,
            "issuer": issuer.issuer,
            "token": _token(issuer, f"user-{len(workers)}"),
            "cache_dir": str(cache_dir),
            "mode": "sync",
            "fetch_timeout": FETCH_TIMEOUT,
            "barrier": False,
        }
        workers.append(Worker({**defaults, **spec}))
        return workers[-1]

    yield start
    for worker in workers:
        if worker.process.poll() is None:
            worker.kill()


def _store(url: str, namespace: str, tmp_path: Path, **options: Any) -> RedisStore:
    options.setdefault("fallback", FileStore(tmp_path / "local"))
    return RedisStore.from_url(url, namespace=namespace, **options)


def _verifier(issuer: LocalIssuer, store: RedisStore) -> JwtVerifier:
    fetch = FetchOptions(timeout=FETCH_TIMEOUT, retries=0)
    return JwtVerifier(issuer=issuer.issuer, audience="api", store=store, fetch=fetch)


def _stored(server: RedisServer, store: RedisStore, key: str) -> dict[str, Any] | None:
    with redis.Redis.from_url(server.url) as inspector:
        raw = inspector.get(store.data_key(key))
    return None if raw is None else dict(json.loads(raw))


def _shared_store_messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == level and "shared key store" in r.getMessage()
    ]


# === A fleet shares one fetch =====================================================================
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_cold_fleet_fetches_once_and_a_new_process_survives_the_issuer(
    issuer: LocalIssuer, fleet: Callable[..., Worker], mode: str
) -> None:
    _cold_fleet(issuer, fleet, mode)

    issuer.stop()  # the issuer is down; a new process with an empty local cache starts
    late = fleet(issuer, mode=mode).result()
    assert late["ok"], late
    assert (late["fetches"], late["l2_loads"]) == (0, 1)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_cold_fleet_fetches_once_from_a_slow_issuer(
    issuer: GatedIssuer, fleet: Callable[..., Worker], mode: str
) -> None:
    """The holder's fetch outlives its first lease; it renews it, and the others wait."""
    issuer.jwks_delay = SLOW_JWKS
    _cold_fleet(issuer, fleet, mode)


def test_the_lock_holder_killed_mid_fetch_another_process_completes_the_refresh(
    issuer: GatedIssuer,
    fleet: Callable[..., Worker],
    redis_server: RedisServer,
    redis_namespace: str,
    tmp_path: Path,
) -> None:
    lock = _store(redis_server.url, redis_namespace, tmp_path).lock_key(_cache_key(issuer))
    inspector = redis.Redis.from_url(redis_server.url)
    issuer.gate.clear()  # the first JWKS request hangs: a fetch in mid-flight
    holder = fleet(issuer)
    _wait_for(lambda: issuer.requests[JWKS] == 1, "the holder's JWKS request")
    assert inspector.get(lock) is not None  # it fetches under the refresh lock
    other = fleet(issuer)  # it waits: the lock is held
    holder.kill()
    issuer.gate.set()
    result = other.result()
    assert result["ok"], result
    assert result["fetches"] == 1  # it took over once the dead holder's lock expired
    assert issuer.requests[JWKS] == 2
    assert inspector.get(lock) is None
    inspector.close()


def _hold_while_renewed(store: RedisStore, key: str, renewals: int, server: RedisServer) -> None:
    """Hold the refresh of *key* until its lease has been renewed *renewals* times."""
    lock = store.lock_key(key)
    with (
        redis.Redis.from_url(server.url) as inspector,
        store.coordinate(key, newer_than=None, timeout=FETCH_TIMEOUT) as shared,
    ):
        assert shared is None
        token = inspector.get(lock)
        seen, last = 0, inspector.pttl(lock)
        assert 0 < last <= FETCH_TIMEOUT * 1000  # a lease of one fetch timeout

        def renewed() -> bool:
            nonlocal seen, last
            assert inspector.get(lock) == token  # never lost meanwhile
            ttl = inspector.pttl(lock)
            seen, last = seen + (ttl > last), ttl
            return seen >= renewals

        _wait_for(renewed, "the lease to be renewed")
    with redis.Redis.from_url(server.url) as inspector:
        assert inspector.get(lock) is None


def test_a_holder_keeps_its_lease_as_long_as_it_fetches(
    redis_server: RedisServer, redis_namespace: str, tmp_path: Path
) -> None:
    store = _store(redis_server.url, redis_namespace, tmp_path)
    _hold_while_renewed(store, "https://issuer.example/jwks", 4, redis_server)  # > 1 lease
    store.close()


# === Outages ======================================================================================
def test_redis_killed_mid_run_then_back(
    issuer: LocalIssuer,
    redis_server_factory: Callable[[], RedisServer],
    redis_namespace: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = redis_server_factory()
    store = _store(server.url, redis_namespace, tmp_path, retry_interval=0.05)
    key = _cache_key(issuer)
    token = _token(issuer)
    running = _verifier(issuer, store)
    assert running.verify(token).sub == "alice"
    assert _stored(server, store, key) is not None
    caplog.set_level(logging.INFO, logger="cognito_jwt")

    server.kill()
    for _ in range(20):  # verification continues from memory ...
        assert running.verify(token).sub == "alice"
    started = _verifier(issuer, store)  # ... and a new verifier starts from the local file
    assert started.verify(token).sub == "alice"
    assert (started.stats.fetches, started.stats.l2_loads) == (0, 1)
    running.refresh()  # a refresh fetches directly
    asyncio.run(running.refresh_async())
    assert issuer.requests[JWKS] == 3
    assert not store.available
    assert len(_shared_store_messages(caplog, logging.WARNING)) == 1  # once per outage

    server.start()  # back, on the same port, empty (it keeps nothing on disk)
    _wait_for(lambda: store.load(key) is not None and store.available, "Redis to answer")
    running.refresh()
    stored = _stored(server, store, key)
    assert stored is not None  # writes reach Redis again
    assert stored["current"]["jwks"] == issuer.jwks()
    infos = _shared_store_messages(caplog, logging.INFO)
    assert len(infos) == 1
    assert "available again" in infos[0]
    assert len(_shared_store_messages(caplog, logging.WARNING)) == 1
    store.close()


def test_a_redis_that_stops_answering_costs_one_short_timeout(
    issuer: LocalIssuer,
    redis_server_factory: Callable[[], RedisServer],
    redis_namespace: str,
    tmp_path: Path,
) -> None:
    server = redis_server_factory()
    store = _store(server.url, redis_namespace, tmp_path, retry_interval=60)
    token = _token(issuer)
    assert _verifier(issuer, store).verify(token).sub == "alice"
    server.pause()  # connections open, nothing answers
    try:
        began = time.monotonic()
        cold = _verifier(issuer, store)
        assert cold.verify(token).sub == "alice"  # from the local file
        first = time.monotonic() - began
        began = time.monotonic()
        for _ in range(5):
            assert _verifier(issuer, store).verify(token).sub == "alice"
        later = time.monotonic() - began
    finally:
        server.resume()
    assert cold.stats.l2_loads == 1
    assert first < 1.0  # one socket timeout (0.2 s), not a hang
    assert later < first  # then Redis is left alone until retry_interval
    assert not store.available
    store.close()


def test_async_face_with_an_outage(
    issuer: LocalIssuer,
    redis_server_factory: Callable[[], RedisServer],
    redis_namespace: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = redis_server_factory()
    store = _store(server.url, redis_namespace, tmp_path)
    token = _token(issuer)

    async def scenario() -> None:
        first = _verifier(issuer, store)
        assert (await first.verify_async(token)).sub == "alice"
        second = _verifier(issuer, store)
        await second.hydrate_async()
        assert (second.stats.fetches, second.stats.l2_loads) == (0, 1)
        await second.refresh_async()  # leads the refresh: lock taken and released
        assert issuer.requests[JWKS] == 2
        server.kill()
        third = _verifier(issuer, FileStore(tmp_path / "empty"))
        await third.verify_async(token)  # another process, no Redis at all
        fourth = _verifier(issuer, store)
        assert (await fourth.verify_async(token)).sub == "alice"
        assert (fourth.stats.fetches, fourth.stats.l2_loads) == (0, 1)  # the local copy

    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        asyncio.run(scenario())
    assert len(_shared_store_messages(caplog, logging.WARNING)) == 1
    assert not store.available
    store.close()


# === Tampered key sets ============================================================================


def _plant(raw: redis.Redis, store: RedisStore, key: str, value: bytes) -> None:
    raw.set(store.data_key(key), value)


@pytest.mark.parametrize("kind", TAMPERED)
def test_tampered_key_sets_in_redis_are_ignored(
    issuer: LocalIssuer,
    redis_server: RedisServer,
    redis_namespace: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    key = _cache_key(issuer)
    planted, forged = _tampered(kind, issuer, key)
    store = _store(redis_server.url, redis_namespace, tmp_path)
    with redis.Redis.from_url(redis_server.url) as raw:
        _plant(raw, store, key, planted)
    verifier = _verifier(issuer, store)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert verifier.verify(_token(issuer)).sub == "alice"
        with pytest.raises((KeyNotFoundError, AlgorithmNotAllowedError)):
            verifier.verify(forged)
    assert verifier.stats.l2_loads == 0  # the planted entry never served
    assert issuer.requests[JWKS] >= 1
    assert "planted" not in key_state(verifier).kids
    assert any("ignoring it" in r.getMessage() for r in caplog.records), caplog.text
    stored = _stored(redis_server, store, key)
    assert stored is not None
    assert stored["current"]["jwks"] == issuer.jwks()  # the good key set replaced it
    store.close()


def test_a_private_key_planted_in_redis_is_refused(
    issuer: LocalIssuer, redis_server: RedisServer, redis_namespace: str, tmp_path: Path
) -> None:
    key = _cache_key(issuer)
    public = jwk_from_public_key(_attacker_rsa(2048).public_key())
    planted = dict(public, kid="planted", d="AQAB")  # carries a private member
    store = _store(redis_server.url, redis_namespace, tmp_path)
    with redis.Redis.from_url(redis_server.url) as raw:
        _plant(raw, store, key, _document(key, {"keys": [planted]}))
    verifier = _verifier(issuer, store)
    assert verifier.verify(_token(issuer)).sub == "alice"
    assert verifier.stats.l2_loads == 0
    assert verifier.stats.fetches == 1
    store.close()


# === Access control ===============================================================================
def test_an_acl_user_limited_to_its_namespace_is_enough(
    issuer: LocalIssuer,
    redis_server: RedisServer,
    redis_namespace: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The ACL the fleet guide recommends allows everything the store does, and no more."""
    user = f"jwks-{redis_namespace}"
    rules = ["on", ">long-random-password", f"~{redis_namespace}:*", *ACL_COMMANDS]
    with redis.Redis.from_url(redis_server.url) as admin:
        admin.acl_setuser(user, reset=True)
        admin.execute_command("ACL", "SETUSER", user, *rules)
    url = f"redis://{user}:long-random-password@127.0.0.1:{redis_server.port}/0"
    store = _store(url, redis_namespace, tmp_path, fallback=None)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        first = _verifier(issuer, store)
        first.verify(_token(issuer))
        first.refresh()  # takes and releases the refresh lock
        second = _verifier(issuer, store)
        second.hydrate()
    assert (second.stats.fetches, second.stats.l2_loads) == (0, 1)
    with caplog.at_level(logging.INFO, logger="cognito_jwt"):
        _hold_while_renewed(store, "https://issuer.example/jwks", 2, redis_server)  # renewals too
    assert store.available
    assert not _shared_store_messages(caplog, logging.WARNING), caplog.text
    assert "lease" not in caplog.text
    assert store.client.get(store.lock_key(_cache_key(issuer))) is None
    with pytest.raises(redis.exceptions.NoPermissionError):
        store.client.get("another-namespace:jwks:0")
    store.close()

    wrong = _store(url.replace("long-random", "wrong"), redis_namespace, tmp_path, fallback=None)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert wrong.load(_cache_key(issuer)) is None  # refused: an outage, not an exception
    assert not wrong.available
    assert "unavailable" in _shared_store_messages(caplog, logging.WARNING)[-1]
    wrong.close()


def test_after_restore_closes_the_pooled_connections_and_the_next_read_reconnects(
    redis_server: RedisServer, redis_namespace: str, tmp_path: Path
) -> None:
    """A SnapStart copy never reuses a connection the snapshot holds: after_restore closes the
    blocking client's pooled connections; the next command opens a new one."""
    import cognito_jwt

    store = _store(redis_server.url, redis_namespace, tmp_path)
    key = "https://issuer.example/jwks"
    store.save(key, StoredKeySet({"keys": []}, time.time(), 3600.0, key))
    pool = store.client.connection_pool
    connections = list(pool._available_connections)
    assert connections
    assert all(c._sock is not None for c in connections)

    cognito_jwt.after_restore()

    assert all(c._sock is None for c in connections)
    loaded = store.load(key)
    assert loaded is not None
    assert loaded.jwks == {"keys": []}
