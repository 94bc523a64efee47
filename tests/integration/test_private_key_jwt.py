"""``private_key_jwt`` against a real OpenID provider (npm ``oidc-provider``) on 127.0.0.1.

Sign -> exchange -> verify: a client registered with its public JWKS (Dynamic Client
Registration) signs client assertions with :class:`ClientAssertionSigner`, :class:`TokenClient`
posts them to the provider's token endpoint (found through discovery), and the JWT access token
the provider returns is verified by :class:`JwtVerifier` through discovery too.

Every refusal is checked twice: the typed error the client raises, and the reason the provider
logged (it never tells the client why, on purpose), so a test cannot pass for the wrong reason.
Expired assertions come from a signer clock set in the past, never from sleeping.

The authorization code flow is in ``test_private_key_jwt_code_flow.py``; the 10,000 distinct
``jti`` check is a unit test (``tests/unit/test_assertion.py``), it needs no provider.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from cognito_jwt import (
    ClientAssertionSigner,
    ClientKey,
    ConfigurationError,
    DiscoveryError,
    FetchOptions,
    InvalidClientError,
    JwtError,
    JwtVerifier,
    OAuthError,
    SigningError,
    TokenClient,
    TokenEndpointUnavailableError,
    TokenResponse,
    generate_client_key,
)
from tests.servers.oidc import REDIRECT_URI, OidcProvider

MODES = ["sync", "async"]
#: The assertion algorithms issue #4 asks the provider to accept.
ASSERTION_ALGS = ["RS256", "PS256", "ES256", "EdDSA"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# --- Helpers --------------------------------------------------------------------------------------
@dataclass
class Client:
    """A ``private_key_jwt`` client registered with a provider."""

    provider: OidcProvider
    key: ClientKey
    client_id: str

    def signer(self, **options: Any) -> ClientAssertionSigner:
        return self.key.signer(self.client_id, **options)

    def token_client(
        self, signer: ClientAssertionSigner | None = None, **options: Any
    ) -> TokenClient:
        return TokenClient(
            signer if signer is not None else self.signer(), issuer=self.provider.issuer, **options
        )


def _register(provider: OidcProvider, alg: str = "ES256", **metadata: Any) -> Client:
    key = generate_client_key(alg)
    return Client(provider, key, provider.register_client(key.jwks, **metadata))


@pytest.fixture
def client(oidc_provider: OidcProvider) -> Client:
    """An ES256 client of the shared provider."""
    return _register(oidc_provider)


def _token(tc: TokenClient, mode: str, **kwargs: Any) -> TokenResponse:
    if mode == "sync":
        return tc.client_credentials(**kwargs)
    return asyncio.run(tc.client_credentials_async(**kwargs))


def _token_endpoint(tc: TokenClient, mode: str) -> str:
    if mode == "sync":
        return tc.token_endpoint()
    return asyncio.run(tc.token_endpoint_async())


def _verifier(provider: OidcProvider, audience: str) -> JwtVerifier:
    return JwtVerifier(issuer=provider.issuer, audience=audience, store=None)


def _verify(verifier: JwtVerifier, token: str, mode: str) -> Any:
    if mode == "sync":
        return verifier.verify(token)
    return asyncio.run(verifier.verify_async(token))


def _refused(
    provider: OidcProvider, error_type: type[OAuthError], reason: str, call: Callable[[], object]
) -> OAuthError:
    """Run *call*, expect *error_type*, and the provider to have logged *reason* for it."""
    seen = len(provider.grant_errors())
    with pytest.raises(error_type) as info:
        call()
    error = info.value
    logged = provider.grant_errors()[seen:]
    assert len(logged) == 1, logged
    assert logged[0].startswith(f"{error.error}: "), logged
    assert reason in logged[0], logged
    return error


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (unverified) header and payload of a compact JWS."""
    header, payload, _ = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload))


def _public_jwk(public: object) -> dict[str, str]:
    """The public JWK of *public*, ``kid`` = RFC 7638 thumbprint, built without the library."""
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        members = {
            "kty": "RSA",
            "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": _b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        }
    elif isinstance(public, ec.EllipticCurvePublicKey):
        size = (public.curve.key_size + 7) // 8
        point = public.public_numbers()
        members = {
            "kty": "EC",
            "crv": {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[
                public.curve.name
            ],
            "x": _b64(point.x.to_bytes(size, "big")),
            "y": _b64(point.y.to_bytes(size, "big")),
        }
    elif isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        members = {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}
    else:
        raise TypeError(f"unexpected key {type(public).__name__}")
    # RFC 7638 §3: the required members only, sorted, no whitespace (the members above are those).
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return {**members, "kid": _b64(hashlib.sha256(canonical).digest()), "use": "sig"}


class PostRecorder:
    """An httpx client (for ``FetchOptions(client=...)``) that records the forms it POSTs."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        self.client = httpx.Client(event_hooks={"request": [self._record]})

    def _record(self, request: httpx.Request) -> None:
        if request.method == "POST":
            fields = parse_qs(request.read().decode("ascii"), strict_parsing=True)
            self.forms.append({name: values[0] for name, values in fields.items()})


@pytest.fixture
def recorder() -> Iterator[PostRecorder]:
    recording = PostRecorder()
    with recording.client:
        yield recording


# --- Sign -> exchange -> verify -------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alg", ASSERTION_ALGS)
def test_assertion_is_accepted_and_the_access_token_verifies(
    oidc_provider: OidcProvider, alg: str, mode: str
) -> None:
    registered = _register(oidc_provider, alg)
    tc = registered.token_client()
    response = _token(
        tc, mode, scope="orders:read orders:write", resource=oidc_provider.audience(alg)
    )

    assert response.token_type.lower() == "bearer"
    assert response.expires_in == 600
    assert response.scopes == {"orders:read", "orders:write"}
    assert response.refresh_token is None
    assert response.id_token is None
    assert response.expires_at == pytest.approx(time.time() + 600, abs=30)
    # The access token: a JWT signed by the provider's key for the resource's algorithm,
    # verified through discovery like any API would.
    claims = _verify(
        _verifier(oidc_provider, oidc_provider.audience(alg)), response.access_token, mode
    )
    assert claims.header["alg"] == alg
    assert claims.issuer == oidc_provider.issuer
    assert claims.audience == (oidc_provider.audience(alg),)
    assert claims.client_id == registered.client_id
    assert claims.sub == registered.client_id
    assert claims.scopes == {"orders:read", "orders:write"}
    assert tc.metadata is not None
    assert tc.metadata["issuer"] == oidc_provider.issuer


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS384", "PS512", "ES384", "ES512", "Ed25519"])
def test_every_other_signing_algorithm_is_accepted(oidc_provider: OidcProvider, alg: str) -> None:
    registered = _register(oidc_provider, alg)
    assert registered.signer().alg == alg
    response = registered.token_client().client_credentials(resource=oidc_provider.audience(alg))
    claims = _verifier(oidc_provider, oidc_provider.audience(alg)).verify(response.access_token)
    assert claims.client_id == registered.client_id


def test_received_at_comes_from_the_injected_clock(client: Client) -> None:
    tc = client.token_client(clock=lambda: 1_000_000.0)
    response = tc.client_credentials(resource=client.provider.audience("ES256"))
    assert response.received_at == 1_000_000.0
    assert response.expires_at == 1_000_600.0


def test_the_assertion_that_reaches_the_provider(client: Client, recorder: PostRecorder) -> None:
    provider = client.provider
    tc = client.token_client(fetch=FetchOptions(client=recorder.client))
    tc.client_credentials(resource=provider.audience("ES256"))
    tc.client_credentials(resource=provider.audience("ES256"))

    token_endpoint = tc.token_endpoint()
    assert len(recorder.forms) == 2  # discovery is a GET, not recorded
    jtis = set()
    for form in recorder.forms:
        assert form["grant_type"] == "client_credentials"
        assert form["client_id"] == client.client_id
        assert form["client_assertion_type"] == ASSERTION_TYPE
        assert "client_secret" not in form
        header, claims = _parts(form["client_assertion"])
        assert header == {"alg": "ES256", "kid": client.key.kid}
        assert claims["iss"] == claims["sub"] == client.client_id
        assert claims["aud"] == token_endpoint == f"{provider.base_url}/token"
        assert claims["exp"] - claims["iat"] == 120
        assert abs(claims["iat"] - time.time()) < 30
        jtis.add(claims["jti"])
        # What the provider accepted, this library's own verifier accepts with the public key.
        ours = JwtVerifier(
            issuer=client.client_id, audience=token_endpoint, jwks=client.key.jwks, store=None
        ).verify(form["client_assertion"])
        assert ours.sub == client.client_id
    assert len(jtis) == 2


def test_one_client_with_a_key_per_algorithm(oidc_provider: OidcProvider) -> None:
    keys = [generate_client_key(alg) for alg in ASSERTION_ALGS]
    client_id = oidc_provider.register_client({"keys": [key.public_jwk for key in keys]})
    for key in keys:
        tc = TokenClient(key.signer(client_id), issuer=oidc_provider.issuer)
        response = tc.client_credentials(resource=oidc_provider.audience("ES256"))
        claims = _verifier(oidc_provider, oidc_provider.audience("ES256")).verify(
            response.access_token
        )
        assert claims.client_id == client_id


def test_signer_from_a_private_jwk(oidc_provider: OidcProvider) -> None:
    key = generate_client_key("ES384")
    private = key.private_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    public = _public_jwk(private.public_key())
    d = private.private_numbers().private_value.to_bytes(48, "big")
    private_jwk = {**public, "alg": "ES384", "d": _b64(d)}
    client_id = oidc_provider.register_client({"keys": [public]})
    signer = ClientAssertionSigner.from_jwk(json.dumps(private_jwk), client_id=client_id)
    assert (signer.alg, signer.kid) == ("ES384", public["kid"])
    response = TokenClient(signer, issuer=oidc_provider.issuer).client_credentials(
        resource=oidc_provider.audience("ES384")
    )
    assert _verifier(oidc_provider, oidc_provider.audience("ES384")).verify(response.access_token)


@pytest.mark.parametrize(
    ("callable_kind", "mode"),
    [("sync", "sync"), ("async", "async"), ("sync", "async")],
    ids=["sync-callable", "async-callable", "sync-callable-in-async-code"],
)
def test_kms_style_sign_callable_with_der_signatures(
    oidc_provider: OidcProvider, callable_kind: str, mode: str
) -> None:
    # The private key stays "in the KMS": the signer only gets a callable returning DER ECDSA
    # signatures (what AWS KMS returns), and the public key it was told about.
    hsm = ec.generate_private_key(ec.SECP256R1())
    calls: list[str] = []

    def kms_sign(message: bytes) -> bytes:
        calls.append(threading.current_thread().name)
        return hsm.sign(message, ec.ECDSA(hashes.SHA256()))

    async def kms_sign_async(message: bytes) -> bytes:
        return kms_sign(message)

    jwk = _public_jwk(hsm.public_key())
    client_id = oidc_provider.register_client({"keys": [jwk]})
    signer = ClientAssertionSigner(
        client_id=client_id,
        sign=kms_sign if callable_kind == "sync" else kms_sign_async,
        alg="ES256",
        public_key=hsm.public_key(),
        signature_encoding="der",
    )
    assert signer.kid == jwk["kid"]
    response = _token(
        TokenClient(signer, issuer=oidc_provider.issuer),
        mode,
        resource=oidc_provider.audience("RS256"),
    )
    assert _verify(
        _verifier(oidc_provider, oidc_provider.audience("RS256")), response.access_token, mode
    )
    assert len(calls) == 1
    # A blocking callable in async code runs in a worker thread, off the event loop's.
    in_worker = callable_kind == "sync" and mode == "async"
    assert (calls[0] != threading.main_thread().name) == in_worker


def test_sign_callable_failures_are_signing_errors_and_nothing_is_sent(client: Client) -> None:
    public_key = client.key.private_key.public_key()

    def kms_down(message: bytes) -> bytes:
        raise ConnectionError("KMS unreachable")

    async def async_kms(message: bytes) -> bytes:
        return b"never used"

    seen = len(client.provider.grant_errors())
    failing = ClientAssertionSigner(
        client_id=client.client_id, sign=kms_down, alg="ES256", public_key=public_key
    )
    with pytest.raises(SigningError) as info:
        client.token_client(failing).client_credentials()
    assert isinstance(info.value.__cause__, ConnectionError)
    with pytest.raises(SigningError):
        asyncio.run(client.token_client(failing).client_credentials_async())
    # An async callable cannot sign in sync code: a clear error, and no coroutine left behind
    # (pytest turns a "never awaited" RuntimeWarning into an error here).
    asynchronous = ClientAssertionSigner(
        client_id=client.client_id, sign=async_kms, alg="ES256", public_key=public_key
    )
    with pytest.raises(SigningError, match="sign_async"):
        client.token_client(asynchronous).client_credentials()
    # A signature from another key is caught before it is sent.
    other = ec.generate_private_key(ec.SECP256R1())
    impostor = ClientAssertionSigner(
        client_id=client.client_id,
        sign=lambda message: other.sign(message, ec.ECDSA(hashes.SHA256())),
        alg="ES256",
        public_key=public_key,
        signature_encoding="der",
    )
    with pytest.raises(SigningError):
        client.token_client(impostor).client_credentials()
    assert client.provider.grant_errors()[seen:] == []  # the provider never saw any of them


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"not_before": True}, id="nbf"),
        pytest.param({"lifetime": 600}, id="longest-lifetime"),
        pytest.param({"lifetime": 5}, id="short-lifetime"),
        pytest.param({"certificate": "self"}, id="x5t#S256"),
    ],
)
def test_signer_options_the_provider_accepts(client: Client, options: dict[str, Any]) -> None:
    if options.get("certificate") == "self":
        options = {"certificate": client.key.certificate_pem}
    tc = client.token_client(client.signer(**options))
    assert tc.client_credentials(resource=client.provider.audience("ES256")).access_token


def test_concurrent_requests_from_threads_and_tasks(client: Client) -> None:
    """One TokenClient shared by 12 threads, then 12 tasks: every assertion has its own jti."""
    tc = client.token_client()
    resource = client.provider.audience("ES256")
    start = threading.Barrier(12)

    def one(_: int) -> str:
        start.wait(timeout=10)
        return tc.client_credentials(resource=resource).access_token

    with ThreadPoolExecutor(max_workers=12) as pool:
        from_threads = list(pool.map(one, range(12)))

    async def many() -> list[TokenResponse]:
        return await asyncio.gather(
            *(tc.client_credentials_async(resource=resource) for _ in range(12))
        )

    tc = client.token_client()  # a fresh one: the 12 tasks discover at the same time
    from_tasks = [response.access_token for response in asyncio.run(many())]
    tokens = from_threads + from_tasks
    verifier = _verifier(client.provider, resource)
    assert len({verifier.verify(token).jti for token in tokens}) == 24


def test_concurrent_first_requests_discover_once(client: Client) -> None:
    discovery_gets: list[str] = []

    async def count(request: httpx.Request) -> None:
        if request.method == "GET":
            discovery_gets.append(str(request.url))

    async def burst() -> None:
        async with httpx.AsyncClient(event_hooks={"request": [count]}) as http:
            tc = client.token_client(fetch=FetchOptions(async_client=http))
            await asyncio.gather(*(tc.client_credentials_async() for _ in range(8)))

    asyncio.run(burst())
    assert discovery_gets == [client.provider.discovery_url]


def test_generic_request_method(client: Client) -> None:
    tc = client.token_client()
    response = tc.request(
        "client_credentials", {"scope": "a b", "resource": client.provider.audience("ES256")}
    )
    assert response.scopes == {"a", "b"}


def test_nothing_secret_is_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cognito_jwt")
    tc = client.token_client()
    resource = client.provider.audience("ES256")
    tokens = [
        tc.client_credentials(resource=resource).access_token,
        asyncio.run(tc.client_credentials_async(resource=resource)).access_token,
    ]
    with pytest.raises(InvalidClientError):
        client.token_client(client.signer(clock=lambda: time.time() - 3600)).client_credentials()
    ours = [record for record in caplog.records if record.name.startswith("cognito_jwt")]
    assert any("client_credentials" in record.getMessage() for record in ours)  # not vacuous
    for record in ours:
        message = record.getMessage()
        assert "eyJ" not in message  # no JWT at all: no assertion, no token
        assert not any(token in message for token in tokens)


# --- Refusals: typed errors, for the right reason -------------------------------------------------
def test_wrong_key_unknown_kid(client: Client) -> None:
    stranger = generate_client_key("ES256")
    tc = client.token_client(stranger.signer(client.client_id))
    error = _refused(
        client.provider,
        InvalidClientError,
        "no applicable key found",
        lambda: tc.client_credentials(resource=client.provider.audience("ES256")),
    )
    assert error.error == "invalid_client"
    assert error.status_code == 401
    assert error.error_description == "client authentication failed"
    assert isinstance(error, OAuthError)
    assert isinstance(error, JwtError)
    assert "eyJ" not in str(error)


def test_wrong_key_under_the_registered_kid(client: Client) -> None:
    # Signed by key B, claiming to be key A: the provider checks the signature against A.
    stranger = generate_client_key("ES256")
    signer = ClientAssertionSigner(
        client_id=client.client_id, key=stranger.private_key, kid=client.key.kid
    )
    error = _refused(
        client.provider,
        InvalidClientError,
        "signature verification failed",
        lambda: client.token_client(signer).client_credentials(),
    )
    assert error.error == "invalid_client"


@pytest.mark.parametrize("mode", MODES)
def test_expired_assertion(client: Client, mode: str) -> None:
    an_hour_ago = client.signer(clock=lambda: time.time() - 3600)
    error = _refused(
        client.provider,
        InvalidClientError,
        "jwt expired",
        lambda: _token(client.token_client(an_hour_ago), mode),
    )
    assert error.error == "invalid_client"


def test_reused_jti(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every assertion of this test carries the same jti (secrets.token_urlsafe makes them).
    monkeypatch.setattr(
        "cognito_jwt._client._assertion.secrets.token_urlsafe", lambda nbytes=None: "the-same-jti"
    )
    tc = client.token_client()
    resource = client.provider.audience("ES256")
    assert tc.client_credentials(resource=resource).access_token
    error = _refused(
        client.provider,
        InvalidClientError,
        "client assertion tokens must only be used once",
        lambda: tc.client_credentials(resource=resource),
    )
    assert error.error == "invalid_client"
    monkeypatch.undo()
    assert tc.client_credentials(resource=resource).access_token  # fresh jtis work again


@pytest.mark.parametrize(
    "audience",
    [
        pytest.param("https://elsewhere.example/token", id="another-endpoint"),
        pytest.param(["https://elsewhere.example/token", "urn:other"], id="list-without-ours"),
    ],
)
def test_wrong_aud(client: Client, audience: str | list[str]) -> None:
    tc = client.token_client(assertion_audience=audience)
    error = _refused(client.provider, InvalidClientError, "aud", tc.client_credentials)
    assert error.error == "invalid_client"


@pytest.mark.parametrize("audience", ["issuer", "token_endpoint", "token-endpoint-in-a-list"])
def test_accepted_aud(client: Client, audience: str) -> None:
    value: str | list[str] = audience
    if audience == "token-endpoint-in-a-list":
        value = ["https://elsewhere.example/token", f"{client.provider.base_url}/token"]
    tc = client.token_client(assertion_audience=value)
    assert tc.client_credentials(resource=client.provider.audience("ES256")).access_token


def test_unknown_client_id(client: Client) -> None:
    tc = client.token_client(client.key.signer("no-such-client"))
    error = _refused(client.provider, InvalidClientError, "client not found", tc.client_credentials)
    assert error.error == "invalid_client"


def test_assertion_alg_other_than_the_registered_one(oidc_provider: OidcProvider) -> None:
    # Both keys are registered, but the client pinned ES256 for its assertions.
    es256, rs256 = generate_client_key("ES256"), generate_client_key("RS256")
    client_id = oidc_provider.register_client(
        {"keys": [es256.public_jwk, rs256.public_jwk]},
        token_endpoint_auth_signing_alg="ES256",
    )
    tc = TokenClient(rs256.signer(client_id), issuer=oidc_provider.issuer)
    error = _refused(oidc_provider, InvalidClientError, "alg mismatch", tc.client_credentials)
    assert error.error == "invalid_client"
    assert TokenClient(es256.signer(client_id), issuer=oidc_provider.issuer).client_credentials()


@pytest.mark.parametrize(
    ("error", "reason", "grant_types", "call"),
    [
        pytest.param(
            "invalid_target",
            "resource must be urn:test:",
            None,
            lambda tc: tc.client_credentials(resource="urn:nope"),
            id="invalid_target",
        ),
        pytest.param(
            "invalid_target",
            "only a single resource indicator value is supported",
            None,
            lambda tc: tc.client_credentials(resource=["urn:test:es256", "urn:test:rs256"]),
            id="two-resources",
        ),
        pytest.param(
            "unsupported_grant_type",
            "unsupported grant_type requested",
            None,
            lambda tc: tc.request("urn:example:no-such-grant", {}),
            id="unsupported_grant_type",
        ),
        pytest.param(
            # RFC 6749 §5.2 suggests unauthorized_client; oidc-provider says invalid_request.
            "invalid_request",
            "requested grant type is not allowed for this client",
            ["authorization_code"],
            lambda tc: tc.client_credentials(),
            id="grant-type-not-registered",
        ),
    ],
)
def test_other_oauth_errors_are_typed_with_their_code(
    oidc_provider: OidcProvider,
    error: str,
    reason: str,
    grant_types: list[str] | None,
    call: Callable[[TokenClient], object],
) -> None:
    registered = (
        _register(oidc_provider)
        if grant_types is None
        else _register(oidc_provider, grant_types=grant_types)
    )
    tc = registered.token_client()
    refusal = _refused(oidc_provider, OAuthError, reason, lambda: call(tc))
    assert type(refusal) is OAuthError  # not InvalidClientError, not "unavailable"
    assert refusal.error == error
    assert refusal.status_code == 400
    assert refusal.error_description
    assert error in str(refusal)


# --- Keys as users have them: openssl PEMs, encrypted PEMs ----------------------------------------
def _openssl() -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail(
            "the openssl command is not on PATH: these tests check the PEM files it writes "
            "(issue #4); install OpenSSL (e.g. apt-get install openssl)"
        )
    return openssl


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [_openssl(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"openssl {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def test_pem_and_certificate_written_by_openssl_req(
    oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    # The command of issue #4, exactly.
    _run(
        "req", "-nodes", "-x509", "-days", "365", "-newkey", "rsa:2048",
        "-keyout", "private.pem", "-out", "public.crt", "-subj", "/CN=test",
        cwd=tmp_path,
    )  # fmt: skip
    assert b"-----BEGIN PRIVATE KEY-----" in (tmp_path / "private.pem").read_bytes()  # PKCS#8
    certificate = (tmp_path / "public.crt").read_bytes()
    # Register what a user would: the JWK of the certificate's public key.
    jwk = _public_jwk(x509.load_pem_x509_certificate(certificate).public_key())
    client_id = oidc_provider.register_client({"keys": [jwk]})

    signer = ClientAssertionSigner.from_pem_file(
        tmp_path / "private.pem", client_id=client_id, certificate=certificate
    )
    assert signer.alg == "RS256"
    assert signer.kid == jwk["kid"]  # the RFC 7638 thumbprint, computed independently
    # The two files concatenated (a common "bundle") hold the same key.
    bundle = certificate + (tmp_path / "private.pem").read_bytes()
    assert ClientAssertionSigner.from_pem(bundle, client_id=client_id).kid == signer.kid
    # x5t#S256 is the SHA-256 fingerprint openssl reports for the certificate.
    fingerprint = _run(
        "x509", "-in", "public.crt", "-noout", "-fingerprint", "-sha256", cwd=tmp_path
    )
    expected = bytes.fromhex(fingerprint.strip().split("=", 1)[1].replace(":", ""))
    header, _ = _parts(signer.sign("https://example.test/token"))
    assert _unb64(header["x5t#S256"]) == expected

    response = TokenClient(signer, issuer=oidc_provider.issuer).client_credentials(
        resource=oidc_provider.audience("RS256")
    )
    claims = _verifier(oidc_provider, oidc_provider.audience("RS256")).verify(response.access_token)
    assert claims.client_id == client_id


@pytest.mark.parametrize(
    ("command", "password", "alg", "banner"),
    [
        pytest.param(
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "private.pem"],
            None, "ES256", b"-----BEGIN EC PRIVATE KEY-----", id="ec-traditional",
        ),
        pytest.param(
            ["ecparam", "-name", "secp521r1", "-genkey", "-noout", "-out", "private.pem"],
            None, "ES512", b"-----BEGIN EC PRIVATE KEY-----", id="ec-p521",
        ),
        pytest.param(
            ["genpkey", "-algorithm", "ed25519", "-out", "private.pem"],
            None, "EdDSA", b"-----BEGIN PRIVATE KEY-----", id="ed25519",
        ),
        pytest.param(
            ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-256-cbc",
             "-pass", "pass:s3cret", "-out", "private.pem"],
            "s3cret", "RS256", b"-----BEGIN ENCRYPTED PRIVATE KEY-----", id="rsa-pkcs8-encrypted",
        ),
        pytest.param(
            ["genrsa", "-traditional", "-aes128", "-passout", "pass:s3cret", "-out",
             "private.pem", "2048"],
            "s3cret", "RS256", b"Proc-Type: 4,ENCRYPTED", id="rsa-traditional-encrypted",
        ),
    ],
)  # fmt: skip
def test_private_keys_written_by_openssl(
    oidc_provider: OidcProvider,
    tmp_path: Path,
    command: list[str],
    password: str | None,
    alg: str,
    banner: bytes,
) -> None:
    _run(*command, cwd=tmp_path)
    assert banner in (tmp_path / "private.pem").read_bytes()
    passin = ["-passin", f"pass:{password}"] if password else []
    public_pem = _run("pkey", "-in", "private.pem", "-pubout", *passin, cwd=tmp_path)
    jwk = _public_jwk(serialization.load_pem_public_key(public_pem.encode()))
    client_id = oidc_provider.register_client({"keys": [jwk]})

    signer = ClientAssertionSigner.from_pem_file(
        tmp_path / "private.pem", client_id=client_id, password=password
    )
    assert (signer.alg, signer.kid) == (alg, jwk["kid"])
    response = TokenClient(signer, issuer=oidc_provider.issuer).client_credentials(
        resource=oidc_provider.audience("ES256")
    )
    assert _verifier(oidc_provider, oidc_provider.audience("ES256")).verify(response.access_token)


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_encrypted_pem_written_by_client_key(
    oidc_provider: OidcProvider, tmp_path: Path, alg: str
) -> None:
    paths = generate_client_key(alg).write(tmp_path / "keys", password="correct horse")
    private_pem = paths["private_key"].read_bytes()
    assert b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in private_pem
    assert paths["private_key"].stat().st_mode & 0o777 == 0o600
    # Register the files as written, as a user would upload them.
    client_id = oidc_provider.register_client(json.loads(paths["jwks"].read_text()))

    with pytest.raises(ConfigurationError):
        ClientAssertionSigner.from_pem_file(paths["private_key"], client_id=client_id)
    with pytest.raises(ConfigurationError):
        ClientAssertionSigner.from_pem_file(
            paths["private_key"], client_id=client_id, password="wrong"
        )
    signer = ClientAssertionSigner.from_pem_file(
        paths["private_key"],
        client_id=client_id,
        password="correct horse",
        certificate=paths["certificate"].read_bytes(),
    )
    response = TokenClient(signer, issuer=oidc_provider.issuer).client_credentials(
        resource=oidc_provider.audience(alg)
    )
    assert _verifier(oidc_provider, oidc_provider.audience(alg)).verify(response.access_token)


# --- Discovery ------------------------------------------------------------------------------------
def test_endpoints_come_from_the_discovery_document(client: Client) -> None:
    provider = client.provider
    document = httpx.get(provider.discovery_url, timeout=10).json()
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    tc = client.token_client()
    before = tc.metadata
    assert before is None
    assert tc.token_endpoint() == document["token_endpoint"]
    assert asyncio.run(tc.token_endpoint_async()) == document["token_endpoint"]
    assert tc.metadata is not None
    assert tc.metadata["issuer"] == provider.issuer
    assert tc.authorization_url(REDIRECT_URI).url.startswith(
        document["authorization_endpoint"] + "?"
    )
    # Given the endpoint, no discovery at all.
    direct = TokenClient(client.signer(), token_endpoint=document["token_endpoint"])
    assert direct.client_credentials(resource=provider.audience("ES256")).access_token
    assert direct.metadata is None


@pytest.mark.parametrize("mode", MODES)
def test_discovery_naming_another_issuer_is_refused(
    oidc_provider_factory: Callable[..., OidcProvider], mode: str
) -> None:
    # The provider calls itself http://localhost:PORT; the client expects http://127.0.0.1:PORT.
    provider = oidc_provider_factory(issuer_host="localhost", algorithms=("ES256",))
    registered = _register(provider)
    wrong = TokenClient(registered.signer(), issuer=provider.base_url)
    with pytest.raises(DiscoveryError, match="issuer"):
        _token_endpoint(wrong, mode)
    with pytest.raises(DiscoveryError):
        _token(wrong, mode)
    assert wrong.metadata is None
    # With the issuer it really has, the same provider and client work.
    right = registered.token_client()
    response = _token(right, mode, resource=provider.audience("ES256"))
    claims = _verify(_verifier(provider, provider.audience("ES256")), response.access_token, mode)
    assert claims.issuer == provider.issuer


# --- The provider goes away, hangs or is not one --------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_provider_down_is_token_endpoint_unavailable(
    oidc_provider_factory: Callable[..., OidcProvider], mode: str
) -> None:
    provider = oidc_provider_factory(algorithms=("ES256",))
    registered = _register(provider)
    tc = registered.token_client(fetch=FetchOptions(timeout=2))
    assert _token(tc, mode, resource=provider.audience("ES256")).access_token  # discovered
    never_discovered = registered.token_client(fetch=FetchOptions(timeout=2))
    provider.stop()

    began = time.monotonic()
    with pytest.raises(TokenEndpointUnavailableError) as info:
        _token(tc, mode, resource=provider.audience("ES256"))
    assert time.monotonic() - began < 10  # refused, not hanging
    assert info.value.error is None
    assert info.value.status_code is None
    assert f"{provider.base_url}/token" in str(info.value)
    assert "eyJ" not in str(info.value)
    # A client that has not discovered the endpoint yet cannot: that is a discovery failure.
    with pytest.raises(DiscoveryError):
        _token(never_discovered, mode)


def test_provider_that_hangs_is_cut_by_the_timeout(
    oidc_provider_factory: Callable[..., OidcProvider],
) -> None:
    # Frozen (SIGSTOP, so POSIX only), the provider accepts connections and never answers.
    provider = oidc_provider_factory(algorithms=("ES256",))
    registered = _register(provider)
    tc = registered.token_client(fetch=FetchOptions(timeout=1, connect_timeout=1))
    tc.token_endpoint()  # discovered while it still answers
    provider.pause()
    try:
        for mode in MODES:
            began = time.monotonic()
            with pytest.raises(TokenEndpointUnavailableError) as info:
                _token(tc, mode, resource=provider.audience("ES256"))
            assert time.monotonic() - began < 5, mode  # 1 s timeout, not the OS's minutes
            assert info.value.error is None
            assert "eyJ" not in str(info.value)
    finally:
        provider.resume()


def test_token_endpoint_that_is_not_one(client: Client) -> None:
    # A wrong path answers 404 text/plain: no OAuth error response, so "unavailable".
    tc = TokenClient(client.signer(), token_endpoint=f"{client.provider.base_url}/no-such-path")
    with pytest.raises(TokenEndpointUnavailableError) as info:
        tc.client_credentials()
    assert info.value.status_code == 404
    assert info.value.error is None
    assert "404" in str(info.value)


@pytest.mark.parametrize("follow_redirects", [False, True])
def test_token_endpoint_that_redirects_is_not_followed(
    client: Client, follow_redirects: bool
) -> None:
    # Following would repeat the POST, client assertion included, wherever Location points;
    # even with follow_redirects=True (meant for key sets), token requests never follow.
    moved = f"{client.provider.base_url}/__redirect/token"
    tc = TokenClient(
        client.signer(),
        token_endpoint=moved,
        assertion_audience=f"{client.provider.base_url}/token",
        fetch=FetchOptions(follow_redirects=follow_redirects),
    )
    with pytest.raises(TokenEndpointUnavailableError, match="redirect") as info:
        tc.client_credentials(resource=client.provider.audience("ES256"))
    assert info.value.status_code == 307
