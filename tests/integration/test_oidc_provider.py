"""JwtVerifier against a real OpenID provider (npm ``oidc-provider``) on 127.0.0.1.

Covers discovery, tokens of every algorithm the provider signs, key rotation and retirement,
the issuer going away and coming back, and a discovery document that names another issuer.
Time moves by an offset added to the verifier's clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cognito_jwt import (
    DiscoveryError,
    FileStore,
    JwtVerifier,
    KeyNotFoundError,
    KeySetUnavailableError,
    RefreshPolicy,
)
from tests.servers.oidc import ALGORITHMS, OidcProvider

MODES = ["sync", "async"]
API = "api://orders"


class Clock:
    """Real time plus an offset that the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def _verify(verifier: JwtVerifier, token: str, mode: str) -> Any:
    if mode == "sync":
        return verifier.verify(token)
    return asyncio.run(verifier.verify_async(token))


def _verifier(provider: OidcProvider, **kwargs: Any) -> JwtVerifier:
    options: dict[str, Any] = {
        "issuer": provider.issuer,
        "audience": [API, *(OidcProvider.audience(alg) for alg in provider.algorithms)],
        "store": None,
    }
    options.update(kwargs)
    return JwtVerifier(**options)


@pytest.mark.parametrize("mode", MODES)
def test_discovery_and_every_algorithm(oidc_provider: OidcProvider, mode: str) -> None:
    verifier = _verifier(oidc_provider)
    assert set(oidc_provider.algorithms) == set(ALGORITHMS)
    for alg in oidc_provider.algorithms:
        claims = _verify(verifier, oidc_provider.token(alg), mode)
        assert claims.header["alg"] == alg
        assert claims.issuer == oidc_provider.issuer
        assert claims.audience == (OidcProvider.audience(alg),)
        assert claims.scopes == {"orders:read"}
    # One discovery + JWKS fetch served every algorithm.
    assert verifier.stats.fetches == 1
    assert verifier.stats.refreshes == {"initial": 1}


@pytest.mark.parametrize("mode", MODES)
def test_rotation_and_retirement(
    oidc_provider_factory: Callable[..., OidcProvider], mode: str
) -> None:
    provider = oidc_provider_factory(algorithms=("RS256", "ES256"))
    clock = Clock()
    verifier = _verifier(provider, clock=clock)
    old_token = provider.token("RS256", ttl=3600, audience=API)
    _verify(verifier, old_token, mode)

    provider.rotate()
    new_token = provider.token("RS256", ttl=3600, audience=API)
    # The new kid is unknown: exactly one refresh, right away (within the first cooldown).
    assert _verify(verifier, new_token, mode).header["kid"] == provider.signing_kids()["RS256"]
    assert verifier.stats.refreshes == {"initial": 1, "unknown_kid": 1}
    # The old key is still published, so old tokens keep verifying, without another fetch.
    _verify(verifier, old_token, mode)
    assert verifier.stats.fetches == 2

    provider.retire()
    clock.advance(60)
    if mode == "sync":
        verifier.refresh()
    else:
        asyncio.run(verifier.refresh_async())
    with pytest.raises(KeyNotFoundError):
        _verify(verifier, old_token, mode)
    _verify(verifier, new_token, mode)


@pytest.mark.parametrize("mode", MODES)
def test_issuer_down_then_back(
    oidc_provider_factory: Callable[..., OidcProvider], mode: str
) -> None:
    provider = oidc_provider_factory(algorithms=("ES256",))
    clock = Clock()
    policy = RefreshPolicy(
        min_max_age=10,
        max_age=60,
        max_max_age=60,
        max_stale=120,
        stale_if_error=600,
        backoff_initial=5,
        backoff_max=20,
    )
    verifier = _verifier(provider, clock=clock, refresh=policy)
    token = provider.token("ES256", ttl=7200, audience=API)
    _verify(verifier, token, mode)
    provider.stop()

    clock.advance(90)  # stale: served at once, one background refresh (which fails)
    _verify(verifier, token, mode)
    if mode == "sync":
        verifier._keys.join_background(timeout=30)  # type: ignore[attr-defined]
    clock.advance(110)  # past max_stale: the verify itself tries, fails, serves stale keys
    _verify(verifier, token, mode)
    assert verifier.stats.fetch_failures >= 1
    assert verifier.stats.stale_served >= 2

    clock.advance(500)  # past stale_if_error: no usable keys any more
    with pytest.raises(KeySetUnavailableError):
        _verify(verifier, token, mode)

    provider.start()  # the issuer recovers (same port, same keys)
    clock.advance(60)  # past the backoff
    assert _verify(verifier, token, mode).issuer == provider.issuer


def test_discovery_naming_another_issuer_is_refused(
    oidc_provider_factory: Callable[..., OidcProvider],
) -> None:
    # The provider calls itself http://localhost:PORT; we expect http://127.0.0.1:PORT.
    provider = oidc_provider_factory(issuer_host="localhost", algorithms=("ES256",))
    assert provider.issuer.startswith("http://localhost:")
    verifier = JwtVerifier(issuer=provider.base_url, audience=None, store=None)
    token = provider.token("ES256")
    with pytest.raises(DiscoveryError, match="expected"):
        verifier.verify(token)
    with pytest.raises(DiscoveryError):
        asyncio.run(verifier.verify_async(token))
    # With the issuer it really has, the same provider works.
    assert JwtVerifier(issuer=provider.issuer, audience=None, store=None).verify(token)


def test_a_new_process_verifies_from_the_store_while_the_issuer_is_down(
    oidc_provider_factory: Callable[..., OidcProvider], tmp_path: Path
) -> None:
    provider = oidc_provider_factory(algorithms=("EdDSA",))
    token = provider.token("EdDSA", ttl=3600, audience=API)
    _verifier(provider, store=FileStore(tmp_path)).hydrate()
    provider.stop()
    cold = _verifier(provider, store=FileStore(tmp_path))
    assert cold.verify(token).header["alg"] == "EdDSA"
    assert cold.stats.fetches == 0
    assert cold.stats.l2_loads == 1
