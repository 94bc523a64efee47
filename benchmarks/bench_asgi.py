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
import re
import shutil
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


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    """A wrk duration (``950.00us``, ``4.90ms``, ``1.02s``) in milliseconds."""
    match = re.fullmatch(r"([0-9.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def _wrk(
    url: str, token: str | None, seconds: float, clients: int
) -> tuple[int, float, list[float], int]:
    """Load *url* with wrk: (requests, requests/s, [p50, p99] in ms, non-2xx responses)."""
    command = ["wrk", "-t2", f"-c{clients}", f"-d{seconds:g}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)$", out, re.MULTILINE)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)$", out, re.MULTILINE)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return requests, rate, [p50, p99], int(bad[1]) if bad else 0


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
        """One round: *total* requests from *clients* httpx clients; record what it measured."""
        before = self.cpu_seconds()
        rate, latencies, errors = asyncio.run(_load(self.url, token, total, clients))
        self.cpu_us.append((self.cpu_seconds() - before) / total * 1e6)
        ordered = sorted(latencies)
        self.rates.append(rate)
        self.p50.append(statistics.median(ordered) * 1e3)
        self.p99.append(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1e3)
        self.errors += errors

    def run_wrk(self, token: str | None, seconds: float, clients: int) -> None:
        """One round: wrk for *seconds* with *clients* connections; record what it measured."""
        before = self.cpu_seconds()
        requests, rate, (p50, p99), errors = _wrk(self.url, token, seconds, clients)
        self.cpu_us.append((self.cpu_seconds() - before) / max(requests, 1) * 1e6)
        self.rates.append(rate)
        self.p50.append(p50)
        self.p99.append(p99)
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
    parser.add_argument("--seconds", type=float, default=5, help="per app per round (wrk)")
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator: wrk (C, light) when on PATH, else httpx in this process",
    )
    args = parser.parse_args(argv)
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
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
                    if use_wrk:
                        servers[name].run_wrk(auth, args.seconds, args.clients)
                    else:
                        servers[name].run(auth, args.requests, args.clients)
            fetched = issuer.requests["/.well-known/jwks.json"] - fetched
        finally:
            for server in servers.values():
                server.stop()
    import importlib.util

    stack = [m for m in ("uvloop", "httptools") if importlib.util.find_spec(m) is not None]
    load = (
        f"{args.seconds:g} s per app per round of wrk (2 threads, {args.clients} connections)"
        if use_wrk
        else f"{args.requests} requests per app per round from {args.clients} concurrent "
        "clients (httpx, in the benchmark process)"
    )
    print(
        f"{args.rounds} rounds, {load}; uvicorn {_version('uvicorn')} with one "
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
