"""What ``on_decision`` costs: RS256 ``verify()`` with no hook, a no-op hook and the EMF sink.

Thread CPU time (``time.thread_time``) per call, in shuffled interleaved rounds, so that other
processes on the machine weigh little; medians and spreads over rounds, and the median of the
per-round ratios to the run without a hook. Keys are in memory (``jwks=``): no I/O is timed.

    python -m nox -s bench -- audit     # or: python benchmarks/bench_audit.py [--rounds N]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time
import uuid
from collections.abc import Callable

from _floor import cognito_claims, private_key

from cognito_jwt import CognitoVerifier, EmfSink, VerificationRecord
from cognito_jwt._client._sign import encode_compact
from cognito_jwt._jwk import jwk_from_public_key

POOL = "eu-west-1_BenchPool1"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "bench-client-id"
TARGET = 1.05  # the issue's bound for a no-op hook


class NullStream(io.TextIOBase):
    """Takes lines and keeps nothing (the EMF sink's formatting is timed, not a terminal)."""

    def write(self, text: str) -> int:
        """Drop *text*."""
        return len(text)


def noop(record: VerificationRecord) -> None:
    """A hook that does nothing: what the hook machinery itself costs."""


def cpu_us(fn: Callable[[], object], calls: int) -> float:
    """Mean thread CPU microseconds per call of *fn*."""
    start = time.thread_time()
    for _ in range(calls):
        fn()
    return (time.thread_time() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--calls", type=int, default=400, help="calls per candidate per round")
    args = parser.parse_args()

    key = private_key("RS256")
    kid = f"bench-{uuid.uuid4().hex[:8]}"
    jwk = dict(jwk_from_public_key(key.public_key()), kid=kid, alg="RS256", use="sig")
    token = encode_compact(
        cognito_claims(issuer=ISSUER, client_id=CLIENT), key, alg="RS256", kid=kid
    )

    def verifier(hook: Callable[[VerificationRecord], object] | None) -> Callable[[], object]:
        v = CognitoVerifier(
            user_pool_id=POOL,
            client_id=CLIENT,
            token_use="access",
            algorithms=["RS256"],
            jwks={"keys": [jwk]},
            store=None,
            on_decision=hook,
        )
        v.verify(token)  # warm
        return lambda: v.verify(token)

    candidates = {
        "no hook": verifier(None),
        "no-op hook": verifier(noop),
        "EMF sink (null stream)": verifier(EmfSink(stream=NullStream())),
    }
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.rounds):
        order = list(candidates)
        random.shuffle(order)
        for name in order:
            samples[name].append(cpu_us(candidates[name], args.calls))

    base = samples["no hook"]
    print(f"RS256 verify(), thread CPU µs per call: {args.rounds} rounds x {args.calls} calls")
    print(f"{'candidate':<24} {'median':>8} {'p10-p90':>15} {'ratio':>7}")
    for name, values in samples.items():
        deciles = statistics.quantiles(values, n=10)
        ratio = statistics.median(v / b for v, b in zip(values, base, strict=True))
        spread = f"{deciles[0]:.1f}-{deciles[-1]:.1f}"
        print(f"{name:<24} {statistics.median(values):>8.1f} {spread:>15} {ratio:>6.3f}x")
    noop_ratio = statistics.median(v / b for v, b in zip(samples["no-op hook"], base, strict=True))
    verdict = "within" if noop_ratio <= TARGET else "OVER"
    print(f"no-op hook: {noop_ratio:.3f}x the no-hook run ({verdict} the {TARGET}x target)")


if __name__ == "__main__":
    main()
