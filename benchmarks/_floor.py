"""The floor: the least work any Python verifier of a JWS can do, shared by the benchmarks.

Base64url-decode and JSON-parse header and payload, verify the signature with a prepared
``cryptography`` key, and the minimal claim checks (algorithm pinned, ``exp`` in the future,
``iss``, ``token_use`` and ``client_id``). Nothing else: no key lookup, no size limits, no
type checks. No Python verifier doing the same work can be much faster.

Two floors: :func:`floor` decodes every token's header; :func:`floor_header_once` does the
same checks but decodes each distinct header once, as a verifier may (an issuer's tokens share
a handful of headers, one per key), which makes it the tighter of the two.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

ALGS = ("RS256", "PS256", "ES256", "EdDSA")


def b64d(segment: str) -> bytes:
    """Decode one base64url segment (no padding, as in a JWS)."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def checker(alg: str, public_key: Any) -> Callable[[bytes, bytes], None]:
    """A bare ``cryptography`` verify for *alg* with a prepared key (raises if bad)."""
    if alg == "RS256":
        pad, sha = padding.PKCS1v15(), hashes.SHA256()

        def check(sig: bytes, data: bytes) -> None:
            public_key.verify(sig, data, pad, sha)
    elif alg == "PS256":
        sha = hashes.SHA256()
        pss = padding.PSS(mgf=padding.MGF1(sha), salt_length=32)

        def check(sig: bytes, data: bytes) -> None:
            public_key.verify(sig, data, pss, sha)
    elif alg == "ES256":
        ecdsa = ec.ECDSA(hashes.SHA256())

        def check(sig: bytes, data: bytes) -> None:
            if len(sig) != 64:  # raw r||s, as JWS has it
                raise ValueError("signature")
            r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            public_key.verify(encode_dss_signature(r, s), data, ecdsa)
    else:

        def check(sig: bytes, data: bytes) -> None:
            public_key.verify(sig, data)

    return check


def bare(alg: str, public_key: Any, token: str) -> Callable[[str], object]:
    """Only the signature check, on pre-decoded inputs: the cost of the cryptography alone."""
    check = checker(alg, public_key)
    header_b64, payload_b64, sig_b64 = token.split(".")
    sig, data = b64d(sig_b64), f"{header_b64}.{payload_b64}".encode()
    return lambda _token: check(sig, data)


def floor(
    alg: str, public_key: Any, *, issuer: str, client_id: str
) -> Callable[[str], dict[str, Any]]:
    """The floor verifier for *alg*: token -> claims, raising on anything wrong."""
    check = checker(alg, public_key)

    def verify(token: str) -> dict[str, Any]:
        header_b64, payload_b64, sig_b64 = token.split(".")
        if json.loads(b64d(header_b64))["alg"] != alg:
            raise ValueError("alg")
        check(b64d(sig_b64), f"{header_b64}.{payload_b64}".encode())
        payload: dict[str, Any] = json.loads(b64d(payload_b64))
        if payload["exp"] <= time.time() or payload["iss"] != issuer:
            raise ValueError("claims")
        if payload["token_use"] != "access" or payload["client_id"] != client_id:
            raise ValueError("claims")
        return payload

    return verify


def floor_header_once(
    alg: str, public_key: Any, *, issuer: str, client_id: str
) -> Callable[[str], dict[str, Any]]:
    """The tighter floor: :func:`floor`, with each distinct header decoded and checked once.

    A header whose ``alg`` checked out is remembered (encoded, as it appears in the token);
    the next token with the same header skips its base64url decode and ``json.loads``. The
    signature, the payload and every claim check run on every token, as in :func:`floor`.
    """
    check = checker(alg, public_key)
    seen: set[str] = set()  # encoded headers whose alg is the pinned one

    def verify(token: str) -> dict[str, Any]:
        header_b64, payload_b64, sig_b64 = token.split(".")
        if header_b64 not in seen:
            if json.loads(b64d(header_b64))["alg"] != alg:
                raise ValueError("alg")
            seen.add(header_b64)
        check(b64d(sig_b64), f"{header_b64}.{payload_b64}".encode())
        payload: dict[str, Any] = json.loads(b64d(payload_b64))
        if payload["exp"] <= time.time() or payload["iss"] != issuer:
            raise ValueError("claims")
        if payload["token_use"] != "access" or payload["client_id"] != client_id:
            raise ValueError("claims")
        return payload

    return verify


def cognito_claims(*, issuer: str, client_id: str, **changes: Any) -> dict[str, Any]:
    """The claims of a Cognito user pool access token; *changes* set (or, as None, drop) some."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "iss": issuer,
        "client_id": client_id,
        "origin_jti": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin orders/read",
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        "username": "alice",
        "version": 2,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def private_key(alg: str) -> Any:
    """A fresh private key for *alg* (RSA 2048, P-256 or Ed25519)."""
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()
