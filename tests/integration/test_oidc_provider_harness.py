"""Smoke tests of the OpenID provider harness itself (tests/servers/oidc.py).

They check what the integration tests rely on: discovery, one signing key per algorithm, JWT
access tokens with the expected header and claims, key rotation and retirement, an issuer
host that differs from the listening address, and processes that really stop. Tokens are
inspected by hand (base64url + JSON) and their signatures checked with ``cryptography``, so a
harness bug can't hide behind the verifier under test.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from cognito_jwt._b64 import b64url_decode
from tests.servers.oidc import (
    ALGORITHMS,
    CLIENT_ID,
    MIN_NODE,
    OidcProvider,
    OidcProviderError,
    find_node,
)

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}


# --- Helpers -------------------------------------------------------------------------------------
def decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload of a compact JWS, decoded by hand."""
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def _int(value: str) -> int:
    return int.from_bytes(b64url_decode(value), "big")


def signature_valid(token: str, jwk: dict[str, Any]) -> bool:
    """Whether *token*'s signature verifies with the public *jwk* under the JWK's ``alg``."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    signed = f"{header_b64}.{payload_b64}".encode("ascii")
    signature = b64url_decode(signature_b64)
    alg = jwk["alg"]
    try:
        if jwk["kty"] == "RSA":
            rsa_key = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
            digest = HASHES[alg[2:]]()
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15()
                if alg.startswith("RS")
                else padding.PSS(padding.MGF1(digest), digest.digest_size)
            )
            rsa_key.verify(signature, signed, pad, digest)
        elif jwk["kty"] == "EC":
            curve = CURVES[jwk["crv"]]
            ec_key = ec.EllipticCurvePublicNumbers(
                _int(jwk["x"]), _int(jwk["y"]), curve
            ).public_key()
            half = len(signature) // 2
            der = encode_dss_signature(
                int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
            )
            ec_key.verify(der, signed, ec.ECDSA(HASHES[alg[2:]]()))
        else:
            assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
            ed_key = ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
            ed_key.verify(signature, signed)
    except InvalidSignature:
        return False
    return True


def jwks_by_kid(provider: OidcProvider) -> dict[str, dict[str, Any]]:
    keys = httpx.get(provider.jwks_uri).raise_for_status().json()["keys"]
    return {key["kid"]: key for key in keys}


def refuses(host: str, port: int) -> bool:
    """Whether a TCP connect to *host*:*port* fails."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except OSError:
        return True


# --- Node and discovery --------------------------------------------------------------------------
def test_node_runtime_found() -> None:
    runtime = find_node()
    assert runtime.version[:2] >= MIN_NODE
    assert runtime.npm


def test_discovery_document(oidc_provider: OidcProvider) -> None:
    assert oidc_provider.running
    assert oidc_provider.base_url == f"http://127.0.0.1:{oidc_provider.port}"
    assert oidc_provider.issuer == oidc_provider.base_url
    doc = httpx.get(oidc_provider.discovery_url).raise_for_status().json()
    assert doc["issuer"] == oidc_provider.issuer
    assert doc["jwks_uri"] == oidc_provider.jwks_uri == f"{oidc_provider.base_url}/jwks"
    assert doc["token_endpoint"] == f"{oidc_provider.base_url}/token"
    assert "client_credentials" in doc["grant_types_supported"]


def test_jwks_has_one_public_key_per_algorithm(oidc_provider: OidcProvider) -> None:
    response = httpx.get(oidc_provider.jwks_uri).raise_for_status()
    assert response.headers["content-type"].startswith("application/")
    keys = response.json()["keys"]
    assert sorted(key["alg"] for key in keys) == sorted(ALGORITHMS)
    assert len({key["kid"] for key in keys}) == len(keys)
    for key in keys:
        assert key["use"] == "sig"
        assert not PRIVATE_JWK_MEMBERS & key.keys(), key["kid"]
    assert oidc_provider.kids() == {key["alg"]: [key["kid"]] for key in keys}
    assert oidc_provider.signing_kids() == {key["alg"]: key["kid"] for key in keys}


# --- Tokens --------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ALGORITHMS)
def test_token_for_each_algorithm(oidc_provider: OidcProvider, alg: str) -> None:
    before = int(time.time())
    token = oidc_provider.token(alg)
    header, claims = decode(token)

    assert header == {"alg": alg, "typ": "at+jwt", "kid": oidc_provider.signing_kids()[alg]}
    jwk = jwks_by_kid(oidc_provider)[header["kid"]]
    assert jwk["alg"] == alg
    assert signature_valid(token, jwk)

    assert set(claims) == {"iss", "aud", "sub", "client_id", "scope", "jti", "iat", "exp"}
    assert claims["iss"] == oidc_provider.issuer
    assert claims["aud"] == OidcProvider.audience(alg) == f"urn:test:{alg.lower()}"
    assert claims["sub"] == claims["client_id"] == CLIENT_ID
    assert claims["scope"] == "orders:read"
    assert isinstance(claims["jti"], str)
    assert claims["jti"]
    assert before - 1 <= claims["iat"] <= time.time() + 1
    assert claims["exp"] == claims["iat"] + 600


def test_token_options(oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token("ES256", "orders:read orders:write", audience="api://orders", ttl=5)
    _, claims = decode(token)
    assert claims["aud"] == "api://orders"
    assert claims["scope"] == "orders:read orders:write"
    assert claims["exp"] == claims["iat"] + 5

    _, unscoped = decode(oidc_provider.token("ES256", ""))
    assert "scope" not in unscoped

    response = oidc_provider.token_response("PS256")
    assert response["token_type"] == "Bearer"
    assert response["expires_in"] == 600
    assert decode(response["access_token"])[0]["alg"] == "PS256"

    assert decode(oidc_provider.token("RS256"))[1]["jti"] != decode(oidc_provider.token())[1]["jti"]


@pytest.mark.parametrize("alg", ["HS256", "none", "ES256K", "rs257"])
def test_unknown_algorithm_is_refused(oidc_provider: OidcProvider, alg: str) -> None:
    with pytest.raises(OidcProviderError, match="invalid_target"):
        oidc_provider.token(alg)


def test_wrong_client_secret_is_refused(oidc_provider: OidcProvider) -> None:
    response = httpx.post(
        f"{oidc_provider.base_url}/token",
        data={"grant_type": "client_credentials", "resource": "urn:test:rs256"},
        auth=(CLIENT_ID, "wrong"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


# --- Rotation ------------------------------------------------------------------------------------
def test_rotate_then_retire(oidc_provider_factory: Callable[..., OidcProvider]) -> None:
    provider = oidc_provider_factory(algorithms=("RS256", "ES256", "EdDSA"))
    assert provider.algorithms == ("RS256", "ES256", "EdDSA")
    old_kids = provider.signing_kids()
    old_tokens = {alg: provider.token(alg) for alg in provider.algorithms}

    new_kids = provider.rotate()
    assert set(new_kids) == set(provider.algorithms)
    assert not set(new_kids.values()) & set(old_kids.values())
    assert provider.signing_kids() == new_kids
    assert provider.kids() == {alg: [new_kids[alg], old_kids[alg]] for alg in provider.algorithms}

    published = jwks_by_kid(provider)
    assert set(published) == set(new_kids.values()) | set(old_kids.values())
    for alg in provider.algorithms:
        new_token = provider.token(alg)
        assert decode(new_token)[0]["kid"] == new_kids[alg]
        assert signature_valid(new_token, published[new_kids[alg]])
        # Tokens signed before the rotation still verify against the published old keys,
        # and only against them (every generation has its own key material).
        assert decode(old_tokens[alg])[0]["kid"] == old_kids[alg]
        assert signature_valid(old_tokens[alg], published[old_kids[alg]])
        assert not signature_valid(old_tokens[alg], published[new_kids[alg]])

    provider.retire()
    assert provider.kids() == {alg: [kid] for alg, kid in new_kids.items()}
    assert set(jwks_by_kid(provider)) == set(new_kids.values())
    assert decode(provider.token("ES256"))[0]["kid"] == new_kids["ES256"]

    # Discovery keeps answering the same issuer and jwks_uri across rotations.
    doc = httpx.get(provider.discovery_url).raise_for_status().json()
    assert (doc["issuer"], doc["jwks_uri"]) == (provider.issuer, provider.jwks_uri)


# --- Issuer host, stop and restart ---------------------------------------------------------------
def test_issuer_host_differs_from_listening_address(
    oidc_provider_factory: Callable[..., OidcProvider],
) -> None:
    provider = oidc_provider_factory(issuer_host="localhost", algorithms=("ES256",))
    port = provider.port
    assert provider.base_url == f"http://127.0.0.1:{port}"
    assert provider.issuer == f"http://localhost:{port}"
    doc = httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"http://localhost:{port}"
    # Endpoint URLs follow the request's Host: only the issuer claims localhost.
    assert doc["jwks_uri"] == provider.jwks_uri == f"http://127.0.0.1:{port}/jwks"
    via_localhost = httpx.get(f"http://localhost:{port}/.well-known/openid-configuration").json()
    assert via_localhost["issuer"] == f"http://localhost:{port}"
    assert via_localhost["jwks_uri"] == f"http://localhost:{port}/jwks"
    _, claims = decode(provider.token("ES256"))
    assert claims["iss"] == f"http://localhost:{port}"


def test_stop_refuses_connections_and_start_restores(
    oidc_provider_factory: Callable[..., OidcProvider],
) -> None:
    provider = oidc_provider_factory(algorithms=("ES256",))
    port, kids = provider.port, provider.kids()
    token = provider.token("ES256")

    provider.stop()
    assert not provider.running
    assert refuses("127.0.0.1", port)
    with pytest.raises(httpx.ConnectError):
        httpx.get(provider.jwks_uri)
    provider.stop()  # idempotent

    provider.start()  # same port, same keys: a provider coming back up
    assert provider.port == port
    assert provider.kids() == kids
    assert signature_valid(token, jwks_by_kid(provider)[kids["ES256"][0]])


def test_fixed_port(oidc_provider_factory: Callable[..., OidcProvider]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = oidc_provider_factory(port=port, algorithms=("EdDSA",))
    assert provider.port == port
    assert httpx.get(provider.discovery_url).json()["issuer"] == f"http://127.0.0.1:{port}"


def test_listens_on_127_0_0_1_only(oidc_provider: OidcProvider) -> None:
    assert refuses("::1", oidc_provider.port)
    if sys.platform.startswith("linux"):  # all of 127.0.0.0/8 reaches lo there
        assert refuses("127.0.0.2", oidc_provider.port)


def test_node_exits_when_its_parent_lets_go(
    oidc_provider_factory: Callable[..., OidcProvider],
) -> None:
    provider = oidc_provider_factory(algorithms=("ES256",))
    process = provider._process
    assert process is not None
    assert process.stdin is not None
    process.stdin.close()  # what a parent killed with SIGKILL leaves behind
    assert process.wait(10) == 0
    assert not provider.running
    assert refuses("127.0.0.1", provider.port)


def test_start_failure_is_an_error_with_node_stderr(
    oidc_provider_factory: Callable[..., OidcProvider],
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OidcProviderError, match="EADDRINUSE"):
            oidc_provider_factory(port=port, algorithms=("ES256",))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="algorithms"):
        OidcProvider(algorithms=("HS256",))
    with pytest.raises(ValueError, match="issuer_host"):
        OidcProvider(issuer_host="evil.example/path")
    with pytest.raises(OidcProviderError, match="not been started"):
        _ = OidcProvider().issuer
