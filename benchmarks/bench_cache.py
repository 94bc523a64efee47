"""What the key cache costs: warm L1 versus keys in memory, and cold starts with and without L2.

1. Warm path: ``verify()`` of a verifier whose keys come from the network (fresh in L1)
   against one built with ``jwks=`` (no key source logic at all), interleaved in shuffled rounds,
   timed in CPU time of this thread (``time.thread_time``), medians with their spread.
2. Cold start: a new Python process that imports cognito_jwt and verifies one token,
   (a) with a warm file store (the child asserts it made no fetch), and
   (b) with an empty store, fetching from a local issuer on 127.0.0.1. Wall time per process,
   medians over several runs.

    python -m nox -s bench -- cache     # or: python benchmarks/bench_cache.py
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile

from _timing import figure, interleaved_samples, process_ms, ratio_figure

from cognito_jwt import FileStore, JwtVerifier
from cognito_jwt.testing import LocalIssuer

CHILD = """
import sys, time
from cognito_jwt import FileStore, JwtVerifier
verifier = JwtVerifier(issuer=sys.argv[1], audience="api", jwks_uri=sys.argv[2],
                       store=FileStore(sys.argv[3]))
verifier.verify(sys.argv[4])
assert verifier.stats.fetches == int(sys.argv[5]), verifier.stats
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--processes", type=int, default=9)
    args = parser.parse_args(argv)

    with LocalIssuer() as issuer, tempfile.TemporaryDirectory() as warm_dir:
        token = issuer.mint({"sub": "u", "aud": "api"})
        remote = JwtVerifier(
            issuer=issuer.issuer,
            audience="api",
            store=FileStore(warm_dir),
            jwks_uri=issuer.jwks_uri,
        )
        static = JwtVerifier(issuer=issuer.issuer, audience="api", jwks=issuer.jwks())
        remote.verify(token)
        static.verify(token)
        candidates = {
            "jwks= (in memory)": lambda: static.verify(token),
            "fetched, warm L1": lambda: remote.verify(token),
        }
        samples = interleaved_samples(candidates, args.rounds, args.calls)
        print("| warm path | CPU µs per verify (±spread) | ratio (median per round) |")
        print("| --- | ---: | ---: |")
        for name, values in samples.items():
            ratio = ratio_figure(samples, name, "jwks= (in memory)")
            print(f"| {name} | {figure(values)} | {ratio} |")

        cold: dict[str, list[float]] = {"warm L2, no network": [], "empty L2, fetch": []}
        for _ in range(args.processes):
            with tempfile.TemporaryDirectory() as empty_dir:
                runs = [
                    ("warm L2, no network", [issuer.issuer, issuer.jwks_uri, warm_dir, token, "0"]),
                    ("empty L2, fetch", [issuer.issuer, issuer.jwks_uri, empty_dir, token, "1"]),
                ]
                random.shuffle(runs)
                for name, child_args in runs:
                    cold[name].append(process_ms(CHILD, child_args))
        print("\n| cold start (process start to first verified token) | wall ms |")
        print("| --- | ---: |")
        for name, values in cold.items():
            print(f"| {name} | {statistics.median(values):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
