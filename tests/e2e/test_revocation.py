"""Revocation end to end: Cognito (MiniStack) revokes, the app feeds its deny-list.

A plain JWT check cannot see Cognito's ``RevokeToken`` or ``GlobalSignOut``: the revoked
tokens still verify. With the session's ``origin_jti`` (or the user's ``sub``) on a
``DenyList``, the verifier refuses them, while a second session of the same user stays valid
where Cognito says so. What Cognito says is read from ``REFRESH_TOKEN_AUTH``: MiniStack 1.5.33
refuses a revoked refresh token, but its ``GetUser`` honours revocations only with
``AUTH=true`` (SigV4 enforcement), which the harness does not turn on.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cognito_jwt import CognitoVerifier, DenyList, TokenRevokedError
from tests.e2e import aws
from tests.servers.ministack import MiniStack


@pytest.fixture(scope="module")
def revoke_pool(ministack: MiniStack) -> aws.Pool:
    """A pool of this module's own: its sign-outs touch no other test's users."""
    return aws.create_pool(ministack, "e2e-revoke", {"dave": [], "erin": [], "frank": []})


def verifiers(
    pool: aws.Pool, jwks_uri: str, deny: DenyList
) -> tuple[CognitoVerifier, CognitoVerifier]:
    """Access and ID token verifiers of *pool* sharing *deny* (the cache on: hits are checked)."""

    def make(token_use: Any) -> CognitoVerifier:
        return CognitoVerifier(
            user_pool_id=pool.pool_id,
            client_id=pool.client_id,
            token_use=token_use,
            jwks_uri=jwks_uri,
            store=None,
            token_cache_size=16,
            revocation=deny,
        )

    return make("access"), make("id")


def cognito_refreshes(pool: aws.Pool, refresh_token: str) -> dict[str, str] | None:
    """New tokens from *refresh_token* (``REFRESH_TOKEN_AUTH``), ``None`` if Cognito refuses."""
    try:
        result = pool.ministack.client("cognito-idp").admin_initiate_auth(
            UserPoolId=pool.pool_id,
            ClientId=pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NotAuthorizedException":
            raise
        return None
    return dict(result["AuthenticationResult"])


def test_revoke_token_refuses_that_session_only(
    ministack: MiniStack, revoke_pool: aws.Pool
) -> None:
    jwks_uri = f"{ministack.endpoint_url}/{revoke_pool.pool_id}/.well-known/jwks.json"
    deny = DenyList()
    access, id_ = verifiers(revoke_pool, jwks_uri, deny)
    first, second = revoke_pool.tokens("dave"), revoke_pool.tokens("dave")
    refreshed = cognito_refreshes(revoke_pool, first["RefreshToken"])
    assert refreshed is not None
    claims = access.verify(first["AccessToken"])
    # One session, one origin_jti: its first tokens, its ID token and its refreshed tokens.
    assert id_.verify(first["IdToken"])["origin_jti"] == claims["origin_jti"]
    assert access.verify(refreshed["AccessToken"])["origin_jti"] == claims["origin_jti"]
    assert access.verify(second["AccessToken"])["origin_jti"] != claims["origin_jti"]

    revoke_pool.ministack.client("cognito-idp").revoke_token(
        Token=first["RefreshToken"], ClientId=revoke_pool.client_id
    )
    assert cognito_refreshes(revoke_pool, first["RefreshToken"]) is None
    assert cognito_refreshes(revoke_pool, second["RefreshToken"]) is not None
    # What a stateless check alone sees: still valid.
    assert access.verify(first["AccessToken"])["username"] == "dave"

    # The app's sign-out endpoint puts the session on the deny-list, until the last token
    # the session can have had expires (its latest access token's exp, here).
    deny.revoke_origin(claims["origin_jti"], expires_at=time.time() + 3600)
    for token, verifier in [
        (first["AccessToken"], access),
        (first["IdToken"], id_),
        (refreshed["AccessToken"], access),
    ]:
        with pytest.raises(TokenRevokedError):
            verifier.verify(token)
    assert access.verify(second["AccessToken"])["username"] == "dave"
    assert id_.verify(second["IdToken"])["cognito:username"] == "dave"


@pytest.mark.parametrize("how", ["GlobalSignOut", "AdminUserGlobalSignOut"])
def test_global_sign_out_refuses_every_older_token_of_the_user(
    ministack: MiniStack, revoke_pool: aws.Pool, how: str
) -> None:
    user = "erin" if how == "GlobalSignOut" else "frank"
    jwks_uri = f"{ministack.endpoint_url}/{revoke_pool.pool_id}/.well-known/jwks.json"
    deny = DenyList()
    access, id_ = verifiers(revoke_pool, jwks_uri, deny)
    sessions = [revoke_pool.tokens(user), revoke_pool.tokens(user)]
    bystander = revoke_pool.tokens("dave")
    claims = access.verify(sessions[0]["AccessToken"])

    cognito = revoke_pool.ministack.client("cognito-idp")
    if how == "GlobalSignOut":
        cognito.global_sign_out(AccessToken=sessions[0]["AccessToken"])
    else:
        cognito.admin_user_global_sign_out(UserPoolId=revoke_pool.pool_id, Username=user)
    signed_out_at = time.time()
    for session in sessions:  # still valid to a stateless check
        access.verify(session["AccessToken"])

    deny.revoke_subject(claims["sub"], before=signed_out_at)
    for session in sessions:
        with pytest.raises(TokenRevokedError):
            access.verify(session["AccessToken"])
        with pytest.raises(TokenRevokedError):
            id_.verify(session["IdToken"])
    assert access.verify(bystander["AccessToken"])["username"] == "dave"
