"""Microbenchmark: CognitoVerifier.verify against the floor, in one process and one run.

The floor is what no Python verifier can go below: base64url-decode and JSON-parse header and
payload, verify the signature with a prepared ``cryptography`` key, and the minimal claim
checks. Candidates run interleaved in shuffled rounds; the figures are medians, and the ratio
to the floor is the number to compare (absolute times on a shared machine are noise).

    python -m nox -s bench            # or: python benchmarks/bench_verify.py [--rounds N]
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from _timing import interleaved_medians
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from cognito_jwt import CognitoVerifier
from cognito_jwt._jwk import jwk_from_public_key
from cognito_jwt._sign import encode_compact

POOL = "eu-west-1_BenchPool1"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "bench-client"


def _b64d(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _checker(alg: str, public_key: Any) -> Callable[[bytes, bytes], None]:
    """A bare ``cryptography`` verify for *alg* with a prepared key."""
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
            r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            public_key.verify(encode_dss_signature(r, s), data, ecdsa)
    else:

        def check(sig: bytes, data: bytes) -> None:
            public_key.verify(sig, data)

    return check


def _bare(alg: str, public_key: Any, token: str) -> Callable[[str], object]:
    """Only the signature check, on pre-decoded inputs: the cost of the cryptography alone."""
    check = _checker(alg, public_key)
    header_b64, payload_b64, sig_b64 = token.split(".")
    sig, data = _b64d(sig_b64), f"{header_b64}.{payload_b64}".encode()
    return lambda _token: check(sig, data)


def _floor(alg: str, public_key: Any) -> Callable[[str], dict[str, Any]]:
    check = _checker(alg, public_key)

    def floor(token: str) -> dict[str, Any]:
        header_b64, payload_b64, sig_b64 = token.split(".")
        header = json.loads(_b64d(header_b64))
        check(_b64d(sig_b64), f"{header_b64}.{payload_b64}".encode())
        payload: dict[str, Any] = json.loads(_b64d(payload_b64))
        if header["alg"] != alg or payload["exp"] <= time.time() or payload["iss"] != ISSUER:
            raise ValueError("claims")
        if payload["token_use"] != "access" or payload["client_id"] != CLIENT:
            raise ValueError("claims")
        return payload

    return floor


def _private_key(alg: str) -> Any:
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=300, help="calls per candidate per round")
    parser.add_argument("--algs", default="RS256,PS256,ES256,EdDSA")
    args = parser.parse_args(argv)

    print(f"python {sys.version.split()[0]}, {args.rounds} rounds x {args.calls} calls\n")
    print("| alg | signature only (µs) | floor (µs) | cognito-jwt (µs) | ratio to floor |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for alg in args.algs.split(","):
        private = _private_key(alg)
        jwk = dict(jwk_from_public_key(private.public_key()), kid="k1", alg=alg)
        now = int(time.time())
        claims = {
            "sub": "u",
            "iss": ISSUER,
            "client_id": CLIENT,
            "token_use": "access",
            "scope": "a b",
            "iat": now,
            "exp": now + 3600,
            "jti": "j",
            "username": "u",
        }
        token = encode_compact(claims, private, alg=alg, kid="k1")
        verifier = CognitoVerifier(
            user_pool_id=POOL,
            client_id=CLIENT,
            token_use="access",
            jwks={"keys": [jwk]},
            algorithms=[alg],
        )
        candidates: dict[str, Callable[[str], object]] = {
            "signature": _bare(alg, private.public_key(), token),
            "floor": _floor(alg, private.public_key()),
            "cognito-jwt": verifier.verify,
        }
        for fn in candidates.values():  # warm up, and prove both accept the token
            fn(token)
        bound = {name: functools.partial(fn, token) for name, fn in candidates.items()}
        medians = interleaved_medians(bound, args.rounds, args.calls)
        sig_us, floor_us, ours_us = (medians[n] for n in ("signature", "floor", "cognito-jwt"))
        print(
            f"| {alg} | {sig_us:.1f} | {floor_us:.1f} | {ours_us:.1f} | {ours_us / floor_us:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
