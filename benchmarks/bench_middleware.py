"""What the web adapters add to a request beyond the verify call they make (target: ≤ 5 µs).

For the ASGI middleware, the WSGI middleware and the Lambda authorizer, each round times one
batch of calls of the adapter wrapping a stub verifier that returns cached claims, and one
batch of the bare stub call; the overhead is the difference. CPU time of this thread
(``time.thread_time()``), so a batch that waits in the run queue of a busy machine is not
counted; candidates are shuffled in each round, and each overhead is the median of the
per-round differences, with its spread (the interquartile range, and as a share of the
median).

The requests are realistic: a browser-like set of eleven headers, one of them
``Authorization: Bearer <an 800-character token>``; the Lambda event is a REST ``TOKEN``
event, a REST ``REQUEST`` event, an HTTP API payload 2.0 event and a WebSocket ``$connect``
event, the handler with its default options (every claim of a Cognito access token, 13,
flattened into ``context``), and once without a context.

    python -m nox -s bench -- middleware            # or: python benchmarks/bench_middleware.py
    python benchmarks/bench_middleware.py --baseline ../main    # before (main) and after
"""

from __future__ import annotations

import argparse
import importlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

import cognito_jwt

TARGET_US = 5.0
TOKEN = "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0." + "x" * 500 + "." + "s" * 342
ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/prod/GET/orders"
PAYLOAD = {
    "sub": "8d2f5f0e-1111-4222-8333-444455556666",
    "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_BenchPool1",
    "client_id": "bench-client",
    "origin_jti": "0c5c6f0e-aaaa-4bbb-8ccc-dddd0000eeee",
    "event_id": "e1f2a3b4-0000-4000-8000-000000000001",
    "token_use": "access",
    "scope": "orders/read orders/write",
    "auth_time": 1_700_000_000,
    "exp": 1_700_003_600,
    "iat": 1_700_000_000,
    "jti": "f00dfeed-0000-4000-8000-000000000002",
    "username": "alice",
    "cognito:groups": ["admins", "staff"],
}
HEADERS = [
    ("host", "api.example.com"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    ("accept", "application/json"),
    ("accept-language", "en-GB,en;q=0.5"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("authorization", f"Bearer {TOKEN}"),
    ("origin", "https://app.example.com"),
    ("referer", "https://app.example.com/orders"),
    ("connection", "keep-alive"),
    ("sec-fetch-mode", "cors"),
    ("x-request-id", "7f4e9c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"),
]


class Stub:
    """A verifier that returns the same claims at once: what remains is the adapter's cost."""

    def __init__(self, claims: Any) -> None:
        self.claims = claims

    def verify(self, token: str | bytes) -> Any:  # noqa: D102
        return self.claims

    async def verify_async(self, token: str | bytes) -> Any:  # noqa: D102
        return self.claims

    def hydrate(self) -> None:  # noqa: D102
        return None


def _run(coroutine: Coroutine[Any, Any, object]) -> None:
    """Run a coroutine that never suspends, without an event loop (none of these do)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise RuntimeError("the coroutine suspended")  # pragma: no cover


def candidates(
    package: ModuleType = cognito_jwt,
) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """Each adapter's call, and the bare verifier call it makes (adapters of *package*)."""
    name = package.__name__
    AsgiMiddleware = importlib.import_module(f"{name}.adapters.asgi").BearerAuthMiddleware  # noqa: N806
    WsgiMiddleware = importlib.import_module(f"{name}.adapters.wsgi").BearerAuthMiddleware  # noqa: N806
    authorizer = importlib.import_module(f"{name}.adapters.lambda_authorizer").authorizer
    stub = Stub(package.Claims(PAYLOAD))

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        return None

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        return None

    asgi = AsgiMiddleware(asgi_app, stub)
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in HEADERS]

    def asgi_call() -> None:
        scope = {"type": "http", "method": "GET", "path": "/orders", "headers": raw}
        _run(asgi(scope, receive, send))

    def asgi_bare() -> None:
        scope = {"type": "http", "method": "GET", "path": "/orders", "headers": raw}
        del scope
        _run(stub.verify_async(TOKEN))

    def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
        return []

    wsgi = WsgiMiddleware(wsgi_app, stub)
    base = {"REQUEST_METHOD": "GET", "PATH_INFO": "/orders", "SCRIPT_NAME": ""}
    base.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in HEADERS})
    base["HTTP_HOST"] = "api.example.com"

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        return None

    def wsgi_call() -> None:
        wsgi(dict(base), start_response)

    def wsgi_bare() -> None:
        environ = dict(base)
        del environ
        stub.verify(TOKEN)

    handler = authorizer(stub)
    bare_handler = authorizer(stub, context_claims=None)
    token_event = {"type": "TOKEN", "authorizationToken": f"Bearer {TOKEN}", "methodArn": ARN}
    request_event = {
        "type": "REQUEST",
        "methodArn": ARN,
        "resource": "/orders",
        "path": "/orders",
        "httpMethod": "GET",
        "headers": dict(HEADERS),
        "multiValueHeaders": {k: [v] for k, v in HEADERS},
        "queryStringParameters": {},
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": {"stage": "prod", "requestId": "r-1"},
    }
    http_event = {  # HTTP API, payload 2.0: header names in lower case, no multiValueHeaders
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": ARN,
        "identitySource": [f"Bearer {TOKEN}"],
        "routeKey": "GET /orders",
        "rawPath": "/orders",
        "rawQueryString": "",
        "headers": dict(HEADERS),
        "requestContext": {"stage": "prod", "requestId": "r-1", "routeKey": "GET /orders"},
    }
    websocket_event = {  # WebSocket $connect: REST-like, with the route in requestContext
        "type": "REQUEST",
        "methodArn": ARN.replace("GET/orders", "$connect"),
        "headers": {k.title(): v for k, v in HEADERS},
        "multiValueHeaders": {k.title(): [v] for k, v in HEADERS},
        "queryStringParameters": {},
        "multiValueQueryStringParameters": {},
        "stageVariables": {},
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "stage": "prod"},
    }

    def bare() -> None:
        stub.verify(TOKEN)

    return {
        "ASGI middleware": (asgi_call, asgi_bare),
        "WSGI middleware": (wsgi_call, wsgi_bare),
        "Lambda, TOKEN event": (lambda: handler(token_event, None), bare),
        "Lambda, TOKEN event, context_claims=None": (lambda: bare_handler(token_event, None), bare),
        "Lambda, REQUEST event": (lambda: handler(request_event, None), bare),
        "Lambda, HTTP API 2.0 event": (lambda: handler(http_event, None), bare),
        "Lambda, WebSocket $connect event": (lambda: handler(websocket_event, None), bare),
    }


def batch_us(fn: Callable[[], object], calls: int) -> float:
    """CPU µs per call of *fn* (this thread only) over *calls* calls."""
    start = time.thread_time()
    for _ in range(calls):
        fn()
    return (time.thread_time() - start) / calls * 1e6


def calls_for(fn: Callable[[], object], target_s: float) -> int:
    """How many calls of *fn* take about *target_s* CPU seconds."""
    calls = 64
    while True:
        start = time.thread_time()
        for _ in range(calls):
            fn()
        elapsed = time.thread_time() - start
        if elapsed >= 0.02:
            return max(64, round(calls * target_s / elapsed))
        calls *= 4


def baseline(tree: str) -> ModuleType:
    """Import another source tree's ``cognito_jwt`` (``DIR/src/cognito_jwt``) under a new name.

    Its modules import each other relatively, so a copy named ``cognito_jwt_baseline`` runs
    side by side with the tree under test, in the same process and the same rounds.
    """
    source = Path(tree) / "src" / "cognito_jwt"
    if not source.is_dir():
        source = Path(tree) / "cognito_jwt"
    where = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    shutil.copytree(source, where / "cognito_jwt_baseline")
    sys.path.insert(0, str(where))
    return importlib.import_module("cognito_jwt_baseline")


def measure(
    rounds: int, target_s: float, packages: dict[str, ModuleType]
) -> dict[str, list[float]]:
    """Per-round overhead (adapter minus bare call, µs) of each adapter of each package."""
    pairs = {
        f"{label}{name}": fns
        for label, package in packages.items()
        for name, fns in candidates(package).items()
    }
    timed = {
        f"{name}|{side}": fn
        for name, fns in pairs.items()
        for side, fn in zip("ab", fns, strict=True)
    }
    counts = {key: calls_for(fn, target_s) for key, fn in timed.items()}
    per_round: dict[str, list[float]] = {key: [] for key in timed}
    for _ in range(rounds):
        order = list(timed)
        random.shuffle(order)
        for key in order:
            per_round[key].append(batch_us(timed[key], counts[key]))
    return {
        name: [a - b for a, b in zip(per_round[f"{name}|a"], per_round[f"{name}|b"], strict=True)]
        for name in pairs
    }


def report(overheads: dict[str, list[float]]) -> str:
    """The table: median overhead, spread, against the target."""
    lines = [
        (
            "| adapter (stub verifier, cached claims) | overhead µs (median) | IQR µs | spread "
            f"| target ≤ {TARGET_US:g} µs |"
        ),
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, values in overheads.items():
        median = statistics.median(values)
        q1, _, q3 = statistics.quantiles(values, n=4)
        spread = (q3 - q1) / median * 100 if median > 0 else float("nan")
        verdict = "PASS" if median <= TARGET_US else "ABOVE"
        lines.append(f"| {name} | {median:.2f} | {q3 - q1:.2f} | {spread:.0f} % | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="7 short rounds: a rough look")
    parser.add_argument("--no-write", action="store_true", help="accepted; writes nothing")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also measure the cognito_jwt of another source tree (e.g. a checkout of main), "
        "in the same rounds: before and after on one busy machine",
    )
    args = parser.parse_args(argv)
    rounds, target_s = (7, 0.01) if args.quick else (args.rounds, 0.05)
    packages = {"": cognito_jwt}
    if args.baseline:
        packages = {"baseline: ": baseline(args.baseline), "this tree: ": cognito_jwt}
    print(report(measure(rounds, target_s, packages)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
