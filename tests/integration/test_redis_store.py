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
import threading
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
)
from cognito_jwt._b64 import b64url_encode
from cognito_jwt._jwk import jwk_from_public_key
from cognito_jwt.stores import RedisStore
from cognito_jwt.testing import LocalIssuer
from tests.helpers import _signing_key, key_state, rsa_private
from tests.integration.redis_worker import WAIT, Worker
from tests.servers.redis_server import RedisServer

JWKS = "/.well-known/jwks.json"
DISCOVERY = "/.well-known/openid-configuration"
FLEET = 8
# Also the refresh lease: a dead holder blocks others about this long. On a saturated 2-core
# machine a fleet member's verification takes 2-6 s, so the lease is renewed several times; a
# shorter timeout would fail the holder's own requests (a 1 s discovery GET timed out there).
FETCH_TIMEOUT = 2.0
SLOW_JWKS = 0.3  # seconds an issuer across the internet may take to answer, on a busy machine
# The commands the fleet guide's ACL example grants (docs/guides/fleet.md, "Security").
ACL_COMMANDS = ["+get", "+set", "+eval", "+del"]


# === Helpers ======================================================================================
class GatedIssuer(LocalIssuer):
    """A LocalIssuer whose JWKS answers wait while ``gate`` is closed (a fetch in mid-flight).

    ``jwks_delay`` makes every JWKS answer take that long (a slow issuer), as seen from the
    fleet: the issuer's answer is late, not the test.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.jwks_delay = 0.0

    def _answer(self, path: str) -> Any:
        if path == JWKS:
            self.gate.wait(WAIT)
            if self.jwks_delay:
                time.sleep(self.jwks_delay)
        return super()._answer(path)


@pytest.fixture
def issuer() -> Iterator[GatedIssuer]:
    with GatedIssuer() as local:
        yield local


def _token(issuer: LocalIssuer, sub: str = "alice") -> str:
    return issuer.mint({"aud": "api", "sub": sub})


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


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _cache_key(issuer: LocalIssuer) -> str:
    return f"discovery:{issuer.issuer}"


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
def _cold_fleet(issuer: LocalIssuer, fleet: Callable[..., Worker], mode: str) -> None:
    """FLEET new processes verify at once, sharing one Redis: one fetch for all of them."""
    workers = [fleet(issuer, mode=mode, barrier=True) for _ in range(FLEET)]
    for worker in workers:
        worker.ready()
    for worker in workers:  # all at once: their refreshes race
        worker.go()
    results = [worker.result() for worker in workers]
    assert all(r["ok"] for r in results), results
    assert [r["sub"] for r in results] == [f"user-{n}" for n in range(FLEET)]
    assert issuer.requests[JWKS] == 1, results
    assert issuer.requests[DISCOVERY] == 1, results
    assert sum(r["fetches"] for r in results) == 1
    assert sum(r["l2_loads"] for r in results) == FLEET - 1


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
def _attacker_rsa(bits: int) -> Any:
    return rsa_private(bits, seed=99)


def _plant(raw: redis.Redis, store: RedisStore, key: str, value: bytes) -> None:
    raw.set(store.data_key(key), value)


def _document(key: str, jwks: Any, *, fetched_at: float | None = None) -> bytes:
    current = {
        "jwks": jwks,
        "fetched_at": time.time() if fetched_at is None else fetched_at,
        "max_age": 3600.0,
        "jwks_uri": "http://127.0.0.1:1/.well-known/jwks.json",
    }
    return json.dumps({"schema": 1, "key": key, "current": current, "history": []}).encode()


def _hs256_token(secret: bytes, claims: dict[str, Any]) -> str:
    import hashlib
    import hmac

    header = b64url_encode(json.dumps({"alg": "HS256", "kid": "planted"}).encode())
    payload = b64url_encode(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url_encode(signature)}"


TAMPERED = ["weak-rsa", "hmac", "garbage", "wrong-types", "future", "other-key"]


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
    claims = {"iss": issuer.issuer, "aud": "api", "sub": "mallory", "exp": int(time.time()) + 60}
    weak = _signing_key("RS256", _attacker_rsa(1024), "planted")
    strong = _signing_key("RS256", _attacker_rsa(2048), "planted")
    secret = b"attacker-chosen-secret"
    planted = {
        "weak-rsa": _document(key, {"keys": [weak.jwk]}),
        "hmac": _document(key, {"keys": [{"kty": "oct", "kid": "planted", "k": "c2VjcmV0"}]}),
        "garbage": b"\x00\x01 not json at all \xff",
        "wrong-types": _document(key, [strong.jwk], fetched_at="now"),  # type: ignore[arg-type]
        # a valid key, but claiming a fetch time a year ahead: it would never be refreshed
        "future": _document(key, {"keys": [strong.jwk]}, fetched_at=time.time() + 365 * 86400),
        "other-key": _document("discovery:https://elsewhere.example", {"keys": [strong.jwk]}),
    }[kind]
    forged = (
        _hs256_token(secret, claims)
        if kind == "hmac"
        else (weak if kind == "weak-rsa" else strong).sign(claims)
    )
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
