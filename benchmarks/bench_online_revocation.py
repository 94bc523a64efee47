"""What an online revocation check costs per request: cached and uncached, against loopback.

A small HTTP server on 127.0.0.1 (a thread of this process) answers Cognito's ``GetUser``
(HTTP 200) and RFC 7662 introspection (``{"active": true}``). For each case the benchmark
measures, in shuffled interleaved rounds, the wall time and the calling thread's CPU time per
``is_revoked`` call (the server's work is in another thread and not counted as CPU):

* ``cached``: the answer is in the check's cache (the steady state within ``cache_ttl``);
* ``cognito uncached``: ``cache_ttl=0``, a new connection per call (the default: no ``client=``);
* ``cognito uncached keep-alive``: ``cache_ttl=0`` with ``FetchOptions(client=httpx.Client())``;
* ``introspection secret uncached``: ``client_secret_basic``, keep-alive;
* ``introspection private_key_jwt uncached``: a fresh ES256 client assertion per call,
  keep-alive;
* ``cognito async uncached keep-alive``: ``is_revoked_async`` with an ``httpx.AsyncClient``.

A real Cognito adds its network round trip (typically 5-30 ms in-Region) to the uncached rows.

    python benchmarks/bench_online_revocation.py [--rounds 15] [--calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from cognito_jwt import (
    Claims,
    CognitoRevocationCheck,
    FetchOptions,
    IntrospectionCheck,
    generate_client_key,
)

CLAIMS = Claims(
    {
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Bench",
        "token_use": "access",
        "sub": "u",
        "jti": "j",
    }
)
TOKEN = "eyJhbGciOiJSUzI1NiJ9." + "x" * 700 + ".sig"  # about the size of a Cognito token


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each keep-alive answer waits for a delayed ACK

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path.startswith("/introspect"):
            body = b'{"active":true,"client_id":"api","sub":"u"}'
        else:
            body = json.dumps({"Username": "u", "UserAttributes": []}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _measure(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """(wall µs, thread CPU µs) per call."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(calls):
        fn()
    return (
        (time.perf_counter() - wall) / calls * 1e6,
        (time.thread_time() - cpu) / calls * 1e6,
    )


def _spread(values: list[float]) -> str:
    quartiles = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):9.1f}  [{quartiles[0]:.1f} .. {quartiles[2]:.1f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    keep_alive = FetchOptions(client=httpx.Client(), async_client=httpx.AsyncClient())
    key = generate_client_key("ES256")
    loop = asyncio.new_event_loop()

    cached = CognitoRevocationCheck(endpoint_url=base + "/")
    cached.is_revoked(CLAIMS, TOKEN)
    fresh = CognitoRevocationCheck(endpoint_url=base + "/", cache_ttl=0)
    pooled = CognitoRevocationCheck(endpoint_url=base + "/", cache_ttl=0, fetch=keep_alive)
    secret = IntrospectionCheck(
        base + "/introspect", "api", client_secret="s", cache_ttl=0, fetch=keep_alive
    )
    signed = IntrospectionCheck(
        base + "/introspect",
        "api",
        assertion_signer=key.signer("api"),
        cache_ttl=0,
        fetch=keep_alive,
    )
    cases: dict[str, tuple[Callable[[], object], int]] = {
        "cached": (lambda: cached.is_revoked(CLAIMS, TOKEN), args.calls * 50),
        "cognito uncached": (lambda: fresh.is_revoked(CLAIMS, TOKEN), args.calls // 4),
        "cognito uncached keep-alive": (lambda: pooled.is_revoked(CLAIMS, TOKEN), args.calls),
        "introspection secret uncached": (lambda: secret.is_revoked(CLAIMS, TOKEN), args.calls),
        "introspection private_key_jwt uncached": (
            lambda: signed.is_revoked(CLAIMS, TOKEN),
            args.calls,
        ),
        "cognito async uncached keep-alive": (
            lambda: loop.run_until_complete(pooled.is_revoked_async(CLAIMS, TOKEN)),
            args.calls,
        ),
    }
    for fn, _ in cases.values():  # warm up: imports, first connections
        fn()
    walls: dict[str, list[float]] = {name: [] for name in cases}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        order = list(cases)
        random.shuffle(order)
        for name in order:
            fn, calls = cases[name]
            wall, cpu = _measure(fn, calls)
            walls[name].append(wall)
            cpus[name].append(cpu)
    server.shutdown()
    loop.close()

    print(f"per is_revoked call, µs: median [quartiles] over {args.rounds} rounds")
    print(f"{'case':42} {'wall':>26} {'thread CPU':>26}")
    for name in cases:
        print(f"{name:42} {_spread(walls[name]):>26} {_spread(cpus[name]):>26}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
