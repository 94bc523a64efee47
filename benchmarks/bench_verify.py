"""Microbenchmark: CognitoVerifier.verify against the two floors, in one process and one run.

The floor is what no Python verifier can go below: base64url-decode and JSON-parse header and
payload, verify the signature with a prepared ``cryptography`` key, and the minimal claim
checks. The tighter floor does the same but decodes each distinct header once, as the library
does (see ``_floor.py``). Candidates:

* signature only: the bare ``cryptography`` verify (a reference: the cost of the crypto alone);
* the floor and the tighter floor (``floor_header_once``);
* cognito-jwt as a server runs it: keys fetched over HTTP from a local JWKS server beforehand
  (the remote key source, its clock reads and counters included);
* cognito-jwt with ``jwks=`` (a static key set, no key source logic);
* cognito-jwt with the token cache on, every token a miss (1024 entries, full, oldest out);
* the floor again, as a second candidate: its ratio to the floor shows what the method itself
  can tell apart on this machine at this moment (ideally 1.00 ±0%).

Every candidate verifies the next of ``--tokens`` distinct tokens in turn (same header, fresh
``jti`` and ``sub``), so that a cache miss is compared with the floors on the same tokens.
Candidates run interleaved in shuffled rounds, each timed in CPU time of this thread
(``time.thread_time``: what another process running next to it can't inflate); the ratios are
medians of per-round ratios, given with their spread (``±``: half the 10th-90th percentile
range, relative to the median). ``--clock wall`` times with ``perf_counter`` instead, for
comparison.

    python -m nox -s bench -- verify    # or: python benchmarks/bench_verify.py [--rounds N]
    python benchmarks/bench_verify.py --quick   # 7 short rounds: a rough look
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
import sys
from collections.abc import Callable

from _floor import bare, cognito_claims, floor, floor_header_once, private_key
from _timing import CLOCKS, calibrate, figure, interleaved_samples, ratio_figure, round_ratios

from cognito_jwt import CognitoVerifier
from cognito_jwt._client._sign import encode_compact
from cognito_jwt._jwk import jwk_from_public_key
from cognito_jwt.testing import LocalIssuer

POOL = "eu-west-1_BenchPool1"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "bench-client"
CACHE_SIZE = 1024

SIG, FLOOR, TIGHT = "signature only", "floor", "floor, header once"
AGAIN = "floor (again)"  # a second floor: floor (again) / floor is the method's own noise
OURS, STATIC, MISS = "cognito-jwt", "cognito-jwt (jwks=)", "cognito-jwt (token cache, miss)"
TARGET_TIGHT = 1.05  # issue 19: verify() against the tighter floor
TARGET_MISS = 1.10  # issue 19: a token-cache miss against the floor

Candidate = Callable[[], object]


def cycling(verify: Callable[[str], object], tokens: list[str]) -> Candidate:
    """Verify the next of *tokens* on each call."""
    following = itertools.cycle(tokens).__next__
    return lambda: verify(following())


def candidates_for(alg: str, issuer: LocalIssuer, tokens_n: int) -> dict[str, Candidate]:
    """The candidates for *alg*, each checked to accept its first token."""
    private = private_key(alg)
    kid = f"bench-{alg}"
    jwk = dict(jwk_from_public_key(private.public_key()), kid=kid, alg=alg, use="sig")
    issuer.add_jwk(jwk)
    tokens = [
        encode_compact(cognito_claims(issuer=ISSUER, client_id=CLIENT), private, alg=alg, kid=kid)
        for _ in range(tokens_n)
    ]
    options = {
        "user_pool_id": POOL,
        "client_id": CLIENT,
        "token_use": "access",
        "algorithms": [alg],
    }
    fetched = CognitoVerifier(**options, jwks_uri=issuer.jwks_uri, store=None)  # type: ignore[arg-type]
    fetched.hydrate()  # over HTTP, before any timing
    static = CognitoVerifier(**options, jwks={"keys": [jwk]})  # type: ignore[arg-type]
    cached = CognitoVerifier(
        **options,  # type: ignore[arg-type]
        jwks_uri=issuer.jwks_uri,
        store=None,
        token_cache_size=min(CACHE_SIZE, max(1, tokens_n // 2)),
    )
    cached.hydrate()
    public = private.public_key()
    verifiers: dict[str, Callable[[str], object]] = {
        SIG: bare(alg, public, tokens[0]),
        FLOOR: floor(alg, public, issuer=ISSUER, client_id=CLIENT),
        AGAIN: floor(alg, public, issuer=ISSUER, client_id=CLIENT),
        TIGHT: floor_header_once(alg, public, issuer=ISSUER, client_id=CLIENT),
        OURS: fetched.verify,
        STATIC: static.verify,
        MISS: cached.verify,
    }
    for verify in verifiers.values():  # prove each accepts a token (and warm up)
        verify(tokens[0])
    candidates = {name: cycling(verify, tokens) for name, verify in verifiers.items()}
    for _ in range(2 * tokens_n):  # the cache full, so that each miss also evicts
        candidates[MISS]()
    stats = cached.token_cache_stats or {}
    if stats.get("size") != stats.get("max_size"):
        raise SystemExit(f"the token cache should be full: {stats}")
    return candidates


def verdict(value: float, target: float) -> str:
    """``PASS`` when *value* is within *target*, else ``ABOVE``."""
    return "PASS" if value <= target else "ABOVE"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--target-ms", type=float, default=20, help="per candidate per round")
    parser.add_argument("--tokens", type=int, default=2 * CACHE_SIZE, help="distinct tokens")
    parser.add_argument("--algs", default="RS256,PS256,ES256,EdDSA")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    parser.add_argument("--quick", action="store_true", help="7 short rounds: a rough look")
    parser.add_argument("--no-write", action="store_true", help="accepted; writes nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.target_ms = min(args.rounds, 7), min(args.target_ms, 5)
    clock = CLOCKS[args.clock]
    clock_name = "thread CPU time" if args.clock == "cpu" else "wall time (perf_counter)"

    print(
        f"Python {platform.python_version()}, {args.rounds} rounds, ~{args.target_ms:g} ms per "
        f"candidate per round, timed in {clock_name}; {args.tokens} distinct tokens cycled\n"
    )
    ratios: list[str] = []
    micros: list[str] = []
    names = (SIG, FLOOR, TIGHT, OURS, STATIC, MISS)
    checks: list[tuple[str, float, float]] = []
    with LocalIssuer() as issuer:
        for alg in args.algs.split(","):
            print(f"{alg} ...", file=sys.stderr)
            candidates = candidates_for(alg, issuer, args.tokens)
            target_s = args.target_ms / 1e3
            calls = {n: calibrate(fn, target_s, clock=clock) for n, fn in candidates.items()}
            samples = interleaved_samples(candidates, args.rounds, calls, clock)
            micros.append(f"| {alg} | " + " | ".join(figure(samples[n]) for n in names) + " |")
            ratios.append(
                f"| {alg} | {ratio_figure(samples, OURS, FLOOR)} | "
                f"{ratio_figure(samples, OURS, TIGHT)} | {ratio_figure(samples, STATIC, TIGHT)} | "
                f"{ratio_figure(samples, MISS, FLOOR)} | {ratio_figure(samples, MISS, TIGHT)} | "
                f"{ratio_figure(samples, TIGHT, FLOOR)} | {ratio_figure(samples, AGAIN, FLOOR)} |"
            )
            checks.append(
                (
                    alg,
                    statistics.median(round_ratios(samples, OURS, TIGHT)),
                    statistics.median(round_ratios(samples, MISS, FLOOR)),
                )
            )
    print(f"µs per verification (median over rounds ±spread; {clock_name}):\n")
    print("| alg | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    print("\n".join(micros))
    print("\nRatios (median of per-round ratios ±spread):\n")
    print(
        "| alg | cognito-jwt / floor | cognito-jwt / floor, header once "
        f"(target ≤ {TARGET_TIGHT}) | jwks= / floor, header once | cache miss / floor "
        f"(target ≤ {TARGET_MISS}) | cache miss / floor, header once | "
        "floor, header once / floor | floor (again) / floor: the method's noise |"
    )
    print("| --- |" + " ---: |" * 7)
    print("\n".join(ratios))
    print()
    for alg, tight, miss in checks:
        print(
            f"{alg}: verify() {tight:.3f}x the tighter floor (target ≤ {TARGET_TIGHT}: "
            f"{verdict(tight, TARGET_TIGHT)}); token-cache miss {miss:.3f}x the floor "
            f"(target ≤ {TARGET_MISS}: {verdict(miss, TARGET_MISS)})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
