"""Why two threads don't verify faster than one: the GIL hand-off, step by step (RS256).

Each row runs one workload with one thread, then with two threads started together (each doing
as many calls as the one thread did), and reports the throughput ratio, median over runs:

* ``hashlib`` over 10 MB: releases the GIL for the whole call; shows the cores are there;
* ``signature only``: the bare ``cryptography`` RSA verify, which releases the GIL;
* ``signature + json.loads``: the same plus one ~3 µs ``json.loads`` holding the GIL;
* ``floor`` and ``cognito-jwt``: whole verifications.

On a 2-vCPU VM the second row scales and the third already does not: once each call does a
little work under the GIL, every call hands the GIL over and wakes the other thread.

    python -m nox -s bench -- threads        # or: python benchmarks/bench_threads.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from collections.abc import Callable

from _floor import b64d, bare, cognito_claims, floor, private_key
from _timing import threads_throughput

from cognito_jwt import CognitoVerifier
from cognito_jwt._client._sign import encode_compact
from cognito_jwt._jwk import jwk_from_public_key

POOL = "eu-west-1_BenchPool1"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "bench-client"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3, help="single-thread work per run")
    args = parser.parse_args(argv)

    private = private_key("RS256")
    public = private.public_key()
    jwk = dict(jwk_from_public_key(public), kid="k1", alg="RS256")
    claims = cognito_claims(issuer=ISSUER, client_id=CLIENT)
    token = encode_compact(claims, private, alg="RS256", kid="k1")
    payload_b64 = token.split(".")[1]
    signature = bare("RS256", public, token)
    verifier = CognitoVerifier(
        user_pool_id=POOL, client_id=CLIENT, token_use="access", jwks={"keys": [jwk]}, store=None
    )
    the_floor = floor("RS256", public, issuer=ISSUER, client_id=CLIENT)
    big = b"x" * 10_000_000

    def signature_and_json() -> None:
        signature(token)
        json.loads(b64d(payload_b64))

    workloads: dict[str, Callable[[], object]] = {
        "hashlib.sha256 over 10 MB (GIL released)": lambda: hashlib.sha256(big).digest(),
        "signature only (GIL released)": lambda: signature(token),
        "signature + one json.loads": signature_and_json,
        "floor": lambda: the_floor(token),
        "cognito-jwt": lambda: verifier.verify(token),
    }
    print(f"{args.runs} runs; ratio = 2-thread / 1-thread throughput, median over runs\n")
    print("| workload | 1 thread (calls/s) | 2 threads (calls/s) | 2 threads / 1 |")
    print("| --- | ---: | ---: | ---: |")
    for name, fn in workloads.items():
        start = time.perf_counter()
        fn()
        calls = max(5, int(args.seconds / max(time.perf_counter() - start, 1e-7)))
        ones, twos, ratios = [], [], []
        for _ in range(args.runs):
            one, two = threads_throughput(fn, 1, calls), threads_throughput(fn, 2, calls)
            ones.append(one)
            twos.append(two)
            ratios.append(two / one)
        print(
            f"| {name} | {statistics.median(ones):,.0f} | {statistics.median(twos):,.0f} "
            f"| {statistics.median(ratios):.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
