"""``RemoteKeySource`` with a store that coordinates refreshes between processes.

A scripted :class:`CoordinatingStore` stands in for Redis: it records what the key source asks
(``newer_than``, ``timeout``) and yields what the test says another process stored meanwhile.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from cognito_jwt import KeyNotFoundError, KeySetUnavailableError, MemoryStore, StoredKeySet
from cognito_jwt.stores import RefreshCoordinator
from tests.fake_issuer import Runner
from tests.helpers import SigningKey, jwks_of, key_state
from tests.unit.test_keysource import HOUR, World, key_a, key_b, weak_rsa_jwk


class CoordinatingStore(MemoryStore):
    """A memory store whose ``coordinate`` yields scripted results and records each call."""

    def __init__(self) -> None:
        super().__init__()
        self.shared: list[StoredKeySet | None] = []  # what the next coordinations yield
        self.calls: list[tuple[float | None, float]] = []
        self.exited = 0

    def _next(self, newer_than: float | None, timeout: float) -> StoredKeySet | None:
        self.calls.append((newer_than, timeout))
        return self.shared.pop(0) if self.shared else None

    @contextlib.contextmanager
    def coordinate(
        self, key: str, *, newer_than: float | None, timeout: float
    ) -> Iterator[StoredKeySet | None]:
        try:
            yield self._next(newer_than, timeout)
        finally:
            self.exited += 1

    @contextlib.asynccontextmanager
    async def coordinate_async(
        self, key: str, *, newer_than: float | None, timeout: float
    ) -> AsyncIterator[StoredKeySet | None]:
        try:
            yield self._next(newer_than, timeout)
        finally:
            self.exited += 1


@pytest.fixture(params=["sync", "async"])
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    run = Runner(str(request.param))
    yield run
    run.close()


@pytest.fixture
def oidc(runner: Runner, tmp_path: Path) -> World:
    return World("jwks_uri", runner, tmp_path)


@pytest.fixture
def store() -> CoordinatingStore:
    coordinating = CoordinatingStore()
    assert isinstance(coordinating, RefreshCoordinator)
    return coordinating


def _shared(world: World, *keys: SigningKey, age: float = 0.0, **jwks: Any) -> StoredKeySet:
    document = jwks or jwks_of(*keys)
    return StoredKeySet(document, world.clock() - age, HOUR, world.issuer.jwks_uri)


def test_a_key_set_another_process_fetched_replaces_the_fetch(
    oidc: World, store: CoordinatingStore
) -> None:
    store.shared = [_shared(oidc, key_a())]
    verifier = oidc.make(store=store, fetch={"timeout": 2.5})
    oidc.ok(verifier)
    assert oidc.jwks_hits == 0
    assert verifier.stats.fetches == 0
    assert verifier.stats.l2_loads == 1
    assert store.calls == [(None, 2.5)]  # cold: any key set will do; the lock lasts one fetch
    assert store.exited == 1
    oidc.ok(verifier)
    assert verifier.stats.l1_hits == 1


def test_without_a_shared_key_set_this_process_fetches_and_saves(
    oidc: World, store: CoordinatingStore
) -> None:
    verifier = oidc.make(store=store)
    oidc.ok(verifier)
    assert oidc.jwks_hits == 1
    assert store.load(verifier._keys.cache_key) is not None  # saved inside the coordination
    assert store.exited == 1


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": [weak_rsa_jwk()]},  # 1024-bit RSA
        {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "rsa-a", "alg": "HS256"}]},
        {"keys": "not a list"},
    ],
    ids=["weak-rsa", "hmac", "wrong-type"],
)
def test_an_unusable_shared_key_set_is_fetched_over(
    oidc: World, store: CoordinatingStore, jwks: dict[str, Any]
) -> None:
    store.shared = [_shared(oidc, **jwks)]
    verifier = oidc.make(store=store)
    oidc.ok(verifier)
    assert oidc.jwks_hits == 1
    assert verifier.stats.l2_loads == 0
    assert key_state(verifier).source == "network"  # fetched here, not adopted


def test_a_shared_key_set_from_the_future_is_fetched_over(
    oidc: World, store: CoordinatingStore
) -> None:
    store.shared = [_shared(oidc, key_b(), age=-365 * 24 * HOUR)]
    verifier = oidc.make(store=store)
    oidc.ok(verifier)
    assert oidc.jwks_hits == 1
    oidc.fails(verifier, oidc.token(key_b()), KeyNotFoundError)


def test_aging_keys_take_any_newer_shared_key_set(oidc: World, store: CoordinatingStore) -> None:
    verifier = oidc.make(store=store)
    oidc.ok(verifier)
    fetched_at = oidc.clock()
    oidc.clock.advance(13 * HOUR)  # past max_stale: the refresh blocks
    store.shared = [_shared(oidc, key_a(), key_b(), age=60)]
    oidc.ok(verifier, oidc.token(key_b()))
    assert store.calls[-1][0] == fetched_at
    assert oidc.jwks_hits == 1
    assert verifier.stats.refreshes == {"initial": 1}  # the expired refresh cost no fetch


@pytest.mark.parametrize("reason", ["unknown_kid", "manual"])
def test_event_refreshes_need_a_key_set_fetched_after_the_event(
    oidc: World, store: CoordinatingStore, reason: str
) -> None:
    verifier = oidc.make(store=store)
    oidc.ok(verifier)
    oidc.clock.advance(600)
    oidc.issuer.rotate(key_a(), key_b())
    if reason == "manual":
        oidc.runner.refresh(verifier)
    else:
        oidc.ok(verifier, oidc.token(key_b()))
    assert store.calls[-1][0] == oidc.clock()
    assert verifier.stats.refreshes == {"initial": 1, reason: 1}


def test_an_unusable_stored_key_set_raises_the_bar_for_shared_ones(
    oidc: World, store: CoordinatingStore
) -> None:
    old = _shared(oidc, key_a(), age=30 * HOUR)  # past stale_if_error: not served
    store.save(oidc.issuer.jwks_uri, old)
    verifier = oidc.make(store=store)
    oidc.ok(verifier)
    assert oidc.jwks_hits == 1
    assert store.calls == [(old.fetched_at, pytest.approx(5.0))]  # the same old set won't do


def test_a_failed_fetch_still_leaves_the_coordination(
    oidc: World, store: CoordinatingStore
) -> None:
    oidc.issuer.fail("500")
    verifier = oidc.make(store=store)
    oidc.fails(verifier, None, KeySetUnavailableError)
    assert store.exited == 1
