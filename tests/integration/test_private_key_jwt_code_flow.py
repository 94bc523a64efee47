"""The authorization code flow of a ``private_key_jwt`` client against a real OpenID provider.

:meth:`TokenClient.authorization_url` builds the URL (PKCE S256, ``state``, ``nonce``), the
provider's development login and consent pages are submitted by a scripted browser
(:meth:`OidcProvider.login`), and the code goes back to the token endpoint with a client
assertion. The ID token (and, when a resource was asked for, the JWT access token) is verified by
:class:`JwtVerifier` through discovery; the refresh token is then used.

Refusals are checked as typed errors and against the reason the provider logged.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from cognito_jwt import (
    AuthorizationRequest,
    ClientKey,
    InvalidGrantError,
    JwtVerifier,
    OAuthError,
    TokenClient,
    TokenResponse,
    build_authorization_url,
    generate_client_key,
)
from tests.servers.oidc import REDIRECT_URI, OidcProvider

MODES = ["sync", "async"]
SCOPE = "openid offline_access"
CONSENT = {"prompt": "consent"}  # offline_access (a refresh token) needs it


@dataclass
class Client:
    """A ``private_key_jwt`` client of a provider, with its token client."""

    provider: OidcProvider
    key: ClientKey
    client_id: str
    tc: TokenClient

    def authorize(self, **options: Any) -> tuple[AuthorizationRequest, dict[str, str]]:
        """Build an authorization URL, sign "alice" in; return the request and the callback."""
        options.setdefault("scope", SCOPE)
        options.setdefault("extra_params", CONSENT)
        request = self.tc.authorization_url(REDIRECT_URI, **options)
        callback = self.provider.login(request.url)
        assert "error" not in callback, callback
        assert callback["state"] == request.state
        return request, callback

    def exchange(self, request: AuthorizationRequest, callback: dict[str, str]) -> TokenResponse:
        return self.tc.authorization_code(
            callback["code"], redirect_uri=REDIRECT_URI, code_verifier=request.code_verifier
        )


def _register(provider: OidcProvider) -> Client:
    key = generate_client_key("ES256")
    client_id = provider.register_client(key.jwks)
    return Client(
        provider, key, client_id, TokenClient(key.signer(client_id), issuer=provider.issuer)
    )


@pytest.fixture
def client(oidc_provider: OidcProvider) -> Client:
    return _register(oidc_provider)


def _refused(
    provider: OidcProvider, error_type: type[OAuthError], reason: str, call: Callable[[], object]
) -> OAuthError:
    """Run *call*, expect *error_type*, and the provider to have logged *reason* for it."""
    seen = len(provider.grant_errors())
    with pytest.raises(error_type) as info:
        call()
    logged = provider.grant_errors()[seen:]
    assert logged == [f"{info.value.error}: {reason}"]
    return info.value


# --- The whole flow -------------------------------------------------------------------------------
async def _flow_async(
    client: Client, scope: str, extra_params: dict[str, str], extra: dict[str, str] | None
) -> tuple[AuthorizationRequest, dict[str, str], TokenResponse, TokenResponse]:
    tc = client.tc
    request = await tc.authorization_url_async(REDIRECT_URI, scope=scope, extra_params=extra_params)
    callback = await asyncio.to_thread(client.provider.login, request.url)
    response = await tc.authorization_code_async(
        callback["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=request.code_verifier,
        extra=extra,
    )
    assert response.refresh_token is not None
    refreshed = await tc.refresh_token_async(response.refresh_token, extra=extra)
    return request, callback, response, refreshed


def _flow(
    client: Client, mode: str, resource: str | None
) -> tuple[AuthorizationRequest, dict[str, str], TokenResponse, TokenResponse]:
    """Authorize, exchange the code, refresh: sync or async."""
    extra = {"resource": resource} if resource else None
    extra_params = {**CONSENT, **(extra or {})}
    if mode == "async":
        return asyncio.run(_flow_async(client, SCOPE, extra_params, extra))
    tc = client.tc
    request = tc.authorization_url(REDIRECT_URI, scope=SCOPE, extra_params=extra_params)
    callback = client.provider.login(request.url)
    response = tc.authorization_code(
        callback["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=request.code_verifier,
        extra=extra,
    )
    assert response.refresh_token is not None
    return request, callback, response, tc.refresh_token(response.refresh_token, extra=extra)


def _verify(verifier: JwtVerifier, token: str, mode: str) -> Any:
    if mode == "sync":
        return verifier.verify(token)
    return asyncio.run(verifier.verify_async(token))


@pytest.mark.parametrize("resource", [False, True], ids=["opaque-access-token", "jwt-access-token"])
@pytest.mark.parametrize("mode", MODES)
def test_authorization_code_with_pkce_end_to_end(client: Client, mode: str, resource: bool) -> None:
    provider = client.provider
    audience = provider.audience("ES256") if resource else None
    request, callback, response, refreshed = _flow(client, mode, audience)

    # The front channel: what the URL carried, and what came back.
    query = dict(parse_qsl(urlsplit(request.url).query))
    assert query["client_id"] == client.client_id
    assert query["redirect_uri"] == REDIRECT_URI == request.redirect_uri
    assert query["response_type"] == "code"
    assert query["scope"] == SCOPE
    assert query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256"
    assert request.code_verifier is not None
    challenge = hashlib.sha256(request.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(challenge).rstrip(b"=").decode()
    assert callback["state"] == request.state == query["state"]
    assert callback["iss"] == provider.issuer  # RFC 9207

    # The ID token: for this client, about alice, carrying our nonce.
    assert response.id_token is not None
    id_verifier = JwtVerifier(issuer=provider.issuer, audience=client.client_id, store=None)
    id_claims = _verify(id_verifier, response.id_token, mode)
    assert request.nonce is not None
    assert id_claims["nonce"] == request.nonce == query["nonce"]
    assert id_claims.sub == "alice"
    assert response.token_type.lower() == "bearer"

    # The refresh token gave a new access token (and a new ID token for the same user).
    assert refreshed.access_token != response.access_token
    if refreshed.id_token is not None:
        assert _verify(id_verifier, refreshed.id_token, mode).sub == "alice"
    if audience is not None:
        access_verifier = JwtVerifier(issuer=provider.issuer, audience=audience, store=None)
        for token in (response.access_token, refreshed.access_token):
            claims = _verify(access_verifier, token, mode)
            assert claims.sub == "alice"
            assert claims.client_id == client.client_id
    else:
        assert response.access_token.count(".") != 2  # opaque: no resource was asked for
        assert set(SCOPE.split()) <= response.scopes


def test_explicit_state_and_nonce(client: Client) -> None:
    request, callback = client.authorize(
        state="my-own-state-0123456789", nonce="my-own-nonce-0123456789"
    )
    assert (request.state, callback["state"]) == (
        "my-own-state-0123456789",
        "my-own-state-0123456789",
    )
    response = client.exchange(request, callback)
    assert response.id_token is not None
    claims = JwtVerifier(
        issuer=client.provider.issuer, audience=client.client_id, store=None
    ).verify(response.id_token)
    assert claims["nonce"] == "my-own-nonce-0123456789"


@pytest.mark.parametrize("response_mode", ["query", "fragment", "form_post"])
def test_response_modes(client: Client, response_mode: str) -> None:
    # extra_params reach the provider: the code comes back in the query, the fragment or a form.
    request, callback = client.authorize(
        scope="openid", extra_params={"response_mode": response_mode}
    )
    assert sorted(callback) == ["code", "iss", "state"]
    response = client.exchange(request, callback)
    assert response.id_token is not None


def test_without_pkce_or_nonce(client: Client) -> None:
    # PKCE is optional for a confidential client at this provider: the plain code flow works.
    document = client.tc.discover()
    request = build_authorization_url(
        document["authorization_endpoint"],
        client_id=client.client_id,
        redirect_uri=REDIRECT_URI,
        scope="openid",
        nonce=False,
        pkce=False,
    )
    assert request.code_verifier is None
    assert request.nonce is None
    assert "code_challenge" not in request.url
    callback = client.provider.login(request.url)
    assert callback["state"] == request.state
    response = client.tc.authorization_code(callback["code"], redirect_uri=REDIRECT_URI)
    assert response.id_token is not None
    claims = JwtVerifier(
        issuer=client.provider.issuer, audience=client.client_id, store=None
    ).verify(response.id_token)
    assert "nonce" not in claims
    assert response.refresh_token is None  # no offline_access asked for


def test_refresh_may_narrow_the_scope_not_widen_it(client: Client) -> None:
    request, callback = client.authorize()
    response = client.exchange(request, callback)
    assert response.refresh_token is not None
    refresh_token = response.refresh_token
    narrowed = client.tc.refresh_token(refresh_token, scope="openid")
    assert narrowed.scopes == {"openid"}
    error = _refused(
        client.provider,
        OAuthError,
        "refresh token missing requested scope",
        lambda: client.tc.refresh_token(refresh_token, scope=["openid", "profile"]),
    )
    assert type(error) is OAuthError
    assert error.error == "invalid_scope"


def test_code_flow_with_a_localhost_issuer(
    oidc_provider_factory: Callable[..., OidcProvider],
) -> None:
    # The usual development setup: the provider calls itself http://localhost:PORT.
    provider = oidc_provider_factory(issuer_host="localhost", algorithms=("ES256",))
    client = _register(provider)
    request, callback = client.authorize(scope="openid")
    assert request.url.startswith(provider.issuer + "/")
    assert callback["iss"] == provider.issuer
    response = client.exchange(request, callback)
    assert response.id_token is not None
    claims = JwtVerifier(issuer=provider.issuer, audience=client.client_id, store=None).verify(
        response.id_token
    )
    assert claims["nonce"] == request.nonce


# --- Refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_reusing_a_code_is_invalid_grant_and_revokes_what_it_gave(
    client: Client, mode: str
) -> None:
    request, callback = client.authorize()
    response = client.exchange(request, callback)
    assert response.refresh_token is not None

    def again() -> TokenResponse:
        if mode == "sync":
            return client.exchange(request, callback)
        return asyncio.run(
            client.tc.authorization_code_async(
                callback["code"], redirect_uri=REDIRECT_URI, code_verifier=request.code_verifier
            )
        )

    error = _refused(
        client.provider, InvalidGrantError, "authorization code already consumed", again
    )
    assert error.error == "invalid_grant"
    assert error.status_code == 400
    assert error.error_description == "grant request is invalid"
    # The provider revokes what the code gave on a replay (RFC 6749 §4.1.2): a typed error too.
    _refused(
        client.provider,
        InvalidGrantError,
        "refresh token not found",
        lambda: client.tc.refresh_token(response.refresh_token or ""),
    )


def test_wrong_code_verifier(client: Client) -> None:
    _, callback = client.authorize()
    wrong = "x" * 43
    _refused(
        client.provider,
        InvalidGrantError,
        "code_verifier does not match code_challenge",
        lambda: client.tc.authorization_code(
            callback["code"], redirect_uri=REDIRECT_URI, code_verifier=wrong
        ),
    )


def test_missing_code_verifier(client: Client) -> None:
    _, callback = client.authorize()
    _refused(
        client.provider,
        InvalidGrantError,
        "code_verifier must be provided",
        lambda: client.tc.authorization_code(callback["code"], redirect_uri=REDIRECT_URI),
    )


def test_wrong_redirect_uri(client: Client) -> None:
    request, callback = client.authorize()
    _refused(
        client.provider,
        InvalidGrantError,
        "authorization code redirect_uri mismatch",
        lambda: client.tc.authorization_code(
            callback["code"],
            redirect_uri="http://127.0.0.1:9/elsewhere",
            code_verifier=request.code_verifier,
        ),
    )


def test_code_and_refresh_token_of_another_client(oidc_provider: OidcProvider) -> None:
    alice_app, other_app = _register(oidc_provider), _register(oidc_provider)
    request, callback = alice_app.authorize()
    _refused(
        oidc_provider,
        InvalidGrantError,
        "client mismatch",
        lambda: other_app.exchange(request, callback),
    )
    # The code still belongs to its client: alice_app gets the tokens.
    response = alice_app.exchange(request, callback)
    assert response.refresh_token is not None
    refresh_token = response.refresh_token
    _refused(
        oidc_provider,
        InvalidGrantError,
        "client mismatch",
        lambda: other_app.tc.refresh_token(refresh_token),
    )


def test_bad_refresh_token(client: Client) -> None:
    _refused(
        client.provider,
        InvalidGrantError,
        "refresh token not found",
        lambda: asyncio.run(client.tc.refresh_token_async("not-a-refresh-token")),
    )


def test_nothing_secret_is_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cognito_jwt")
    request, callback, response, refreshed = _flow(client, "sync", None)
    with pytest.raises(InvalidGrantError):
        client.exchange(request, callback)  # a refusal is logged too
    secrets = [
        callback["code"],
        request.code_verifier,
        request.state,
        request.nonce,
        response.access_token,
        response.refresh_token,
        response.id_token,
        refreshed.access_token,
    ]
    ours = [record for record in caplog.records if record.name.startswith("cognito_jwt")]
    assert any("authorization_code" in record.getMessage() for record in ours)  # not vacuous
    for record in ours:
        message = record.getMessage()
        assert "eyJ" not in message  # no JWT: no assertion, no ID token
        assert not any(secret and secret in message for secret in secrets)
