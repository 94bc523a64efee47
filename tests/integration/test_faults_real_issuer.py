"""Fault tests against real servers on 127.0.0.1: the package's own ``LocalIssuer``, a raw
socket server that misbehaves at the HTTP level, and an HTTPS server with a ``trustme`` CA.

Each step says which tokens are accepted and which are refused, and every call runs under a
budget (the fetch timeout plus a generous margin, measured with a monotonic clock) in a helper
thread, so a call that hangs fails the test instead of hanging it. The verifier's clock is
``time.time()`` plus an offset the test moves: key-set ages are driven without sleeping.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import trustme

from cognito_jwt import (
    FetchOptions,
    JwtError,
    JwtVerifier,
    KeyNotFoundError,
    KeySetUnavailableError,
    RefreshPolicy,
)
from cognito_jwt.testing import LocalIssuer
from tests.helpers import key_state

AUDIENCE = "api://faults"
TIMEOUT = 0.5
MARGIN = 3.0  # generous: the budget catches hangs, it does not time the fetch
FETCH = FetchOptions(timeout=TIMEOUT, connect_timeout=TIMEOUT, retries=0)
POLICY = RefreshPolicy(
    max_age=300,
    max_stale=600,
    stale_if_error=3600,
    cooldown=30,
    backoff_initial=5,
    backoff_max=60,
)
LIFETIME = 4 * 3600  # tokens outlive every clock offset used below


class OffsetClock:
    """``time.time()`` plus an offset the test moves (LocalIssuer mints with ``time.time()``)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def within(budget: float, call: Callable[[], Any]) -> Any:
    """Run *call* in a daemon thread; fail if it takes longer than *budget* seconds.

    Returns the result, or the exception raised (which must be a ``JwtError``).
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = call()
        except Exception as exc:  # noqa: BLE001 - asserted below
            box["result"] = exc

    thread = threading.Thread(target=run, daemon=True, name="fault-test-call")
    start = time.monotonic()
    thread.start()
    thread.join(budget)
    elapsed = time.monotonic() - start
    assert not thread.is_alive(), f"call still running after {budget} s"
    assert elapsed < budget
    result = box["result"]
    if isinstance(result, Exception):
        assert isinstance(result, JwtError), f"{type(result).__name__} escaped: {result}"
    return result


def accepted(verifier: Any, token: str, budget: float = TIMEOUT + MARGIN) -> None:
    result = within(budget, lambda: verifier.verify(token))
    assert not isinstance(result, Exception), f"refused: {result!r}"
    assert result["aud"] == AUDIENCE


def refused(
    verifier: Any, token: str, cls: type[JwtError], budget: float = TIMEOUT + MARGIN
) -> JwtError:
    result = within(budget, lambda: verifier.verify(token))
    assert isinstance(result, cls), f"expected {cls.__name__}, got {result!r}"
    return result


def refused_async(verifier: Any, token: str, cls: type[JwtError]) -> JwtError:
    result = within(TIMEOUT + MARGIN, lambda: asyncio.run(verifier.verify_async(token)))
    assert isinstance(result, cls), f"expected {cls.__name__}, got {result!r}"
    return result


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        yield running
        running.recover()


def make(issuer: LocalIssuer, clock: OffsetClock | None = None, **options: Any) -> JwtVerifier:
    settings: dict[str, Any] = {
        "jwks_uri": issuer.jwks_uri,
        "clock": clock or OffsetClock(),
        "fetch": FETCH,
        "refresh": POLICY,
        **options,
    }
    return issuer.verifier(audience=AUDIENCE, **settings)


def mint(issuer: LocalIssuer, kid: str | None = None) -> str:
    return issuer.mint({"sub": "alice", "aud": AUDIENCE}, lifetime=LIFETIME, kid=kid)


def jwks_requests(issuer: LocalIssuer) -> int:
    return issuer.requests["/.well-known/jwks.json"]


# === The issuer killed, then restarted with rotated keys =========================================
def test_killed_issuer_known_keys_serve_within_stale_if_error(issuer: LocalIssuer) -> None:
    clock = OffsetClock()
    verifier = make(issuer, clock)
    old = mint(issuer)
    accepted(verifier, old)
    issuer.stop()  # the port now refuses connections

    accepted(verifier, old)  # fresh in L1: no fetch at all
    issuer.rotate()  # a key the stopped server never published
    unknown = mint(issuer)
    refused(verifier, unknown, KeySetUnavailableError)  # one fetch, refused fast
    refused(verifier, unknown, KeyNotFoundError)  # negative cache / backoff: no fetch

    # Across max_age (background refresh), max_stale (blocking refresh that fails, so
    # stale-if-error) and up to just before stale_if_error: the known key keeps verifying.
    for offset in (200, 400, 700, 1500, 3500):
        clock.offset = offset
        accepted(verifier, old)
        verifier._keys.join_background(TIMEOUT + MARGIN)
    assert verifier.stats.fetch_failures >= 2
    assert verifier.stats.stale_served >= 3

    clock.offset = POLICY.stale_if_error + 10  # past stale_if_error: keys no longer trusted
    refused(verifier, old, KeySetUnavailableError)
    clock.offset += POLICY.backoff_max  # whether or not backoff allows a fetch
    refused(verifier, old, KeySetUnavailableError)


def test_restarted_issuer_with_rotated_keys(issuer: LocalIssuer) -> None:
    clock = OffsetClock()
    verifier = make(issuer, clock)
    old = mint(issuer)
    accepted(verifier, old)
    assert jwks_requests(issuer) == 1

    issuer.stop()
    new_kid = issuer.rotate()
    issuer.retire()  # only the new key is published after the restart
    new = mint(issuer, new_kid)
    issuer.start()  # same port

    accepted(verifier, old)  # L1 is fresh: the old key verifies until a refresh drops it
    assert jwks_requests(issuer) == 1
    accepted(verifier, new)  # unknown kid -> one refresh -> the new key
    assert jwks_requests(issuer) == 2
    assert verifier.stats.refreshes.get("unknown_kid") == 1
    refused(verifier, old, KeyNotFoundError)  # the refresh dropped the old key
    clock.offset = POLICY.cooldown + 1  # even when the cooldown allows another refresh
    refused(verifier, old, KeyNotFoundError)
    accepted(verifier, new)
    assert jwks_requests(issuer) <= 3


def test_restart_after_stale_if_error_recovers(issuer: LocalIssuer) -> None:
    clock = OffsetClock()
    verifier = make(issuer, clock)
    old = mint(issuer)
    accepted(verifier, old)
    issuer.stop()
    clock.offset = POLICY.stale_if_error + 1
    refused(verifier, old, KeySetUnavailableError)

    issuer.start()
    clock.offset += POLICY.backoff_max  # past any backoff
    accepted(verifier, old)
    assert key_state(verifier).fetched_at >= time.time() + POLICY.stale_if_error


# === Slow, failing and broken answers ===========================================================
def test_slow_issuer_cold_start_times_out(issuer: LocalIssuer) -> None:
    issuer.slow(TIMEOUT + MARGIN + 2)  # answers only after the test's budget
    token = mint(issuer)
    refused(make(issuer), token, KeySetUnavailableError)
    refused_async(make(issuer), token, KeySetUnavailableError)


def test_slow_issuer_warm_cache(issuer: LocalIssuer) -> None:
    clock = OffsetClock()
    verifier = make(issuer, clock)
    old = mint(issuer)
    accepted(verifier, old)
    issuer.slow(TIMEOUT + MARGIN + 2)
    issuer.rotate()
    new = mint(issuer)
    accepted(verifier, old, budget=MARGIN)  # L1, no fetch
    refused(verifier, new, KeySetUnavailableError)  # the refresh times out
    clock.offset = POLICY.max_stale + 1  # expired: a blocking refresh that times out ...
    accepted(verifier, old)  # ... then stale-if-error
    issuer.recover()
    clock.offset += POLICY.backoff_max + POLICY.cooldown
    accepted(verifier, new)


def test_issuer_answering_500(issuer: LocalIssuer) -> None:
    clock = OffsetClock()
    warm = make(issuer, clock)
    token = mint(issuer)
    accepted(warm, token)
    issuer.fail(500)
    error = refused(make(issuer), token, KeySetUnavailableError)  # cold: nothing to serve
    assert "500" in str(error)
    refused_async(make(issuer), token, KeySetUnavailableError)
    for offset in (POLICY.max_age + 1, POLICY.max_stale + 1, POLICY.stale_if_error - 1):
        clock.offset = offset
        accepted(warm, token)
        warm._keys.join_background(TIMEOUT + MARGIN)
    issuer.recover()
    clock.offset = POLICY.stale_if_error + POLICY.backoff_max
    accepted(warm, token)


class RawServer:
    """A TCP server on 127.0.0.1 that answers each connection with *respond* (raw bytes)."""

    def __init__(self, respond: Callable[[socket.socket], None]) -> None:
        self.respond = respond
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True, name="raw-server")
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    def _serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            with conn:
                conn.settimeout(TIMEOUT + MARGIN)
                try:
                    conn.recv(65536)  # the request
                    self.respond(conn)
                except OSError:
                    pass

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(respond: Callable[[socket.socket], None]) -> RawServer:
        servers.append(RawServer(respond))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def raw_verifier(issuer: LocalIssuer, url: str, **options: Any) -> JwtVerifier:
    return JwtVerifier(
        issuer=issuer.issuer,
        audience=AUDIENCE,
        jwks_uri=url,
        algorithms=("RS256",),
        store=None,
        fetch=options.pop("fetch", FETCH),
        refresh=POLICY,
        **options,
    )


def test_truncated_body(issuer: LocalIssuer, raw_server: Any) -> None:
    """Content-Length promises more than is sent, then the connection closes: refused, even
    though the bytes that did arrive are a complete, valid JWKS."""
    body = json.dumps(issuer.jwks()).encode()

    def truncated(conn: socket.socket) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body) + 100}\r\nConnection: close\r\n\r\n"
        )
        conn.sendall(head.encode() + body)

    server = raw_server(truncated)
    token = mint(issuer)
    refused(raw_verifier(issuer, server.url), token, KeySetUnavailableError)
    refused_async(raw_verifier(issuer, server.url), token, KeySetUnavailableError)

    def complete(conn: socket.socket) -> None:  # control: the same body, honestly framed
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        conn.sendall(head.encode() + body)

    accepted(raw_verifier(issuer, raw_server(complete).url), token)


def test_server_that_never_answers(issuer: LocalIssuer, raw_server: Any) -> None:
    hold = threading.Event()
    server = raw_server(lambda conn: hold.wait(TIMEOUT + MARGIN))
    try:
        token = mint(issuer)
        refused(raw_verifier(issuer, server.url), token, KeySetUnavailableError)
        refused_async(raw_verifier(issuer, server.url), token, KeySetUnavailableError)
    finally:
        hold.set()


def test_body_trickling_past_the_timeout(issuer: LocalIssuer, raw_server: Any) -> None:
    """Each byte arrives well within the read timeout; the whole body does not: refused."""
    body = json.dumps(issuer.jwks()).encode()
    stop = threading.Event()

    def trickle(conn: socket.socket) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode())
        for byte in body:
            if stop.wait(TIMEOUT / 5):
                return
            conn.sendall(bytes([byte]))

    server = raw_server(trickle)
    try:
        refused(raw_verifier(issuer, server.url), mint(issuer), KeySetUnavailableError)
    finally:
        stop.set()


# === TLS ==========================================================================================
class TlsIssuer(ThreadingHTTPServer):
    """Serves a LocalIssuer's JWKS over HTTPS on 127.0.0.1 with a certificate from *ca*."""

    daemon_threads = True

    def __init__(self, ca: trustme.CA, source: LocalIssuer) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.source = source
        self.handshakes_failed = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(server.source.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}/.well-known/jwks.json"

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        # The handshake runs in the handler thread, on first read.
        return self.context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        ), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.handshakes_failed += 1  # the client refused our certificate: expected here

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def tls_issuer(issuer: LocalIssuer) -> Iterator[tuple[TlsIssuer, trustme.CA]]:
    ca = trustme.CA()
    server = TlsIssuer(ca, issuer)
    yield server, ca
    server.close()


def test_tls_certificate_from_an_untrusted_ca(issuer: LocalIssuer, tls_issuer: Any) -> None:
    server, _ = tls_issuer
    token = mint(issuer)
    error = refused(raw_verifier(issuer, server.url), token, KeySetUnavailableError)
    assert "connection failed" in str(error)
    refused_async(raw_verifier(issuer, server.url), token, KeySetUnavailableError)
    for _ in range(500):  # bounded polling: the server logs the failed handshake in its thread
        if server.handshakes_failed:
            break
        time.sleep(0.01)
    assert server.handshakes_failed >= 1


def test_tls_with_the_ca_trusted_by_a_custom_client(issuer: LocalIssuer, tls_issuer: Any) -> None:
    server, ca = tls_issuer
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    with httpx.Client(verify=trust) as client:
        fetch = FetchOptions(timeout=TIMEOUT, retries=0, client=client)
        verifier = raw_verifier(issuer, server.url, fetch=fetch)
        accepted(verifier, mint(issuer))
        assert verifier.stats.fetches == 1

    async def verify_async() -> Any:
        async with httpx.AsyncClient(verify=trust) as client:
            fetch = FetchOptions(timeout=TIMEOUT, retries=0, async_client=client)
            return await raw_verifier(issuer, server.url, fetch=fetch).verify_async(mint(issuer))

    assert within(TIMEOUT + MARGIN, lambda: asyncio.run(verify_async()))["aud"] == AUDIENCE


# === DNS ==========================================================================================
@pytest.fixture
def no_dns_for_invalid(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Resolve ``.invalid`` names locally as the resolver would (RFC 6761: never), so they
    never reach a real resolver; record the names asked for."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").endswith(".invalid"):
            asked.append(name)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_dns_name_that_does_not_resolve(issuer: LocalIssuer, no_dns_for_invalid: list[str]) -> None:
    url = "https://keys.cognito-jwt-tests.invalid/.well-known/jwks.json"
    token = mint(issuer)
    error = refused(raw_verifier(issuer, url), token, KeySetUnavailableError)
    assert "connection failed" in str(error)
    refused_async(raw_verifier(issuer, url), token, KeySetUnavailableError)
    assert no_dns_for_invalid
    assert set(no_dns_for_invalid) == {"keys.cognito-jwt-tests.invalid"}


# === Response headers trickled: the timeout is a deadline for the whole exchange =================
class TrickleServer:
    """A threaded TCP server on 127.0.0.1: trickles response headers (one byte per
    ``TIMEOUT / 5``, for far longer than any budget) while ``stuck`` is set, else answers the
    issuer's JWKS. Every connection counts."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.stuck = threading.Event()
        self.stuck.set()
        self.stopped = threading.Event()
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/jwks.json"
        self.threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True, name="trickle-server")
        self._accept.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            thread = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(TIMEOUT + MARGIN)
                conn.recv(65536)
                if self.stuck.is_set():
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    for byte in b"X-Slow: " + b"a" * 100_000:
                        if self.stopped.wait(TIMEOUT / 5):
                            return
                        conn.sendall(bytes([byte]))
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(self.body)}\r\n\r\n"
                conn.sendall(head.encode() + self.body)
            except OSError:
                pass  # the client cut the connection: what the deadline is for

    def close(self) -> None:
        self.stopped.set()
        self._accept.join(5)
        for thread in self.threads:
            thread.join(5)
        self.sock.close()


@pytest.fixture
def trickle_server(issuer: LocalIssuer) -> Iterator[TrickleServer]:
    server = TrickleServer(json.dumps(issuer.jwks()).encode())
    yield server
    server.close()


@pytest.mark.parametrize("face", ["sync", "async"])
def test_headers_trickling_past_the_timeout(
    issuer: LocalIssuer, trickle_server: TrickleServer, face: str
) -> None:
    verifier = raw_verifier(issuer, trickle_server.url)
    token = mint(issuer)
    start = time.monotonic()
    if face == "sync":
        error = refused(verifier, token, KeySetUnavailableError)
    else:
        error = refused_async(verifier, token, KeySetUnavailableError)
    assert "timed out" in str(error)
    assert time.monotonic() - start < TIMEOUT + MARGIN


def test_a_stuck_fetch_bounds_its_waiters_and_never_blocks_recovery(
    issuer: LocalIssuer, trickle_server: TrickleServer
) -> None:
    clock = OffsetClock()
    verifier = raw_verifier(issuer, trickle_server.url, clock=clock)
    token = mint(issuer)
    outcomes: list[Any] = []

    def sync_call() -> None:
        outcomes.append(within(TIMEOUT + MARGIN, lambda: verifier.verify(token)))

    async def tasks() -> list[Any]:
        calls = [verifier.verify_async(token) for _ in range(20)]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    threads = [threading.Thread(target=sync_call) for _ in range(4)]
    for thread in threads:
        thread.start()
    async_outcomes = within(TIMEOUT + MARGIN, lambda: asyncio.run(tasks()))
    for thread in threads:
        thread.join(TIMEOUT + MARGIN)
    assert len(outcomes) == 4
    for outcome in [*outcomes, *async_outcomes]:
        assert isinstance(outcome, KeySetUnavailableError), repr(outcome)
    stuck_connections = trickle_server.connections
    assert 1 <= stuck_connections <= 2  # one fetch per face, shared by every caller

    trickle_server.stuck.clear()  # the issuer recovers
    clock.offset = POLICY.backoff_max  # past the backoff the failures earned
    accepted(verifier, token)
    assert trickle_server.connections == stuck_connections + 1  # a new fetch started
    assert within(TIMEOUT + MARGIN, lambda: asyncio.run(verifier.verify_async(token)))["sub"]
