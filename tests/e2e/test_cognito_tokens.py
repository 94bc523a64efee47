"""Tokens minted by an emulated Cognito (MiniStack), verified by `CognitoVerifier`.

The keys come from the emulator, found through the pool's discovery document; the tokens keep
the issuer MiniStack writes, the real ``https://cognito-idp.{region}.amazonaws.com/{pool}``,
which the verifier derives from the pool id on its own. ``jwks_uri=`` is the one concession to
the emulator: on AWS the keys live under the issuer's host.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from cognito_jwt import (
    AudienceMismatchError,
    CognitoVerifier,
    InsufficientScopeError,
    InvalidSignatureError,
    IssuerMismatchError,
    KeyNotFoundError,
    MissingGroupError,
    RefreshPolicy,
    TokenUseMismatchError,
)
from tests.e2e import aws
from tests.servers.ministack import MiniStack

Factory = Callable[..., CognitoVerifier]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _part(token: str, index: int) -> dict[str, Any]:
    segment = token.split(".")[index]
    parsed: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return parsed


def _with(
    token: str, *, header: dict[str, Any] | None = None, claims: dict[str, Any] | None = None
) -> str:
    """*token* with header fields or claims replaced, and its original signature."""
    head, payload, signature = token.split(".")
    if header is not None:
        head = _b64(json.dumps({**_part(token, 0), **header}).encode())
    if claims is not None:
        payload = _b64(json.dumps({**_part(token, 1), **claims}).encode())
    return f"{head}.{payload}.{signature}"


@pytest.fixture
def verifier(pool: aws.Pool, jwks_uri: str) -> Factory:
    """``CognitoVerifier`` for the session pool, keys from the emulator, nothing stored on disk."""

    def make(**options: Any) -> CognitoVerifier:
        options.setdefault("client_id", pool.client_id)
        options.setdefault("jwks_uri", jwks_uri)
        return CognitoVerifier(user_pool_id=pool.pool_id, store=None, **options)

    return make


@pytest.fixture(scope="module")
def alice(pool: aws.Pool) -> dict[str, str]:
    return pool.tokens("alice")


def test_discovery_document_names_the_issuer_the_verifier_expects(
    ministack: MiniStack, pool: aws.Pool, jwks_uri: str, verifier: Factory
) -> None:
    assert verifier(token_use="id").issuer == pool.issuer
    assert pool.issuer == f"https://cognito-idp.{ministack.region}.amazonaws.com/{pool.pool_id}"
    assert jwks_uri == f"{ministack.endpoint_url}/{pool.pool_id}/.well-known/jwks.json"


def test_endpoint_url_takes_the_keys_from_the_emulator_for_every_issuer_format(
    ministack: MiniStack, pool: aws.Pool, alice: dict[str, str]
) -> None:
    verifier = CognitoVerifier(
        user_pool_id=pool.pool_id,
        client_id=pool.client_id,
        token_use="access",
        endpoint_url=ministack.endpoint_url,
        store=None,
    )
    # Both issuer formats accepted; MiniStack issues the original one.
    assert pool.issuer in verifier.issuers
    assert len(verifier.issuers) == 2
    report = verifier.hydrate()
    assert set(report) == verifier.issuers
    assert verifier.verify(alice["AccessToken"])["iss"] == pool.issuer
    assert verifier.stats.fetches == 1  # one key set at the emulator serves both


def test_id_token_verifies(pool: aws.Pool, alice: dict[str, str], verifier: Factory) -> None:
    claims = verifier(token_use="id").verify(alice["IdToken"])
    assert claims["iss"] == pool.issuer
    assert claims["token_use"] == "id"
    assert claims["aud"] == pool.client_id
    assert claims["cognito:username"] == "alice"
    assert claims["email"] == "alice@example.com"
    assert set(claims.groups) == {"admins"}


def test_access_token_verifies(pool: aws.Pool, alice: dict[str, str], verifier: Factory) -> None:
    claims = verifier(token_use="access", groups=["admins"]).verify(alice["AccessToken"])
    assert claims["iss"] == pool.issuer
    assert claims["client_id"] == pool.client_id
    assert claims["username"] == "alice"
    assert set(claims.scopes) == {"aws.cognito.signin.user.admin"}
    assert "aud" not in claims


def test_access_token_verifies_async(alice: dict[str, str], verifier: Factory) -> None:
    checker = verifier(token_use="access")

    async def main() -> str:
        return str((await checker.verify_async(alice["AccessToken"]))["username"])

    assert anyio.run(main) == "alice"


def test_machine_to_machine_token_verifies_with_its_scopes(
    pool: aws.Pool, verifier: Factory
) -> None:
    token = pool.m2m_token([aws.READ_SCOPE])
    checker = verifier(client_id=pool.m2m_client_id, token_use="access", scopes=[aws.READ_SCOPE])
    claims = checker.verify(token)
    assert claims["client_id"] == pool.m2m_client_id
    assert claims["sub"] == pool.m2m_client_id
    assert set(claims.scopes) == {aws.READ_SCOPE}


def test_machine_to_machine_token_without_the_scope_is_refused(
    pool: aws.Pool, verifier: Factory
) -> None:
    token = pool.m2m_token([aws.READ_SCOPE])
    checker = verifier(client_id=pool.m2m_client_id, token_use="access", scopes=[aws.WRITE_SCOPE])
    with pytest.raises(InsufficientScopeError):
        checker.verify(token)


def test_user_outside_the_group_is_refused(pool: aws.Pool, verifier: Factory) -> None:
    with pytest.raises(MissingGroupError):
        verifier(token_use="access", groups=["admins"]).verify(pool.tokens("bob")["AccessToken"])


def test_id_token_is_not_an_access_token(alice: dict[str, str], verifier: Factory) -> None:
    with pytest.raises(TokenUseMismatchError):
        verifier(token_use="access").verify(alice["IdToken"])


def test_access_token_is_not_an_id_token(alice: dict[str, str], verifier: Factory) -> None:
    with pytest.raises(TokenUseMismatchError):
        verifier(token_use="id").verify(alice["AccessToken"])


@pytest.mark.parametrize("kind", ["IdToken", "AccessToken"])
def test_token_of_another_app_client_is_refused(
    pool: aws.Pool, verifier: Factory, kind: str
) -> None:
    token = pool.tokens("alice", client_id=pool.other_client_id)[kind]
    checker = verifier(token_use=None)
    with pytest.raises(AudienceMismatchError):
        checker.verify(token)
    # The same token passes for the app client it was issued to: only the client differs.
    assert verifier(token_use=None, client_id=pool.other_client_id).verify(token)["sub"]


def test_token_of_another_pool_is_refused(
    ministack: MiniStack, other_pool: aws.Pool, verifier: Factory
) -> None:
    token = other_pool.tokens("carol")["AccessToken"]
    # Its key is not among this pool's keys ...
    with pytest.raises(KeyNotFoundError):
        verifier(token_use="access", client_id=None).verify(token)
    # ... and with that pool's keys at hand, its issuer is still not this pool's.
    with pytest.raises(IssuerMismatchError):
        verifier(
            token_use="access",
            client_id=None,
            jwks_uri=f"{ministack.endpoint_url}/{other_pool.pool_id}/.well-known/jwks.json",
        ).verify(token)


def test_tampered_claims_are_refused(alice: dict[str, str], verifier: Factory) -> None:
    forged = _with(alice["AccessToken"], claims={"cognito:groups": ["admins", "root"]})
    with pytest.raises(InvalidSignatureError):
        verifier(token_use="access").verify(forged)


def test_tampered_signature_is_refused(alice: dict[str, str], verifier: Factory) -> None:
    head, payload, signature = alice["IdToken"].split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    with pytest.raises(InvalidSignatureError):
        verifier(token_use="id").verify(f"{head}.{payload}.{_b64(bytes(raw))}")


def test_token_signed_under_the_other_key_of_the_pool_is_refused(
    alice: dict[str, str], verifier: Factory
) -> None:
    # MiniStack, like Cognito, signs ID and access tokens with two keys of the pool: an access
    # token relabelled with the ID key's kid fails on the signature, not on a lookup.
    id_kid = _part(alice["IdToken"], 0)["kid"]
    assert id_kid != _part(alice["AccessToken"], 0)["kid"]
    relabelled = _with(alice["AccessToken"], header={"kid": id_kid})
    with pytest.raises(InvalidSignatureError):
        verifier(token_use="access").verify(relabelled)


def test_unknown_kid_is_refused_after_one_fetch(alice: dict[str, str], verifier: Factory) -> None:
    fetches: list[str] = []
    checker = verifier(
        token_use="access",
        refresh=RefreshPolicy(cooldown=3600),
        on_event=lambda name, details: fetches.append(name) if name == "fetch" else None,
    )
    checker.verify(alice["AccessToken"])
    unknown = _with(alice["AccessToken"], header={"kid": "not-a-key-of-this-pool"})
    for _ in range(3):
        with pytest.raises(KeyNotFoundError):
            checker.verify(unknown)
    assert len(fetches) <= 2  # the first load, then at most one refresh in the cooldown window
