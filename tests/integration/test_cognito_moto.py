"""CognitoVerifier against real Cognito-shaped tokens from moto's Cognito IdP (server mode).

The tokens carry the real Cognito issuer string; the keys are fetched from the moto server on
127.0.0.1 through ``jwks_uri=``, which is how a user points the verifier at a test double.
"""

# ruff: noqa: F811 - pytest fixtures imported by name
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cognito_jwt import (
    AudienceMismatchError,
    CognitoVerifier,
    FileStore,
    InsufficientScopeError,
    MissingGroupError,
    MultiIssuerVerifier,
    TokenUseMismatchError,
)
from tests.servers.moto_cognito import MotoCognito
from tests.servers.moto_fixtures import moto_cognito  # noqa: F401

MODES = ["sync", "async"]


def _verify(verifier: CognitoVerifier | MultiIssuerVerifier, token: str, mode: str) -> Any:
    if mode == "sync":
        return verifier.verify(token)
    return asyncio.run(verifier.verify_async(token))


def _verifier(moto: MotoCognito, **kwargs: Any) -> CognitoVerifier:
    options: dict[str, Any] = {
        "user_pool_id": moto.user_pool_id,
        "client_id": moto.client_id,
        "token_use": "access",
        "jwks_uri": moto.jwks_uri,
        "store": None,
    }
    options.update(kwargs)
    return CognitoVerifier(**options)


def test_the_issuer_is_the_real_cognito_one(moto_cognito: MotoCognito) -> None:
    verifier = _verifier(moto_cognito)
    assert verifier.issuer == moto_cognito.issuer
    assert verifier.issuer.startswith("https://cognito-idp.eu-west-1.amazonaws.com/")


@pytest.mark.parametrize("mode", MODES)
def test_access_token_verifies(moto_cognito: MotoCognito, mode: str) -> None:
    tokens = moto_cognito.tokens()
    verifier = _verifier(moto_cognito, groups=["admins"], scopes=["aws.cognito.signin.user.admin"])
    claims = _verify(verifier, tokens["AccessToken"], mode)
    assert claims.token_use == "access"
    assert claims.client_id == moto_cognito.client_id
    assert claims.username == moto_cognito.username
    assert "admins" in claims.groups
    assert verifier.stats.fetches == 1


@pytest.mark.parametrize("mode", MODES)
def test_id_token_verifies(moto_cognito: MotoCognito, mode: str) -> None:
    tokens = moto_cognito.tokens()
    claims = _verify(_verifier(moto_cognito, token_use="id"), tokens["IdToken"], mode)
    assert claims.token_use == "id"
    assert claims.audience == (moto_cognito.client_id,)
    assert claims["email"] == moto_cognito.email


@pytest.mark.parametrize("mode", MODES)
def test_token_use_is_enforced_both_ways(moto_cognito: MotoCognito, mode: str) -> None:
    tokens = moto_cognito.tokens()
    with pytest.raises(TokenUseMismatchError):
        _verify(_verifier(moto_cognito, token_use="access"), tokens["IdToken"], mode)
    with pytest.raises(TokenUseMismatchError):
        _verify(_verifier(moto_cognito, token_use="id"), tokens["AccessToken"], mode)


@pytest.mark.parametrize("mode", MODES)
def test_tokens_of_another_app_client_are_refused(moto_cognito: MotoCognito, mode: str) -> None:
    other = moto_cognito.tokens("other")
    with pytest.raises(AudienceMismatchError):
        _verify(_verifier(moto_cognito), other["AccessToken"], mode)
    with pytest.raises(AudienceMismatchError):
        _verify(_verifier(moto_cognito, token_use="id"), other["IdToken"], mode)
    # ... and accepted when that client is listed too.
    both = _verifier(moto_cognito, client_id=[moto_cognito.client_id, moto_cognito.other_client_id])
    assert _verify(both, other["AccessToken"], mode).client_id == moto_cognito.other_client_id


def test_group_and_scope_requirements(moto_cognito: MotoCognito) -> None:
    token = moto_cognito.tokens()["AccessToken"]
    with pytest.raises(MissingGroupError):
        _verifier(moto_cognito, groups=["auditors"]).verify(token)
    with pytest.raises(InsufficientScopeError):
        _verifier(moto_cognito, scopes=["orders/write"]).verify(token)


def test_refreshed_tokens_verify(moto_cognito: MotoCognito) -> None:
    first = moto_cognito.tokens()
    refreshed = moto_cognito.refresh(first["RefreshToken"])
    assert _verifier(moto_cognito).verify(refreshed["AccessToken"]).sub is not None


def test_a_second_process_starts_from_the_file_store_without_network(
    moto_cognito: MotoCognito, tmp_path: Any
) -> None:
    token = moto_cognito.tokens()["AccessToken"]
    first = _verifier(moto_cognito, store=FileStore(tmp_path))
    first.hydrate()
    assert first.stats.fetches == 1
    # A new verifier (as in a new Lambda container) with a jwks_uri that can't be reached: the
    # key set comes from the store and the token verifies with no fetch at all.
    second = _verifier(moto_cognito, store=FileStore(tmp_path))
    assert second.verify(token).client_id == moto_cognito.client_id
    assert second.stats.fetches == 0
    assert second.stats.l2_loads == 1


def test_several_pools_behind_one_verifier(moto_cognito: MotoCognito) -> None:
    other_pool = moto_cognito.cognito.create_user_pool(PoolName="second-pool")["UserPool"]["Id"]
    verifier = MultiIssuerVerifier(
        [
            _verifier(moto_cognito),
            _verifier(
                moto_cognito,
                user_pool_id=other_pool,
                client_id="unused",
                jwks_uri=moto_cognito.jwks_uri.replace(moto_cognito.user_pool_id, other_pool),
            ),
        ]
    )
    claims = verifier.verify(moto_cognito.tokens()["AccessToken"])
    assert claims.issuer == moto_cognito.issuer
