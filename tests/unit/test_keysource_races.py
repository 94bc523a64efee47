"""Races between fetches, found by a chaos run and replayed here with forced timing.

Every interleaving is forced with events (a fake issuer that holds a request until released,
a gate that answers what another thread's refresh would have made it answer), never by
sleeping; every wait is bounded by ``WAIT``.
"""

from __future__ import annotations

import asyncio
import threading
from functools import cache
from typing import Any

import pytest

from cognito_jwt import JwtVerifier, KeyNotFoundError, KeySetUnavailableError, RefreshPolicy
from cognito_jwt import _flight as flight
from cognito_jwt._cache import FetchGate
from tests.fake_issuer import WAIT, FakeClock, FakeIssuer, key_a, key_b, oidc_token
from tests.helpers import AUDIENCE, OIDC_ISSUER, SigningKey, _signing_key, rsa_private
from tests.unit._loop_guard import blocking_fetches_on_a_loop

HOUR = 3600.0


@cache
def stranger() -> SigningKey:
    """A key the issuer never publishes (a flood of random kids looks like this)."""
    return _signing_key("RS256", rsa_private(2048, 2), "rsa-x")


@pytest.fixture(autouse=True)
def _default_cache_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("COGNITO_JWT_CACHE_DIR", str(tmp_path / "default-cache"))


loop_guard = pytest.fixture(autouse=True)(blocking_fetches_on_a_loop)


def make(issuer: FakeIssuer, clock: FakeClock, **kwargs: Any) -> Any:
    return JwtVerifier(
        issuer=OIDC_ISSUER,
        audience=AUDIENCE,
        jwks_uri=issuer.jwks_uri,
        clock=clock,
        store=None,
        fetch=issuer.fetch_options(),
        **kwargs,
    )


class Joined:
    """Counts threads that start waiting on another thread's fetch (a single flight)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cond = threading.Condition()
        self.count = 0
        joined = self

        class CountingEvent(threading.Event):
            def wait(self, timeout: float | None = None) -> bool:
                with joined.cond:
                    joined.count += 1
                    joined.cond.notify_all()
                return super().wait(timeout)

        class CountingFlight(flight.Flight[Any]):
            def __init__(self) -> None:
                super().__init__()
                self.done = CountingEvent()

        monkeypatch.setattr(flight, "Flight", CountingFlight)

    def wait_for(self, count: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: self.count >= count, WAIT)


class Call(threading.Thread):
    """``verify`` on a thread; the outcome (claims' sub or the error class name) in ``result``."""

    def __init__(self, verifier: Any, token: str) -> None:
        super().__init__(daemon=True)
        self.verifier, self.token, self.result = verifier, token, "not run"

    def run(self) -> None:
        try:
            self.result = str(self.verifier.verify(self.token)["sub"])
        except Exception as exc:  # noqa: BLE001 - every outcome is recorded and asserted
            self.result = type(exc).__name__

    def outcome(self) -> str:
        self.join(WAIT)
        assert not self.is_alive()
        return self.result


# === 2.10 / 3.4: the async face never falls through to the blocking fetch =======================
class FlippingGate(FetchGate):
    """Backoff says "no" on the first question, "yes" from then on: exactly what the gate
    answers when another thread's refresh succeeds between two looks."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def may_fetch(self, now: float) -> bool:
        self.asked += 1
        return self.asked > 1


def test_async_expired_keys_never_fetch_on_the_loop_when_backoff_lifts_meanwhile() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    verifier.verify(oidc_token(key_a(), clock()))
    clock.advance(13 * HOUR)  # past max_stale: a verification waits for a refresh
    gate = FlippingGate()
    verifier._keys._gate = gate
    claims = asyncio.run(verifier.verify_async(oidc_token(key_a(), clock())))
    assert claims["sub"] == "user-42"  # served (stale-if-error); the loop guard saw no sync fetch


def test_async_expired_keys_fetch_with_the_async_face() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    verifier.verify(oidc_token(key_a(), clock()))
    clock.advance(13 * HOUR)
    asyncio.run(verifier.verify_async(oidc_token(key_a(), clock())))
    assert verifier.stats.refreshes == {"initial": 1, "expired": 1}
    assert issuer.count() == 2


# === 3.2: a kid first seen while a fetch is in flight gets a fetch that started after it ========
def test_threads_new_kid_that_joined_an_older_fetch_gets_a_newer_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    verifier.verify(oidc_token(key_a(), clock()))
    joined = Joined(monkeypatch)
    issuer.block()
    flood = Call(verifier, oidc_token(stranger(), clock()))  # an unknown kid: starts a fetch
    flood.start()
    try:
        assert issuer.entered.wait(WAIT)  # that fetch is at the issuer, before the rotation
        issuer.rotate(key_a(), key_b())
        rotated = Call(verifier, oidc_token(key_b(), clock()))
        rotated.start()
        joined.wait_for(1)  # the new kid joined the fetch in flight
    finally:
        issuer.release()
    assert flood.outcome() == "KeyNotFoundError"
    assert rotated.outcome() == "user-42"
    assert issuer.count() == 3  # warm-up, the flood's fetch, the one the new kid needed
    verifier.verify(oidc_token(key_b(), clock()))  # and it is not negatively cached


def test_tasks_new_kid_that_joined_an_older_fetch_gets_a_newer_one() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    verifier.verify(oidc_token(key_a(), clock()))

    async def scenario() -> list[Any]:
        issuer.block_async()
        assert issuer.async_entered is not None
        assert issuer.async_gate is not None
        flood = asyncio.create_task(verifier.verify_async(oidc_token(stranger(), clock())))
        await asyncio.wait_for(issuer.async_entered.wait(), WAIT)
        issuer.rotate(key_a(), key_b())
        rotated = asyncio.create_task(verifier.verify_async(oidc_token(key_b(), clock())))
        for _ in range(5):  # the new task runs up to the shared fetch it joins (no I/O before)
            await asyncio.sleep(0)
        assert issuer.count() == 2  # it joined, it did not fetch
        issuer.async_gate.set()
        return list(
            await asyncio.wait_for(asyncio.gather(flood, rotated, return_exceptions=True), WAIT)
        )

    flood, rotated = asyncio.run(scenario())
    assert isinstance(flood, KeyNotFoundError)
    assert rotated["sub"] == "user-42"
    assert issuer.count() == 3


def test_a_kid_missing_from_a_fetch_that_started_after_it_is_negatively_cached() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    verifier.verify(oidc_token(key_a(), clock()))
    token = oidc_token(stranger(), clock())
    with pytest.raises(KeyNotFoundError):
        verifier.verify(token)
    with pytest.raises(KeyNotFoundError):
        verifier.verify(token)
    assert issuer.count() == 2  # the second call was refused from the negative cache


def test_follow_up_fetches_are_bounded_under_a_flood(monkeypatch: pytest.MonkeyPatch) -> None:
    # Random kids that keep joining fetches in flight earn at most one follow-up per cooldown.
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    verifier.verify(oidc_token(key_a(), clock()))
    joined = Joined(monkeypatch)
    kids = [_signing_key("RS256", rsa_private(2048, 3), f"random-{i}") for i in range(3)]
    issuer.block()
    first = Call(verifier, oidc_token(kids[0], clock()))
    first.start()
    try:
        assert issuer.entered.wait(WAIT)
        second = Call(verifier, oidc_token(kids[1], clock()))
        second.start()
        joined.wait_for(1)
        issuer.entered.clear()
    finally:
        issuer.release()
    assert first.outcome() == "KeyNotFoundError"
    assert second.outcome() == "KeyNotFoundError"  # after its follow-up fetch
    assert issuer.count() == 3
    with pytest.raises(KeyNotFoundError):  # cooldown and follow-up allowance both spent
        verifier.verify(oidc_token(kids[2], clock()))
    assert issuer.count() == 3


# === 3.5: after a failed refresh, look at the key set again before failing =======================
def test_failed_async_refresh_uses_keys_the_sync_side_installed() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    verifier.verify(oidc_token(key_a(), clock()))
    issuer.rotate(key_a(), key_b())

    async def scenario() -> Any:
        issuer.block_async()
        assert issuer.async_entered is not None
        assert issuer.async_gate is not None
        call = asyncio.create_task(verifier.verify_async(oidc_token(key_b(), clock())))
        await asyncio.wait_for(issuer.async_entered.wait(), WAIT)
        await asyncio.wait_for(asyncio.to_thread(verifier.refresh), WAIT)  # sync side: A and B
        issuer.fail("500")  # the async fetch, released now, fails
        issuer.async_gate.set()
        return await asyncio.wait_for(call, WAIT)

    assert asyncio.run(scenario())["sub"] == "user-42"
    assert verifier.stats.fetch_failures == 1


def test_failed_sync_refresh_uses_keys_the_async_side_installed() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    verifier.verify(oidc_token(key_a(), clock()))
    issuer.rotate(key_a(), key_b())
    issuer.block()
    call = Call(verifier, oidc_token(key_b(), clock()))
    call.start()
    try:
        assert issuer.entered.wait(WAIT)
        asyncio.run(verifier.refresh_async())  # async side installs A and B
        issuer.fail("500")
    finally:
        issuer.release()
    assert call.outcome() == "user-42"
    assert verifier.stats.fetch_failures == 1


def test_failed_initial_fetch_uses_keys_another_caller_installed() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    issuer.block()
    call = Call(verifier, oidc_token(key_a(), clock()))
    call.start()
    try:
        assert issuer.entered.wait(WAIT)
        asyncio.run(verifier.hydrate_async())
        issuer.fail("500")
    finally:
        issuer.release()
    assert call.outcome() == "user-42"


def test_a_failed_refresh_with_nothing_new_still_fails() -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock, refresh=RefreshPolicy())
    verifier.verify(oidc_token(key_a(), clock()))
    issuer.rotate(key_a(), key_b())
    issuer.fail("500")
    with pytest.raises(KeySetUnavailableError) as info:
        verifier.verify(oidc_token(key_b(), clock()))
    assert info.value.status_code == 500


# === 3.1: a stuck leader never blocks recovery ===================================================
@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The key source's monotonic clock (ages of fetches in flight), moved by the test."""
    clock = FakeClock(0.0)
    monkeypatch.setattr(flight, "_monotonic", clock)
    return clock


def test_threads_a_fetch_stuck_past_the_wait_limit_does_not_hold_the_next_one(
    monotonic: FakeClock,
) -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    token = oidc_token(key_a(), clock())
    issuer.block()
    stuck = Call(verifier, token)
    stuck.start()
    try:
        assert issuer.entered.wait(WAIT)  # the leader hangs (a store, a coordinator, a bug)
        issuer.block_path = None  # the issuer itself is well again
        monotonic.advance(verifier._keys._flights.wait_limit + 1)
        assert verifier.verify(token)["sub"] == "user-42"  # a new fetch, not the stuck one
        assert issuer.count() == 2
    finally:
        issuer.release()
    assert stuck.outcome() == "user-42"
    assert (
        verifier._keys._flights.flight is None
    )  # the late leader did not clear anyone else's flight


def test_tasks_a_fetch_stuck_past_the_wait_limit_does_not_hold_the_next_one(
    monotonic: FakeClock,
) -> None:
    issuer, clock = FakeIssuer(keys=(key_a(),)), FakeClock()
    verifier = make(issuer, clock)
    token = oidc_token(key_a(), clock())

    async def scenario() -> list[Any]:
        issuer.block_async()
        assert issuer.async_entered is not None
        assert issuer.async_gate is not None
        stuck = asyncio.create_task(verifier.verify_async(token))
        await asyncio.wait_for(issuer.async_entered.wait(), WAIT)
        issuer.async_block_path = None
        monotonic.advance(verifier._keys._flights.wait_limit + 1)
        fresh = await asyncio.wait_for(verifier.verify_async(token), WAIT)
        assert issuer.count() == 2
        issuer.async_gate.set()
        return [fresh, await asyncio.wait_for(stuck, WAIT)]

    assert [claims["sub"] for claims in asyncio.run(scenario())] == ["user-42", "user-42"]
