"""The ``cognito-jwt`` command line (``python -m cognito_jwt``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import TextIO

__all__ = ["main"]


def _demo(out: TextIO) -> int:
    """Mint Cognito-shaped tokens with a fresh key and verify them; no network, no account."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from . import CognitoVerifier, JwtError
    from ._b64 import b64url_encode
    from ._jwk import jwk_from_public_key, jwk_thumbprint
    from ._sign import encode_compact

    pool_id, client_id = "eu-west-1_DemoPool1", "demo-app-client"
    issuer = f"https://cognito-idp.eu-west-1.amazonaws.com/{pool_id}"

    out.write("cognito-jwt demo: a local Cognito-shaped issuer, no cloud account needed\n\n")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = jwk_from_public_key(private_key.public_key())
    kid = jwk_thumbprint(public_jwk)
    jwks = {"keys": [{**public_jwk, "kid": kid, "alg": "RS256", "use": "sig"}]}
    out.write(f"1. generated an RSA-2048 signing key, kid {kid[:16]}...\n")

    now = int(time.time())
    claims = {
        "sub": "6f1c2a7e-0000-4000-8000-00000000d3m0",
        "iss": issuer,
        "client_id": client_id,
        "token_use": "access",
        "scope": "orders/read orders/write",
        "cognito:groups": ["admins"],
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "jti": "d3m0-jti",
        "username": "demo-user",
    }
    token = encode_compact(claims, private_key, alg="RS256", kid=kid)
    out.write(f"2. minted a Cognito-shaped access token ({len(token)} characters)\n")

    verifier = CognitoVerifier(
        user_pool_id=pool_id, client_id=client_id, token_use="access", jwks=jwks
    )
    verified = verifier.verify(token)
    out.write("3. verified it with CognitoVerifier; claims:\n")
    out.write(json.dumps(verified.to_dict(), indent=2, sort_keys=True) + "\n")

    out.write("4. tokens that must be rejected:\n")
    header_b64, payload_b64, signature_b64 = token.split(".")
    forged = dict(claims, scope="orders/read orders/write orders/admin")
    forged_payload = b64url_encode(json.dumps(forged, separators=(",", ":")).encode())
    none_header = b64url_encode(b'{"alg":"none"}')
    cases = {
        "tampered payload (scope widened)": f"{header_b64}.{forged_payload}.{signature_b64}",
        "expired": encode_compact(
            dict(claims, iat=now - 7200, exp=now - 3600), private_key, alg="RS256", kid=kid
        ),
        "ID token where an access token is expected": encode_compact(
            dict(claims, token_use="id", aud=client_id), private_key, alg="RS256", kid=kid
        ),
        "alg none": f"{none_header}.{payload_b64}.",
    }
    failures = 0
    for label, bad in cases.items():
        try:
            verifier.verify(bad)
        except JwtError as exc:  # noqa: PERF203 - a demo, not a hot loop
            out.write(f"   - {label}: rejected, {exc.code}: {exc}\n")
        else:  # pragma: no cover - would be a security bug
            failures += 1
            out.write(f"   - {label}: ACCEPTED (this is a bug)\n")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="cognito-jwt", description="Verify Amazon Cognito and OpenID Connect JWTs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo", help="mint and verify Cognito-shaped tokens locally (no network, no account)"
    )
    args = parser.parse_args(argv)
    stream = out if out is not None else sys.stdout
    assert args.command == "demo"  # noqa: S101 - argparse allows no other choice
    return _demo(stream)
