"""The ``cognito-jwt`` command line (``python -m cognito_jwt``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import TextIO

__all__ = ["main"]


def _demo(out: TextIO) -> int:  # noqa: PLR0915 - a narrated script, step by step
    """Serve an issuer on 127.0.0.1 and verify its tokens through discovery and the key cache."""
    import tempfile

    from . import CognitoVerifier, FileStore, JwtError, JwtVerifier
    from ._b64 import b64url_encode
    from .testing import LocalIssuer

    def say(text: str = "") -> None:
        out.write(text + "\n")

    pool_id, client_id = "eu-west-1_DemoPool1", "demo-app-client"
    failures = 0
    say("cognito-jwt demo: a local issuer on 127.0.0.1, no cloud account needed\n")
    with LocalIssuer() as issuer, tempfile.TemporaryDirectory() as cache_dir:
        say(
            f"1. issuer {issuer.issuer} publishes discovery and a JWKS "
            f"(kid {issuer.kids[0][:12]}...)"
        )

        oidc = JwtVerifier(issuer=issuer.issuer, audience="demo-api", store=FileStore(cache_dir))
        token = issuer.mint({"sub": "alice", "aud": "demo-api", "scope": "orders:read"})
        started = time.perf_counter()
        claims = oidc.verify(token)
        first_ms = (time.perf_counter() - started) * 1e3
        say(
            f"2. JwtVerifier found the keys by OIDC discovery: sub={claims.sub!r}, "
            f"first verify {first_ms:.1f} ms (discovery + JWKS fetch)"
        )
        rounds = 2000
        started = time.perf_counter()
        for _ in range(rounds):
            oidc.verify(token)
        warm_us = (time.perf_counter() - started) / rounds * 1e6
        say(f"   warm verify from the in-memory key cache: {warm_us:.0f} us per token")

        cognito = CognitoVerifier(
            user_pool_id=pool_id,
            client_id=client_id,
            token_use="access",
            jwks_uri=issuer.jwks_uri,
            store=FileStore(cache_dir),
        )
        access = issuer.cognito_access_token(
            user_pool_id=pool_id,
            client_id=client_id,
            scope="orders/read orders/write",
            **{"cognito:groups": ["admins"]},
        )
        verified = cognito.verify(access)
        say("3. CognitoVerifier (real Cognito issuer string, keys from jwks_uri) verified:")
        say(json.dumps(verified.to_dict(), indent=2, sort_keys=True))

        new_kid = issuer.rotate()
        rotated = issuer.mint({"sub": "bob", "aud": "demo-api"})
        oidc.verify(rotated)
        say(
            f"4. the issuer rotated to kid {new_kid[:12]}...: the unknown kid triggered one "
            f"refresh; refreshes so far {dict(oidc.stats.refreshes)}"
        )

        say("5. tokens that must be rejected:")
        header_b64, payload_b64, signature_b64 = access.split(".")
        forged = b64url_encode(json.dumps({**verified.to_dict(), "scope": "orders/admin"}).encode())
        none_header = b64url_encode(b'{"alg":"none","typ":"JWT"}')
        cases = {
            "tampered payload (scope widened)": f"{header_b64}.{forged}.{signature_b64}",
            "expired": issuer.cognito_access_token(
                user_pool_id=pool_id, client_id=client_id, exp=int(time.time()) - 60
            ),
            "ID token where an access token is expected": issuer.cognito_access_token(
                user_pool_id=pool_id, client_id=client_id, token_use="id", aud=client_id
            ),
            "another app client": issuer.cognito_access_token(
                user_pool_id=pool_id, client_id="someone-else"
            ),
            "alg none": f"{none_header}.{payload_b64}.",
        }
        for label, bad in cases.items():
            try:
                cognito.verify(bad)
            except JwtError as exc:  # noqa: PERF203 - a demo, not a hot loop
                say(f"   - {label}: rejected, {exc.code}: {exc}")
            else:  # pragma: no cover - would be a security bug
                failures += 1
                say(f"   - {label}: ACCEPTED (this is a bug)")

        before = oidc.stats.fetches
        rejected = 0
        flood = [
            f"{b64url_encode(json.dumps({'alg': 'RS256', 'kid': f'random-{n}'}).encode())}"
            f".{payload_b64}.{signature_b64}"
            for n in range(1000)
        ]
        for bad in flood:
            try:
                oidc.verify(bad)
            except JwtError:  # noqa: PERF203
                rejected += 1
        say(
            f"6. 1000 tokens with random kids: {rejected} rejected, "
            f"{oidc.stats.fetches - before} extra fetch(es) (one refresh per cooldown window at "
            "most, and the rotation above just used this window's)"
        )

        issuer.stop()
        cold = JwtVerifier(issuer=issuer.issuer, audience="demo-api", store=FileStore(cache_dir))
        cold.verify(rotated)
        say(
            f"7. issuer stopped; a new verifier (a fresh process) verified from the file store: "
            f"{cold.stats.fetches} fetches, {cold.stats.l2_loads} store load"
        )
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
