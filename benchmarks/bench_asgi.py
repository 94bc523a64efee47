"""End to end: a Starlette app under uvicorn, open and behind auth, loaded by 50 clients.

Four apps (``benchmarks/asgi_app.py``), each in its own uvicorn process (one worker, uvicorn's
default event loop and HTTP parser), all started once and loaded in turn, in shuffled rounds:

* open: no auth;
* cognito-jwt: ``BearerAuthMiddleware`` around a ``JwtVerifier`` (keys fetched once, over HTTP,
  from a ``LocalIssuer`` in this process);
* cognito-jwt (token cache): the same with ``token_cache_size=1024``; every request carries the
  same token, so every request after the first is a cache hit;
* PyJWT: a hand-written middleware with ``PyJWKClient`` (caches on) and ``jwt.decode``.

Reported per app, medians over the rounds: requests/s and p50/p99 latency seen by the clients
(wall time: what a user waits for), and the **server's CPU time per request** (user + system
CPU of the uvicorn process over the load, divided by the requests): the figure that does not
depend on how much of the machine the clients take. The clients (``httpx``, in this process)
share the machine with the server, so requests/s is a lower bound of what the server can do.

    python -m nox -s bench -- asgi     # or: python benchmarks/bench_asgi.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cognito_jwt.testing import LocalIssuer

APPS = {
    "open (no auth)": "open_app",
    "cognito-jwt": "protected",
    "cognito-jwt (token cache)": "protected_cached",
    "PyJWT, hand-written middleware": "pyjwt",
}


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


@dataclass
class Server:
    """One uvicorn process serving one app, and what its rounds measured."""

    app: str
    process: subprocess.Popen[bytes]
    port: int
    rates: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    errors: int = 0

    @classmethod
    def start(cls, app: str, issuer: str) -> Server:
        """Start uvicorn serving ``asgi_app:<app>`` on a free loopback port."""
        port = _free_port()
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our own app
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
                "--no-access-log",
            ],
            env={**os.environ, "BENCH_ISSUER": issuer},
        )
        server = cls(app, process, port)
        try:
            _wait_for(port)
        except RuntimeError:
            server.stop()
            raise
        return server

    @property
    def url(self) -> str:
        """The route every request asks for."""
        return f"http://127.0.0.1:{self.port}/orders"

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server process so far (Linux: ``/proc``)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text(encoding="ascii")
        fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self, token: str | None, total: int, clients: int) -> None:
        """One round: *total* requests from *clients* clients; record what it measured."""
        before = self.cpu_seconds()
        rate, latencies, errors = asyncio.run(_load(self.url, token, total, clients))
        self.cpu_us.append((self.cpu_seconds() - before) / total * 1e6)
        ordered = sorted(latencies)
        self.rates.append(rate)
        self.p50.append(statistics.median(ordered) * 1e3)
        self.p99.append(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1e3)
        self.errors += errors

    def stop(self) -> None:
        """Stop the server."""
        self.process.terminate()
        self.process.wait(10)


def _version(distribution: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(distribution)


def _cell(values: list[float], digits: int = 0) -> str:
    median = statistics.median(values)
    return f"{median:,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="per app per round")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with LocalIssuer() as issuer:
        token = issuer.mint({"sub": "bench", "aud": "api"})
        servers = {name: Server.start(app, issuer.issuer) for name, app in APPS.items()}
        try:
            for server in servers.values():  # warm up: imports, key fetches, caches
                asyncio.run(_load(server.url, token, 200, args.clients))
            fetched = issuer.requests["/.well-known/jwks.json"]
            for _ in range(args.rounds):
                for name in random.sample(list(servers), len(servers)):
                    auth = None if name.startswith("open") else token
                    servers[name].run(auth, args.requests, args.clients)
            fetched = issuer.requests["/.well-known/jwks.json"] - fetched
        finally:
            for server in servers.values():
                server.stop()
    import importlib.util

    stack = [m for m in ("uvloop", "httptools") if importlib.util.find_spec(m) is not None]
    print(
        f"{args.rounds} rounds x {args.requests} requests per app, {args.clients} concurrent "
        f"clients (httpx, in the benchmark process), uvicorn {_version('uvicorn')} with one "
        f"worker ({' and '.join(stack) or 'asyncio and h11'}), Starlette "
        f"{_version('starlette')}, PyJWT {_version('pyjwt')}, {os.cpu_count()} CPUs; median "
        "(min-max) over the rounds\n"
    )
    print(
        "| app | requests/s | p50 latency (ms) | p99 latency (ms) | server CPU per request (µs) "
        "| errors |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, server in servers.items():
        print(
            f"| {name} | {_cell(server.rates)} | {_cell(server.p50, 1)} | "
            f"{_cell(server.p99, 1)} | {_cell(server.cpu_us)} | {server.errors} |"
        )
    base = statistics.median(servers["open (no auth)"].cpu_us)
    print("\nServer CPU per request beyond the open app (median µs):")
    for name, server in servers.items():
        if not name.startswith("open"):
            print(f"- {name}: {statistics.median(server.cpu_us) - base:,.0f}")
    print(f"\nJWKS fetches seen by the issuer during the timed rounds: {fetched}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
