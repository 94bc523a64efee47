"""The sync face's own connections (``http.client``): the fetch policy holds on real sockets.

Servers on 127.0.0.1 count the connections they accept and see closed, so keep-alive within a
fetch, closing at its end and :func:`cognito_jwt.after_restore` are seen from the other side.
"""

from __future__ import annotations

import gzip
import json
import os
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

import cognito_jwt
from cognito_jwt import (
    FetchOptions,
    JwtVerifier,
    KeySetUnavailableError,
    TokenEndpointUnavailableError,
)
from cognito_jwt import _http as http_module
from cognito_jwt._http import HttpFetcher, tls_context
from cognito_jwt.testing import LocalIssuer
from tests.helpers import run_python

WAIT = 10.0  # bounds a wait for the server's thread; never a measured time

Route = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


class CountingServer(ThreadingHTTPServer):
    """HTTP/1.1 with keep-alive on 127.0.0.1 (TLS with *tls*); counts connections and requests."""

    daemon_threads = True

    def __init__(self, routes: dict[str, Route], tls: ssl.SSLContext | None = None) -> None:
        self.routes = routes
        self.opened = 0
        self.closed = 0
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.changed = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server.changed:
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    server.requests.append((self.command, self.path, headers, body))
                status, headers, content = server.routes[self.path](self)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(content)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

        super().__init__(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "http" if tls is None else "https"
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}{path}"

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self.changed:
            self.opened += 1
            self.changed.notify_all()
        return True

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self.changed:
            self.closed += 1
            self.changed.notify_all()

    def wait_closed(self, count: int) -> None:
        """Wait (bounded) until *count* connections were closed by the client."""
        with self.changed:
            assert self.changed.wait_for(lambda: self.closed >= count, WAIT), self.closed

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def json_route(document: object, **headers: str) -> Route:
    body = json.dumps(document).encode()
    return lambda _handler: (200, {"Content-Type": "application/json", **headers}, body)


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        yield running


@pytest.fixture
def serve() -> Iterator[Callable[..., CountingServer]]:
    servers: list[CountingServer] = []

    def start(routes: dict[str, Route], tls: ssl.SSLContext | None = None) -> CountingServer:
        servers.append(CountingServer(routes, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def test_ca(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> trustme.CA:
    """A CA that ``SSL_CERT_FILE`` names; the process's TLS context is built afresh."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setattr(http_module, "_TLS_CONTEXT", None)
    return ca


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def own_fetcher(**options: Any) -> HttpFetcher:
    return HttpFetcher(FetchOptions(**{"timeout": 5.0, "retries": 0, **options}))


# === No httpx, no TLS roots for plain http ====
def test_a_sync_fetch_imports_no_httpx_and_loads_no_tls_roots(issuer: LocalIssuer) -> None:
    """A cold process that fetches over (loopback) http pays for neither."""
    token = issuer.mint({"sub": "u", "aud": "api"})
    code = (
        "import sys\n"
        "from cognito_jwt import JwtVerifier\n"
        "from cognito_jwt import _http\n"
        f"v = JwtVerifier(issuer={issuer.issuer!r}, audience='api', store=None)\n"
        f"assert v.verify({token!r})['sub'] == 'u'\n"
        "assert v.stats.fetches == 1\n"
        "assert 'httpx' not in sys.modules, 'httpx imported'\n"
        "assert _http._TLS_CONTEXT is None, 'TLS context built for http'\n"
    )
    run_python(code)


def test_no_watchdog_thread_for_own_connections(
    issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_thread(*_args: object) -> None:
        raise AssertionError("a watchdog thread was started")

    monkeypatch.setattr(http_module._Watchdog, "__init__", no_thread)
    assert own_fetcher().get(issuer.jwks_uri).body


# === TLS: one context, on first https use ====
def test_one_tls_context_built_on_the_first_https_fetch(
    test_ca: trustme.CA, serve: Callable[..., CountingServer]
) -> None:
    server = serve({"/jwks": json_route({"keys": []})}, tls=server_tls(test_ca))
    assert http_module._TLS_CONTEXT is None
    fetched = own_fetcher().get(server.url("/jwks"))
    assert json.loads(fetched.body) == {"keys": []}
    built = http_module._TLS_CONTEXT
    assert built is not None
    own_fetcher().get(server.url("/jwks"))
    assert tls_context() is built  # one per process


def test_an_untrusted_certificate_is_a_connection_failure(
    serve: Callable[..., CountingServer],
) -> None:
    server = serve({"/jwks": json_route({"keys": []})}, tls=server_tls(trustme.CA()))
    with pytest.raises(KeySetUnavailableError, match="connection failed"):
        own_fetcher().get(server.url("/jwks"))


def test_a_wrong_ssl_cert_file_is_a_typed_error_and_not_remembered(
    test_ca: trustme.CA,
    serve: Callable[..., CountingServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server = serve({"/jwks": json_route({"keys": []})}, tls=server_tls(test_ca))
    right = os.environ["SSL_CERT_FILE"]
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(KeySetUnavailableError, match="TLS trust roots could not be loaded"):
        own_fetcher().get(server.url("/jwks"))
    monkeypatch.setenv("SSL_CERT_FILE", right)
    assert own_fetcher().get(server.url("/jwks")).body  # the next fetch tries again


# === Keep-alive within one fetch, nothing kept after it ====
def test_discovery_and_jwks_share_one_connection_closed_after_the_fetch(
    issuer: LocalIssuer, serve: Callable[..., CountingServer]
) -> None:
    routes: dict[str, Route] = {}
    server = serve(routes)
    origin = server.url("")
    routes["/.well-known/openid-configuration"] = json_route(
        {"issuer": origin, "jwks_uri": origin + "/jwks"}
    )
    routes["/jwks"] = json_route(issuer.jwks())
    token = issuer.mint({"sub": "u", "aud": "api", "iss": origin})
    verifier = JwtVerifier(issuer=origin, audience="api", store=None)
    assert verifier.verify(token)["sub"] == "u"
    assert [path for _, path, _, _ in server.requests] == [
        "/.well-known/openid-configuration",
        "/jwks",
    ]
    assert server.opened == 1  # the JWKS GET reused the discovery GET's connection
    server.wait_closed(1)  # and the fetch closed it: nothing outlives a fetch


def test_a_kept_connection_the_server_closed_is_replaced(
    issuer: LocalIssuer, serve: Callable[..., CountingServer]
) -> None:
    def closing(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        handler.close_connection = True  # says nothing, closes after answering
        return 200, {}, b"{}"

    server = serve({"/a": closing, "/b": json_route({"ok": True})})
    with own_fetcher().session() as get:
        assert get(server.url("/a")).body == b"{}"
        server.wait_closed(1)
        assert json.loads(get(server.url("/b")).body) == {"ok": True}
    assert server.opened == 2


# === The policy on real sockets ====
def test_redirects_refused_by_default_and_followed_when_allowed(
    serve: Callable[..., CountingServer],
) -> None:
    server = serve(
        {
            "/old": lambda _h: (302, {"Location": "/new"}, b""),
            "/new": json_route({"keys": []}),
        }
    )
    with pytest.raises(KeySetUnavailableError, match="redirects are not followed"):
        own_fetcher().get(server.url("/old"))
    fetched = own_fetcher(follow_redirects=True).get(server.url("/old"))
    assert fetched.url == server.url("/new")


def test_a_compressed_answer_is_refused(serve: Callable[..., CountingServer]) -> None:
    body = gzip.compress(b'{"keys": []}')
    server = serve({"/jwks": lambda _h: (200, {"Content-Encoding": "gzip"}, body)})
    with pytest.raises(KeySetUnavailableError, match="unsupported Content-Encoding 'gzip'"):
        own_fetcher().get(server.url("/jwks"))
    _, _, headers, _ = server.requests[0]
    assert headers["accept-encoding"] == "identity"


def test_size_cap_on_declared_and_on_streamed_bodies(serve: Callable[..., CountingServer]) -> None:
    server = serve({"/big": lambda _h: (200, {}, b" " * 2048)})
    with pytest.raises(KeySetUnavailableError, match="exceeds the limit of 1024"):
        own_fetcher(max_bytes=1024).get(server.url("/big"))


def test_cache_control_and_headers(serve: Callable[..., CountingServer]) -> None:
    server = serve({"/jwks": json_route({"keys": []}, **{"Cache-Control": "max-age=120"})})
    fetched = own_fetcher(headers={"x-api-key": "k", "user-agent": "mine"}).get(server.url("/jwks"))
    assert fetched.max_age == 120
    _, _, headers, _ = server.requests[0]
    assert headers["x-api-key"] == "k"
    assert headers["user-agent"] == "mine"  # the caller's, whatever its case, replaces ours


def test_post_form_over_own_connections(serve: Callable[..., CountingServer]) -> None:
    server = serve(
        {"/token": lambda _h: (400, {"Content-Type": "Application/JSON"}, b'{"error":"x"}')}
    )
    posted = own_fetcher().post_form(
        server.url("/token"),
        {"grant_type": "client_credentials", "resource": ["a", "b"]},
        headers={"Authorization": "Basic Zm9vOmJhcg=="},
    )
    assert (posted.status, posted.content_type, posted.body) == (
        400,
        "application/json",
        b'{"error":"x"}',
    )
    method, _, headers, body = server.requests[0]
    assert method == "POST"
    assert body == b"grant_type=client_credentials&resource=a&resource=b"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["authorization"] == "Basic Zm9vOmJhcg=="


def test_post_redirect_is_refused(serve: Callable[..., CountingServer]) -> None:
    server = serve({"/token": lambda _h: (307, {"Location": "/elsewhere"}, b"")})
    with pytest.raises(TokenEndpointUnavailableError, match="a redirect"):
        own_fetcher().post_json(server.url("/token"), {"a": 1})


def test_a_refused_connection_is_a_connection_failure() -> None:
    with (
        socket_closed_port() as url,
        pytest.raises(KeySetUnavailableError, match="connection failed"),
    ):
        own_fetcher(retries=1).get(url)


class socket_closed_port:  # noqa: N801 - used as a context manager
    """A loopback URL whose port is bound but not listening: connections are refused."""

    def __enter__(self) -> str:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/jwks"

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


# === After a snapshot is restored ====
def test_after_restore_closes_kept_connections_and_the_next_request_opens_one(
    serve: Callable[..., CountingServer],
) -> None:
    server = serve({"/a": json_route({"n": 1}), "/b": json_route({"n": 2})})
    with own_fetcher().session() as get:
        get(server.url("/a"))
        assert (server.opened, server.closed) == (1, 0)  # kept for the fetch's next request
        cognito_jwt.after_restore()
        server.wait_closed(1)
        get(server.url("/b"))
    assert server.opened == 2


def test_the_async_face_loads_no_tls_roots_for_plain_http(
    issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setattr(http_module, "_TLS_CONTEXT", None)
    fetched = asyncio.run(own_fetcher().get_async(issuer.jwks_uri))
    assert json.loads(fetched.body) == issuer.jwks()
    assert http_module._TLS_CONTEXT is None


def test_the_async_face_trusts_the_roots_of_ssl_cert_file(
    test_ca: trustme.CA, serve: Callable[..., CountingServer]
) -> None:
    import asyncio

    server = serve({"/jwks": json_route({"keys": []})}, tls=server_tls(test_ca))
    fetched = asyncio.run(own_fetcher().get_async(server.url("/jwks")))
    assert json.loads(fetched.body) == {"keys": []}
    assert http_module._TLS_CONTEXT is not None


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_named_by_the_environment_carries_the_sync_fetch(
    serve: Callable[..., CountingServer], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """http.client ignores proxy variables; the fetch then goes through httpx, which doesn't."""
    target = "http://keys.cognito-jwt-tests.invalid/jwks"  # never resolved here: the proxy asks
    proxy = serve({target: json_route({"keys": ["via proxy"]})})
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv(variable, proxy.url(""))
    fetched = own_fetcher(allow_insecure_http=True).get(target)
    assert json.loads(fetched.body) == {"keys": ["via proxy"]}
    assert [path for _, path, _, _ in proxy.requests] == [target]


def test_a_connection_opened_before_a_restore_is_not_kept_by_a_request_spanning_it(
    serve: Callable[..., CountingServer],
) -> None:
    def restored_meanwhile(_handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        cognito_jwt.after_restore()  # the snapshot is taken and restored while we wait
        return 200, {}, b"{}"

    server = serve({"/a": restored_meanwhile, "/b": json_route({"n": 2})})
    with own_fetcher().session() as get:
        get(server.url("/a"))
        server.wait_closed(1)  # not kept for the next request, though the server keeps it open
        get(server.url("/b"))
    assert server.opened == 2
