"""Load: 5,000 requests from 50 concurrent clients against uvicorn, with and without auth.

The server runs in its own process (``uvicorn benchmarks/asgi_app.py``), the clients in this
one; the issuer is a LocalIssuer here, so its request counter shows how often the key set was
fetched. Reports requests/s and p50/p99 latency for each app, and the error count.

    python -m nox -s bench -- asgi
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cognito_jwt.testing import LocalIssuer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:  # noqa: PERF203 - a bounded poll
            time.sleep(0.05)  # polling a server start, not waiting for time to pass
    raise RuntimeError(f"uvicorn did not listen on {port}")


async def _load(
    url: str, token: str | None, total: int, clients: int
) -> tuple[float, list[float], int]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    errors = 0
    queue = iter(range(total))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal errors
            for _ in queue:
                start = time.perf_counter()
                response = await client.get(url, headers=headers)
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return total / elapsed, latencies, errors


def _run(app: str, issuer: LocalIssuer, token: str | None, total: int, clients: int) -> str:
    port = _free_port()
    env = {**os.environ, "BENCH_ISSUER": issuer.issuer}
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(__file__).parent),
            f"asgi_app:{app}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        _wait_for(port)
        url = f"http://127.0.0.1:{port}/orders"
        asyncio.run(_load(url, token, 100, clients))  # warm up (and fill the key cache)
        rate, latencies, errors = asyncio.run(_load(url, token, total, clients))
    finally:
        server.terminate()
        server.wait(10)
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return (
        f"| {app} | {rate:.0f} | {statistics.median(ordered) * 1e3:.1f} | "
        f"{p99 * 1e3:.1f} | {errors} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args(argv)
    with LocalIssuer() as issuer:
        token = issuer.mint({"sub": "bench", "aud": "api"})
        print("| app | requests/s | p50 (ms) | p99 (ms) | errors |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(_run("open_app", issuer, None, args.requests, args.clients))
        print(_run("protected", issuer, token, args.requests, args.clients))
        fetches = issuer.requests["/.well-known/jwks.json"]
        print(
            f"\nJWKS fetches seen by the issuer for {args.requests + 100} authenticated "
            f"requests: {fetches}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
