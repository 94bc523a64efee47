"""Single flight: many threads or tasks that need the same fetch share one request.

No sleeps: the fake issuer holds the JWKS request on an event until every caller is inside
``verify`` (waiting on the shared fetch, or already finished), and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cognito_jwt import JwtVerifier, KeyNotFoundError, MemoryStore, StoredKeySet
from cognito_jwt import _flight as flight
from tests.fake_issuer import WAIT, FakeClock, FakeIssuer, drain, key_a, key_b, oidc_token
from tests.helpers import AUDIENCE, OIDC_ISSUER, key_state

THREADS = 100
TASKS = 1000


@pytest.fixture(autouse=True)
def _default_cache_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("COGNITO_JWT_CACHE_DIR", str(tmp_path / "default-cache"))


def make(issuer: FakeIssuer, clock: FakeClock, *, discovery: bool, store: Any = None) -> Any:
    extra = {} if discovery else {"jwks_uri": issuer.jwks_uri}
    return JwtVerifier(
        issuer=OIDC_ISSUER,
        audience=AUDIENCE,
        clock=clock,
        store=store,
        fetch=issuer.fetch_options(),
        **extra,
    )


# === Counting the threads that wait on a shared fetch =============================================
class Tally:
    """Threads waiting on a flight, and threads done with ``verify``; wakes whoever watches."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.waiting = 0
        self.finished = 0

    def bump(self, name: str) -> None:
        with self.cond:
            setattr(self, name, getattr(self, name) + 1)
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool]) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, WAIT)


@pytest.fixture
def tally(monkeypatch: pytest.MonkeyPatch) -> Tally:
    """Make every single-flight record the threads that start waiting on it."""
    counts = Tally()

    class CountingEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            counts.bump("waiting")
            return super().wait(timeout)

    class CountingFlight(flight.Flight[Any]):
        def __init__(self) -> None:
            super().__init__()
            self.done = CountingEvent()

    monkeypatch.setattr(flight, "Flight", CountingFlight)
    return counts


def run_threads(
    verifier: Any, token: str, issuer: FakeIssuer, tally: Tally, count: int = THREADS
) -> list[str]:
    """Start *count* threads verifying *token* at once; release the JWKS request when all are in."""
    results: list[str] = ["not run"] * count
    barrier = threading.Barrier(count)

    def worker(index: int) -> None:
        try:
            barrier.wait(WAIT)
            results[index] = verifier.verify(token)["sub"]
        except Exception as exc:  # noqa: BLE001 - every outcome is recorded and asserted
            results[index] = type(exc).__name__
        finally:
            tally.bump("finished")

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        assert issuer.entered.wait(WAIT), "no fetch started"
        # the fetching thread is inside the handler; all others wait on its flight or are done
        assert tally.wait_for(lambda: tally.waiting + tally.finished >= count - 1)
    finally:
        issuer.release()
        deadline = time.monotonic() + WAIT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads)
    return results


async def run_tasks(verifier: Any, token: str, issuer: FakeIssuer, count: int = TASKS) -> list[str]:
    """Start *count* tasks verifying *token*; release the JWKS request once all are waiting."""
    started = 0

    async def attempt() -> str:
        nonlocal started
        started += 1
        try:
            return str((await verifier.verify_async(token))["sub"])
        except Exception as exc:  # noqa: BLE001 - every outcome is recorded and asserted
            return type(exc).__name__

    issuer.block_async()
    assert issuer.async_entered is not None
    assert issuer.async_gate is not None
    tasks = [asyncio.create_task(attempt()) for _ in range(count)]
    try:
        await asyncio.wait_for(issuer.async_entered.wait(), WAIT)
        # The fetch task was created by the first caller, after all callers were scheduled:
        # by the time it reaches the issuer, every caller ran up to its first await.
        assert started == count
    finally:
        issuer.async_gate.set()
    return list(await asyncio.wait_for(asyncio.gather(*tasks), WAIT))


# === Rotation: a new kid seen by many callers at once =============================================
def _rotated(discovery: bool = False) -> tuple[FakeIssuer, FakeClock, Any]:
    issuer = FakeIssuer(keys=(key_a(),))
    clock = FakeClock()
    verifier = make(issuer, clock, discovery=discovery)
    verifier.verify(oidc_token(key_a(), clock()))  # warm: key A is known
    issuer.rotate(key_a(), key_b())
    return issuer, clock, verifier


def test_threads_rotation_single_fetch_and_all_succeed(tally: Tally) -> None:
    issuer, clock, verifier = _rotated()
    issuer.block()
    results = run_threads(verifier, oidc_token(key_b(), clock()), issuer, tally)
    assert issuer.count() == 2  # the warm-up and exactly one unknown-kid fetch
    assert verifier.stats.refreshes == {"initial": 1, "unknown_kid": 1}
    assert results == ["user-42"] * THREADS


def test_tasks_rotation_single_fetch_and_all_succeed() -> None:
    issuer, clock, verifier = _rotated()
    results = asyncio.run(run_tasks(verifier, oidc_token(key_b(), clock()), issuer))
    assert issuer.count() == 2
    assert verifier.stats.refreshes == {"initial": 1, "unknown_kid": 1}
    assert results == ["user-42"] * TASKS


# === Cold start: an empty cache and many callers ==================================================
@pytest.mark.parametrize("discovery", [True, False])
def test_threads_cold_start_single_fetch(tally: Tally, discovery: bool) -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock, discovery=discovery)
    issuer.block()
    results = run_threads(verifier, oidc_token(key_a(), clock()), issuer, tally)
    assert results == ["user-42"] * THREADS
    assert issuer.count() == 1
    assert issuer.count(issuer.oidc_path) == (1 if discovery else 0)
    assert verifier.stats.fetches == 1
    assert tally.waiting == THREADS - 1


@pytest.mark.parametrize("discovery", [True, False])
def test_tasks_cold_start_single_fetch(discovery: bool) -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock, discovery=discovery)
    results = asyncio.run(run_tasks(verifier, oidc_token(key_a(), clock()), issuer))
    assert results == ["user-42"] * TASKS
    assert issuer.count() == 1
    assert issuer.count(issuer.oidc_path) == (1 if discovery else 0)
    assert verifier.stats.fetches == 1


def test_threads_share_a_failure(tally: Tally) -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock, discovery=False)
    issuer.fail("500")
    issuer.block()
    results = run_threads(verifier, oidc_token(key_a(), clock()), issuer, tally, count=20)
    assert results == ["KeySetUnavailableError"] * 20
    assert issuer.count() == 1
    assert verifier.stats.fetch_failures == 1


def test_tasks_share_a_failure() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock, discovery=False)
    issuer.fail("500")
    results = asyncio.run(run_tasks(verifier, oidc_token(key_a(), clock()), issuer, count=50))
    assert results == ["KeySetUnavailableError"] * 50
    assert issuer.count() == 1


# === Cancellation =================================================================================
def test_cancelled_waiter_does_not_cancel_the_shared_fetch() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock, discovery=False)
    token = oidc_token(key_a(), clock())

    async def scenario() -> str:
        issuer.block_async()
        assert issuer.async_entered is not None
        assert issuer.async_gate is not None
        starter = asyncio.create_task(verifier.verify_async(token))  # starts the fetch
        other = asyncio.create_task(verifier.verify_async(token))
        await asyncio.wait_for(issuer.async_entered.wait(), WAIT)
        starter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starter
        issuer.async_gate.set()
        claims = await asyncio.wait_for(other, WAIT)
        return str(claims["sub"])

    assert asyncio.run(scenario()) == "user-42"
    assert issuer.count() == 1
    assert key_state(verifier).kids == frozenset({"rsa-a"})


def test_fetch_completes_even_if_every_waiter_is_cancelled() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock, discovery=True)
    token = oidc_token(key_a(), clock())

    async def scenario() -> str:
        issuer.block_async()
        assert issuer.async_entered is not None
        assert issuer.async_gate is not None
        waiters = [asyncio.create_task(verifier.verify_async(token)) for _ in range(10)]
        await asyncio.wait_for(issuer.async_entered.wait(), WAIT)
        for waiter in waiters:
            waiter.cancel()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        issuer.async_gate.set()
        await asyncio.wait_for(drain(verifier._keys), WAIT)
        assert key_state(verifier).kids == frozenset({"rsa-a"})
        return str((await verifier.verify_async(token))["sub"])

    assert asyncio.run(scenario()) == "user-42"
    assert issuer.count() == 1
    assert verifier.stats.fetches == 1


# === Sequence numbers across concurrent fetches ===================================================
def test_older_async_fetch_finishing_last_does_not_overwrite_newer_keys() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    store = MemoryStore()
    verifier = JwtVerifier(
        issuer=OIDC_ISSUER,
        audience=AUDIENCE,
        jwks_uri=issuer.jwks_uri,
        clock=clock,
        store=store,
        fetch=issuer.fetch_options(),
    )
    verifier.verify(oidc_token(key_a(), clock()))  # seq 1

    async def scenario() -> None:
        issuer.block_async()
        assert issuer.async_entered is not None
        assert issuer.async_gate is not None
        older = asyncio.create_task(verifier.refresh_async())  # seq 2: will answer key A
        await asyncio.wait_for(issuer.async_entered.wait(), WAIT)
        issuer.rotate(key_b())
        await asyncio.wait_for(asyncio.to_thread(verifier.refresh), WAIT)  # seq 3: key B
        assert key_state(verifier).kids == frozenset({"rsa-b"})
        issuer.async_gate.set()
        await asyncio.wait_for(older, WAIT)

    asyncio.run(scenario())
    assert issuer.count() == 3
    snapshot = verifier._keys.snapshot
    assert snapshot.seq == 3
    assert snapshot.keyset.kids == frozenset({"rsa-b"})
    record = store.load(verifier._keys.cache_key)
    assert record is not None
    assert [k["kid"] for k in record.jwks["keys"]] == ["rsa-b"]
    verifier.verify(oidc_token(key_b(), clock()))
    with pytest.raises(KeyNotFoundError):
        verifier.verify(oidc_token(key_a(), clock()))


# === A slow L2 store at cold start ================================================================
class SlowStore(MemoryStore):
    """A store whose loads answer late (a slow disk or a remote cache): what they read before
    another caller's fetch saved a newer record."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.async_entered = asyncio.Event()
        self.async_release = asyncio.Event()

    def load(self, key: str) -> StoredKeySet | None:
        record = super().load(key)  # read now; the answer arrives late
        self.entered.set()
        assert self.release.wait(WAIT)
        return record

    async def load_async(self, key: str) -> StoredKeySet | None:
        record = await super().load_async(key)
        self.async_entered.set()
        await asyncio.wait_for(self.async_release.wait(), WAIT)
        return record


@pytest.fixture
def slow_store() -> Iterator[SlowStore]:
    store = SlowStore()
    yield store
    store.release.set()


def test_threads_cold_start_with_slow_store_fetch_once(slow_store: SlowStore) -> None:
    # Thread 1 is reading the (empty) store when thread 2 fetches and installs the keys;
    # thread 1 must then use those keys instead of fetching again.
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock, discovery=False, store=slow_store)
    token = oidc_token(key_a(), clock())
    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(verifier.verify(token)["sub"]))
    first.start()
    try:
        assert slow_store.entered.wait(WAIT)
        second = threading.Thread(target=lambda: results.append(verifier.verify(token)["sub"]))
        second.start()
        second.join(WAIT)
        assert not second.is_alive()
        assert issuer.count() == 1
    finally:
        slow_store.release.set()
        first.join(WAIT)
    assert not first.is_alive()
    assert results == ["user-42", "user-42"]
    assert issuer.count() == 1
    assert verifier.stats.fetches == 1


def test_tasks_cold_start_with_slow_store_fetch_once(slow_store: SlowStore) -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock, discovery=False, store=slow_store)
    token = oidc_token(key_a(), clock())

    async def scenario() -> list[str]:
        slow_store.async_entered = asyncio.Event()
        slow_store.async_release = asyncio.Event()
        first = asyncio.create_task(verifier.verify_async(token))
        await asyncio.wait_for(slow_store.async_entered.wait(), WAIT)
        second = await asyncio.wait_for(verifier.verify_async(token), WAIT)
        assert issuer.count() == 1
        slow_store.async_release.set()
        return [str((await asyncio.wait_for(first, WAIT))["sub"]), str(second["sub"])]

    assert asyncio.run(scenario()) == ["user-42", "user-42"]
    assert issuer.count() == 1
    assert verifier.stats.fetches == 1
