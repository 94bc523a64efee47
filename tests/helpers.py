"""Key material and token minting shared by the tests (never shipped)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from cognito_jwt import KeySetState
from cognito_jwt._algorithms import PrivateKey
from cognito_jwt._b64 import b64url_encode
from cognito_jwt._client._sign import encode_compact
from cognito_jwt._jwk import jwk_from_public_key

FIXED_NOW = 1_800_000_000  # 2027-01-15T08:00:00Z: every token below is minted around this time
POOL_ID = "eu-west-1_TestPool1"
REGION = "eu-west-1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
CLIENT_ID = "test-app-client"
OIDC_ISSUER = "https://login.example.com"
AUDIENCE = "api://orders"


@dataclass(frozen=True)
class SigningKey:
    """A private key, the algorithm it signs with, and its public JWK (with kid and alg)."""

    alg: str
    kid: str
    private: PrivateKey = field(repr=False)
    jwk: dict[str, str] = field(repr=False)

    def sign(self, payload: dict[str, Any], **kwargs: Any) -> str:
        kwargs.setdefault("kid", self.kid)
        return encode_compact(payload, self.private, alg=kwargs.pop("alg", self.alg), **kwargs)


def _signing_key(alg: str, private: PrivateKey, kid: str, *, pin_alg: bool = True) -> SigningKey:
    jwk = dict(jwk_from_public_key(private.public_key()), kid=kid, use="sig")
    if pin_alg:
        jwk["alg"] = alg
    return SigningKey(alg, kid, private, jwk)


@cache
def rsa_private(bits: int = 2048, seed: int = 0) -> rsa.RSAPrivateKey:
    """A cached RSA key (generation is slow); *seed* only tells keys apart."""
    del seed
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def all_keys() -> dict[str, SigningKey]:
    """One signing key per supported algorithm, each with its own kid, pinned to its alg."""
    rsa_key = rsa_private()
    keys = {
        alg: _signing_key(alg, rsa_key, f"rsa-{alg.lower()}")
        for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
    }
    for alg, curve in (
        ("ES256", ec.SECP256R1()),
        ("ES384", ec.SECP384R1()),
        ("ES512", ec.SECP521R1()),
    ):
        keys[alg] = _signing_key(alg, ec.generate_private_key(curve), f"ec-{alg.lower()}")
    ed = ed25519.Ed25519PrivateKey.generate()
    keys["EdDSA"] = _signing_key("EdDSA", ed, "okp-eddsa")
    keys["Ed25519"] = _signing_key("Ed25519", ed, "okp-ed25519")
    return keys


def jwks_of(*keys: SigningKey) -> dict[str, list[dict[str, str]]]:
    return {"keys": [dict(k.jwk) for k in keys]}


def all_jwks() -> dict[str, list[dict[str, str]]]:
    return jwks_of(*all_keys().values())


def access_claims(**overrides: Any) -> dict[str, Any]:
    """A Cognito access token payload, valid at FIXED_NOW."""
    claims: dict[str, Any] = {
        "sub": "8d2f5f0e-1111-4222-8333-444455556666",
        "iss": ISSUER,
        "client_id": CLIENT_ID,
        "origin_jti": "0c5c6f0e-aaaa-4bbb-8ccc-dddd0000eeee",
        "event_id": "e1f2a3b4-0000-4000-8000-000000000001",
        "token_use": "access",
        "scope": "orders/read orders/write",
        "auth_time": FIXED_NOW - 60,
        "exp": FIXED_NOW + 3600,
        "iat": FIXED_NOW - 60,
        "jti": "f00dfeed-0000-4000-8000-000000000002",
        "username": "alice",
        "cognito:groups": ["admins", "staff"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def id_claims(**overrides: Any) -> dict[str, Any]:
    """A Cognito ID token payload, valid at FIXED_NOW."""
    claims: dict[str, Any] = {
        "sub": "8d2f5f0e-1111-4222-8333-444455556666",
        "aud": CLIENT_ID,
        "email_verified": True,
        "iss": ISSUER,
        "cognito:username": "alice",
        "cognito:groups": ["admins", "staff"],
        "origin_jti": "0c5c6f0e-aaaa-4bbb-8ccc-dddd0000eeee",
        "event_id": "e1f2a3b4-0000-4000-8000-000000000001",
        "token_use": "id",
        "auth_time": FIXED_NOW - 60,
        "exp": FIXED_NOW + 3600,
        "iat": FIXED_NOW - 60,
        "jti": "f00dfeed-0000-4000-8000-000000000003",
        "email": "alice@example.com",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def oidc_claims(**overrides: Any) -> dict[str, Any]:
    """A generic OIDC access token payload, valid at FIXED_NOW."""
    claims: dict[str, Any] = {
        "iss": OIDC_ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "scope": "orders:read",
        "iat": FIXED_NOW - 10,
        "exp": FIXED_NOW + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def raw_token(
    header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, signature: bytes = b""
) -> str:
    """Assemble a compact JWS from arbitrary parts, without signing (for malformed input)."""

    def seg(part: dict[str, Any] | bytes) -> str:
        data = part if isinstance(part, bytes) else json.dumps(part).encode()
        return b64url_encode(data)

    return f"{seg(header)}.{seg(payload)}.{b64url_encode(signature)}"


def resign(token: str, key: SigningKey, header: dict[str, Any]) -> str:
    """Sign the payload of *token* again under an arbitrary *header* (alg taken from it)."""
    from cognito_jwt._algorithms import ALGORITHMS

    header_b64 = b64url_encode(json.dumps(header).encode())
    payload_b64 = token.split(".")[1]
    signing_input = f"{header_b64}.{payload_b64}".encode()
    signature = ALGORITHMS[header["alg"]].sign(key.private, signing_input)
    return f"{header_b64}.{payload_b64}.{b64url_encode(signature)}"


class TrustingBackendKey(ec.EllipticCurvePublicKey):
    """An EC public key whose ``verify`` accepts anything, like a backend with CVE-2022-21449
    (Java 15-18 accepted r = s = 0): only the library's own checks stand in the way.

    ``calls`` counts how often the backend was asked.
    """

    def __init__(self, curve: ec.EllipticCurve) -> None:
        self._curve = curve
        self.calls = 0

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._curve

    @property
    def key_size(self) -> int:
        return self._curve.key_size

    def public_numbers(self) -> ec.EllipticCurvePublicNumbers:
        raise NotImplementedError

    def public_bytes(self, encoding: Any, format: Any) -> bytes:  # noqa: A002
        raise NotImplementedError

    def verify(self, signature: bytes, data: bytes, signature_algorithm: Any) -> None:
        self.calls += 1

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __copy__(self) -> TrustingBackendKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> TrustingBackendKey:
        return self


def key_state(verifier: Any) -> KeySetState:
    """The public view of a verifier's one key set (every name it is known by maps to it)."""
    states = list(verifier.key_state.values())
    assert states, "the verifier reports no key set"
    assert all(state == states[0] for state in states)
    return states[0]


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run *code* in a fresh interpreter that imports what this one does; fail on its failure.

    For the import-time and cold-start facts a test process (which has imported everything)
    cannot show. Returns the finished process (its ``stdout`` and ``stderr`` as text).
    """
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done
