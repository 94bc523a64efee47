"""CognitoRevocationCheck against an emulated Cognito (MiniStack): sign-outs and revocations.

MiniStack's ``GetUser`` refuses an access token after ``RevokeToken`` (of the refresh token it
came from), ``GlobalSignOut`` and ``AdminUserGlobalSignOut``, as Cognito does, but only with
``AUTH=true`` (MiniStack 1.5.33 checks the deny-list of revoked token families in the same step
as the IAM checks): this module runs a MiniStack of its own with ``AUTH=true`` and calls it with
its root credentials (``test``/``test``). Each test signs in a user of its own, so one test's
sign-out never touches another's sessions.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from cognito_jwt import (
    Claims,
    CognitoRevocationCheck,
    CognitoVerifier,
    KeySetUnavailableError,
    TokenRevokedError,
)
from tests.e2e import aws
from tests.servers.aws_client import isolated_client
from tests.servers.ministack import MiniStack

if TYPE_CHECKING:
    from collections.abc import Iterator

USERS = [f"user{i}" for i in range(12)]
_next_user = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class AuthMiniStack(MiniStack):
    """MiniStack with ``AUTH=true``: revoked token families are refused by ``GetUser``."""

    def _env(self) -> dict[str, str]:
        return {**super()._env(), "AUTH": "true"}

    def client(self, service: str) -> Any:
        """A boto3 client with MiniStack's root credentials (AUTH=true checks signatures)."""
        return isolated_client(
            service,
            region=self.region,
            endpoint_url=self.endpoint_url,
            access_key="test",
            session_token=None,
        )


@pytest.fixture(scope="module")
def ministack() -> Iterator[MiniStack]:
    """This module's own emulator (shadows the session one, which runs without AUTH)."""
    with AuthMiniStack() as server:
        yield server


@pytest.fixture(scope="module")
def revocation_pool(ministack: MiniStack) -> aws.Pool:
    """A pool of its own: sign-outs here never reach the session pool's users."""
    return aws.create_pool(ministack, "e2e-revocation", {name: [] for name in USERS})


@pytest.fixture
def user() -> str:
    return USERS[next(_next_user)]


@pytest.fixture
def verifier(revocation_pool: aws.Pool, ministack: MiniStack) -> CognitoVerifier:
    return CognitoVerifier(
        user_pool_id=revocation_pool.pool_id,
        client_id=revocation_pool.client_id,
        token_use="access",
        endpoint_url=ministack.endpoint_url,
        store=None,
    )


@pytest.fixture
def make_check(ministack: MiniStack) -> Callable[..., CognitoRevocationCheck]:
    def make(**options: Any) -> CognitoRevocationCheck:
        options.setdefault("endpoint_url", ministack.endpoint_url)
        return CognitoRevocationCheck(**options)

    return make


def revoked(check: CognitoRevocationCheck, verifier: CognitoVerifier, token: str) -> bool:
    claims = verifier.verify(token)  # the signature and claims hold throughout
    sync = check.is_revoked(claims, token)
    assert asyncio.run(check.is_revoked_async(claims, token)) is sync
    return bool(sync)


def test_a_fresh_access_token_is_not_revoked(
    revocation_pool: aws.Pool,
    verifier: CognitoVerifier,
    make_check: Callable[..., CognitoRevocationCheck],
    user: str,
) -> None:
    tokens = revocation_pool.tokens(user)
    assert revoked(make_check(cache_ttl=0), verifier, tokens["AccessToken"]) is False


def test_revoke_token_revokes_that_session_only(
    ministack: MiniStack,
    revocation_pool: aws.Pool,
    verifier: CognitoVerifier,
    make_check: Callable[..., CognitoRevocationCheck],
    user: str,
) -> None:
    first = revocation_pool.tokens(user)
    second = revocation_pool.tokens(user)
    check = make_check(cache_ttl=0)
    ministack.client("cognito-idp").revoke_token(
        Token=first["RefreshToken"], ClientId=revocation_pool.client_id
    )
    assert revoked(check, verifier, first["AccessToken"]) is True
    # Cognito revokes the tokens of that refresh token (same origin_jti), not the user's others.
    assert revoked(check, verifier, second["AccessToken"]) is False


@pytest.mark.parametrize("how", ["GlobalSignOut", "AdminUserGlobalSignOut"])
def test_global_sign_out_revokes_every_session(
    ministack: MiniStack,
    revocation_pool: aws.Pool,
    verifier: CognitoVerifier,
    make_check: Callable[..., CognitoRevocationCheck],
    user: str,
    how: str,
) -> None:
    first = revocation_pool.tokens(user)
    second = revocation_pool.tokens(user)
    check = make_check(cache_ttl=0)
    assert revoked(check, verifier, first["AccessToken"]) is False
    cognito = ministack.client("cognito-idp")
    if how == "GlobalSignOut":
        cognito.global_sign_out(AccessToken=first["AccessToken"])
    else:
        cognito.admin_user_global_sign_out(UserPoolId=revocation_pool.pool_id, Username=user)
    assert revoked(check, verifier, first["AccessToken"]) is True
    assert revoked(check, verifier, second["AccessToken"]) is True


def test_the_verifier_refuses_a_signed_out_token(
    ministack: MiniStack,
    revocation_pool: aws.Pool,
    verifier: CognitoVerifier,
    make_check: Callable[..., CognitoRevocationCheck],
    user: str,
) -> None:
    """End to end through the verifier's ``revocation=``."""
    token = revocation_pool.tokens(user)["AccessToken"]
    check = make_check(cache_ttl=0)
    guarded = CognitoVerifier(
        user_pool_id=revocation_pool.pool_id,
        client_id=revocation_pool.client_id,
        token_use="access",
        endpoint_url=ministack.endpoint_url,
        store=None,
        revocation=check,
    )
    assert guarded.verify(token)["username"] == user
    ministack.client("cognito-idp").global_sign_out(AccessToken=token)
    with pytest.raises(TokenRevokedError):
        guarded.verify(token)


def test_a_cached_answer_outlives_a_revocation_for_at_most_cache_ttl(
    ministack: MiniStack,
    revocation_pool: aws.Pool,
    verifier: CognitoVerifier,
    make_check: Callable[..., CognitoRevocationCheck],
    user: str,
) -> None:
    token = revocation_pool.tokens(user)["AccessToken"]
    clock = Clock()
    check = make_check(cache_ttl=60, clock=clock)
    claims = verifier.verify(token)
    assert check.is_revoked(claims, token) is False
    ministack.client("cognito-idp").global_sign_out(AccessToken=token)
    clock.now = 59.0
    assert check.is_revoked(claims, token) is False  # the documented staleness
    clock.now = 60.0
    assert check.is_revoked(claims, token) is True


def test_id_tokens_are_not_checked(
    ministack: MiniStack,
    revocation_pool: aws.Pool,
    make_check: Callable[..., CognitoRevocationCheck],
    user: str,
) -> None:
    tokens = revocation_pool.tokens(user)
    id_verifier = CognitoVerifier(
        user_pool_id=revocation_pool.pool_id,
        client_id=revocation_pool.client_id,
        token_use="id",
        endpoint_url=ministack.endpoint_url,
        store=None,
    )
    ministack.client("cognito-idp").global_sign_out(AccessToken=tokens["AccessToken"])
    claims = id_verifier.verify(tokens["IdToken"])
    # GetUser takes no ID token: the check does not apply (use a deny-list for ID tokens).
    assert make_check(cache_ttl=0).is_revoked(claims, tokens["IdToken"]) is False


def test_an_unreachable_cognito_cannot_decide(
    revocation_pool: aws.Pool, verifier: CognitoVerifier, user: str
) -> None:
    token = revocation_pool.tokens(user)["AccessToken"]
    claims: Claims = verifier.verify(token)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        closed = CognitoRevocationCheck(endpoint_url=url)
        with pytest.raises(KeySetUnavailableError, match="cannot decide"):
            closed.is_revoked(claims, token)
        opened = CognitoRevocationCheck(endpoint_url=url, on_error="open")
        assert opened.is_revoked(claims, token) is False
