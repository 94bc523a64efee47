"""Microbenchmark: CognitoVerifier.verify against the floor, in one process and one run.

The floor is what no Python verifier can go below: base64url-decode and JSON-parse header and
payload, verify the signature with a prepared ``cryptography`` key, and the minimal claim
checks. Candidates run interleaved in shuffled rounds; the figures are medians, and the ratio
to the floor is the number to compare (absolute times on a shared machine are noise).

    python -m nox -s bench -- verify    # or: python benchmarks/bench_verify.py [--rounds N]
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

from _floor import bare, cognito_claims, floor, private_key
from _timing import interleaved_medians

from cognito_jwt import CognitoVerifier
from cognito_jwt._client._sign import encode_compact
from cognito_jwt._jwk import jwk_from_public_key

POOL = "eu-west-1_BenchPool1"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "bench-client"


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
        private = private_key(alg)
        jwk = dict(jwk_from_public_key(private.public_key()), kid="k1", alg=alg)
        claims = cognito_claims(issuer=ISSUER, client_id=CLIENT)
        token = encode_compact(claims, private, alg=alg, kid="k1")
        verifier = CognitoVerifier(
            user_pool_id=POOL,
            client_id=CLIENT,
            token_use="access",
            jwks={"keys": [jwk]},
            algorithms=[alg],
        )
        candidates: dict[str, Callable[[str], object]] = {
            "signature": bare(alg, private.public_key(), token),
            "floor": floor(alg, private.public_key(), issuer=ISSUER, client_id=CLIENT),
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
