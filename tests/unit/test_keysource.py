"""``RemoteKeySource`` through the public verifiers: L1/L2, refresh triggers, failures, events.

Every test drives a fake issuer (``httpx.MockTransport``) and a fake clock; the async face runs
on one event loop per test so background refresh tasks can be awaited.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cognito_jwt import (
    CognitoVerifier,
    ConfigurationError,
    DiscoveryError,
    FileStore,
    InvalidJwksError,
    InvalidSignatureError,
    JwtError,
    JwtVerifier,
    KeyNotFoundError,
    KeySetUnavailableError,
    MemoryStore,
    RefreshPolicy,
    StoredKeySet,
)
from cognito_jwt._http import Fetched
from cognito_jwt._jwk import jwk_from_public_key
from cognito_jwt._keysource import RemoteKeySource
from tests.fake_issuer import FakeClock, FakeIssuer, Runner, cognito_token, key_a, key_b, oidc_token
from tests.helpers import (
    AUDIENCE,
    CLIENT_ID,
    ISSUER,
    OIDC_ISSUER,
    POOL_ID,
    SigningKey,
    _signing_key,
    jwks_of,
    key_state,
    raw_token,
    rsa_private,
)
from tests.unit._loop_guard import blocking_fetches_on_a_loop

HOUR = 3600.0
KINDS = ["discovery", "jwks_uri", "cognito"]


@cache
def impostor_a() -> SigningKey:
    """A different private key that claims key A's kid: its signatures fail with key A."""
    return _signing_key("RS256", rsa_private(2048, 1), "rsa-a")


@cache
def weak_rsa_jwk() -> dict[str, Any]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - deliberately too weak
    return dict(jwk_from_public_key(private.public_key()), kid="rsa-a", alg="RS256")


# === The world of one test ========================================================================
@dataclass
class World:
    kind: str
    runner: Runner
    tmp: Path
    clock: FakeClock = field(default_factory=FakeClock)
    issuer: FakeIssuer = field(init=False)

    def __post_init__(self) -> None:
        if self.kind == "cognito":
            # keys served from a loopback test server; tokens carry the real Cognito issuer
            self.issuer = FakeIssuer(ISSUER, base="http://127.0.0.1:9", keys=(key_a(),))
        else:
            self.issuer = FakeIssuer(OIDC_ISSUER, keys=(key_a(),))

    def make(self, *, store: Any = None, fetch: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        options: dict[str, Any] = {
            "clock": self.clock,
            "store": store,
            "fetch": self.issuer.fetch_options(**(fetch or {})),
            **kwargs,
        }
        if self.kind == "cognito":
            return CognitoVerifier(
                user_pool_id=POOL_ID,
                client_id=CLIENT_ID,
                token_use="access",
                jwks_uri=self.issuer.jwks_uri,
                **options,
            )
        if self.kind == "jwks_uri":
            options["jwks_uri"] = self.issuer.jwks_uri
        return JwtVerifier(issuer=OIDC_ISSUER, audience=AUDIENCE, **options)

    def token(self, key: SigningKey | None = None, **overrides: Any) -> str:
        mint = cognito_token if self.kind == "cognito" else oidc_token
        return mint(key or key_a(), self.clock(), **overrides)

    def verify(self, verifier: Any, token: str | None = None) -> Any:
        return self.runner.verify(verifier, token or self.token())

    def ok(self, verifier: Any, token: str | None = None) -> None:
        claims = self.verify(verifier, token)
        expected = "user-42" if self.kind != "cognito" else "8d2f5f0e-1111-4222-8333-444455556666"
        assert claims["sub"] == expected

    def fails(self, verifier: Any, token: str | None, error: type[JwtError]) -> JwtError:
        with pytest.raises(error) as info:
            self.verify(verifier, token)
        return info.value

    @property
    def jwks_hits(self) -> int:
        return self.issuer.count()

    @property
    def discovery_hits(self) -> int:
        return self.issuer.count(self.issuer.oidc_path)

    def store(self, name: str = "l2") -> FileStore:
        return FileStore(self.tmp / name)


@pytest.fixture(autouse=True)
def _default_cache_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Safety net: a verifier built with store="default" writes under tmp_path only."""
    monkeypatch.setenv("COGNITO_JWT_CACHE_DIR", str(tmp_path / "default-cache"))


# Every async scenario below also proves the async face never ran a blocking fetch.
loop_guard = pytest.fixture(autouse=True)(blocking_fetches_on_a_loop)


@pytest.fixture(params=["sync", "async"])
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    run = Runner(str(request.param))
    yield run
    run.close()


@pytest.fixture(params=KINDS)
def world(request: pytest.FixtureRequest, runner: Runner, tmp_path: Path) -> World:
    return World(str(request.param), runner, tmp_path)


@pytest.fixture
def oidc(runner: Runner, tmp_path: Path) -> World:
    """A JwtVerifier world that configures the JWKS URI (no discovery)."""
    return World("jwks_uri", runner, tmp_path)


@pytest.fixture
def disco(runner: Runner, tmp_path: Path) -> World:
    """A JwtVerifier world that discovers the JWKS URI."""
    return World("discovery", runner, tmp_path)


# === Cold start, L1, L2 ===========================================================================
def test_cold_start_fetches_once_then_serves_from_memory(world: World) -> None:
    verifier = world.make()
    world.ok(verifier)
    assert world.jwks_hits == 1
    assert world.discovery_hits == (1 if world.kind == "discovery" else 0)
    assert verifier.stats.fetches == 1
    assert verifier.stats.refreshes == {"initial": 1}
    for _ in range(5):
        world.ok(verifier)
    assert world.issuer.total == (2 if world.kind == "discovery" else 1)
    assert verifier.stats.l1_hits == 5
    assert verifier.stats.fetch_failures == 0


def test_hydrate_loads_keys_before_the_first_token(world: World) -> None:
    verifier = world.make()
    world.runner.hydrate(verifier)
    assert world.jwks_hits == 1
    world.ok(verifier)
    assert world.jwks_hits == 1
    assert verifier.stats.l1_hits == 1


def test_warm_l2_serves_a_new_verifier_without_network(world: World) -> None:
    first = world.make(store=world.store())
    world.ok(first)
    before = world.issuer.total
    second = world.make(store=world.store())
    world.ok(second)
    world.ok(second)
    assert world.issuer.total == before
    assert second.stats.l2_loads == 1
    assert second.stats.fetches == 0
    assert key_state(second).source == "store"
    assert key_state(second).url == world.issuer.jwks_uri


def test_fetch_writes_the_document_to_l2(world: World) -> None:
    store = MemoryStore()
    verifier = world.make(store=store)
    world.ok(verifier)
    record = store.load(verifier._keys.cache_key)
    assert record is not None
    assert record.jwks == jwks_of(key_a())
    assert record.jwks_uri == world.issuer.jwks_uri
    assert record.fetched_at == world.clock()
    assert record.max_age == 3600
    expected_key = (
        f"discovery:{OIDC_ISSUER}" if world.kind == "discovery" else world.issuer.jwks_uri
    )
    assert verifier._keys.cache_key == expected_key


def test_l2_older_than_stale_if_error_is_ignored(world: World) -> None:
    world.ok(world.make(store=world.store()))
    world.clock.advance(24 * HOUR)  # exactly stale_if_error: unusable
    second = world.make(store=world.store())
    world.ok(second)
    assert second.stats.l2_loads == 0
    assert second.stats.refreshes == {"initial": 1}
    assert world.jwks_hits == 2


def test_expired_l2_with_issuer_down_serves_stale_if_error(world: World) -> None:
    world.ok(world.make(store=world.store()))
    world.clock.advance(13 * HOUR)  # past max_stale, before stale_if_error
    world.issuer.fail("connect")
    second = world.make(store=world.store())
    world.ok(second)
    assert second.stats.l2_loads == 1
    assert second.stats.fetch_failures == 1
    assert second.stats.stale_served == 1


@pytest.mark.parametrize("poison", ["weak_rsa", "private_members", "no_keys", "not_a_jwks"])
def test_poisoned_l2_entry_is_ignored(
    world: World, poison: str, caplog: pytest.LogCaptureFixture
) -> None:
    probe = world.make()
    cache_key = probe._keys.cache_key
    documents: dict[str, Any] = {
        "weak_rsa": {"keys": [weak_rsa_jwk()]},
        "private_members": {"keys": [dict(key_a().jwk, d="AQAB", p="AQAB", q="AQAB")]},
        "no_keys": {"keys": []},
        "not_a_jwks": {"issuer": "x"},
    }
    store = world.store()
    store.save(
        cache_key, StoredKeySet(documents[poison], world.clock(), 3600, world.issuer.jwks_uri)
    )
    verifier = world.make(store=world.store())
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        world.ok(verifier)
    assert verifier.stats.l2_loads == 0
    assert world.jwks_hits == 1
    assert any("key store entry" in r.getMessage() for r in caplog.records)
    record = store.load(cache_key)  # overwritten by the good document
    assert record is not None
    assert record.jwks == jwks_of(key_a())


def test_l2_entry_for_another_jwks_uri_is_ignored(oidc: World) -> None:
    probe = oidc.make()
    store = oidc.store()
    other = StoredKeySet(jwks_of(key_a()), oidc.clock(), 3600, "https://other.example.com/k")
    store.save(probe._keys.cache_key, other)
    verifier = oidc.make(store=oidc.store())
    oidc.ok(verifier)
    assert verifier.stats.l2_loads == 0
    assert oidc.jwks_hits == 1


# === Age-driven refresh ===========================================================================
def test_scheduled_refresh_serves_stale_and_fetches_once_in_background(world: World) -> None:
    verifier = world.make()
    world.ok(verifier)
    world.clock.advance(HOUR)  # exactly max_age: stale
    world.ok(verifier)  # served at once from the stale keys
    assert verifier.stats.stale_served == 1
    world.runner.settle(verifier)
    assert world.jwks_hits == 2
    assert verifier.stats.refreshes == {"initial": 1, "scheduled": 1}
    assert key_state(verifier).fetched_at == world.clock()
    world.ok(verifier)
    world.ok(verifier)
    world.runner.settle(verifier)
    assert world.jwks_hits == 2  # fresh again: no more fetches


def test_many_stale_lookups_start_one_background_refresh(world: World) -> None:
    verifier = world.make()
    world.ok(verifier)
    world.issuer.fail("500")  # the background refresh fails: keys stay stale
    world.clock.advance(2 * HOUR)
    world.ok(verifier)
    world.runner.settle(verifier)
    assert verifier.stats.refreshes.get("scheduled") == 1
    for _ in range(20):  # within the backoff: no new background fetch
        world.ok(verifier)
    world.runner.settle(verifier)
    assert verifier.stats.refreshes.get("scheduled") == 1
    assert verifier.stats.fetch_failures == 1


def test_past_max_stale_verification_fetches_first(world: World) -> None:
    verifier = world.make()
    world.ok(verifier)
    world.issuer.rotate(key_b())  # only the new key is published now
    world.clock.advance(12 * HOUR)  # exactly max_stale: expired
    world.ok(verifier, world.token(key_b()))  # verified with keys fetched by this very call
    assert world.jwks_hits == 2
    assert verifier.stats.refreshes == {"initial": 1, "expired": 1}
    assert key_state(verifier).kids == frozenset({"rsa-b"})


def test_issuer_down_past_max_stale_serves_stale_if_error(world: World) -> None:
    verifier = world.make()
    world.ok(verifier)
    world.issuer.fail("connect")
    world.clock.advance(13 * HOUR)
    world.ok(verifier)
    assert verifier.stats.fetch_failures == 1
    assert verifier.stats.refreshes.get("expired") == 1
    assert verifier.stats.stale_served == 1
    world.clock.advance(10 * HOUR)  # 23 h old: still within stale_if_error
    world.ok(verifier)
    assert verifier.stats.fetch_failures == 2


def test_past_stale_if_error_with_issuer_down_fails(world: World) -> None:
    verifier = world.make()
    world.ok(verifier)
    world.issuer.fail("connect")
    world.clock.advance(24 * HOUR)
    error = world.fails(verifier, world.token(), KeySetUnavailableError)
    assert error.code == "ERR_JWKS_UNAVAILABLE"
    assert verifier.stats.fetch_failures == 1
    # within the backoff the verifier does not even try, and still refuses
    error = world.fails(verifier, world.token(), KeySetUnavailableError)
    assert "stale_if_error" in str(error)
    assert verifier.stats.fetches == 2
    # the issuer comes back: the next permitted fetch restores service
    world.issuer.recover()
    world.clock.advance(5)
    world.ok(verifier)


def test_cold_start_failures_back_off(oidc: World) -> None:
    # RefreshPolicy.backoff_initial: "After a failed fetch, wait this long before the next
    # attempt" - also when there are no keys yet (an issuer outage at start-up must not turn
    # every request into a fetch that waits for a timeout).
    verifier = oidc.make(fetch={"retries": 0})
    oidc.issuer.fail("connect")
    oidc.fails(verifier, oidc.token(), KeySetUnavailableError)
    assert oidc.issuer.total == 1
    for _ in range(5):
        oidc.fails(verifier, oidc.token(), KeySetUnavailableError)
    assert oidc.issuer.total == 1  # within the 5 s backoff: no new attempt
    oidc.issuer.recover()
    oidc.clock.advance(5)
    oidc.ok(verifier)
    assert verifier.stats.fetch_failures == 1


def test_backoff_after_failures(world: World) -> None:
    verifier = world.make(fetch={"retries": 0})
    world.ok(verifier)
    world.issuer.fail("connect")
    world.clock.advance(13 * HOUR)
    world.ok(verifier)  # fails to fetch (attempt 1), serves stale
    requests = world.issuer.total
    assert verifier.stats.fetch_failures == 1

    def attempts_after(seconds: float) -> int:
        world.clock.advance(seconds)
        world.ok(verifier)
        world.runner.settle(verifier)
        return world.issuer.total - requests

    assert attempts_after(0) == 0
    assert attempts_after(4.9) == 0
    assert attempts_after(0.1) == 1  # 5 s after the first failure
    assert verifier.stats.fetch_failures == 2
    assert attempts_after(9.9) == 1
    assert attempts_after(0.1) == 2  # 10 s after the second failure
    world.issuer.recover()
    assert attempts_after(20) >= 3  # 20 s after the third: fetched and installed
    assert key_state(verifier).fetched_at == world.clock()
    before = world.issuer.total
    world.ok(verifier)
    assert world.issuer.total == before


@pytest.mark.parametrize(
    "failure", ["html", "notjson", "nokeys", "huge", "500", "redirect", "timeout"]
)
def test_a_bad_answer_never_replaces_good_keys(oidc: World, failure: str) -> None:
    store = MemoryStore()
    verifier = oidc.make(store=store)
    oidc.ok(verifier)
    good = verifier._keys.snapshot
    oidc.issuer.fail(failure)
    with pytest.raises(KeySetUnavailableError) as info:
        oidc.runner.refresh(verifier)
    if failure in ("html", "notjson", "nokeys"):
        assert isinstance(info.value, InvalidJwksError)
    assert verifier._keys.snapshot is good
    oidc.ok(verifier)
    # also through a scheduled refresh
    oidc.clock.advance(2 * HOUR)
    oidc.ok(verifier)
    oidc.runner.settle(verifier)
    assert verifier._keys.snapshot is good
    assert verifier.stats.fetch_failures == 2
    record = store.load(verifier._keys.cache_key)
    assert record is not None
    assert record.jwks == jwks_of(key_a())


def test_skipped_keys_in_a_good_answer_are_logged(
    oidc: World, caplog: pytest.LogCaptureFixture
) -> None:
    oidc.issuer.document = {"keys": [key_a().jwk, weak_rsa_jwk() | {"kid": "weak"}]}
    verifier = oidc.make()
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        oidc.ok(verifier)
    assert key_state(verifier).kids == frozenset({"rsa-a"})
    assert any("skipped key #1" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("header", "max_age"),
    [
        ("max-age=120", 120),
        ("public, max-age=900", 900),
        ("max-age=5", 60),  # raised to min_max_age
        ("max-age=999999", 6 * HOUR),  # lowered to max_max_age
        ("no-cache", 60),
        ("no-store", 60),
        ("max-age=garbage", HOUR),  # ignored: the policy default
        (None, HOUR),
    ],
)
def test_cache_control_max_age_is_honoured_within_bounds(
    oidc: World, header: str | None, max_age: float
) -> None:
    oidc.issuer.cache_control = header
    verifier = oidc.make()
    oidc.ok(verifier)
    state = key_state(verifier)
    assert state.next_refresh == state.fetched_at + max_age
    oidc.clock.advance(max_age - 1)
    oidc.ok(verifier)
    oidc.runner.settle(verifier)
    assert oidc.jwks_hits == 1
    oidc.clock.advance(1)
    oidc.ok(verifier)
    oidc.runner.settle(verifier)
    assert oidc.jwks_hits == 2
    assert verifier.stats.refreshes.get("scheduled") == 1


# === Unknown kid: rotation, penalty box, negative cache ===========================================
def test_rotation_new_kid_triggers_exactly_one_fetch(world: World) -> None:
    verifier = world.make()
    world.ok(verifier)
    world.issuer.rotate(key_a(), key_b())
    world.ok(verifier, world.token(key_b()))
    assert world.jwks_hits == 2
    assert verifier.stats.refreshes == {"initial": 1, "unknown_kid": 1}
    for _ in range(3):
        world.ok(verifier, world.token(key_b()))
        world.ok(verifier, world.token(key_a()))
    assert world.jwks_hits == 2


def test_retired_kid_is_rejected_after_a_refresh(world: World) -> None:
    verifier = world.make()
    world.ok(verifier)
    world.issuer.rotate(key_b())
    world.runner.refresh(verifier)
    assert world.jwks_hits == 2
    old = world.token(key_a())
    error = world.fails(verifier, old, KeyNotFoundError)
    assert error.code == "ERR_KEY_NOT_FOUND"
    assert world.jwks_hits == 3  # one unknown-kid fetch confirms the kid is gone
    world.fails(verifier, old, KeyNotFoundError)
    assert world.jwks_hits == 3  # negative cache: no second fetch
    world.ok(verifier, world.token(key_b()))
    assert verifier.stats.unknown_kid_rejections == 2


def _random_kid_token(world: World, n: int) -> str:
    header = {"alg": "RS256", "typ": "JWT", "kid": f"random-{n:05d}"}
    payload = {"iss": world.issuer.issuer, "aud": AUDIENCE, "exp": int(world.clock()) + 600}
    return raw_token(header, payload, b"\x01" * 256)


def test_unknown_kid_flood_costs_one_fetch_per_cooldown(oidc: World) -> None:
    verifier = oidc.make()
    oidc.ok(verifier)
    good = oidc.token()
    tokens = [_random_kid_token(oidc, n) for n in range(10_000)]
    outcomes = {"rejected": 0, "ok": 0}

    def one(token: str, index: int) -> None:
        try:
            verifier.verify(token)
        except KeyNotFoundError:
            outcomes["rejected"] += 1
        if index % 1000 == 0:
            assert verifier.verify(good)["sub"] == "user-42"
            outcomes["ok"] += 1

    async def one_async(token: str, index: int) -> None:
        try:
            await verifier.verify_async(token)
        except KeyNotFoundError:
            outcomes["rejected"] += 1
        if index % 1000 == 0:
            assert (await verifier.verify_async(good))["sub"] == "user-42"
            outcomes["ok"] += 1

    async def flood_async() -> None:
        for index, token in enumerate(tokens):
            await one_async(token, index)

    if oidc.runner.is_async:
        oidc.runner.run(flood_async())
    else:
        for index, token in enumerate(tokens):
            one(token, index)
    assert outcomes == {"rejected": 10_000, "ok": 10}
    assert oidc.jwks_hits == 2  # the first random kid fetched once; the rest waited it out
    assert verifier.stats.refreshes == {"initial": 1, "unknown_kid": 1}
    assert verifier.stats.unknown_kid_rejections == 10_000
    oidc.clock.advance(30)  # next cooldown window: one more fetch for a new kid
    oidc.fails(verifier, _random_kid_token(oidc, 10_001), KeyNotFoundError)
    oidc.fails(verifier, _random_kid_token(oidc, 10_002), KeyNotFoundError)
    assert oidc.jwks_hits == 3


def test_negative_kid_cache(oidc: World) -> None:
    verifier = oidc.make()
    oidc.ok(verifier)
    ghost = oidc.token(key_b())  # a kid the issuer never publishes
    oidc.fails(verifier, ghost, KeyNotFoundError)
    assert oidc.jwks_hits == 2  # fetched once to be sure
    oidc.clock.advance(31)  # cooldown over, negative_kid_ttl (60 s) not
    oidc.fails(verifier, ghost, KeyNotFoundError)
    assert oidc.jwks_hits == 2
    oidc.clock.advance(30)  # 61 s: forgotten, and the cooldown allows a fetch
    oidc.fails(verifier, oidc.token(key_b()), KeyNotFoundError)
    assert oidc.jwks_hits == 3
    assert verifier.stats.refreshes["unknown_kid"] == 2
    # the issuer finally publishes it: after ttl and cooldown the kid is looked up again
    oidc.issuer.rotate(key_a(), key_b())
    oidc.clock.advance(61)
    oidc.ok(verifier, oidc.token(key_b()))
    assert oidc.jwks_hits == 4


def test_token_without_kid_never_triggers_a_fetch(oidc: World) -> None:
    oidc.issuer.rotate(key_a(), key_b())  # two RS256 keys: a token without kid is ambiguous
    verifier = oidc.make()
    oidc.ok(verifier)
    token = key_a().sign({"iss": OIDC_ISSUER, "aud": AUDIENCE, "exp": 1_900_000_000}, kid=None)
    oidc.fails(verifier, token, KeyNotFoundError)
    oidc.fails(verifier, token, KeyNotFoundError)
    assert oidc.jwks_hits == 1


# === Failure-rate trigger =========================================================================
def _signature_run(world: World, verifier: Any, pattern: str) -> None:
    """Verify one token per character: ``.`` a good one, ``x`` a bad signature on a known kid."""
    good, bad = world.token(key_a()), world.token(impostor_a())
    for char in pattern:
        if char == ".":
            world.ok(verifier, good)
        else:
            world.fails(verifier, bad, InvalidSignatureError)


def test_failure_rate_triggers_one_refresh_per_cooldown(oidc: World) -> None:
    events: list[str] = []
    verifier = oidc.make(on_event=lambda name, _details: events.append(name))
    oidc.ok(verifier)
    _signature_run(oidc, verifier, "." * 20 + "x...." * 6)  # 20 % of checks fail
    oidc.runner.settle(verifier)
    assert verifier.stats.refreshes.get("failure_rate") == 1
    assert events.count("failure_rate") == 1
    assert oidc.jwks_hits == 2
    _signature_run(oidc, verifier, "x...." * 10)  # still failing, within the cooldown
    oidc.runner.settle(verifier)
    assert verifier.stats.refreshes.get("failure_rate") == 1
    assert oidc.jwks_hits == 2
    oidc.clock.advance(31)
    _signature_run(oidc, verifier, "x...." * 10)
    oidc.runner.settle(verifier)
    assert verifier.stats.refreshes.get("failure_rate") == 2
    assert oidc.jwks_hits == 3


def test_failure_rate_below_threshold_does_not_refresh(oidc: World) -> None:
    verifier = oidc.make()
    oidc.ok(verifier)
    _signature_run(oidc, verifier, ("x" + "." * 24) * 4)  # 4 %
    oidc.runner.settle(verifier)
    assert "failure_rate" not in verifier.stats.refreshes
    assert oidc.jwks_hits == 1


def test_failure_rate_min_samples(oidc: World) -> None:
    verifier = oidc.make(refresh=RefreshPolicy(failure_min_samples=50))
    oidc.ok(verifier)
    _signature_run(oidc, verifier, "x" * 30)  # 100 % failures but only 30 checks
    oidc.runner.settle(verifier)
    assert oidc.jwks_hits == 1
    _signature_run(oidc, verifier, "x" * 20)
    oidc.runner.settle(verifier)
    assert oidc.jwks_hits == 2


def test_failure_rate_counts_the_successes_earlier_in_the_window(oidc: World) -> None:
    # RefreshPolicy: refresh when >= failure_rate of the checks *over failure_window* fail.
    # 100 good checks, then 2 failures 19 checks apart, all within one window: 2/121 = 1.7 %.
    verifier = oidc.make()
    oidc.ok(verifier)
    _signature_run(oidc, verifier, "." * 100 + "x" + "." * 18 + "x")
    oidc.runner.settle(verifier)
    assert "failure_rate" not in verifier.stats.refreshes
    assert oidc.jwks_hits == 1


# === Manual refresh ===============================================================================
def test_manual_refresh_ignores_backoff_and_cooldown(world: World) -> None:
    verifier = world.make(fetch={"retries": 0})
    world.ok(verifier)
    world.issuer.fail("500")
    with pytest.raises(KeySetUnavailableError):
        world.runner.refresh(verifier)
    assert key_state(verifier).consecutive_failures == 1  # in backoff now
    world.issuer.recover()
    world.issuer.rotate(key_a(), key_b())
    world.runner.refresh(verifier)  # same instant: backoff does not apply
    assert key_state(verifier).kids == frozenset({"rsa-a", "rsa-b"})
    world.fails(verifier, world.token(impostor_b()), KeyNotFoundError)  # cooldown starts
    world.runner.refresh(verifier)  # same instant: cooldown does not apply either
    assert verifier.stats.refreshes["manual"] == 3
    assert verifier.stats.fetch_failures == 1


@cache
def impostor_b() -> SigningKey:
    return _signing_key("RS256", rsa_private(2048, 0), "rsa-unknown")


def test_manual_refresh_failure_keeps_current_keys(oidc: World) -> None:
    verifier = oidc.make()
    oidc.ok(verifier)
    oidc.issuer.fail("connect")
    with pytest.raises(KeySetUnavailableError, match="connection failed"):
        oidc.runner.refresh(verifier)
    oidc.ok(verifier)


# === Events =======================================================================================
def test_on_event_receives_fetch_l2_unknown_kid_and_failure_events(world: World) -> None:
    store = MemoryStore()
    first_events: list[tuple[str, dict[str, Any]]] = []
    first = world.make(store=store, on_event=lambda n, d: first_events.append((n, dict(d))))
    world.ok(first)
    cache_key = first._keys.cache_key
    assert first_events == [
        ("fetch_start", {"key_set": cache_key, "reason": "initial"}),
        ("fetch", {"key_set": cache_key, "reason": "initial", "kids": ["rsa-a"], "skipped": 0}),
    ]

    events: list[tuple[str, dict[str, Any]]] = []
    second = world.make(store=store, on_event=lambda n, d: events.append((n, dict(d))))
    world.ok(second)
    assert events[0][0] == "l2_load"
    assert events[0][1]["kids"] == ["rsa-a"]
    assert events[0][1]["key_set"] == cache_key

    world.fails(second, world.token(impostor_b()), KeyNotFoundError)
    assert [n for n, _ in events[1:]] == ["fetch_start", "fetch", "unknown_kid"]
    assert events[2][1]["reason"] == "unknown_kid"
    assert events[3][1]["refreshed"] is True

    world.issuer.fail("500")
    with pytest.raises(KeySetUnavailableError):
        world.runner.refresh(second)
    name, details = events[-1]
    assert name == "fetch_failed"
    assert details["reason"] == "manual"
    assert details["code"] == "ERR_JWKS_UNAVAILABLE"
    assert details["consecutive"] == 1
    world.fails(second, world.token(impostor_b()), KeyNotFoundError)
    assert events[-1] == ("unknown_kid", {"key_set": cache_key, "refreshed": False})


def test_raising_event_hook_does_not_break_verification(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def hook(name: str, _details: Any) -> None:
        calls.append(name)
        raise RuntimeError("metrics backend down")

    verifier = world.make(on_event=hook)
    with caplog.at_level(logging.ERROR, logger="cognito_jwt"):
        world.ok(verifier)
        world.fails(verifier, world.token(impostor_b()), KeyNotFoundError)
    assert calls == ["fetch_start", "fetch", "fetch_start", "fetch", "unknown_kid"]
    assert sum("on_event hook raised" in r.getMessage() for r in caplog.records) == 5


# === Sequence numbers =============================================================================
def _fetched(*keys: SigningKey) -> Fetched:
    return Fetched("https://login.example.com/jwks", json.dumps(jwks_of(*keys)).encode(), None)


def test_older_fetch_finishing_late_does_not_overwrite_a_newer_one(oidc: World) -> None:
    source: RemoteKeySource = oidc.make()._keys
    newer = source._install(5, _fetched(key_b()), "manual")
    assert newer.seq == 5
    older = source._install(3, _fetched(key_a()), "manual")
    assert older is newer  # the late, older result is dropped
    assert source.snapshot is newer
    assert source.snapshot.keyset.kids == frozenset({"rsa-b"})
    newest = source._install(6, _fetched(key_a()), "manual")
    assert source.snapshot is newest
    assert newest.keyset.kids == frozenset({"rsa-a"})
    same = source._install(6, _fetched(key_a(), key_b()), "manual")  # same seq: replaces
    assert source.snapshot is same


# === Discovery ====================================================================================
def test_discovery_issuer_mismatch_is_a_discovery_error(disco: World) -> None:
    disco.issuer.metadata["issuer"] = OIDC_ISSUER + "/"
    verifier = disco.make()
    error = disco.fails(verifier, disco.token(), DiscoveryError)
    assert error.code == "ERR_DISCOVERY"
    assert disco.jwks_hits == 0
    assert verifier.stats.fetch_failures == 1


def test_discovery_falls_back_to_rfc8414_on_404(runner: Runner, tmp_path: Path) -> None:
    world = World("discovery", runner, tmp_path)
    tenant = "https://login.example.com/tenant-1"
    world.issuer = FakeIssuer(tenant, keys=(key_a(),))
    world.issuer.metadata_at = {world.issuer.oauth_path}
    verifier = JwtVerifier(
        issuer=tenant,
        audience=AUDIENCE,
        clock=world.clock,
        store=None,
        fetch=world.issuer.fetch_options(),
    )
    claims = runner.verify(verifier, world.token(iss=tenant))
    assert claims["iss"] == tenant
    assert world.issuer.count("/tenant-1/.well-known/openid-configuration") == 1
    assert world.issuer.count("/.well-known/oauth-authorization-server/tenant-1") == 1
    assert world.issuer.count("/jwks") == 1


def test_discovery_does_not_fall_back_on_server_error(disco: World) -> None:
    disco.issuer.metadata_at = {disco.issuer.oauth_path}
    disco.issuer.fail("500", path=disco.issuer.oidc_path)
    error = disco.fails(disco.make(), disco.token(), KeySetUnavailableError)
    assert type(error) is KeySetUnavailableError  # public: no internal class name in logs
    assert error.status_code == 500
    assert disco.issuer.count(disco.issuer.oauth_path) == 0


def test_no_metadata_at_either_discovery_url_is_a_discovery_error(disco: World) -> None:
    disco.issuer.metadata_at = set()  # both well-known URLs answer 404
    error = disco.fails(disco.make(), disco.token(), DiscoveryError)
    assert error.status_code == 404
    assert disco.issuer.count(disco.issuer.oauth_path) == 1


def test_an_outage_surfaces_as_a_public_error_with_its_status(world: World) -> None:
    # what a user sees in a traceback or log line: a public name, the status as a typed field
    world.issuer.fail("500")
    error = world.fails(world.make(), world.token(), KeySetUnavailableError)
    assert type(error) is KeySetUnavailableError
    assert error.status_code == 500
    assert repr(error).startswith("KeySetUnavailableError(")
    assert type(error).__module__.startswith("cognito_jwt")
    world.issuer.recover()
    world.issuer.fail("connect")
    world.clock.advance(HOUR)
    assert world.fails(world.make(), world.token(), KeySetUnavailableError).status_code is None


def test_discovery_refuses_plain_http_jwks_uri(disco: World) -> None:
    disco.issuer.metadata["jwks_uri"] = "http://keys.example.com/jwks"
    error = disco.fails(disco.make(), disco.token(), DiscoveryError)
    assert "plain http" in str(error)
    assert disco.issuer.total == 1


def test_discovery_accepts_loopback_http_jwks_uri(disco: World) -> None:
    disco.issuer.metadata["jwks_uri"] = "http://127.0.0.1:9/jwks"
    verifier = disco.make()
    disco.ok(verifier)
    assert key_state(verifier).url == "http://127.0.0.1:9/jwks"


def test_discovery_runs_again_after_a_failed_fetch(disco: World) -> None:
    verifier = disco.make(fetch={"retries": 0})
    disco.ok(verifier)
    disco.issuer.fail("500", path="/jwks")
    with pytest.raises(KeySetUnavailableError):
        disco.runner.refresh(verifier)
    disco.issuer.recover()
    disco.issuer.metadata["jwks_uri"] = OIDC_ISSUER + "/moved"
    disco.issuer.extra["/moved"] = lambda _r, _a: httpx.Response(
        200, json=jwks_of(key_a(), key_b())
    )
    disco.runner.refresh(verifier)
    assert key_state(verifier).url == OIDC_ISSUER + "/moved"
    assert disco.discovery_hits == 2  # initial, then again after the failure reset the URI
    disco.ok(verifier, disco.token(key_b()))


@pytest.mark.parametrize("jwks_uri", ["https://[::1/jwks", "https://login.example.com:abc/jwks"])
def test_discovery_malformed_jwks_uri_is_a_library_error(disco: World, jwks_uri: str) -> None:
    # Whatever the metadata says, verify() must raise a JwtError (documented: nothing else
    # escapes for bad input), and the failure must count (so that backoff applies).
    disco.issuer.metadata["jwks_uri"] = jwks_uri
    verifier = disco.make()
    disco.fails(verifier, disco.token(), KeySetUnavailableError)
    assert verifier.stats.fetch_failures == 1


# === Configuration ================================================================================
def test_jwks_and_jwks_uri_together_are_refused(oidc: World) -> None:
    with pytest.raises(ConfigurationError, match="either jwks= or jwks_uri="):
        JwtVerifier(
            issuer=OIDC_ISSUER,
            audience=AUDIENCE,
            jwks=jwks_of(key_a()),
            jwks_uri=oidc.issuer.jwks_uri,
        )
    with pytest.raises(ConfigurationError, match="either jwks= or jwks_uri="):
        CognitoVerifier(
            user_pool_id=POOL_ID,
            client_id=CLIENT_ID,
            token_use="access",
            jwks=jwks_of(key_a()),
            jwks_uri=oidc.issuer.jwks_uri,
        )


@pytest.mark.parametrize("options", [("fetch",), ("refresh",), ("fetch", "refresh")])
def test_fetch_and_refresh_with_static_jwks_are_refused(options: tuple[str, ...]) -> None:
    values = {"fetch": FakeIssuer().fetch_options(), "refresh": RefreshPolicy()}
    kwargs = {name: values[name] for name in options}
    with pytest.raises(ConfigurationError, match="apply only to fetched key sets"):
        JwtVerifier(issuer=OIDC_ISSUER, audience=AUDIENCE, jwks=jwks_of(key_a()), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fetch": {"timeout": 5}}, "fetch must be a FetchOptions"),
        ({"refresh": {"max_age": 5}}, "refresh must be a RefreshPolicy"),
        ({"store": "/tmp/somewhere"}, "store must be"),  # noqa: S108 - never created
        ({"store": object()}, "store must be"),
        ({"on_event": "print"}, "on_event must be callable"),
        ({"jwks_uri": "http://keys.example.com/jwks"}, "plain http"),
        ({"jwks_uri": "ftp://keys.example.com/jwks"}, "https"),
    ],
)
def test_bad_key_source_options(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        JwtVerifier(issuer=OIDC_ISSUER, audience=AUDIENCE, **kwargs)


def test_several_issuers_without_jwks_uri_cannot_discover() -> None:
    with pytest.raises(ConfigurationError, match="no key set"):
        JwtVerifier(issuer=[OIDC_ISSUER, "https://b.example.com"], audience=AUDIENCE, store=None)


def test_plain_http_issuer_refused_for_discovery() -> None:
    with pytest.raises(ConfigurationError, match="issuer"):
        JwtVerifier(issuer="http://login.example.com", audience=AUDIENCE, store=None)


def test_cognito_default_jwks_uri_is_the_pool_well_known_path() -> None:
    verifier = CognitoVerifier(
        user_pool_id=POOL_ID,
        client_id=CLIENT_ID,
        token_use="access",
        store=None,
        issuer_format="original",
    )
    assert key_state(verifier).url == ISSUER + "/.well-known/jwks.json"
    assert verifier._keys.cache_key == ISSUER + "/.well-known/jwks.json"
    assert verifier.stats.fetches == 0  # nothing fetched at construction


def test_store_default_is_a_file_store_in_the_cache_dir(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COGNITO_JWT_CACHE_DIR", str(tmp_path / "chosen"))
    verifier = world.make(store="default")
    store = verifier._keys.store
    assert isinstance(store, FileStore)
    assert store.directory == tmp_path / "chosen"
    world.ok(verifier)
    assert store.path_for(verifier._keys.cache_key).is_file()
    assert world.make(store="default")._keys.store.load(verifier._keys.cache_key) is not None


def test_construction_does_no_io(world: World) -> None:
    verifier = world.make(store=world.store())
    assert world.issuer.total == 0
    assert not (world.tmp / "l2").exists()
    assert verifier.stats.fetches == 0


# === Logs =========================================================================================
def test_no_log_record_contains_a_token(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tokens: list[str] = []

    def attempt(verifier: Any, token: str, error: type[JwtError]) -> None:
        tokens.append(token)
        world.fails(verifier, token, error)

    def hook(_name: str, _details: Any) -> None:
        raise RuntimeError("hook failure")

    verifier = world.make(store=world.store(), on_event=hook)
    world.issuer.fail("connect")
    attempt(verifier, world.token(), KeySetUnavailableError)  # cold start, issuer down
    world.issuer.recover()
    world.issuer.document = {"keys": [key_a().jwk, weak_rsa_jwk() | {"kid": "weak"}]}
    world.clock.advance(5)
    tokens.append(world.token())
    world.ok(verifier, tokens[-1])
    attempt(verifier, world.token(impostor_b()), KeyNotFoundError)  # unknown kid
    attempt(verifier, world.token(impostor_a()), InvalidSignatureError)
    world.clock.advance(10 * HOUR)  # every token above is expired now
    attempt(verifier, tokens[-1], JwtError)
    world.issuer.fail("html")
    world.clock.advance(3 * HOUR)
    world.ok(verifier)  # stale keys serve; the background refresh gets HTML and logs it
    world.runner.settle(verifier)
    assert caplog.records  # the run did log (warnings about failures, skipped keys ...)
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for token in tokens:
        _header, payload, signature = token.split(".")
        assert token not in text
        assert payload not in text
        assert signature not in text


# === Background machinery =========================================================================
def test_background_refresh_thread_is_a_named_daemon(oidc: World) -> None:
    verifier = oidc.make()
    oidc.ok(verifier)
    oidc.issuer.block()
    oidc.clock.advance(HOUR)
    oidc.ok(verifier)
    if oidc.runner.is_async:
        assert len(verifier._keys._flights.tasks) == 1
    else:
        thread = verifier._keys._flights.background
        assert thread is not None
        assert thread.daemon
        assert thread.name == "cognito-jwt-refresh"
    oidc.issuer.release()
    oidc.runner.settle(verifier)
    assert verifier.stats.refreshes["scheduled"] == 1


@pytest.mark.parametrize(
    ("status", "error"), [(404, KeyNotFoundError), (500, KeySetUnavailableError)]
)
def test_alb_key_endpoint_status_decides_missing_or_unavailable(
    status: int, error: type[JwtError]
) -> None:
    # the ALB source reads the typed status_code: 404 means "no such key", 500 an outage
    from cognito_jwt.testing import LocalLoadBalancer

    with LocalLoadBalancer() as alb:
        verifier = alb.verifier(store=None)
        token = alb.mint({"sub": "alice"})
        alb.publish(alb.kids[-1], b"nope", status=status)
        with pytest.raises(error) as info:
            verifier.verify(token)
        assert type(info.value) is error


# === The public view of the key state ============================================================
def test_key_state_before_and_after_the_first_fetch(world: World) -> None:
    verifier = world.make()
    before = key_state(verifier)
    assert (before.kids, before.fetched_at, before.source) == (frozenset(), None, None)
    assert before.last_error is None
    world.ok(verifier)
    state = key_state(verifier)
    assert state.kids == frozenset({"rsa-a"})
    assert state.source == "network"
    assert state.fetched_at == world.clock()
    assert state.next_refresh == world.clock() + HOUR
    assert state.url == world.issuer.jwks_uri
    assert (state.last_error, state.consecutive_failures) == (None, 0)
    expected = set(verifier.issuers) if world.kind == "cognito" else {OIDC_ISSUER}
    assert set(verifier.key_state) == expected  # keyed like hydrate()


def test_key_state_reports_failures_and_the_backoff(oidc: World) -> None:
    verifier = oidc.make()
    oidc.ok(verifier)
    oidc.issuer.fail("500")
    with pytest.raises(KeySetUnavailableError):
        oidc.runner.refresh(verifier)
    state = key_state(verifier)
    assert state.kids == frozenset({"rsa-a"})  # the good keys stay
    assert state.consecutive_failures == 1
    assert isinstance(state.last_error, KeySetUnavailableError)
    assert state.last_error.status_code == 500
    oidc.issuer.recover()
    oidc.runner.refresh(verifier)
    assert (key_state(verifier).last_error, key_state(verifier).consecutive_failures) == (None, 0)


def test_key_state_says_keys_came_from_the_store(oidc: World) -> None:
    store = MemoryStore()
    oidc.ok(oidc.make(store=store))
    second = oidc.make(store=store)
    oidc.ok(second)
    state = key_state(second)
    assert state.source == "store"
    assert state.kids == frozenset({"rsa-a"})
    assert oidc.jwks_hits == 1


def test_key_state_of_keys_given_in_memory() -> None:
    verifier = JwtVerifier(issuer=OIDC_ISSUER, audience=AUDIENCE, jwks=jwks_of(key_a()))
    state = key_state(verifier)
    assert (state.source, state.kids, state.url, state.next_refresh) == (
        "memory",
        frozenset({"rsa-a"}),
        None,
        None,
    )


def test_key_state_of_a_cognito_pool_has_one_entry_per_issuer() -> None:
    issuer = FakeIssuer(ISSUER, base="http://127.0.0.1:9", keys=(key_a(),))
    clock = FakeClock()
    verifier = CognitoVerifier(
        user_pool_id=POOL_ID, client_id=CLIENT_ID, token_use="access", store=None, clock=clock,
        fetch=issuer.fetch_options(),
    )  # fmt: skip
    states = verifier.key_state
    assert set(states) == set(verifier.issuers)
    assert all(state.kids == frozenset() and state.source is None for state in states.values())
    assert {state.url for state in states.values()} == {
        f"{name}/.well-known/jwks.json" for name in verifier.issuers
    }
