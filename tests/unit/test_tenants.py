"""``MultiTenantVerifier``: allowlist before anything, single-flight builds, LRU, new-issuer cap.

Keys are in memory (``jwks=``) or served by ``FakeIssuer`` on ``httpx.MockTransport``; the
rate limit runs on an injected monotonic clock; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
import pytest
from fastapi.testclient import TestClient

import cognito_jwt
from cognito_jwt import (
    CognitoVerifier,
    ConfigurationError,
    IssuerMismatchError,
    JwtVerifier,
    KeySetUnavailableError,
    MultiIssuerVerifier,
    MultiTenantVerifier,
    TenantRateLimitError,
)
from cognito_jwt._tenants import _host_suffix
from cognito_jwt.adapters import flask as flask_adapter
from cognito_jwt.adapters.asgi import BearerAuthMiddleware as AsgiMiddleware
from cognito_jwt.adapters.lambda_authorizer import Unauthorized, authorizer
from tests.fake_issuer import WAIT, FakeClock, FakeIssuer
from tests.helpers import FIXED_NOW, SigningKey, access_claims, all_keys, jwks_of, oidc_claims

POOL_A = "eu-west-1_TenantA1"
POOL_B = "eu-west-1_TenantB2"
POOL_US = "us-east-1_TenantC3"
CLIENTS = {POOL_A: "client-a", POOL_B: "client-b", POOL_US: "client-c"}


def original(pool_id: str) -> str:
    region = pool_id.partition("_")[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def updated(pool_id: str) -> str:
    region = pool_id.partition("_")[0]
    return f"https://issuer-cognito-idp.{region}.amazonaws.com/{pool_id}"


@pytest.fixture
def key() -> SigningKey:
    return all_keys()["RS256"]


def token_for(key: SigningKey, pool_id: str, **claims: Any) -> str:
    iss = claims.pop("iss", original(pool_id))
    return key.sign(access_claims(iss=iss, client_id=CLIENTS.get(pool_id, "client-x"), **claims))


class Factory:
    """A tenant factory that records its calls; tenants are the pools of CLIENTS."""

    def __init__(self, key: SigningKey, *, tenants_only: bool = True) -> None:
        self.jwks = jwks_of(key)
        self.calls: list[tuple[str, str | None]] = []
        self.tenants_only = tenants_only
        self.lock = threading.Lock()

    def __call__(self, issuer: str, pool_id: str | None) -> CognitoVerifier | None:
        with self.lock:
            self.calls.append((issuer, pool_id))
        if pool_id is None or (self.tenants_only and pool_id not in CLIENTS):
            return None
        return CognitoVerifier(
            user_pool_id=pool_id,
            client_id=CLIENTS.get(pool_id, "client-x"),
            token_use="access",
            jwks=self.jwks,
            clock=lambda: float(FIXED_NOW),
        )


@pytest.fixture
def factory(key: SigningKey) -> Factory:
    return Factory(key)


@pytest.fixture
def monotonic() -> FakeClock:
    return FakeClock(0.0)


def tenants(
    factory: Callable[..., Any], monotonic: FakeClock, **options: Any
) -> MultiTenantVerifier:
    settings: dict[str, Any] = {
        "build": factory,
        "cognito_regions": ["eu-west-1"],
        "clock": monotonic,
    }
    settings.update(options)
    return MultiTenantVerifier(**settings)


# === Routing and the per-tenant client ==========================================================
def test_each_tenant_gets_its_own_verifier_built_on_first_use(key, factory, monotonic):
    verifier = tenants(factory, monotonic)
    assert verifier.tenants == ()
    a = verifier.verify(token_for(key, POOL_A))
    b = verifier.verify(token_for(key, POOL_B))
    verifier.verify(token_for(key, POOL_A))
    assert (a.client_id, b.client_id) == ("client-a", "client-b")
    assert factory.calls == [(original(POOL_A), POOL_A), (original(POOL_B), POOL_B)]
    assert set(verifier.tenants) == {original(POOL_A), original(POOL_B)}
    built = verifier.verifier_for(original(POOL_A))
    assert isinstance(built, CognitoVerifier)
    assert built.user_pool_id == POOL_A
    assert verifier.stats["builds"] == 2
    assert verifier.stats["proven"] == 2


def test_the_tenant_verifier_applies_its_own_client_id(key, factory, monotonic):
    verifier = tenants(factory, monotonic)
    stolen = key.sign(access_claims(iss=original(POOL_B), client_id="client-a"))
    with pytest.raises(cognito_jwt.AudienceMismatchError):
        verifier.verify(stolen)


def test_verify_async_routes_like_verify(key, factory, monotonic):
    verifier = tenants(factory, monotonic)
    claims = asyncio.run(verifier.verify_async(token_for(key, POOL_B)))
    assert claims.client_id == "client-b"


# === The allowlist comes before anything ========================================================
REFUSED_BY_REGION_RULE = [
    original("us-east-1_TenantC3"),  # a Region not listed
    "https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_TenantA1",  # host Region != pool's
    "https://cognito-idp.eu-west-1.amazonaws.com.evil.example/eu-west-1_TenantA1",
    "https://evil.example/eu-west-1_TenantA1",
    "https://cognito-idp.eu-west-1.amazonaws.com@evil.example/eu-west-1_TenantA1",
    "http://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TenantA1",
    "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TenantA1/",
    "https://cognito-idp.eu-west-1.amazonaws.com/x/eu-west-1_TenantA1",
    "https://cognito-idp.eu-west-1.amazonaws.com:8443/eu-west-1_TenantA1",
    "https://COGNITO-IDP.eu-west-1.amazonaws.com/eu-west-1_TenantA1",
    "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Tenant-A1",
    "https://issuer-cognito-idp.us-east-1.amazonaws.com/eu-west-1_TenantA1",
    "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_" + "A" * 33,
]


@pytest.mark.parametrize("iss", REFUSED_BY_REGION_RULE)
def test_an_issuer_outside_the_allowlist_builds_and_fetches_nothing(key, monotonic, iss):
    issuer = FakeIssuer(keys=(key,))
    calls: list[str] = []

    def build(issuer_: str, pool_id: str | None) -> Any:
        calls.append(issuer_)  # pragma: no cover - must never run
        return None  # pragma: no cover

    verifier = tenants(build, monotonic)
    with pytest.raises(IssuerMismatchError) as info:
        verifier.verify(key.sign(access_claims(iss=iss)))
    assert info.value.unverified_claims is not None
    with pytest.raises(IssuerMismatchError):
        asyncio.run(verifier.verify_async(key.sign(access_claims(iss=iss))))
    assert calls == []
    assert issuer.total == 0
    assert verifier.tenants == ()
    assert verifier.stats["refused_issuer"] == 2
    assert verifier.stats["new_available"] == 30  # the allowance is untouched
    assert not verifier.allows(iss)


@pytest.mark.parametrize("iss", [None, 7, ["https://x"], {"a": 1}])
def test_a_token_without_a_string_iss_is_refused(key, factory, monotonic, iss):
    verifier = tenants(factory, monotonic)
    with pytest.raises(IssuerMismatchError):
        verifier.verify(key.sign(access_claims(iss=iss)) if iss else key.sign({"sub": "x"}))
    assert factory.calls == []


def test_malformed_tokens_are_refused_before_routing(factory, monotonic):
    verifier = tenants(factory, monotonic)
    for bad in ("", "a.b", "x" * 100_000, b"\xff.\xff.\xff", None, 42):
        with pytest.raises(cognito_jwt.MalformedTokenError):
            verifier.verify(bad)  # type: ignore[arg-type]
    assert factory.calls == []


def test_both_issuer_formats_of_an_allowed_region_route_with_the_pool_id(key, monotonic):
    seen: list[tuple[str, str | None]] = []

    def build(issuer: str, pool_id: str | None) -> JwtVerifier:
        seen.append((issuer, pool_id))
        return JwtVerifier(issuer=issuer, audience=None, jwks=jwks_of(key), clock=lambda: FIXED_NOW)

    verifier = tenants(build, monotonic)
    verifier.verify(key.sign(access_claims(iss=updated(POOL_A))))
    verifier.verify(key.sign(access_claims(iss=original(POOL_A))))
    assert seen == [(updated(POOL_A), POOL_A), (original(POOL_A), POOL_A)]


def test_other_partitions_use_their_dns_suffix_and_have_no_updated_host(monotonic):
    verifier = tenants(
        lambda i, p: None, monotonic, cognito_regions=["cn-north-1", "us-gov-west-1"]
    )
    assert verifier.allows("https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_Abc")
    assert not verifier.allows("https://cognito-idp.cn-north-1.amazonaws.com/cn-north-1_Abc")
    assert not verifier.allows(
        "https://issuer-cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_Abc"
    )
    assert verifier.allows("https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_Abc")


def test_explicit_pools_allow_both_formats_and_nothing_else(monotonic):
    verifier = tenants(lambda i, p: None, monotonic, cognito_regions=(), cognito_pools=[POOL_A])
    assert verifier.allows(original(POOL_A))
    assert verifier.allows(updated(POOL_A))
    assert not verifier.allows(original(POOL_B))


def test_a_replica_region_issuer_routes_only_when_listed_and_carries_the_pool_id(key, monotonic):
    replica = "https://cognito-idp.eu-central-1.amazonaws.com/eu-west-1_TenantA1"
    seen: list[tuple[str, str | None]] = []

    def build(issuer: str, pool_id: str | None) -> JwtVerifier:
        seen.append((issuer, pool_id))
        return JwtVerifier(issuer=issuer, audience=None, jwks=jwks_of(key), clock=lambda: FIXED_NOW)

    by_region = tenants(build, monotonic, cognito_regions=["eu-west-1", "eu-central-1"])
    assert not by_region.allows(replica)  # the Region rule: the pool's own Region only
    listed = tenants(build, monotonic, cognito_regions=(), issuers=[replica])
    listed.verify(key.sign(access_claims(iss=replica)))
    assert seen == [(replica, POOL_A)]
    # Only the original format names a replica Region: this one is no Cognito issuer.
    odd = replica.replace("cognito-idp", "issuer-cognito-idp")
    tenants(build, monotonic, cognito_regions=(), issuers=[odd]).verify(
        key.sign(access_claims(iss=odd))
    )
    assert seen[-1] == (odd, None)


def test_explicit_issuers_are_exact_strings(key, monotonic):
    def build(issuer: str, pool_id: str | None) -> JwtVerifier:
        assert pool_id is None
        return JwtVerifier(
            issuer=issuer, audience="api://orders", jwks=jwks_of(key), clock=lambda: FIXED_NOW
        )

    verifier = tenants(build, monotonic, cognito_regions=(), issuers=["https://login.example.com"])
    assert verifier.verify(key.sign(oidc_claims())).sub == "user-42"
    for iss in (
        "https://login.example.com/",
        "https://login.example.co",
        "https://LOGIN.example.com",
    ):
        with pytest.raises(IssuerMismatchError):
            verifier.verify(key.sign(oidc_claims(iss=iss)))


@pytest.mark.parametrize(
    "pattern",
    [
        r".*",
        r"https://.*",
        r"https://[a-z]+\.com",
        r"http://[a-z]+\.example\.com",
        r"(?i)https://[a-z]+\.example\.com",
        r"https://[a-z]+example\.com",
        r"https://[a-z]+\.example\.com?",
        r"https://[a-z]+\.example\.co(m)",
        r"https://[a-z]+\.example\.[a-z]+",
        r"https://[a-z]+.example.com",
        r"https://(a|b)\.example\.com(/x)?",
        "https://[a-z",
        b"https://x\\.example\\.com",
    ],
)
def test_a_pattern_that_could_name_any_host_is_refused(pattern):
    with pytest.raises(ConfigurationError):
        MultiTenantVerifier(build=lambda i, p: None, issuer_pattern=pattern)


@pytest.mark.parametrize(
    ("pattern", "suffix"),
    [
        (r"https://[a-z0-9-]+\.auth\.example\.com", ".auth.example.com"),
        (r"https://.*\.auth\.example\.com", ".auth.example.com"),
        (r"https://[a-z]+x\.example\.com", ".example.com"),
        (r"https://login\.example\.com/(?P<tenant>[a-z0-9]+)", "login.example.com"),
        (r"https://login\.example\.com/realms/[^/]+", "login.example.com"),
        (r"https://[^/.]+\.idp\.example\.org/v2", ".idp.example.org"),
    ],
)
def test_a_pattern_is_anchored_to_its_literal_host_suffix(pattern, suffix):
    assert _host_suffix(pattern) == suffix
    MultiTenantVerifier(build=lambda i, p: None, issuer_pattern=pattern)


@pytest.mark.parametrize(
    ("iss", "allowed"),
    [
        ("https://acme.auth.example.com", True),
        ("https://a-b.c.auth.example.com", True),
        ("https://evil.example/x.auth.example.com", False),  # the regex matches, the host doesn't
        ("https://evil.example?.auth.example.com", False),
        ("https://evil.example#.auth.example.com", False),
        ("https://user@acme.auth.example.com", False),
        ("https://acme.auth.example.com:8443", False),
        ("https://ACME.auth.example.com", False),
        ("https://.auth.example.com", False),
        ("https://auth.example.com", False),
        ("http://acme.auth.example.com", False),
    ],
)
def test_a_pattern_match_must_also_have_a_plain_host_under_the_suffix(iss, allowed):
    verifier = MultiTenantVerifier(
        build=lambda i, p: None, issuer_pattern=r"https://.*\.auth\.example\.com"
    )
    assert verifier.allows(iss) is allowed


def test_a_pattern_with_an_alternation_cannot_escape_its_suffix():
    verifier = MultiTenantVerifier(
        build=lambda i, p: None,
        issuer_pattern=r"https://evil\.example|.*\.auth\.example\.com",
    )
    assert not verifier.allows("https://evil.example")
    assert verifier.allows("https://acme.auth.example.com")
    assert not verifier.allows("https://evil.example/.auth.example.com")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"cognito_regions": "eu-west-1"},
        {"cognito_regions": ["eu-west-1_x"]},
        {"cognito_regions": ["Europe"]},
        {"cognito_pools": ["not-a-pool"]},
        {"issuers": [""]},
        {"issuers": "https://x.example.com"},
        {"cognito_regions": ["eu-west-1"], "max_verifiers": 0},
        {"cognito_regions": ["eu-west-1"], "max_verifiers": True},
        {"cognito_regions": ["eu-west-1"], "max_new_per_minute": -1},
        {"cognito_regions": ["eu-west-1"], "max_new_per_minute": 1.5},
        {"cognito_regions": ["eu-west-1"], "clock": 3},
        {"cognito_regions": ["eu-west-1"], "limits": {"max_length": 10}},
    ],
)
def test_unusable_settings_are_configuration_errors(options):
    with pytest.raises(ConfigurationError):
        MultiTenantVerifier(build=lambda i, p: None, **options)


def test_build_must_be_callable():
    with pytest.raises(ConfigurationError):
        MultiTenantVerifier(build="factory", cognito_regions=["eu-west-1"])  # type: ignore[arg-type]


# === What the factory may answer ================================================================
def test_a_factory_that_says_none_means_not_a_tenant(key, factory, monotonic):
    verifier = tenants(factory, monotonic)
    with pytest.raises(IssuerMismatchError) as info:
        verifier.verify(token_for(key, "eu-west-1_Stranger9"))
    assert info.value.unverified_claims is not None
    assert verifier.tenants == ()
    assert verifier.stats["not_tenant"] == 1


class NotAVerifier:
    issuers = frozenset({original(POOL_A)})

    def verify(self, token: str) -> None:
        raise AssertionError  # pragma: no cover - never routed to


@pytest.mark.parametrize(
    "answer",
    [
        lambda key: NotAVerifier(),
        lambda key: "a verifier",
        lambda key: CognitoVerifier(
            user_pool_id=POOL_B, client_id="b", token_use="access", jwks=jwks_of(key)
        ),
        lambda key: JwtVerifier(issuer=None, audience=None, jwks=jwks_of(key)),
        lambda key: MultiIssuerVerifier(
            [
                CognitoVerifier(
                    user_pool_id=POOL_A, client_id="a", token_use="access", jwks=jwks_of(key)
                )
            ]
        ),
    ],
    ids=["duck", "str", "other-issuer", "no-issuer", "multi-issuer"],
)
def test_a_factory_answer_that_cannot_be_routed_is_a_configuration_error(key, monotonic, answer):
    verifier = tenants(lambda i, p: answer(key), monotonic)
    with pytest.raises(ConfigurationError):
        verifier.verify(token_for(key, POOL_A))
    assert verifier.tenants == ()
    assert verifier.stats["factory_errors"] == 1


def test_a_factory_that_raises_is_a_configuration_error(key, monotonic):
    def build(issuer: str, pool_id: str | None) -> Any:
        raise KeyError(pool_id)

    verifier = tenants(build, monotonic)
    with pytest.raises(ConfigurationError) as info:
        verifier.verify(token_for(key, POOL_A))
    assert isinstance(info.value.__cause__, KeyError)
    assert verifier.tenants == ()
    # A factory's own JwtError (a CognitoVerifier it could not build) is ours to report too.
    bad = tenants(
        lambda i, p: CognitoVerifier(user_pool_id=p, client_id="c", token_use="both"),  # type: ignore[arg-type]
        monotonic,
    )
    with pytest.raises(ConfigurationError, match="tenant factory raised"):
        bad.verify(token_for(key, POOL_A))


# === The cap on new issuers =====================================================================
def test_new_issuers_past_the_cap_are_refused_without_a_build(key, monotonic):
    factory = Factory(key, tenants_only=False)
    verifier = tenants(factory, monotonic, max_new_per_minute=3)
    pools = [f"eu-west-1_Pool{n}" for n in range(5)]
    for pool in pools[:3]:
        verifier.verify(token_for(key, pool))
    with pytest.raises(TenantRateLimitError) as info:
        verifier.verify(token_for(key, pools[3]))
    error = info.value
    assert isinstance(error, KeySetUnavailableError)
    assert error.code == "ERR_TENANT_RATE_LIMITED"
    assert error.retry_after == pytest.approx(20.0)  # 3 a minute: one every 20 s
    assert error.unverified_claims is not None
    assert len(factory.calls) == 3
    # Tenants already built are not limited.
    for pool in pools[:3]:
        verifier.verify(token_for(key, pool))
    monotonic.advance(19.9)
    with pytest.raises(TenantRateLimitError):
        asyncio.run(verifier.verify_async(token_for(key, pools[3])))
    monotonic.advance(0.1)
    assert verifier.stats["new_available"] == 1
    verifier.verify(token_for(key, pools[3]))
    assert verifier.stats["refused_rate"] == 2
    assert len(factory.calls) == 4


def test_refused_issuers_and_not_tenants_do_not_count_past_the_cap(key, factory, monotonic):
    verifier = tenants(factory, monotonic, max_new_per_minute=1)
    with pytest.raises(IssuerMismatchError):
        verifier.verify(key.sign(access_claims(iss="https://evil.example/eu-west-1_X")))
    verifier.verify(token_for(key, POOL_A))
    assert verifier.stats["new_available"] == 0


def test_a_flood_of_invented_pool_ids_costs_at_most_the_cap_per_minute(key, monotonic):
    factory = Factory(key, tenants_only=False)
    verifier = tenants(factory, monotonic, max_new_per_minute=30)

    def refused(pool: str) -> bool:
        try:
            verifier.verify(token_for(key, pool))
        except TenantRateLimitError:
            return True
        return False

    outcomes = []
    for second in range(180):  # three minutes, 10 invented pools a second
        outcomes += [refused(f"eu-west-1_Flood{second}x{n}") for n in range(10)]
        monotonic.advance(1.0)
    # The burst (30), then one every 2 s for the 179 s that followed: 30 + 89 builds.
    assert len(factory.calls) == 30 + 89
    assert sum(outcomes) == 1800 - len(factory.calls)
    assert verifier.stats["refused_rate"] == sum(outcomes)


def test_zero_new_per_minute_serves_only_hydrated_tenants(key, factory, monotonic):
    verifier = tenants(factory, monotonic, max_new_per_minute=0)
    verifier.hydrate([original(POOL_A)])
    assert verifier.verify(token_for(key, POOL_A)).client_id == "client-a"
    with pytest.raises(TenantRateLimitError) as info:
        verifier.verify(token_for(key, POOL_B))
    assert info.value.retry_after == 60.0


# === The LRU ====================================================================================
def test_least_recently_used_tenants_are_evicted_and_rebuilt_on_demand(key, monotonic):
    factory = Factory(key, tenants_only=False)
    verifier = tenants(factory, monotonic, max_verifiers=2)
    a, b, c = (original(p) for p in (POOL_A, POOL_B, "eu-west-1_Pool3"))
    verifier.verify(token_for(key, POOL_A))
    verifier.verify(token_for(key, POOL_B))
    verifier.verify(token_for(key, POOL_A))  # a is now the most recently used
    first_a = verifier.verifier_for(a)
    verifier.verify(token_for(key, "eu-west-1_Pool3"))
    assert verifier.tenants == (a, c)  # b, the least recently used, made room for c
    assert verifier.stats["evictions"] == 1
    verifier.verify(token_for(key, POOL_B))  # rebuilt: a new verifier, a new build
    assert verifier.stats["builds"] == 4
    assert verifier.verifier_for(b) is not None
    assert verifier.verifier_for(a) is None
    verifier.verify(token_for(key, POOL_A))
    assert verifier.verifier_for(a) is not first_a  # its in-memory keys went with it


def test_tenants_that_never_verified_a_token_are_evicted_first(key, monotonic):
    factory = Factory(key, tenants_only=False)
    verifier = tenants(factory, monotonic, max_verifiers=3, max_new_per_minute=100)
    for pool in (POOL_A, POOL_B, POOL_US.replace("us-east-1", "eu-west-1"), POOL_A):
        verifier.verify(token_for(key, pool))  # three proven tenants, A the most recent
    # An attacker's invented pools: built (this factory accepts any pool), never verified.
    for n in range(20):
        good = token_for(key, f"eu-west-1_Evil{n}")
        forged = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
        with pytest.raises(cognito_jwt.InvalidSignatureError):
            verifier.verify(forged)
    # Probation holds one slot (the newest invented pool); it took the least recent tenant's.
    assert verifier.stats["proven"] == 2
    assert verifier.tenants == (
        original("eu-west-1_Evil19"),
        original(POOL_US.replace("us-east-1", "eu-west-1")),
        original(POOL_A),
    )
    assert verifier.stats["builds"] == 23
    # A new tenant still gets in, and stays once it verified a token.
    verifier.verify(token_for(key, POOL_B))
    assert verifier.stats["proven"] == 3
    assert original(POOL_B) in verifier.tenants


# === Single flight ==============================================================================
class CountingLock:
    """A lock that counts the threads waiting to take it (to release a gate when all wait)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waiting = 0
        self.changed = threading.Condition()

    def __enter__(self) -> None:
        with self.changed:
            self.waiting += 1
            self.changed.notify_all()
        self._lock.acquire()
        with self.changed:
            self.waiting -= 1

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_concurrent_first_tokens_of_a_tenant_build_one_verifier(key, monotonic):
    entered, gate = threading.Event(), threading.Event()
    inner = Factory(key)

    def build(issuer: str, pool_id: str | None) -> Any:
        entered.set()
        assert gate.wait(WAIT)
        return inner(issuer, pool_id)

    verifier = tenants(build, monotonic)
    lock = CountingLock()
    verifier._build_lock = lock  # type: ignore[assignment]
    token = token_for(key, POOL_A)
    results: list[str] = []

    def call() -> None:
        results.append(verifier.verify(token).client_id or "")

    threads = [threading.Thread(target=call) for _ in range(8)]
    threads[0].start()
    assert entered.wait(WAIT)
    for thread in threads[1:]:
        thread.start()
    with lock.changed:  # every other thread waits for the build in flight
        assert lock.changed.wait_for(lambda: lock.waiting == 7, WAIT)
    gate.set()
    for thread in threads:
        thread.join(WAIT)
    assert results == ["client-a"] * 8
    assert len(inner.calls) == 1
    assert verifier.stats["builds"] == 1


def test_concurrent_first_tokens_in_tasks_build_one_verifier_and_fetch_once(key, monotonic):
    issuer = FakeIssuer(original(POOL_A), base="https://keys.example.com", keys=(key,))
    builds: list[str] = []

    def build(iss: str, pool_id: str | None) -> CognitoVerifier:
        builds.append(iss)
        return CognitoVerifier(
            user_pool_id=POOL_A,
            client_id="client-a",
            token_use="access",
            jwks_uri=issuer.jwks_uri,
            fetch=issuer.fetch_options(),
            store=None,
            clock=lambda: float(FIXED_NOW),
        )

    verifier = tenants(build, monotonic)
    token = token_for(key, POOL_A)

    async def scenario() -> list[str]:
        issuer.block_async()
        tasks = [asyncio.ensure_future(verifier.verify_async(token)) for _ in range(20)]
        assert issuer.async_entered is not None
        await asyncio.wait_for(issuer.async_entered.wait(), WAIT)
        assert issuer.async_gate is not None
        issuer.async_gate.set()
        return [claims.client_id or "" for claims in await asyncio.gather(*tasks)]

    assert asyncio.run(scenario()) == ["client-a"] * 20
    assert builds == [original(POOL_A)]
    assert issuer.count() == 1


# === hydrate, stats =============================================================================
def test_hydrate_builds_known_tenants_without_using_the_allowance(key, monotonic):
    issuer = FakeIssuer(original(POOL_A), base="https://keys.example.com", keys=(key,))
    verifier = tenants(
        lambda i, p: CognitoVerifier(
            user_pool_id=p,
            client_id=CLIENTS[p],
            token_use="access",
            jwks_uri=issuer.jwks_uri,
            fetch=issuer.fetch_options(),
            store=None,
            clock=lambda: float(FIXED_NOW),
        ),
        monotonic,
        max_new_per_minute=1,
    )
    verifier.hydrate([original(POOL_A), original(POOL_B), original(POOL_A)])
    assert verifier.tenants == (original(POOL_A), original(POOL_B))
    assert verifier.stats["proven"] == 2
    assert verifier.stats["new_available"] == 1
    assert issuer.count() == 2  # one key set per tenant
    asyncio.run(verifier.hydrate_async([original(POOL_A)]))
    verifier.hydrate()  # the tenants already built: the authorizer's init does this
    verifier.verify(token_for(key, POOL_A))
    assert issuer.count() == 2


def test_hydrate_loads_every_tenant_it_can_and_reports_the_others(key, monotonic):
    issuer = FakeIssuer(original(POOL_A), base="https://keys.example.com", keys=(key,))
    issuer.fail("500", path="/bad/jwks")

    def build(iss: str, pool_id: str | None) -> CognitoVerifier:
        uri = issuer.jwks_uri if pool_id == POOL_A else "https://keys.example.com/bad/jwks"
        return CognitoVerifier(
            user_pool_id=pool_id or "",
            client_id=None,
            token_use="access",
            jwks_uri=uri,
            fetch=issuer.fetch_options(),
            store=None,
            clock=lambda: float(FIXED_NOW),
        )

    verifier = tenants(build, monotonic)
    with pytest.raises(KeySetUnavailableError, match=r"1 of 2 tenants") as info:
        verifier.hydrate([original(POOL_B), original(POOL_A)])
    assert isinstance(info.value.__cause__, KeySetUnavailableError)
    assert issuer.count() == 1
    assert verifier.verify(token_for(key, POOL_A)).client_id == "client-a"
    assert issuer.count() == 1


def _fetching_tenants(issuer: FakeIssuer, monotonic: FakeClock) -> MultiTenantVerifier:
    return tenants(
        lambda i, p: CognitoVerifier(
            user_pool_id=p,
            client_id=CLIENTS[p],
            token_use="access",
            issuer_format="original",
            jwks_uri=issuer.jwks_uri,
            fetch=issuer.fetch_options(),
            store=None,
            clock=lambda: float(FIXED_NOW),
        ),
        monotonic,
    )


def test_hydrate_returns_the_report_the_other_verifiers_return(key, monotonic):
    issuer = FakeIssuer(original(POOL_A), base="https://keys.example.com", keys=(key,))
    verifier = _fetching_tenants(issuer, monotonic)
    report = verifier.hydrate([original(POOL_A), original(POOL_B)])
    assert set(report) == {original(POOL_A), original(POOL_B)}
    for loaded in report.values():
        assert isinstance(loaded, cognito_jwt.KeySet)
        assert loaded.kids == {key.kid}
    # The same shape as a tenant verifier's own report, merged.
    tenant = verifier.verifier_for(original(POOL_A))
    assert tenant is not None
    assert set(tenant.hydrate()) == {original(POOL_A)}
    again = asyncio.run(verifier.hydrate_async([original(POOL_B)]))
    assert set(again) == {original(POOL_B)}
    assert set(verifier.hydrate()) == set(report)  # the tenants already built
    assert issuer.count() == 2  # one key set per tenant, loaded once


def test_key_state_merges_every_built_tenant(key, monotonic):
    issuer = FakeIssuer(original(POOL_A), base="https://keys.example.com", keys=(key,))
    verifier = _fetching_tenants(issuer, monotonic)
    assert verifier.key_state == {}
    verifier.verify(token_for(key, POOL_A))  # on probation until then; proven after
    verifier.hydrate([original(POOL_B)])
    state = verifier.key_state
    assert set(state) == {original(POOL_A), original(POOL_B)}
    for iss in (original(POOL_A), original(POOL_B)):
        assert state[iss].kids == {key.kid}
        assert state[iss].source == "network"
        assert state[iss].url == issuer.jwks_uri
        tenant = verifier.verifier_for(iss)
        assert tenant is not None
        assert state[iss] == tenant.key_state[iss]


@pytest.mark.parametrize(
    "issuers",
    [
        ["https://evil.example/eu-west-1_X"],
        [original("eu-west-1_Stranger")],
        [original(f"eu-west-1_P{n}") for n in range(3)],
        "https://one-string",
    ],
)
def test_hydrate_refuses_what_is_not_a_known_tenant(factory, monotonic, issuers):
    verifier = tenants(factory, monotonic, max_verifiers=2)
    with pytest.raises(ConfigurationError):
        verifier.hydrate(issuers)


# === Custom checks and adapters =================================================================
def test_an_async_custom_check_of_a_tenant_runs_in_verify_async_only(key, monotonic):
    async def check(claims: Any) -> bool:
        return claims.client_id == "client-a"

    verifier = tenants(
        lambda i, p: CognitoVerifier(
            user_pool_id=p,
            client_id=None,
            token_use="access",
            jwks=jwks_of(key),
            clock=lambda: float(FIXED_NOW),
            custom_check=check,
        ),
        monotonic,
    )
    assert asyncio.run(verifier.verify_async(token_for(key, POOL_A))).client_id == "client-a"
    with pytest.raises(cognito_jwt.CustomCheckError):
        asyncio.run(verifier.verify_async(token_for(key, POOL_B)))
    with pytest.raises(ConfigurationError):
        verifier.verify(token_for(key, POOL_A))


@pytest.fixture
def router(key, monotonic) -> MultiTenantVerifier:
    return tenants(Factory(key), monotonic, max_new_per_minute=1)


def _event(token: str) -> dict[str, Any]:
    folder = Path(__file__).parent.parent / "adapters" / "events"
    event: dict[str, Any] = json.loads((folder / "rest_token.json").read_text())
    event["authorizationToken"] = f"Bearer {token}"
    return event


def test_the_lambda_authorizer_serves_tenants(key, router):
    handler = authorizer(router, context_claims=["client_id"])  # hydrate() at init: a no-op
    allowed = handler(_event(token_for(key, POOL_A)))
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert allowed["context"] == {"client_id": "client-a"}
    with pytest.raises(Unauthorized):
        handler(_event(key.sign(access_claims(iss="https://evil.example/eu-west-1_X"))))
    with pytest.raises(TenantRateLimitError):  # not 401: API Gateway answers 500, not cached
        handler(_event(token_for(key, POOL_B)))


def _flask(router: MultiTenantVerifier) -> Any:
    app = flask.Flask(__name__)
    flask_adapter.init_app(app, router)

    @app.get("/")
    def home() -> str:
        return "ok"

    return app.test_client()


def _asgi(router: MultiTenantVerifier) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return TestClient(AsgiMiddleware(app, router))


@pytest.mark.parametrize("make", [_flask, _asgi], ids=["wsgi", "asgi"])
def test_web_middleware_answers_200_401_and_503_with_retry_after(key, router, make):
    client = make(router)

    def get(token: str) -> Any:
        return client.get("/", headers={"Authorization": f"Bearer {token}"})

    assert get(token_for(key, POOL_A)).status_code == 200
    refused = get(key.sign(access_claims(iss="https://evil.example/eu-west-1_X")))
    assert refused.status_code == 401
    limited = get(token_for(key, POOL_B))
    assert limited.status_code == 503
    assert limited.headers["Retry-After"] == "60"
    body = limited.get_json() if isinstance(limited, flask.Response) else limited.json()
    assert body["code"] == "ERR_TENANT_RATE_LIMITED"


def test_the_name_is_exported_lazily_at_its_public_home():
    assert cognito_jwt.MultiTenantVerifier.__module__ == "cognito_jwt"
    assert "MultiTenantVerifier" in dir(cognito_jwt)
