"""Security review of the sync face's own carrier (``http.client``), on real loopback sockets.

Each test names what a hostile or broken server (or network) might try: a certificate for
another name, an expired or self-signed one, a downgrade by redirect, a body bigger than it
says, headers without end, bytes trickled to stretch the deadline, interim answers, and what
must never reach a message (secrets). Servers listen on 127.0.0.1 only; the IPv6 literal
tests reach them as ``::ffff:127.0.0.1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import http.client
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cognito_jwt import (
    JwtError,
    KeySetUnavailableError,
    TokenEndpointUnavailableError,
)
from cognito_jwt import _http as http_module
from cognito_jwt._http import HttpFetcher
from tests.helpers import run_python

from . import test_http_own_connections as own_connections
from .test_http_own_connections import CountingServer, Route, json_route, own_fetcher, server_tls

serve = own_connections.serve  # fixtures shared with the tests of the same carrier
test_ca = own_connections.test_ca

WAIT = 10.0  # bounds a wait for a server thread or a hang; never a measured time
SECRET = "s3cr3t-Zq9xW"  # a marker that must never reach a message or a log

Talk = Callable[[socket.socket], None]


class RawServer:
    """A TCP server on 127.0.0.1 that lets *talk* write whatever bytes it likes per connection.

    With *tls*, the connection is wrapped (server side) before *talk* runs; a failed handshake
    (the client refused the certificate) ends that connection quietly.
    """

    def __init__(self, talk: Talk, tls: ssl.SSLContext | None = None) -> None:
        self.talk = talk
        self.tls = tls
        self.stop = threading.Event()
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path: str, *, scheme: str | None = None) -> str:
        scheme = scheme or ("http" if self.tls is None else "https")
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            worker = threading.Thread(target=self._one, args=(conn,), daemon=True)
            self.threads.append(worker)
            worker.start()

    def _one(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):
            conn.settimeout(WAIT)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            with conn:
                self.talk(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(WAIT)
        for worker in self.threads:
            worker.join(WAIT)
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(talk: Talk, tls: ssl.SSLContext | None = None) -> RawServer:
        servers.append(RawServer(talk, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def read_request(conn: socket.socket) -> bytes:
    """Read one request: its head, and the body its Content-Length announces."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    while found and len(body) < int(found.group(1)):
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return data


def answer(*parts: bytes, wait: threading.Event | None = None) -> Talk:
    """A server that reads the request, writes *parts*, then holds the connection open until
    *wait* is set (when given: the client must give up on its own) or closes it."""

    def talk(conn: socket.socket) -> None:
        read_request(conn)
        for part in parts:
            conn.sendall(part)
        if wait is not None:
            wait.wait(WAIT)

    return talk


def trickle(head: bytes, tail: bytes, stop: threading.Event, every: float = 0.02) -> Talk:
    """Write *head*, then *tail* one byte every *every* seconds until *stop*."""

    def talk(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(head)
        for byte in tail:
            if stop.wait(every):
                return
            conn.sendall(bytes([byte]))

    return talk


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def typed_get(fetcher: HttpFetcher, url: str) -> KeySetUnavailableError:
    with pytest.raises(KeySetUnavailableError) as info:
        fetcher.get(url)
    assert info.value.__cause__ is None
    assert not isinstance(info.value, http.client.HTTPException | OSError)
    return info.value


def typed_post(fetcher: HttpFetcher, url: str) -> TokenEndpointUnavailableError:
    with pytest.raises(TokenEndpointUnavailableError) as info:
        fetcher.post_form(url, {"client_secret": SECRET})
    assert info.value.__cause__ is None
    return info.value


BODY = b'{"keys": []}'


def ok(body: bytes = BODY, *extra: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)
    return head + b"".join(extra) + b"\r\n" + body


# === TLS: the certificate and the host name are always verified ==================================
def self_signed_tls() -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1 (no CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    blob = trustme.Blob(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with blob.tempfile() as path:
        context.load_cert_chain(path)
    return context


def tls_for(ca: trustme.CA, *names: str, **dates: datetime.datetime) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names, **dates).configure_cert(context)  # type: ignore[arg-type]
    return context


def past(days: int) -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)


@pytest.mark.parametrize("case", ["another-name", "expired", "not-yet-valid", "self-signed"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_certificate_that_does_not_prove_the_host_is_refused(
    test_ca: trustme.CA, raw: Callable[..., RawServer], case: str, method: str
) -> None:
    """Only a currently valid certificate, from a trusted root, for the host asked, is taken."""
    contexts = {
        "another-name": lambda: tls_for(test_ca, "login.example.com"),
        "expired": lambda: tls_for(test_ca, "127.0.0.1", not_before=past(10), not_after=past(1)),
        "not-yet-valid": lambda: tls_for(
            test_ca, "127.0.0.1", not_before=past(-2), not_after=past(-10)
        ),
        "self-signed": self_signed_tls,
    }
    served: list[bytes] = []

    def talk(conn: socket.socket) -> None:
        served.append(read_request(conn))
        conn.sendall(ok())

    server = raw(talk, tls=contexts[case]())
    fetcher = own_fetcher()
    if method == "GET":
        error: JwtError = typed_get(fetcher, server.url("/jwks"))
    else:
        error = typed_post(fetcher, server.url("/token"))
    assert "connection failed" in str(error)
    assert served == []  # no request ever left: the handshake failed first


def test_the_same_server_with_a_certificate_for_its_name_is_accepted(
    test_ca: trustme.CA, raw: Callable[..., RawServer]
) -> None:
    """The control of the test above: only the certificate differs."""
    server = raw(answer(ok()), tls=tls_for(test_ca, "127.0.0.1"))
    assert own_fetcher().get(server.url("/jwks")).body == BODY


@pytest.mark.parametrize(("certified", "accepted"), [("localhost", True), ("example.com", False)])
def test_a_host_name_is_checked_against_the_certificate(
    test_ca: trustme.CA, raw: Callable[..., RawServer], certified: str, accepted: bool
) -> None:
    """A name (not an IP literal): the one the URL gives is the one the certificate must prove.

    The carrier hands ``ssl`` and the resolver an ASCII name as bytes (no ``idna`` codec): the
    same name reaches the check.
    """
    served: list[bytes] = []

    def talk(conn: socket.socket) -> None:
        served.append(read_request(conn))
        conn.sendall(ok())

    server = raw(talk, tls=tls_for(test_ca, certified))
    url = f"https://localhost:{server.port}/jwks"
    if accepted:
        assert own_fetcher().get(url).body == BODY
        assert b"\r\nHost: localhost:%d\r\n" % server.port in served[0]
    else:
        assert "connection failed" in str(typed_get(own_fetcher(), url))
        assert served == []


def test_ascii_names_skip_the_idna_codec_and_others_keep_it() -> None:
    assert http_module._ascii_host("login.Example.com") == b"login.Example.com"
    assert http_module._ascii_host("::1") == b"::1"
    assert http_module._ascii_host("bücher.example") == "bücher.example"  # idna gives xn--


def test_an_https_fetch_loads_no_idna_codec(test_ca: trustme.CA, tmp_path: Path) -> None:
    """``encodings.idna`` (with ``stringprep`` and ``unicodedata``) is no cold-start import."""
    server = RawServer(answer(ok()), tls=tls_for(test_ca, "localhost"))
    code = (
        "import sys\n"
        "from cognito_jwt._http import HttpFetcher\n"
        "from cognito_jwt import FetchOptions\n"
        f"assert HttpFetcher(FetchOptions()).get('https://localhost:{server.port}/jwks').body\n"
        "loaded = {'encodings.idna', 'stringprep', 'unicodedata'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    try:
        run_python(code)
    finally:
        server.close()


def test_the_tls_context_verifies_and_cannot_be_weakened_by_the_environment(
    test_ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONHTTPSVERIFY", "0")
    context = http_module.tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


# === Redirects: the same check_url policy, the same hop limit =====================================
def redirect(location: str) -> Route:
    return lambda _handler: (302, {"Location": location}, b"")


@pytest.mark.parametrize(
    "location",
    [
        "http://login.example.com/jwks",  # https -> http downgrade to a remote host
        "file:///etc/passwd",
        "ftp://login.example.com/jwks",
        "//login.example.com:99999/jwks",  # no valid port
    ],
)
def test_a_redirect_the_url_policy_refuses_is_not_followed(
    test_ca: trustme.CA, serve: Callable[..., CountingServer], location: str
) -> None:
    server = serve({"/jwks": redirect(location)}, tls=server_tls(test_ca))
    error = typed_get(own_fetcher(follow_redirects=True), server.url("/jwks"))
    assert error.status_code is None  # refused by the policy, not an HTTP status
    assert [path for _, path, _, _ in server.requests] == ["/jwks"]


@pytest.mark.parametrize("hops", [3, 4])
def test_at_most_three_redirects_over_own_connections(
    serve: Callable[..., CountingServer], hops: int
) -> None:
    routes: dict[str, Route] = {"/hop0": json_route({"keys": []})}
    server = serve(routes)
    for hop in range(1, hops + 1):
        routes[f"/hop{hop}"] = redirect(server.url(f"/hop{hop - 1}"))
    fetcher = own_fetcher(follow_redirects=True)
    if hops == 3:
        assert fetcher.get(server.url("/hop3")).url == server.url("/hop0")
    else:
        assert "more than 3 redirects" in str(typed_get(fetcher, server.url(f"/hop{hops}")))
        assert len(server.requests) == 4  # the fourth redirect is never followed


@pytest.mark.parametrize("face", ["sync", "async"])
def test_a_redirect_to_another_origin_does_not_carry_credentials(
    serve: Callable[..., CountingServer], face: str
) -> None:
    """``FetchOptions(headers=)`` may hold an API key: it stays with the configured origin."""
    target = serve({"/jwks": json_route({"keys": []})})
    origin = serve({"/jwks": redirect(target.url("/jwks")), "/same": redirect("/jwks2")})
    origin.routes["/jwks2"] = json_route({"keys": []})
    headers = {"Authorization": f"Bearer {SECRET}", "Cookie": SECRET, "X-Api-Key": SECRET}
    fetcher = own_fetcher(follow_redirects=True, headers=headers)
    get = fetcher.get if face == "sync" else lambda url: asyncio.run(fetcher.get_async(url))
    assert get(origin.url("/jwks")).url == target.url("/jwks")
    assert get(origin.url("/same")).url == origin.url("/jwks2")
    (_, _, sent, _), *_ = target.requests
    assert SECRET not in repr(sent)
    assert all(seen["authorization"] == f"Bearer {SECRET}" for _, _, seen, _ in origin.requests)


# === The size cap ================================================================================
def chunked(*chunks: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def test_the_size_cap_holds_for_a_chunked_body(raw: Callable[..., RawServer]) -> None:
    big = raw(answer(chunked(*[b"x" * 1000] * 50)))
    error = typed_get(own_fetcher(max_bytes=10_000), big.url("/jwks"))
    assert "exceeds the limit of 10000 bytes" in str(error)
    small = raw(answer(chunked(b'{"keys"', b": []}")))
    assert own_fetcher(max_bytes=10_000).get(small.url("/jwks")).body == BODY


def test_a_chunk_larger_than_the_cap_is_cut_while_streaming(
    raw: Callable[..., RawServer], stop: threading.Event
) -> None:
    """One chunk declared at 1 GiB: read in slices, cut at the cap, never buffered whole."""
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40000000\r\n"
    server = raw(answer(head + b"x" * 200_000, wait=stop))
    error = typed_get(own_fetcher(max_bytes=100_000), server.url("/jwks"))
    assert "exceeds the limit" in str(error)


def test_a_body_longer_than_its_content_length_is_read_to_the_length_only(
    raw: Callable[..., RawServer], stop: threading.Event
) -> None:
    server = raw(answer(ok(BODY) + b"x" * 5_000_000, wait=stop))
    assert own_fetcher(max_bytes=1000).get(server.url("/jwks")).body == BODY


def test_a_body_shorter_than_its_content_length_is_an_error(
    raw: Callable[..., RawServer], stop: threading.Event
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"
    closed = raw(answer(head + BODY))  # ... and the server closes
    assert "IncompleteRead" in str(typed_get(own_fetcher(), closed.url("/jwks")))
    held = raw(answer(head + BODY, wait=stop))  # ... and the server waits
    assert "timed out" in str(typed_get(own_fetcher(timeout=0.3), held.url("/jwks")))


@pytest.mark.parametrize(
    "extra", [b"\r\n", b'HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{"keys": [1]}']
)
def test_bytes_after_a_body_are_never_read_as_the_next_answer(
    raw: Callable[..., RawServer], extra: bytes
) -> None:
    """A kept connection with unread bytes (a stray CRLF, a body longer than declared, an
    answer nobody asked for) is not reused: the next request of the fetch opens a new one."""
    served: list[int] = []
    first_read, extra_sent = threading.Event(), threading.Event()

    def talk(conn: socket.socket) -> None:
        served.append(len(served))
        if read_request(conn):
            conn.sendall(ok())
        if len(served) == 1:  # the stray bytes come once the first answer has been read
            assert first_read.wait(WAIT)
            conn.sendall(extra)  # on loopback: in the client's receive buffer when this returns
            extra_sent.set()
        while read_request(conn):
            conn.sendall(ok())

    server = raw(talk)
    with own_fetcher().session() as get:
        assert get(server.url("/.well-known/openid-configuration")).body == BODY
        first_read.set()
        assert extra_sent.wait(WAIT)
        assert get(server.url("/jwks")).body == BODY
    assert len(served) == 2


@pytest.mark.parametrize("declared", ["99999999999999999999999", "-1", "abc", "10, 12"])
def test_a_content_length_that_is_no_length_is_capped_by_streaming(
    raw: Callable[..., RawServer], declared: str
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %s\r\nConnection: close\r\n\r\n" % (
        declared.encode()
    )
    server = raw(answer(head + b"x" * 300_000))
    typed_get(own_fetcher(max_bytes=100_000), server.url("/jwks"))


# === Headers without end: http.client's limits give our typed error ==============================
HUGE_HEADERS = {
    "a-line-too-long": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    "too-many-headers": b"HTTP/1.1 200 OK\r\n" + b"X-H: 1\r\n" * 150 + b"\r\n",
    "a-status-line-too-long": b"HTTP/1.1 200 " + b"O" * 70_000 + b"\r\n\r\n",
    "not-http": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "a-chunk-size-line-too-long": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"1" * 70_000
    + b"\r\n",
    "a-bad-chunk-size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
}


@pytest.mark.parametrize("case", sorted(HUGE_HEADERS))
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_headers_over_http_client_limits_are_a_typed_error(
    raw: Callable[..., RawServer], case: str, method: str
) -> None:
    server = raw(answer(HUGE_HEADERS[case]))
    fetcher = own_fetcher()
    if method == "GET":
        error: JwtError = typed_get(fetcher, server.url("/jwks"))
    else:
        error = typed_post(fetcher, server.url("/token"))
    assert "http.client" not in str(error)


# === One deadline, whatever the server trickles ==================================================
@pytest.mark.parametrize(
    "where",
    ["status-line", "headers", "body", "chunk-sizes"],
)
def test_bytes_trickled_anywhere_cannot_stretch_the_deadline(
    raw: Callable[..., RawServer], stop: threading.Event, where: str
) -> None:
    heads = {
        "status-line": (b"", b"HTTP/1.1 200 OK\r\n" + b"X" * 100_000),
        "headers": (b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"a" * 100_000),
        "body": (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b" " * 100_000),
        "chunk-sizes": (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"1\r\n \r\n" * 100_000,
        ),
    }
    server = raw(trickle(*heads[where], stop))
    start = time.monotonic()
    assert "timed out" in str(typed_get(own_fetcher(timeout=0.3), server.url("/jwks")))
    assert time.monotonic() - start < WAIT  # catches a hang (the trickle lasts half an hour)


def test_a_stalled_tls_handshake_is_cut_at_the_deadline(
    test_ca: trustme.CA, raw: Callable[..., RawServer], stop: threading.Event
) -> None:
    """The server accepts the connection and never answers the ClientHello."""
    server = raw(lambda conn: stop.wait(WAIT))  # plain TCP: no TLS from the server's side
    start = time.monotonic()
    error = typed_get(
        own_fetcher(timeout=0.3, connect_timeout=5.0), server.url("/jwks", scheme="https")
    )
    assert "timed out" in str(error)
    assert time.monotonic() - start < WAIT


def test_the_tls_handshake_waits_only_for_the_time_left(
    test_ca: trustme.CA, raw: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handshake's timeout is what is left after the TCP connect, not the connect's own.

    The TCP connect is made slow (0.3 s of a 1 s deadline) by a wrapper around the real one;
    the handshake then must be given at most the 0.7 s left.
    """
    server = raw(answer(ok()), tls=tls_for(test_ca, "127.0.0.1"))
    real_connect = socket.socket.connect
    slow = threading.Event()

    def slow_connect(sock: socket.socket, address: Any) -> None:
        real_connect(sock, address)
        if tuple(address)[:2] == ("127.0.0.1", server.port):
            slow.wait(0.3)  # the network took its time (the event is never set)

    seen: list[float | None] = []
    context = http_module.tls_context()
    real_wrap = context.wrap_socket

    def spy_wrap(sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        seen.append(sock.gettimeout())
        return real_wrap(sock, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", slow_connect)
    monkeypatch.setattr(context, "wrap_socket", spy_wrap)
    assert own_fetcher(timeout=1.0, connect_timeout=5.0).get(server.url("/jwks")).body == BODY
    assert len(seen) == 1
    assert seen[0] is not None
    assert seen[0] <= 0.7


def test_a_name_with_many_unreachable_addresses_cannot_stretch_the_deadline(
    raw: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every address of a name is tried within what is left of the one deadline.

    ``socket.create_connection`` gives each address the whole timeout: three addresses that
    never answer would take three times the deadline. Here the name resolves to three
    addresses; the first two swallow their connect timeout (an unreachable host, simulated at
    ``socket.connect``), the third is a real server.
    """
    server = raw(answer(ok()))
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    silent = [("127.0.0.2", server.port), ("127.0.0.3", server.port)]
    given: list[float] = []
    never = threading.Event()

    def getaddrinfo(host: str | bytes, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in {"multi.test", b"multi.test"}:  # an ASCII name arrives as bytes
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.1")
        ]

    def connect(sock: socket.socket, address: Any) -> None:
        if tuple(address) in silent:
            timeout = sock.gettimeout()
            assert timeout is not None
            given.append(timeout)
            never.wait(timeout)  # no answer, for as long as the client waits
            raise TimeoutError("timed out")
        real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    fetcher = own_fetcher(timeout=0.6, connect_timeout=5.0, allow_insecure_http=True)
    error = typed_get(fetcher, f"http://multi.test:{server.port}/jwks")
    assert "timed out" in str(error)
    assert given
    assert sum(given) <= 0.6 + 0.05  # old: 0.6 for each address


# === Content-Encoding, interim and empty answers =================================================
@pytest.mark.parametrize("encoding", [b"gzip", b"br", b"identity, gzip"])
def test_an_encoded_answer_is_refused(raw: Callable[..., RawServer], encoding: bytes) -> None:
    server = raw(answer(ok(BODY, b"Content-Encoding: " + encoding + b"\r\n")))
    assert "Content-Encoding" in str(typed_get(own_fetcher(), server.url("/jwks")))


@pytest.mark.parametrize("interim", [b"100 Continue", b"102 Processing", b"103 Early Hints"])
def test_interim_answers_are_skipped(raw: Callable[..., RawServer], interim: bytes) -> None:
    """As httpx does: a 1xx answer is followed by the real one on the same connection."""
    early = b"HTTP/1.1 " + interim + b"\r\nLink: </jwks>; rel=preload\r\n\r\n"
    server = raw(answer(early, early, ok()))
    assert own_fetcher().get(server.url("/jwks")).body == BODY
    posted = own_fetcher().post_form(server.url("/token"), {"a": "b"})
    assert (posted.status, posted.body) == (200, BODY)


def test_endless_interim_answers_are_cut(
    raw: Callable[..., RawServer], stop: threading.Event
) -> None:
    early = b"HTTP/1.1 103 Early Hints\r\n\r\n"
    server = raw(answer(early * 10_000, wait=stop))
    typed_get(own_fetcher(timeout=2.0), server.url("/jwks"))


@pytest.mark.parametrize("status", [101, 204, 304])
def test_an_answer_without_a_body_is_refused_for_a_get_and_returned_for_a_post(
    raw: Callable[..., RawServer], stop: threading.Event, status: int
) -> None:
    # 204 and 304 with a body anyway: it is never read (no length), so it cannot pass as keys
    line = b"HTTP/1.1 %d Whatever\r\nContent-Length: 12\r\n\r\n" % status
    server = raw(answer(line + BODY, wait=stop))
    error = typed_get(own_fetcher(timeout=2.0), server.url("/jwks"))
    assert error.status_code == status
    if status != 101:
        posted = own_fetcher(timeout=2.0).post_form(server.url("/token"), {"a": "b"})
        assert (posted.status, posted.body) == (status, b"")


def hold(conn: socket.socket) -> None:
    """Read the request and answer nothing until the client gives up (closes)."""
    read_request(conn)
    while conn.recv(65536):
        pass


# === Nothing secret in a message or a log ========================================================
SECRET_FAILURES: dict[str, Talk] = {
    "line-too-long": answer(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"),
    "not-http": answer(b"nonsense " + SECRET.encode() + b"\r\n\r\n"),
    "redirect": answer(b"HTTP/1.1 302 Found\r\nLocation: /x?" + SECRET.encode() + b"\r\n\r\n"),
    "encoded": answer(ok(BODY, b"Content-Encoding: gzip\r\n")),
    "incomplete": answer(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + SECRET.encode()),
    "timeout": hold,
}


@pytest.mark.parametrize("case", sorted(SECRET_FAILURES))
def test_no_secret_of_a_post_reaches_a_message_or_a_log(
    raw: Callable[..., RawServer], caplog: pytest.LogCaptureFixture, case: str
) -> None:
    server = raw(SECRET_FAILURES[case])
    fetcher = own_fetcher(timeout=0.5)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TokenEndpointUnavailableError) as info:
        fetcher.post_form(
            server.url("/token"),
            {"client_secret": SECRET, "assertion": SECRET},
            headers={"Authorization": f"Basic {SECRET}"},
        )
    for text in (str(info.value), repr(info.value), caplog.text):
        assert SECRET not in text


def test_a_password_in_a_url_never_reaches_a_message(raw: Callable[..., RawServer]) -> None:
    """Credentials in a URL are refused (they would end up in every message and log line)."""
    server = raw(answer(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"))
    url = f"http://user:{SECRET}@127.0.0.1:{server.port}/jwks"
    error = typed_get(own_fetcher(), url)
    assert SECRET not in str(error)
    assert "credentials" in str(error)
    assert server.accepted == 0  # refused before connecting
    with pytest.raises(TokenEndpointUnavailableError) as info:
        own_fetcher().post_form(url, {"a": "b"})
    assert SECRET not in str(info.value)


# === IPv6 literals and ports =====================================================================
def test_an_ipv6_literal_url_with_a_port(serve: Callable[..., CountingServer]) -> None:
    """``[::ffff:127.0.0.1]`` reaches the 127.0.0.1 server; the Host header keeps the brackets."""
    server = serve({"/jwks": json_route({"keys": []})})
    port = server.url("").rsplit(":", 1)[1]
    url = f"http://[::ffff:127.0.0.1]:{port}/jwks"
    fetched = own_fetcher(allow_insecure_http=True).get(url)
    assert fetched.body
    assert fetched.url == url
    (_, _, headers, _), *_ = server.requests
    assert headers["host"] == f"[::ffff:127.0.0.1]:{port}"


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]:{closed}/jwks",  # loopback IPv6 literal, nothing listening
        "http://[::1:80/jwks",  # unclosed bracket
        "http://[::1]:99999/jwks",  # port out of range
        "http://[::1]:-1/jwks",
        "http://127.0.0.1:0/jwks",
    ],
)
def test_ipv6_literals_and_ports_that_lead_nowhere_are_typed_errors(url: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on (closed again at once)
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    typed_get(own_fetcher(), url.format(closed=closed))
    typed_post(own_fetcher(), url.format(closed=closed))


# === SSL_CERT_FILE naming a missing file =========================================================
@pytest.mark.parametrize("roots", ["missing", "a-directory", "not-pem"])
@pytest.mark.parametrize("face", ["sync", "async", "proxied"])
def test_a_wrong_ssl_cert_file_is_a_typed_error_for_every_face_and_method(
    test_ca: trustme.CA,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    face: str,
    roots: str,
) -> None:
    (tmp_path / "not.pem").write_text("not a certificate\n")
    paths = {"missing": "missing.pem", "a-directory": ".", "not-pem": "not.pem"}
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / paths[roots]))
    if face == "proxied":
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    fetcher = own_fetcher()
    url = "https://127.0.0.1:9/x"
    get: Callable[[], object] = lambda: fetcher.get(url)  # noqa: E731
    post: Callable[[], object] = lambda: fetcher.post_form(url, {"a": "b"})  # noqa: E731
    if face == "async":
        get = lambda: asyncio.run(fetcher.get_async(url))  # noqa: E731
        post = lambda: asyncio.run(fetcher.post_form_async(url, {"a": "b"}))  # noqa: E731
    with pytest.raises(KeySetUnavailableError, match="TLS trust roots could not be loaded"):
        get()
    with pytest.raises(TokenEndpointUnavailableError, match="TLS trust roots could not be loaded"):
        post()


def test_a_missing_ssl_cert_dir_fails_the_handshake_as_a_typed_error(
    test_ca: trustme.CA,
    raw: Callable[..., RawServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """OpenSSL reads ``SSL_CERT_DIR`` lazily: nothing is trusted, every certificate refused."""
    server = raw(answer(ok()), tls=tls_for(test_ca, "127.0.0.1"))
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "missing"))
    assert "connection failed" in str(typed_get(own_fetcher(), server.url("/jwks")))


# === Nothing injected into a request =============================================================
@pytest.mark.parametrize(
    "bad",
    [
        {"headers": {"X-Api-Key": "k\r\nInjected: 1"}},
        {"path": "/jwks\r\nInjected: 1"},
        {"path": "/jw ks"},
    ],
    ids=["header-value", "path-crlf", "path-space"],
)
def test_a_header_or_path_that_would_split_the_request_is_a_typed_error(
    raw: Callable[..., RawServer], bad: dict[str, Any]
) -> None:
    seen: list[bytes] = []
    server = raw(lambda conn: seen.append(read_request(conn)))
    fetcher = own_fetcher(headers=bad.get("headers", {}))
    typed_get(fetcher, server.url(bad.get("path", "/jwks")))
    assert not any(b"Injected" in request for request in seen)
