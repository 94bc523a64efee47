"""``MultiTenantVerifier`` against real loopback issuers: one ``LocalIssuer`` per tenant pool.

Tokens carry the real Cognito issuer of each pool; each tenant's verifier fetches its keys
over HTTP from that tenant's server. A ``sink`` server answers 404 for the key sets of pools
nobody owns, and counts what an attacker made us fetch.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cognito_jwt import (
    CognitoVerifier,
    IssuerMismatchError,
    KeyNotFoundError,
    KeySetUnavailableError,
    MemoryStore,
    MultiTenantVerifier,
    TenantRateLimitError,
)
from cognito_jwt.adapters.asgi import BearerAuthMiddleware
from cognito_jwt.testing import LocalIssuer
from tests.fake_issuer import WAIT, FakeClock

POOLS = {
    "eu-west-1_TenantA1": "client-a",
    "eu-west-1_TenantB2": "client-b",
    "eu-west-1_TenantC3": "client-c",
}
JWKS_PATH = "/.well-known/jwks.json"


class Tenants:
    """The servers, the tenant table, and a factory that counts its builds."""

    def __init__(
        self, servers: dict[str, LocalIssuer], sink: LocalIssuer, *, everyone: bool
    ) -> None:
        self.servers = servers
        self.sink = sink
        self.everyone = everyone  # the worst factory: a verifier for any pool of the Region
        self.store: MemoryStore | None = None
        self.builds: list[str] = []
        self.lock = threading.Lock()

    def build(self, issuer: str, pool_id: str | None) -> CognitoVerifier | None:
        with self.lock:
            self.builds.append(issuer)
        assert pool_id is not None
        server = self.servers.get(pool_id)
        if server is None and not self.everyone:
            return None
        return CognitoVerifier(
            user_pool_id=pool_id,
            client_id=POOLS.get(pool_id, "unknown"),
            token_use="access",
            jwks_uri=(server or self.sink).jwks_uri,
            store=self.store,
        )

    def token(self, pool_id: str, *, by: str | None = None) -> str:
        server = self.servers[by or pool_id]
        return server.cognito_access_token(user_pool_id=pool_id, client_id=POOLS.get(pool_id, "x"))

    def requests(self) -> int:
        return sum(sum(s.requests.values()) for s in (*self.servers.values(), self.sink))


@pytest.fixture
def servers() -> Iterator[tuple[dict[str, LocalIssuer], LocalIssuer]]:
    started = {pool: LocalIssuer().start() for pool in POOLS}
    sink = LocalIssuer().start()
    sink.fail(404)
    try:
        yield started, sink
    finally:
        for server in (*started.values(), sink):
            server.stop()


def make(
    servers: Any, *, everyone: bool = False, **options: Any
) -> tuple[MultiTenantVerifier, Tenants]:
    table = Tenants(*servers, everyone=everyone)
    settings: dict[str, Any] = {
        "build": table.build,
        "cognito_regions": ["eu-west-1"],
        "clock": FakeClock(0.0),
    }
    settings.update(options)
    return MultiTenantVerifier(**settings), table


def test_tenants_fetch_their_own_keys_and_unknown_issuers_cause_no_request(servers):
    verifier, table = make(servers)
    other_region = table.servers["eu-west-1_TenantA1"].cognito_access_token(
        user_pool_id="us-east-1_TenantA1", client_id="client-a"
    )
    for token in (
        other_region,
        table.servers["eu-west-1_TenantA1"].mint(
            {"sub": "x", "iss": "https://evil.example/eu-west-1_TenantA1"}
        ),
        table.servers["eu-west-1_TenantA1"].mint({"sub": "x"}),  # iss: the loopback server itself
    ):
        with pytest.raises(IssuerMismatchError):
            verifier.verify(token)
        with pytest.raises(IssuerMismatchError):
            asyncio.run(verifier.verify_async(token))
    assert table.requests() == 0
    assert table.builds == []
    # A stranger's pool in the allowed Region: the factory says no, nothing is fetched.
    with pytest.raises(IssuerMismatchError):
        verifier.verify(table.token("eu-west-1_Stranger", by="eu-west-1_TenantA1"))
    assert table.requests() == 0
    for pool, client in POOLS.items():
        assert verifier.verify(table.token(pool)).client_id == client
        assert table.servers[pool].requests[JWKS_PATH] == 1
    # A tenant's key does not sign for another tenant.
    with pytest.raises(KeyNotFoundError):
        verifier.verify(table.token("eu-west-1_TenantB2", by="eu-west-1_TenantA1"))


def test_a_flood_of_invented_pools_costs_at_most_the_cap_in_fetches(servers):
    clock = FakeClock(0.0)
    verifier, table = make(servers, everyone=True, max_new_per_minute=5, clock=clock)
    outcomes: dict[str, int] = {}
    for n in range(60):
        token = table.token(f"eu-west-1_Flood{n}", by="eu-west-1_TenantA1")
        name = _outcome(verifier, token)
        outcomes[name] = outcomes.get(name, 0) + 1
    assert outcomes == {"KeySetUnavailableError": 5, "TenantRateLimitError": 55}
    assert len(table.builds) == 5
    assert sum(table.sink.requests.values()) == 5  # one key-set fetch per pool tried
    # The tenants still get in once the minute has refilled the allowance.
    clock.advance(12.0)
    assert verifier.verify(table.token("eu-west-1_TenantA1")).client_id == "client-a"


def _outcome(verifier: MultiTenantVerifier, token: str) -> str:
    try:
        verifier.verify(token)
    except (KeySetUnavailableError, TenantRateLimitError) as exc:
        return type(exc).__name__
    return "verified"  # pragma: no cover - an invented pool has no keys


def test_an_evicted_tenant_is_rebuilt_and_the_l2_store_spares_the_fetch(servers):
    verifier, table = make(servers, max_verifiers=2)
    table.store = MemoryStore()
    a, b, c = POOLS
    for pool in (a, b, c):  # c evicts a
        verifier.verify(table.token(pool))
    assert len(verifier.tenants) == 2
    assert verifier.verifier_for(f"https://cognito-idp.eu-west-1.amazonaws.com/{a}") is None
    verifier.verify(table.token(a))  # rebuilt: keys from the store, no request
    assert len(table.builds) == 4
    assert table.servers[a].requests[JWKS_PATH] == 1
    # Without a persistent store, a rebuilt verifier fetches its keys again.
    bare, bare_table = make(servers, max_verifiers=1)
    bare.verify(bare_table.token(b))
    bare.verify(bare_table.token(c))
    bare.verify(bare_table.token(b))
    assert table.servers[b].requests[JWKS_PATH] == 1 + 2


def test_first_tokens_of_a_tenant_in_threads_and_tasks_build_and_fetch_once(servers):
    verifier, table = make(servers)
    a, b, _ = POOLS
    token = table.token(a)
    barrier = threading.Barrier(8)
    results: list[str] = []

    def call() -> None:
        barrier.wait(WAIT)
        results.append(verifier.verify(token).client_id or "")

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert results == ["client-a"] * 8
    assert table.servers[a].requests[JWKS_PATH] == 1

    token_b = table.token(b)

    async def tasks() -> list[str]:
        claims = await asyncio.gather(*(verifier.verify_async(token_b) for _ in range(10)))
        return [c.client_id or "" for c in claims]

    assert asyncio.run(tasks()) == ["client-b"] * 10
    assert table.builds.count(f"https://cognito-idp.eu-west-1.amazonaws.com/{a}") == 1
    assert table.builds.count(f"https://cognito-idp.eu-west-1.amazonaws.com/{b}") == 1
    assert table.servers[b].requests[JWKS_PATH] == 1


def test_asgi_middleware_in_front_of_real_tenants(servers):
    verifier, table = make(servers, max_new_per_minute=1)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send(
            {"type": "http.response.body", "body": scope["state"]["claims"]["client_id"].encode()}
        )

    a, b, _ = POOLS
    client = TestClient(BearerAuthMiddleware(app, verifier))
    ok = client.get("/", headers={"Authorization": f"Bearer {table.token(a)}"})
    assert (ok.status_code, ok.text) == (200, "client-a")
    limited = client.get("/", headers={"Authorization": f"Bearer {table.token(b)}"})
    assert limited.status_code == 503
    assert int(limited.headers["Retry-After"]) == 60
    assert table.servers[b].requests[JWKS_PATH] == 0
