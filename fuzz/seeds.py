"""Keys, a JWKS and seed inputs shared by the fuzz targets (valid and near-valid tokens)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from cognito_jwt._algorithms import PrivateKey, PublicKey
from cognito_jwt._b64 import b64url_encode
from cognito_jwt._client._sign import encode_compact
from cognito_jwt._jwk import jwk_from_public_key

ISSUER = "https://issuer.fuzz.example"


@dataclass(frozen=True)
class Key:
    kid: str
    private: PrivateKey
    public: PublicKey
    algorithms: frozenset[str]
    jwk: dict[str, Any]


def _key(kid: str, private: PrivateKey, algorithms: set[str]) -> Key:
    public = private.public_key()
    jwk = {**jwk_from_public_key(public), "kid": kid, "use": "sig"}
    return Key(kid, private, public, frozenset(algorithms), jwk)


KEYS = [
    _key("rsa", rsa.generate_private_key(65537, 2048), {"RS256", "PS256", "RS384", "PS512"}),
    _key("p256", ec.generate_private_key(ec.SECP256R1()), {"ES256"}),
    _key("ed", ed25519.Ed25519PrivateKey.generate(), {"EdDSA", "Ed25519"}),
]


def jwks() -> dict[str, Any]:
    """The published JWKS: every key of :data:`KEYS`."""
    return {"keys": [key.jwk for key in KEYS]}


def _b64json(value: object) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode())


def _sign(claims: dict[str, Any], key: Key, alg: str) -> str:
    return encode_compact(claims, key.private, alg=alg, kid=key.kid)


def seed_tokens(now: float) -> list[bytes]:
    """Valid tokens for every key and algorithm, then near misses of each kind."""
    claims = {
        "iss": ISSUER,
        "aud": "api://fuzz",
        "sub": "u",
        "iat": int(now),
        "exp": int(now) + 600,
    }
    valid = [
        encode_compact(claims, key.private, alg=alg, kid=key.kid)
        for key in KEYS
        for alg in sorted(key.algorithms)
    ]
    rsa_key = KEYS[0]
    header, payload, signature = valid[0].split(".")
    near = [
        f"{_b64json({'alg': 'none'})}.{payload}.",
        f"{_b64json({'alg': 'HS256', 'kid': 'rsa'})}.{payload}.{signature}",
        f"{_b64json({'alg': 'RS256', 'kid': 'rsa', 'crit': ['exp']})}.{payload}.{signature}",
        f"{_b64json({'alg': 'RS256', 'kid': 'nope'})}.{payload}.{signature}",
        f"{header}.{_b64json({**claims, 'exp': 1})}.{signature}",
        f"{header}.{payload}.{signature[:-4]}",
        f"{header}.{payload}",
        f"{header}.{payload}.{signature}.extra",
        encode_compact(
            {**claims, "aud": ["x", "api://fuzz"]}, rsa_key.private, alg="RS256", kid="rsa"
        ),
        encode_compact(
            {**claims, "nbf": int(now) + 10**6}, rsa_key.private, alg="PS256", kid="rsa"
        ),
        encode_compact({**claims, "exp": 10**30}, rsa_key.private, alg="RS256", kid="rsa"),
    ]
    return [token.encode("ascii") for token in [*valid, *near]]


def seed_documents() -> list[bytes]:
    """JWKS documents: the real one, and one of each kind of bad key."""
    good = jwks()
    rsa_jwk = KEYS[0].jwk
    ec_jwk = KEYS[1].jwk
    bad = [
        {"keys": [{**rsa_jwk, "d": "AQAB"}]},
        {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]},
        {"keys": [{**ec_jwk, "crv": "P-384"}]},
        {"keys": [{**ec_jwk, "x": ec_jwk["y"]}]},
        {"keys": [{**rsa_jwk, "e": "Aw"}], "extra": [1, 2.5, None, True]},
        {"keys": [{**rsa_jwk, "use": "enc"}, {**rsa_jwk, "key_ops": ["verify"], "alg": "RS256"}]},
        {"keys": []},
        {"keys": {"kty": "RSA"}},
        [],
    ]
    return [json.dumps(doc).encode() for doc in [good, *bad]]
