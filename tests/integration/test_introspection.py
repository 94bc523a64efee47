"""IntrospectionCheck against a real OpenID provider (panva's oidc-provider), RFC 7662.

oidc-provider introspects (and revokes) opaque access tokens only: a JWT access token is answered
``unsupported_token_type``, which the check reports as "cannot decide". So the active/revoked
cases use opaque tokens (``urn:test:opaque``) and call the check directly with the claims a
verifier would have passed; servers that introspect JWTs (Keycloak, Okta, ...) take the same
request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from cognito_jwt import (
    Claims,
    FetchOptions,
    IntrospectionCheck,
    KeySetUnavailableError,
    generate_client_key,
)
from tests.servers.oidc import CLIENT_ID, CLIENT_SECRET, OidcProvider

CLAIMS = Claims({"sub": CLIENT_ID, "client_id": CLIENT_ID})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["client_secret_basic", "private_key_jwt"])
def make_check(
    request: pytest.FixtureRequest, oidc_provider: OidcProvider
) -> Callable[..., IntrospectionCheck]:
    """An introspection check authenticating one way or the other."""
    auth: dict[str, Any]
    if request.param == "client_secret_basic":
        client_id, auth = CLIENT_ID, {"client_secret": CLIENT_SECRET}
    else:
        key = generate_client_key("ES256")
        client_id = oidc_provider.register_client(key.jwks, grant_types=["client_credentials"])
        auth = {"assertion_signer": key.signer(client_id)}

    def make(**options: Any) -> IntrospectionCheck:
        return IntrospectionCheck(
            oidc_provider.introspection_endpoint,
            client_id,
            fetch=FetchOptions(timeout=10.0),
            **auth,
            **options,
        )

    return make


def ask(check: IntrospectionCheck, mode: str, token: str) -> bool:
    if mode == "sync":
        return check.is_revoked(CLAIMS, token)
    return asyncio.run(check.is_revoked_async(CLAIMS, token))


def test_an_active_token_is_accepted_and_a_revoked_one_refused(
    oidc_provider: OidcProvider, make_check: Callable[..., IntrospectionCheck], mode: str
) -> None:
    token = oidc_provider.opaque_token()
    other = oidc_provider.opaque_token()
    check = make_check(cache_ttl=0)
    assert ask(check, mode, token) is False
    oidc_provider.revoke(token)
    assert ask(check, mode, token) is True
    assert ask(check, mode, other) is False  # another token of the same client stays active


def test_a_token_the_server_never_issued_is_not_active(
    oidc_provider: OidcProvider, make_check: Callable[..., IntrospectionCheck]
) -> None:
    check = make_check(cache_ttl=0)
    assert check.is_revoked(CLAIMS, "not-a-token-the-server-issued") is True


def test_the_cache_keeps_an_answer_for_cache_ttl(
    oidc_provider: OidcProvider, make_check: Callable[..., IntrospectionCheck]
) -> None:
    token = oidc_provider.opaque_token()
    clock = Clock()
    check = make_check(cache_ttl=30, clock=clock)
    assert check.is_revoked(CLAIMS, token) is False
    oidc_provider.revoke(token)
    clock.now = 29.0
    assert check.is_revoked(CLAIMS, token) is False  # the documented staleness
    clock.now = 30.0
    assert check.is_revoked(CLAIMS, token) is True


def test_a_jwt_the_server_cannot_introspect_is_undecided(
    oidc_provider: OidcProvider,
    make_check: Callable[..., IntrospectionCheck],
    caplog: pytest.LogCaptureFixture,
) -> None:
    jwt = oidc_provider.token("RS256")
    with pytest.raises(KeySetUnavailableError, match="HTTP 400"):
        make_check().is_revoked(CLAIMS, jwt)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert make_check(on_error="open").is_revoked(CLAIMS, jwt) is False
    assert any("cannot decide" in r.getMessage() for r in caplog.records)


def test_a_refused_client_is_undecided(oidc_provider: OidcProvider) -> None:
    check = IntrospectionCheck(
        oidc_provider.introspection_endpoint, CLIENT_ID, client_secret="wrong-secret"
    )
    with pytest.raises(KeySetUnavailableError, match="HTTP 401") as info:
        check.is_revoked(CLAIMS, oidc_provider.opaque_token())
    assert "wrong-secret" not in str(info.value)


def test_the_discovery_document_names_the_endpoint(oidc_provider: OidcProvider) -> None:
    import httpx

    document = httpx.get(oidc_provider.discovery_url, timeout=10.0).json()
    assert document["introspection_endpoint"] == oidc_provider.introspection_endpoint
    assert document["revocation_endpoint"] == oidc_provider.revocation_endpoint
