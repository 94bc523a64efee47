"""``HttpFetcher``: limits, retries, redirects and error mapping, for the sync and async faces."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cognito_jwt import (
    FetchOptions,
    KeySetUnavailableError,
    TokenEndpointUnavailableError,
    __version__,
)
from cognito_jwt._http import Fetched, HttpFetcher, cache_max_age
from tests.fake_issuer import FakeIssuer
from tests.helpers import all_keys, jwks_of

MODES = ["sync", "async"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer(keys=(all_keys()["RS256"],))


def fetcher_for(issuer: FakeIssuer, **options: Any) -> HttpFetcher:
    return HttpFetcher(issuer.fetch_options(**options), monotonic=issuer.monotonic)


def get(fetcher: HttpFetcher, url: str, mode: str) -> Fetched:
    if mode == "sync":
        return fetcher.get(url)
    return asyncio.run(fetcher.get_async(url))


def fetch_error(fetcher: HttpFetcher, url: str, mode: str) -> KeySetUnavailableError:
    with pytest.raises(KeySetUnavailableError) as info:
        get(fetcher, url, mode)
    assert not isinstance(info.value, httpx.HTTPError)
    assert info.value.__cause__ is None or not isinstance(info.value.__cause__, httpx.HTTPError)
    return info.value


def _route(issuer: FakeIssuer, path: str, response: Any) -> None:
    """Serve *response* (a Response or a callable of (request, is_async)) at *path*."""
    issuer.extra[path] = response if callable(response) else (lambda _r, _a: response)


# === Successful GET ===============================================================================
def test_get_returns_body_and_url(issuer: FakeIssuer, mode: str) -> None:
    fetched = get(fetcher_for(issuer), issuer.jwks_uri, mode)
    assert fetched.url == issuer.jwks_uri
    assert json.loads(fetched.body) == jwks_of(all_keys()["RS256"])
    assert fetched.max_age is None
    assert issuer.count() == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=600", 600.0),
        ("public, max-age=600", 600.0),
        ("public,max-age=600,must-revalidate", 600.0),
        ("MAX-AGE=30", 30.0),
        ('max-age="45"', 45.0),
        ("max-age = 7", 7.0),
        ("max-age=0", 0.0),
        ("no-cache", 0.0),
        ("no-store", 0.0),
        ("max-age=600, no-cache", 0.0),
        ("private, No-Store", 0.0),
        ("max-age=abc", None),
        ("max-age=-5", None),
        ("max-age=1.5", None),
        ("max-age=99999999999", None),  # more than 10 digits is not believed
        ("s-maxage=100", None),
        ("garbage", None),
        ("", None),
    ],
)
def test_cache_control_max_age(issuer: FakeIssuer, mode: str, header: str, expected: Any) -> None:
    issuer.cache_control = header
    fetched = get(fetcher_for(issuer), issuer.jwks_uri, mode)
    assert fetched.max_age == expected


def test_cache_max_age_function() -> None:
    assert cache_max_age(None) is None
    assert cache_max_age("") is None
    assert cache_max_age("max-age=10") == 10.0
    assert cache_max_age("no-cache") == 0.0


def test_request_headers(issuer: FakeIssuer, mode: str) -> None:
    get(fetcher_for(issuer), issuer.jwks_uri, mode)
    (request,) = issuer.requests
    assert request.headers["user-agent"] == f"cognito-jwt/{__version__}"
    assert request.headers["accept"] == "application/json"
    assert request.method == "GET"


def test_custom_headers_are_sent(issuer: FakeIssuer, mode: str) -> None:
    fetcher = fetcher_for(issuer, headers={"x-api-key": "k-123", "X-Tenant": "acme"})
    get(fetcher, issuer.jwks_uri, mode)
    (request,) = issuer.requests
    assert request.headers["x-api-key"] == "k-123"
    assert request.headers["x-tenant"] == "acme"
    assert request.headers["user-agent"] == f"cognito-jwt/{__version__}"


@pytest.mark.parametrize("name", ["User-Agent", "user-agent"])
def test_custom_user_agent_replaces_the_default(issuer: FakeIssuer, mode: str, name: str) -> None:
    get(fetcher_for(issuer, headers={name: "my-service/2.0"}), issuer.jwks_uri, mode)
    (request,) = issuer.requests
    assert request.headers.get_list("user-agent") == ["my-service/2.0"]


def test_user_supplied_clients_are_used_and_not_closed(issuer: FakeIssuer) -> None:
    client, async_client = issuer.client(), issuer.async_client()
    fetcher = HttpFetcher(FetchOptions(client=client, async_client=async_client))
    fetcher.get(issuer.jwks_uri)
    asyncio.run(fetcher.get_async(issuer.jwks_uri))
    assert issuer.count() == 2
    assert not client.is_closed
    assert not async_client.is_closed
    assert client.get(issuer.jwks_uri).status_code == 200  # still usable
    client.close()


# === HTTP errors ==================================================================================
@pytest.mark.parametrize("status", [201, 204, 304, 400, 401, 403, 404, 429, 500, 502, 503])
def test_non_200_is_http_status_error(issuer: FakeIssuer, mode: str, status: int) -> None:
    _route(issuer, "/jwks", httpx.Response(status, text="x"))
    error = fetch_error(fetcher_for(issuer), issuer.jwks_uri, mode)
    assert type(error) is KeySetUnavailableError
    assert error.status_code == status
    assert error.code == "ERR_JWKS_UNAVAILABLE"
    assert f"HTTP {status}" in str(error)


def test_http_500_is_not_retried(issuer: FakeIssuer, mode: str) -> None:
    issuer.fail("500")
    fetch_error(fetcher_for(issuer, retries=3), issuer.jwks_uri, mode)
    assert issuer.count() == 1


@pytest.mark.parametrize(
    "exception",
    [httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.ProxyError],
)
def test_other_transport_errors_are_mapped(issuer: FakeIssuer, mode: str, exception: Any) -> None:
    def boom(request: httpx.Request, _is_async: bool) -> httpx.Response:
        raise exception("boom", request=request)

    _route(issuer, "/jwks", boom)
    error = fetch_error(fetcher_for(issuer), issuer.jwks_uri, mode)
    assert type(error) is KeySetUnavailableError
    assert exception.__name__ in str(error)
    assert issuer.count() == 1


# === Timeouts and retries =========================================================================
def test_read_timeout_is_key_set_unavailable_and_not_retried(issuer: FakeIssuer, mode: str) -> None:
    issuer.fail("timeout")
    error = fetch_error(fetcher_for(issuer, retries=2), issuer.jwks_uri, mode)
    assert "timed out" in str(error)
    assert error.code == "ERR_JWKS_UNAVAILABLE"
    assert issuer.count() == 1


@pytest.mark.parametrize(("retries", "attempts"), [(0, 1), (1, 2), (3, 4)])
@pytest.mark.parametrize(
    ("failure", "described"), [("connect", "connection failed"), ("connect_timeout", "timed out")]
)
def test_connect_failures_are_retried(
    issuer: FakeIssuer, mode: str, retries: int, attempts: int, failure: str, described: str
) -> None:
    issuer.fail(failure)
    error = fetch_error(fetcher_for(issuer, retries=retries), issuer.jwks_uri, mode)
    assert described in str(error)
    assert issuer.count() == attempts


def test_connect_error_then_success_on_retry(issuer: FakeIssuer, mode: str) -> None:
    attempts: list[int] = []

    def flaky(request: httpx.Request, _is_async: bool) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"ok": True})

    _route(issuer, "/jwks", flaky)
    fetched = get(fetcher_for(issuer, retries=1), issuer.jwks_uri, mode)
    assert json.loads(fetched.body) == {"ok": True}
    assert len(attempts) == 2


# === Size and time limits =========================================================================
def test_content_length_over_limit_is_refused_before_reading(issuer: FakeIssuer, mode: str) -> None:
    def declared_huge(_request: httpx.Request, is_async: bool) -> httpx.Response:
        body = issuer.stream([b"{}"] * 10, is_async=is_async)
        return httpx.Response(200, content=body, headers={"content-length": str(10**7)})

    _route(issuer, "/jwks", declared_huge)
    error = fetch_error(fetcher_for(issuer, max_bytes=1000), issuer.jwks_uri, mode)
    assert "10000000 bytes exceeds the limit of 1000" in str(error)
    assert issuer.chunks_sent == 0


def test_body_exactly_at_limit_is_accepted(issuer: FakeIssuer, mode: str) -> None:
    body = json.dumps({"pad": "x" * 100}).encode()
    _route(issuer, "/jwks", httpx.Response(200, content=body))
    fetched = get(fetcher_for(issuer, max_bytes=len(body)), issuer.jwks_uri, mode)
    assert fetched.body == body
    error = fetch_error(fetcher_for(issuer, max_bytes=len(body) - 1), issuer.jwks_uri, mode)
    assert "exceeds the limit" in str(error)


def test_streamed_body_over_limit_is_cut(issuer: FakeIssuer, mode: str) -> None:
    issuer.fail("huge")  # 8 MiB in 64 KiB chunks, no Content-Length
    error = fetch_error(fetcher_for(issuer), issuer.jwks_uri, mode)
    assert "exceeds the limit of 524288 bytes" in str(error)
    # stopped right after crossing 512 KiB instead of reading all 128 chunks
    assert issuer.chunks_sent == 9


def test_compressed_body_limit_applies_to_decoded_size(issuer: FakeIssuer, mode: str) -> None:
    issuer.fail("gzip_bomb")  # ~8 KiB on the wire, 8 MiB decoded
    error = fetch_error(fetcher_for(issuer), issuer.jwks_uri, mode)
    assert "exceeds the limit" in str(error)


def test_slow_trickle_beyond_total_timeout_is_cut(issuer: FakeIssuer, mode: str) -> None:
    issuer.fail("trickle")  # 100 one-byte chunks, each one "second" apart on the fake clock
    error = fetch_error(fetcher_for(issuer, timeout=5), issuer.jwks_uri, mode)
    assert "too slow" in str(error)
    assert issuer.chunks_sent == 6  # cut on the first chunk past the 5 s deadline
    assert issuer.monotonic() == 6


def test_trickle_within_total_timeout_is_accepted(issuer: FakeIssuer, mode: str) -> None:
    issuer.fail("trickle")
    issuer.trickle_step = 0.04  # 100 chunks in 4 fake seconds
    fetched = get(fetcher_for(issuer, timeout=5), issuer.jwks_uri, mode)
    assert fetched.body == b" " * 100


# === Redirects ====================================================================================
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_refused_by_default(issuer: FakeIssuer, mode: str, status: int) -> None:
    _route(issuer, "/jwks", httpx.Response(status, headers={"location": "/jwks2"}))
    error = fetch_error(fetcher_for(issuer), issuer.jwks_uri, mode)
    assert type(error) is KeySetUnavailableError
    assert error.status_code == status
    assert "follow_redirects" in str(error)
    assert issuer.total == 1  # the target was never requested


def _chain(issuer: FakeIssuer, hops: int) -> str:
    """``/r<hops>`` redirects to ``/r<hops-1>`` ... ``/r1`` to the JWKS; returns the first URL."""
    for n in range(1, hops + 1):
        target = issuer.jwks_path if n == 1 else f"/r{n - 1}"
        _route(issuer, f"/r{n}", httpx.Response(302, headers={"location": target}))
    return f"{issuer.origin}/r{hops}"


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_redirects_followed_up_to_three(issuer: FakeIssuer, mode: str, hops: int) -> None:
    start = _chain(issuer, hops)
    fetched = get(fetcher_for(issuer, follow_redirects=True), start, mode)
    assert json.loads(fetched.body) == issuer.document
    assert issuer.count() == 1
    assert issuer.total == hops + 1


def test_fourth_redirect_refused(issuer: FakeIssuer, mode: str) -> None:
    start = _chain(issuer, 4)
    error = fetch_error(fetcher_for(issuer, follow_redirects=True), start, mode)
    assert "more than 3 redirects" in str(error)
    assert issuer.count() == 0
    assert issuer.total == 4


def test_redirect_to_plain_http_is_refused(issuer: FakeIssuer, mode: str) -> None:
    _route(issuer, "/jwks", httpx.Response(302, headers={"location": "http://evil.example/k"}))
    error = fetch_error(fetcher_for(issuer, follow_redirects=True), issuer.jwks_uri, mode)
    assert "plain http" in str(error)
    assert issuer.total == 1


@pytest.mark.parametrize("location", ["ftp://files.example.com/jwks", "file:///etc/passwd"])
def test_redirect_to_other_schemes_is_refused(issuer: FakeIssuer, mode: str, location: str) -> None:
    _route(issuer, "/jwks", httpx.Response(302, headers={"location": location}))
    fetch_error(fetcher_for(issuer, follow_redirects=True), issuer.jwks_uri, mode)
    assert issuer.total == 1


def test_redirect_to_loopback_http_is_followed(issuer: FakeIssuer, mode: str) -> None:
    target = "http://127.0.0.1:8080/jwks"
    _route(issuer, "/start", httpx.Response(302, headers={"location": target}))
    fetched = get(fetcher_for(issuer, follow_redirects=True), issuer.origin + "/start", mode)
    assert fetched.url == target
    assert str(issuer.requests[-1].url) == target


# === URL policy ===================================================================================
def test_plain_http_url_is_refused_without_a_request(issuer: FakeIssuer, mode: str) -> None:
    error = fetch_error(fetcher_for(issuer), "http://login.example.com/jwks", mode)
    assert "plain http" in str(error)
    assert issuer.total == 0


def test_plain_http_allowed_with_opt_in(issuer: FakeIssuer, mode: str) -> None:
    fetched = get(fetcher_for(issuer, allow_insecure_http=True), "http://x.example/jwks", mode)
    assert json.loads(fetched.body) == issuer.document


def test_invalid_port_in_url_is_key_set_unavailable(issuer: FakeIssuer, mode: str) -> None:
    # The URL policy lets this through; the fetcher must still answer with its own error
    # type (never an httpx exception such as httpx.InvalidURL).
    error = fetch_error(fetcher_for(issuer), "https://login.example.com:abc/jwks", mode)
    assert error.code == "ERR_JWKS_UNAVAILABLE"


# === The timeout is a deadline for the whole exchange, headers included ===========================
class _HeaderTrickle:
    """A loopback server that answers every request with response headers, one byte per 20 ms,
    for far longer than any test waits (until closed)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/token"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for byte in b"X-Slow: " + b"a" * 100_000:
                    if self.stop.wait(0.02):
                        break
                    conn.sendall(bytes([byte]))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def trickle() -> Iterator[_HeaderTrickle]:
    server = _HeaderTrickle()
    yield server
    server.close()


@pytest.mark.parametrize("client", ["own", "yours"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_headers_trickled_are_cut_at_the_deadline(
    trickle: _HeaderTrickle, mode: str, method: str, client: str
) -> None:
    # "yours": a client= / async_client= of the caller's, on a fresh connection
    clients: dict[str, Any] = (
        {"client": httpx.Client(), "async_client": httpx.AsyncClient()} if client == "yours" else {}
    )
    options = FetchOptions(timeout=0.3, retries=0, allow_insecure_http=True, **clients)
    fetcher = HttpFetcher(options)
    calls = {
        ("GET", "sync"): lambda: fetcher.get(trickle.url),
        ("GET", "async"): lambda: asyncio.run(fetcher.get_async(trickle.url)),
        ("POST", "sync"): lambda: fetcher.post_form(trickle.url, {"a": "b"}),
        ("POST", "async"): lambda: asyncio.run(fetcher.post_form_async(trickle.url, {"a": "b"})),
    }
    expected = KeySetUnavailableError if method == "GET" else TokenEndpointUnavailableError
    start = time.monotonic()
    with pytest.raises(expected, match="timed out"):
        calls[method, mode]()
    # a bound that catches a hang (the server trickles for over half an hour), not a timing
    assert time.monotonic() - start < 10
    assert not [t for t in threading.enumerate() if t.name == "cognito-jwt-deadline"]
    if clients:
        clients["client"].close()
        asyncio.run(clients["async_client"].aclose())
