"""What DynamoDB costs a verifier: the deny-list per request, and a cold start from the table.

DynamoDB is MiniStack on 127.0.0.1 (tests/servers/ministack.py, started here). Two parts:

1. **Deny-list per request.** ``DynamoDBDenyList.is_revoked`` on a Cognito access token's
   claims (``jti``, ``origin_jti``, ``sub``: one strongly consistent ``BatchGetItem`` of 3
   keys), measured in shuffled interleaved rounds as wall time and the calling thread's CPU
   time (``time.thread_time()``: the client's work, boto3 included; the emulator's work is in
   another process and not counted), with and without the local cache (``local_ttl``), and
   ``is_revoked_async`` (the same request in a worker thread). For scale, the in-memory
   ``DenyList``.
2. **Cold start.** Fresh interpreters, each a new Lambda container, whose key set is already
   in the table (a previous process saved it): each imports ``cognito_jwt`` and
   ``cognito_jwt.stores.DynamoDBStore`` (boto3), builds the store and a ``JwtVerifier``, and
   verifies one token. Each reports its CPU time (``time.process_time()``) per phase, the
   DynamoDB requests it sent and the JWKS fetches it made; the same with a ``FileStore``
   holding the key set, for scale.

A real DynamoDB adds its network round trip (a few ms in-Region) to the wall times; the CPU
times are what the client spends.

    python benchmarks/bench_dynamodb.py [--rounds 15] [--calls 100] [--processes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' MiniStack harness

from tests.servers.ministack import MiniStack

from cognito_jwt import Claims, DenyList
from cognito_jwt.stores import DynamoDBDenyList
from cognito_jwt.stores._dynamodb import create_table
from cognito_jwt.testing import LocalIssuer

CLAIMS = Claims(
    {
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Bench",
        "token_use": "access",
        "sub": "8d2f5f0e-1111-4222-8333-444455556666",
        "jti": "f00dfeed-0000-4000-8000-000000000002",
        "origin_jti": "0c5c6f0e-aaaa-4bbb-8ccc-dddd0000eeee",
        "iat": time.time() - 60,
        "auth_time": time.time() - 60,
    }
)

# The child: one cold process. argv: spec (JSON). Prints one JSON line.
CHILD = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
t0 = time.process_time()
import cognito_jwt
from cognito_jwt import FileStore, JwtVerifier
t1 = time.process_time()
if spec["store"] == "dynamodb":
    from cognito_jwt.stores import DynamoDBStore
    t_boto = time.process_time()
    store = DynamoDBStore(spec["table"], region_name="eu-west-1",
                          endpoint_url=spec["endpoint_url"], fallback=None)
    sent = []
    store.client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: sent.append(model.name))
else:
    t_boto = time.process_time()
    store, sent = FileStore(spec["cache_dir"]), []
t2 = time.process_time()
verifier = JwtVerifier(issuer=spec["issuer"], audience="api", store=store)
claims = verifier.verify(spec["token"])
t3 = time.process_time()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "boto_ms": (t_boto - t1) * 1e3,
                  "client_ms": (t2 - t_boto) * 1e3,
                  "verify_ms": (t3 - t2) * 1e3, "total_ms": (t3 - t0) * 1e3,
                  "requests": sent, "fetches": verifier.stats.fetches,
                  "l2_loads": verifier.stats.l2_loads}))
"""


def _measure(fn: Callable[[], object], calls: int) -> tuple[float, float, float]:
    """(wall µs, thread CPU µs, process CPU µs) per call.

    The async face does its request in a worker thread: the calling thread's CPU time
    misses it, the process's counts it (this process runs nothing else meanwhile).
    """
    wall, cpu, process = time.perf_counter(), time.thread_time(), time.process_time()
    for _ in range(calls):
        fn()
    return (
        (time.perf_counter() - wall) / calls * 1e6,
        (time.thread_time() - cpu) / calls * 1e6,
        (time.process_time() - process) / calls * 1e6,
    )


def _spread(values: list[float]) -> str:
    quartiles = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):7.1f} [{quartiles[0]:.1f} .. {quartiles[2]:.1f}]"


def deny_list_costs(server: MiniStack, table: str, rounds: int, calls: int) -> None:
    client = server.client("dynamodb")
    uncached = DynamoDBDenyList(table, client=client)
    cached = DynamoDBDenyList(table, client=client, local_ttl=60)
    memory = DenyList()
    uncached.revoke("another-token")  # the table holds entries; this token is not revoked
    loop = asyncio.new_event_loop()
    requests: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: requests.append(1))
    cases: dict[str, tuple[Callable[[], object], int]] = {
        "DynamoDBDenyList, local_ttl=0 (a BatchGetItem)": (
            lambda: uncached.is_revoked(CLAIMS),
            calls,
        ),
        "DynamoDBDenyList async, local_ttl=0": (
            lambda: loop.run_until_complete(uncached.is_revoked_async(CLAIMS)),
            calls,
        ),
        "DynamoDBDenyList, local_ttl=60 (cache hit)": (
            lambda: cached.is_revoked(CLAIMS),
            calls * 100,
        ),
        "DenyList in memory": (lambda: memory.is_revoked(CLAIMS), calls * 100),
    }
    for fn, _ in cases.values():  # warm up: the first connection
        fn()
    requests.clear()
    before = len(requests)
    uncached.is_revoked(CLAIMS)
    per_check = len(requests) - before
    walls: dict[str, list[float]] = {name: [] for name in cases}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    processes: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        order = list(cases)
        random.shuffle(order)
        for name in order:
            fn, count = cases[name]
            wall, cpu, process = _measure(fn, count)
            walls[name].append(wall)
            cpus[name].append(cpu)
            processes[name].append(process)
    loop.close()
    print(f"\n1. Deny-list, per is_revoked call, µs: median [quartiles] over {rounds} rounds")
    print(f"   requests per uncached check: {per_check} (3 strongly consistent reads)")
    print(f"{'case':46} {'wall':>24} {'thread CPU':>24} {'process CPU':>24}")
    for name in cases:
        row = [_spread(v[name]) for v in (walls, cpus, processes)]
        print(f"{name:46} {row[0]:>24} {row[1]:>24} {row[2]:>24}")


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    done = subprocess.run(  # noqa: S603 - this file's own child code
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def cold_starts(server: MiniStack, table: str, processes: int) -> None:
    with LocalIssuer() as issuer, tempfile.TemporaryDirectory() as tmp:
        token = issuer.mint({"aud": "api", "sub": "bench"})
        base = {"issuer": issuer.issuer, "token": token, "table": table}
        base["endpoint_url"] = server.endpoint_url
        first = _child({**base, "store": "dynamodb"})  # fills the table
        _child({**base, "store": "file", "cache_dir": tmp})  # fills the file store
        fetched = issuer.requests["/.well-known/jwks.json"]
        results: dict[str, list[dict[str, Any]]] = {"dynamodb": [], "file": []}
        for _ in range(processes):
            for kind in random.sample(list(results), 2):
                results[kind].append(_child({**base, "store": kind, "cache_dir": tmp}))
        if issuer.requests["/.well-known/jwks.json"] != fetched:
            raise SystemExit("a process whose key set was in the store fetched it")
    print(f"\n2. Cold start with the key set in the store: {processes} processes each")
    print(f"   the first process (empty table) sent: {' '.join(first['requests'])}")
    print(f"{'store':10} {'phase':36} {'CPU ms: median [quartiles]':>30}")
    phases = {
        "import_ms": "import cognito_jwt",
        "boto_ms": "import the store (boto3)",
        "client_ms": "build the store (boto3 client)",
        "verify_ms": "first verify() (load + verify)",
        "total_ms": "total",
    }
    for kind, rows in results.items():
        for field, label in phases.items():
            print(f"{kind:10} {label:36} {_spread([r[field] for r in rows]):>30}")
        sent = {" ".join(r["requests"]) or "-" for r in rows}
        fetches = sum(r["fetches"] for r in rows)
        print(f"{kind:10} requests to the store: {sorted(sent)}; JWKS fetches: {fetches}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--processes", type=int, default=10)
    args = parser.parse_args(argv)
    with MiniStack() as server:
        table = "bench-cognito-jwt"
        create_table(server.client("dynamodb"), table)
        deny_list_costs(server, table, args.rounds, args.calls)
        cold_starts(server, table, args.processes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
